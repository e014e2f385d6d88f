"""The round robin of the scripted bots: every pair plays N seeded games, sides swapped, win rates with 95 % intervals.

`round_robin(names, games, config, seed)` plays, for every pair of bots, `games` games at once in one batched
`GameState`: the first half with the first bot as blue, the second half with it as red (the map is mirrored, but the
sides are swapped anyway so that any side advantage cancels). Game `k` of pair `p` is reset with the seed
`seed * 1_000_003 + p * 10_007 + k` (p numbers the pair by the bots' places in `BOT_NAMES`, so a pair plays the
same games in any round robin), and each bot gets a seed of its own, so a run is reproducible. A draw (time cap
with equal score) counts as half a win for each side. Win rates carry a 95 % Wilson score interval (Wilson 1927),
which stays inside [0, 1] and is honest at rates near 0 or 1, where the normal approximation is not.

`bots(config)` is the command `fourfold five bots --games 200 --json`: it plays the round robin of `BOT_NAMES` and
returns a `BotsSummary` (one row per ordered pair, one per bot), printed as a table for a person.

The issue 7 order to reach: easy beats random >= 95 %, medium beats easy >= 70 %, hard beats medium >= 70 %.

Shape legend: G games of one pair played at once, H = 5 hero slots of one team.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from fourfold.core.config import require
from fourfold.five.bots import BOT_NAMES, Bot, make_bot
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import BLUE, RED
from fourfold.five.game.core import step
from fourfold.five.game.state import GameState, new_state, reset_games

Z_95 = 1.959963984540054
"""The standard normal quantile of a two-sided 95 % interval."""

ORDER_GOALS: tuple[tuple[str, str, float], ...] = (
    ("easy", "random", 0.95),
    ("medium", "easy", 0.70),
    ("hard", "medium", 0.70),
)
"""The issue's goals: (bot, opponent, least win rate of the bot against the opponent)."""


def wilson_interval(score: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a win rate: `score` wins (draws counted as half) out of `n` games."""
    if n <= 0:
        return 0.0, 1.0
    p = score / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class PairResult:
    """The games of one bot against another, from the first bot's side."""

    bot: str
    opponent: str
    games: int
    wins: int
    losses: int
    draws: int
    win_rate: float
    """(wins + draws / 2) / games."""
    low: float
    """Lower end of the 95 % Wilson interval of the win rate."""
    high: float
    """Upper end of the 95 % Wilson interval of the win rate."""
    mean_minutes: float
    """Mean game length in game-minutes."""


@dataclass
class BotResult:
    """One bot's games against all the others together."""

    bot: str
    games: int
    wins: int
    losses: int
    draws: int
    win_rate: float
    low: float
    high: float


@dataclass
class RoundRobinTable:
    """Every pair's result (both orders of each pair), each bot's total, and how long it took."""

    pairs: list[PairResult] = field(default_factory=list)
    bots: list[BotResult] = field(default_factory=list)
    games_per_pair: int = 0
    seed: int = 0
    seconds: float = 0.0
    """Wall-clock seconds the round robin took (all pairs, one process)."""

    def result(self, bot: str, opponent: str) -> PairResult:
        """The result of `bot` against `opponent` (KeyError when the pair was not played)."""
        for row in self.pairs:
            if row.bot == bot and row.opponent == opponent:
                return row
        raise KeyError(f"{bot} vs {opponent} was not played")


def play_pair(
    first: Bot, second: Bot, games: int, config: GameConfig, seeds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Play `games` games of `first` against `second`, `first` blue in the first half; return its outcomes.

    Returns:
        score: float64 [G], 1 for a win of `first`, 0 for a loss, 0.5 for a draw.
        ticks: int64 [G], the length of each game in ticks.
    """
    state = new_state(games, config)
    reset_games(state, config, np.ones(games, dtype=bool), seeds.astype(np.int64))
    half = (games + 1) // 2
    first_blue = np.arange(games) < half  # [G]
    blue_games, red_games = np.arange(half), np.arange(half, games)
    primary = np.zeros((games, 10), dtype=np.int64)  # [G, 10]
    target = np.full((games, 10), -1, dtype=np.int64)  # [G, 10]
    point = np.zeros((games, 10, 2), dtype=np.float64)  # [G, 10, 2]
    while not bool(state.done.all()):
        _fill(first, state, blue_games, BLUE, primary, target, point)
        _fill(second, state, blue_games, RED, primary, target, point)
        _fill(first, state, red_games, RED, primary, target, point)
        _fill(second, state, red_games, BLUE, primary, target, point)
        step(state, config, primary, target, point)
    winner = state.winner  # [G]: 0 blue, 1 red, 2 draw
    first_team = np.where(first_blue, BLUE, RED)
    score = np.where(winner == 2, 0.5, np.where(winner == first_team, 1.0, 0.0))
    return score.astype(np.float64), state.tick.astype(np.int64).copy()


def _fill(
    bot: Bot,
    state: GameState,
    games: np.ndarray,
    team: int,
    primary: np.ndarray,
    target: np.ndarray,
    point: np.ndarray,
) -> None:
    """Write `bot`'s actions for `team` in `games` into the [G, 10] action arrays."""
    if games.size == 0:
        return
    slots = slice(5 * team, 5 * team + 5)
    p, t, q = bot.act(state, games, team)  # [g, H], [g, H], [g, H, 2]
    primary[games, slots] = p
    target[games, slots] = t
    point[games, slots] = q


def round_robin(names: tuple[str, ...], games: int, config: GameConfig, seed: int) -> RoundRobinTable:
    """Play every pair of `names` `games` times (sides swapped half the time) and tabulate win rates."""
    require(games >= 2, "games", f"must be at least 2 so that both sides are played (got {games})")
    require(len(set(names)) == len(names) and len(names) >= 2, "bots", "name at least two different bots")
    start = time.perf_counter()
    totals = {name: [0.0, 0.0, 0.0, 0.0, 0.0] for name in names}  # score, games, wins, losses, draws
    table = RoundRobinTable(games_per_pair=games, seed=seed)
    for i, name_a in enumerate(names):
        for name_b in names[i + 1 :]:
            pair = BOT_NAMES.index(name_a) * len(BOT_NAMES) + BOT_NAMES.index(name_b)
            bot_a = make_bot(name_a, seed * 101 + 2 * pair)
            bot_b = make_bot(name_b, seed * 101 + 2 * pair + 1)
            seeds = seed * 1_000_003 + pair * 10_007 + np.arange(games, dtype=np.int64)
            score, ticks = play_pair(bot_a, bot_b, games, config, seeds)
            minutes = float(ticks.mean()) / (30.0 * 60.0)
            for bot, opponent, points in ((name_a, name_b, score), (name_b, name_a, 1.0 - score)):
                wins, losses = int((points == 1.0).sum()), int((points == 0.0).sum())
                draws = games - wins - losses
                low, high = wilson_interval(float(points.sum()), games)
                table.pairs.append(
                    PairResult(bot, opponent, games, wins, losses, draws, float(points.mean()), low, high, minutes)
                )
                total = totals[bot]
                total[0] += float(points.sum())
                total[1] += games
                total[2] += wins
                total[3] += losses
                total[4] += draws
    for name in names:
        score_sum, n, won, lost, drawn = totals[name]
        low, high = wilson_interval(score_sum, int(n))
        table.bots.append(BotResult(name, int(n), int(won), int(lost), int(drawn), score_sum / n, low, high))
    table.seconds = time.perf_counter() - start
    return table


def format_table(table: RoundRobinTable) -> str:
    """A person's view: the win-rate matrix (row bot against column bot) and each bot's total."""
    names = [row.bot for row in table.bots]
    width = max(19, *(len(n) + 2 for n in names))
    lines = [
        f"round robin: {table.games_per_pair} games per pair, seed {table.seed}, {table.seconds:.1f} s",
        "win rate of the row bot against the column bot [95 % Wilson interval]:",
        " " * 8 + "".join(f"{n:>{width}}" for n in names),
    ]
    for bot in names:
        cells = []
        for opponent in names:
            if bot == opponent:
                cells.append(f"{'-':>{width}}")
                continue
            row = table.result(bot, opponent)
            cells.append(f"{f'{row.win_rate:.2f} [{row.low:.2f},{row.high:.2f}]':>{width}}")
        lines.append(f"{bot:<8}" + "".join(cells))
    lines.append("totals:")
    for total in table.bots:
        lines.append(
            f"  {total.bot:<8} {total.win_rate:.3f} [{total.low:.3f}, {total.high:.3f}]  "
            f"{total.wins} W {total.losses} L {total.draws} D of {total.games}"
        )
    for bot, opponent, goal in ORDER_GOALS:
        if bot in names and opponent in names:
            rate = table.result(bot, opponent).win_rate
            verdict = "met" if rate >= goal else "NOT met"
            lines.append(f"goal {bot} beats {opponent} >= {goal:.0%}: {rate:.1%} ({verdict})")
    return "\n".join(lines)


@dataclass
class BotsConfig:
    """Play the round robin of the scripted Five bots and print their win rates with 95 % intervals."""

    games: int = 200
    """Games per pair of bots (half with each bot on the blue side)."""
    bots: tuple[str, ...] = BOT_NAMES
    """The bots to play: any of random, easy, medium, hard."""
    seed: int = 0
    """Seed of the games and the bots (a run is reproducible)."""
    map: str = "three_lane"
    """The map: three_lane or one_lane."""
    heroes_per_team: int = 5
    """Heroes per team: 1, 3 or 5."""

    def __post_init__(self) -> None:
        require(self.games >= 2, "games", f"must be at least 2 so that both sides are played (got {self.games})")
        unknown = [b for b in self.bots if b not in BOT_NAMES]
        choices = ", ".join(BOT_NAMES)
        require(not unknown, "bots", f"unknown bot {unknown[0] if unknown else ''!r}; choose from {choices}")
        require(len(set(self.bots)) == len(self.bots) >= 2, "bots", "name at least two different bots, each once")
        require(self.map in ("three_lane", "one_lane"), "map", f"must be three_lane or one_lane (got {self.map!r})")
        require(self.heroes_per_team in (1, 3, 5), "heroes_per_team", f"must be 1, 3 or 5 (got {self.heroes_per_team})")


@dataclass
class BotsSummary:
    """The round-robin table of the scripted bots."""

    pairs: list[PairResult] = field(default_factory=list)
    bots: list[BotResult] = field(default_factory=list)
    games_per_pair: int = 0
    seed: int = 0
    seconds: float = 0.0
    goals_met: bool = False
    """True when every issue-7 order goal among the bots played holds."""

    def __str__(self) -> str:
        table = RoundRobinTable(self.pairs, self.bots, self.games_per_pair, self.seed, self.seconds)
        return format_table(table)


def bots(config: BotsConfig) -> BotsSummary:
    """`fourfold five bots`: the round robin of the scripted bots."""
    game_config = GameConfig(map=config.map, heroes_per_team=config.heroes_per_team)  # type: ignore[arg-type]
    table = round_robin(tuple(config.bots), config.games, game_config, config.seed)
    met = all(
        table.result(bot, opponent).win_rate >= goal
        for bot, opponent, goal in ORDER_GOALS
        if bot in config.bots and opponent in config.bots
    )
    return BotsSummary(table.pairs, table.bots, table.games_per_pair, table.seed, table.seconds, met)
