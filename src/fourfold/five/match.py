"""Matches: N seeded games between two agents, played in batches on `FiveVecEnv`, each game counted once.

`play_match(blue, red, games, config, seed, num_parallel)` plays `games` games with `blue` on the blue side, in
batches of at most `num_parallel` games at once. Each batch is one `FiveVecEnv` without auto-reset: both agents
act on the env's current observation (`Agent.act`), their core-level actions are joined into one `env.step_core`,
and a game that ended stays over, so it is counted exactly once (the step that reports it `terminated`). Batch b
of a match with seed s plays the games seeded by (`SeedSequence([s, b])`, game index) (`env.game_seeds`), so a
match is reproducible and its batches never share a game.

`head_to_head(a, b, games, ...)` swaps sides half the time (as OpenAI Five's evaluation did, Berner et al. 2019,
Appendix J): `a` is blue in the first ceil(games / 2) games and red in the rest, on the same game seeds, so a side
or seed advantage cancels. Results are from the first agent's side: wins, losses, draws (a draw counts half a win),
win rate and its 95 % Wilson interval (`ratings.win_rate_interval`).

Shape legend: G games of one batch, H = 5 hero slots of one team.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from fourfold.core.config import require
from fourfold.five.agents import Agent, BotAgent, PolicyAgent
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import BLUE, HEROES_PER_TEAM, RED, TICKS_PER_SECOND

if TYPE_CHECKING:
    from fourfold.five.policy import FivePolicy

DRAW = 2
"""`state.winner` of a drawn game (0 blue, 1 red)."""


@dataclass
class MatchResult:
    """Games of `agent` against `opponent`, from `agent`'s side."""

    agent: str
    opponent: str
    scores: list[float] = field(default_factory=list)
    """Per game: 1 a win of `agent`, 0 a loss, 0.5 a draw."""
    agent_blue: list[bool] = field(default_factory=list)
    """Per game: whether `agent` played blue."""
    seeds: list[int] = field(default_factory=list)
    """Per game: its seed (`env.game_seeds`)."""
    minutes: list[float] = field(default_factory=list)
    """Per game: its length in game-minutes."""

    @property
    def games(self) -> int:
        return len(self.scores)

    @property
    def wins(self) -> int:
        return sum(1 for s in self.scores if s == 1.0)

    @property
    def losses(self) -> int:
        return sum(1 for s in self.scores if s == 0.0)

    @property
    def draws(self) -> int:
        return self.games - self.wins - self.losses

    @property
    def win_rate(self) -> float:
        """(wins + draws / 2) / games (0.5 with no games)."""
        return sum(self.scores) / self.games if self.scores else 0.5

    @property
    def interval(self) -> tuple[float, float]:
        """The 95 % Wilson interval of the win rate."""
        from fourfold.five.ratings import win_rate_interval

        return win_rate_interval(sum(self.scores), self.games)

    def swapped(self) -> MatchResult:
        """The same games from the opponent's side."""
        return MatchResult(
            self.opponent,
            self.agent,
            [1.0 - s for s in self.scores],
            [not b for b in self.agent_blue],
            list(self.seeds),
            list(self.minutes),
        )

    def __str__(self) -> str:
        low, high = self.interval
        return (
            f"{self.agent} vs {self.opponent}: {self.win_rate:.1%} [{low:.1%}, {high:.1%}] over {self.games} games "
            f"({self.wins} W {self.losses} L {self.draws} D)"
        )


def batch_seed(seed: int, batch: int) -> int:
    """The env seed of batch `batch` of a match seeded `seed` (distinct batches never share game seeds)."""
    return int(np.random.SeedSequence([seed % (1 << 63), batch]).generate_state(1, dtype=np.uint64)[0] >> 24)


def play_match(
    blue: Agent,
    red: Agent,
    games: int,
    config: GameConfig,
    seed: int = 0,
    num_parallel: int = 64,
) -> MatchResult:
    """Play `games` games of `blue` (blue side) against `red`; the result is from `blue`'s side."""
    from fourfold.five.env import FiveVecEnv

    require(games >= 1, "games", f"must be at least 1 (got {games})")
    require(num_parallel >= 1, "num_parallel", f"must be at least 1 (got {num_parallel})")
    result = MatchResult(blue.name, red.name)
    for batch, start in enumerate(range(0, games, num_parallel)):
        g = min(num_parallel, games - start)
        env = FiveVecEnv(g, config, seed=batch_seed(seed, batch), copy_obs=False, auto_reset=False)
        _, info = env.reset()
        seeds: NDArray[np.int64] = info["seeds"]
        winner = np.full(g, -1, dtype=np.int64)  # (G,)
        ticks = np.zeros(g, dtype=np.int64)  # (G,)
        blue.reset(g)
        red.reset(g)
        primary = np.zeros((g, 2 * HEROES_PER_TEAM), dtype=np.int64)  # (G, 10)
        target = np.full((g, 2 * HEROES_PER_TEAM), -1, dtype=np.int64)  # (G, 10)
        point = np.zeros((g, 2 * HEROES_PER_TEAM, 2), dtype=np.float64)  # (G, 10, 2)
        while not bool(env.state.done.all()):
            for agent, team in ((blue, BLUE), (red, RED)):
                slots = slice(team * HEROES_PER_TEAM, (team + 1) * HEROES_PER_TEAM)
                primary[:, slots], target[:, slots], point[:, slots] = agent.act(env, team)
            _, _, terminated, _, info = env.step_core(primary, target, point)
            # Each game is counted at the one step that reports it ended (no auto-reset: it then stands still).
            winner = np.where(terminated, info["winner"], winner)
            ticks = np.where(terminated, info["episode_ticks"], ticks)
            blue.observe_done(terminated)
            red.observe_done(terminated)
        winner = np.where(winner < 0, env.state.winner, winner)  # a game over from its start (none expected)
        scores = np.where(winner == DRAW, 0.5, np.where(winner == BLUE, 1.0, 0.0))  # (G,)
        result.scores.extend(float(s) for s in scores)
        result.agent_blue.extend([True] * g)
        result.seeds.extend(int(s) for s in seeds)
        result.minutes.extend(float(t) / (TICKS_PER_SECOND * 60.0) for t in ticks)
    return result


def head_to_head(
    a: Agent,
    b: Agent,
    games: int,
    config: GameConfig,
    seed: int = 0,
    num_parallel: int = 64,
) -> MatchResult:
    """`games` games of `a` against `b`, `a` blue in the first ceil(games / 2) and red in the rest (same seeds)."""
    require(games >= 2, "games", f"must be at least 2 so that both sides are played (got {games})")
    first = play_match(a, b, (games + 1) // 2, config, seed, num_parallel)
    second = play_match(b, a, games // 2, config, seed, num_parallel).swapped()
    return MatchResult(
        a.name,
        b.name,
        first.scores + second.scores,
        first.agent_blue + second.agent_blue,
        first.seeds + second.seeds,
        first.minutes + second.minutes,
    )


def policy_vs_bot(
    policy: FivePolicy,
    bot: str,
    games: int,
    config: GameConfig,
    seed: int,
    deterministic: bool = False,
) -> MatchResult:
    """`head_to_head` of `policy` against the scripted `bot`: a copy of the policy (so a training one is left as it
    was) with its own sampling stream seeded `seed`, the bot seeded `seed + 1`, the games seeded from `seed`."""
    student = PolicyAgent(copy.deepcopy(policy), deterministic, seed, name="policy")
    return head_to_head(student, BotAgent(bot, seed + 1), games, config, seed)
