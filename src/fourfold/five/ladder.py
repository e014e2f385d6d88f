"""`fourfold five ladder RUN [--json]`: a TrueSkill ladder of a run's checkpoints against the scripted bots.

As OpenAI Five tracked its progress (Berner et al. 2019, section 4.1, Figure 3; Appendix J), the run's checkpoints
are rated in TrueSkill against a reference pool, here the scripted bots `random`, `easy`, `medium` and `hard`, with
`random` fixed at 0 (`ratings.py`). A sample of the checkpoints (all of them up to `--checkpoints`, else that many
evenly spaced, the first and the last always in) and the bots play a round robin (`--schedule round_robin`: every
pair `--games` games head to head, sides swapped half the time), or only what the ladder needs
(`--schedule reference`: every checkpoint against every bot and the next checkpoint, the bots among themselves).
Without a run (`fourfold five ladder --out DIR`) it rates the bots alone.

It prints a table (TrueSkill mu and sigma, Elo, games, each agent's win rate against each bot with its 95 % Wilson
interval) and Spearman's rank correlation of the checkpoints' mu with their order (the issue's goal: >= 0.9), and
writes `ladder.png` (mu +- sigma against the training step, the bots as horizontal lines) and `ladder.json` into
the run folder (or `--out`).

The game is the one the newest checkpoint was training on (its curriculum stage) unless `--map`,
`--heroes-per-team` or `--time-cap-seconds` say otherwise; a 5v5 game on three lanes lasts up to 10 game-minutes,
so a full ladder takes a while on 2 cores: fewer `--games` or the reference schedule make it shorter.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import tyro

from fourfold.core.config import ConfigError, require, to_jsonable
from fourfold.five.agents import Agent, BotAgent, PolicyAgent, agent_label, run_checkpoints
from fourfold.five.bots import BOT_NAMES
from fourfold.five.game_choice import GameFlags, game_config_for
from fourfold.five.ratings import ANCHOR, ELO_K, Ladder, spearman

LADDER_SEED = 2_000_000
"""Default seed of ladder games, away from training's and evaluation's seeds."""


@dataclass
class LadderConfig:
    """Rate a run's checkpoints in TrueSkill (and Elo) against the scripted bots; print the ladder and plot it."""

    run: tyro.conf.Positional[Path | None] = None
    """The run folder of `fourfold five train` (omit it to rate the bots alone)."""
    checkpoints: int = 8
    """Checkpoints to rate at most, evenly spaced (the first and the last always in)."""
    bots: tuple[str, ...] = BOT_NAMES
    """The reference pool: scripted bots (random, if in, is fixed at 0)."""
    games: int = 40
    """Games per pair, half with each agent on each side."""
    schedule: Literal["round_robin", "reference"] = "round_robin"
    """round_robin: every pair plays; reference: checkpoints against the bots and their successor only."""
    seed: int = LADDER_SEED
    """Seed of the games and of the agents' sampling."""
    num_parallel: int = 64
    """Games played at once."""
    deterministic: bool = False
    """Policies take their most likely action instead of sampling."""
    game: tyro.conf.OmitArgPrefixes[GameFlags] = field(default_factory=GameFlags)
    """The game (default: the newest checkpoint's curriculum stage; `game_choice.GameFlags`): --stage picks another
    stage, --map, --heroes-per-team, --time-cap-seconds, --kills-to-win and --towers-to-win replace single settings."""
    elo_k: float = ELO_K
    """Elo update step."""
    out: Path | None = None
    """Where ladder.png and ladder.json go (default: the run folder; runs/five/ladder without a run)."""
    plot: bool = True
    """Write ladder.png."""
    threads: int = 1
    """torch threads."""

    def __post_init__(self) -> None:
        require(self.checkpoints >= 1, "checkpoints", f"must be at least 1 (got {self.checkpoints})")
        require(self.games >= 2, "games", f"must be at least 2 so that both sides are played (got {self.games})")
        unknown = [b for b in self.bots if b not in BOT_NAMES]
        require(not unknown, "bots", f"unknown bot {unknown[:1]}; choose from {', '.join(BOT_NAMES)}")
        require(len(set(self.bots)) == len(self.bots), "bots", "name each bot once")
        require(self.num_parallel >= 1, "num_parallel", f"must be at least 1 (got {self.num_parallel})")
        require(self.elo_k > 0, "elo_k", f"must be positive (got {self.elo_k})")
        require(self.threads >= 1, "threads", f"must be at least 1 (got {self.threads})")


@dataclass
class LadderRow:
    """One agent of the ladder."""

    name: str
    step: int | None
    """The checkpoint's training step (None for a bot)."""
    mu: float
    """TrueSkill mean, random = 0."""
    sigma: float
    elo: float
    games: int
    win_rate: float
    """Over all its games."""
    versus: dict[str, list[float]] = field(default_factory=dict)
    """Bot -> [win rate, low, high] (95 % Wilson interval) against it."""


@dataclass
class LadderSummary:
    """The rated agents (highest mu first), the rank correlation of mu with checkpoint order, and the files."""

    rows: list[LadderRow]
    spearman: float | None
    """Spearman's rho of the checkpoints' mu against their step (None with fewer than 2 checkpoints)."""
    games_per_pair: int
    map: str
    heroes_per_team: int
    seed: int
    seconds: float
    plot: str | None
    table_file: str
    """Where ladder.json was written."""

    def __str__(self) -> str:
        return format_ladder(self)


def sample_checkpoints(found: list[tuple[int, Path]], count: int) -> list[tuple[int, Path]]:
    """At most `count` of `found` (oldest first), evenly spaced, the first and the last always in."""
    if len(found) <= count:
        return list(found)
    if count == 1:
        return [found[-1]]
    picks = sorted({round(i * (len(found) - 1) / (count - 1)) for i in range(count)})
    return [found[i] for i in picks]


def schedule_pairs(names: list[str], checkpoints: list[str], schedule: str) -> list[tuple[str, str]]:
    """The pairs that play: all of them (round robin), or each checkpoint against the bots and its successor."""
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    if schedule == "round_robin":
        return pairs
    successor = dict(itertools.pairwise(checkpoints))
    return [(a, b) for a, b in pairs if a not in checkpoints or b not in checkpoints or successor.get(a) == b]


def ladder(config: LadderConfig) -> LadderSummary:
    """`fourfold five ladder`: play the ladder's matches, rate, print, plot (see the module docstring)."""
    from fourfold.five.match import head_to_head

    # 1. The agents: the sampled checkpoints, then the bots.
    found = run_checkpoints(config.run) if config.run is not None else []
    picked = sample_checkpoints(found, config.checkpoints)
    agents: dict[str, Agent] = {}
    steps: dict[str, int] = {}
    if picked:
        import torch

        torch.set_num_threads(config.threads)
    for i, (step, path) in enumerate(picked):
        agent = PolicyAgent(path, config.deterministic, config.seed + 17 * i, name=agent_label(path))
        agents[agent.name] = agent
        steps[agent.name] = step
    for i, bot in enumerate(config.bots):
        agents[bot] = BotAgent(bot, config.seed + 1_000 + i)
    if len(agents) < 2:
        raise ConfigError("bots", "a ladder needs at least two agents; add bots or give a run with checkpoints")
    specs = [str(picked[-1][1])] if picked else []
    game = game_config_for(specs, config.game)

    # 2. The matches, each pair on its own seeds.
    start = time.perf_counter()
    names = list(agents)
    board = Ladder(names, anchor=ANCHOR if ANCHOR in agents else None, elo_k=config.elo_k)
    for index, (a, b) in enumerate(schedule_pairs(names, list(steps), config.schedule)):
        board.add(
            head_to_head(agents[a], agents[b], config.games, game, config.seed + 7_919 * index, config.num_parallel)
        )

    # 3. Ratings, the table, the rank correlation.
    rows = []
    for rating in board.ratings():
        versus = {}
        for bot in config.bots:
            met = board.result(rating.name, bot) if bot != rating.name else None
            if met is not None:
                low, high = met.interval
                versus[bot] = [met.win_rate, low, high]
        rate = rating.score / rating.games if rating.games else 0.5
        row = LadderRow(rating.name, steps.get(rating.name), rating.mu, rating.sigma, rating.elo, rating.games, rate)
        row.versus = versus
        rows.append(row)
    rated = sorted((r for r in rows if r.step is not None), key=lambda r: r.step or 0)
    rho = spearman([float(r.step or 0) for r in rated], [r.mu for r in rated]) if len(rated) >= 2 else math.nan
    directory = config.out or (config.run if config.run is not None else Path("runs") / "five" / "ladder")
    directory.mkdir(parents=True, exist_ok=True)
    summary = LadderSummary(
        rows=rows,
        spearman=None if math.isnan(rho) else rho,
        games_per_pair=config.games,
        map=game.map,
        heroes_per_team=game.heroes_per_team,
        seed=config.seed,
        seconds=time.perf_counter() - start,
        plot=None,
        table_file=str(directory / "ladder.json"),
    )

    # 4. The files: the plot and the table as JSON.
    if config.plot:
        summary.plot = str(plot_ladder(summary, directory / "ladder.png"))
    (directory / "ladder.json").write_text(json.dumps(to_jsonable(summary), indent=2) + "\n", encoding="utf-8")
    return summary


def format_ladder(summary: LadderSummary) -> str:
    """A person's view of the ladder."""
    bots = [r.name for r in summary.rows if r.step is None]
    width = max(12, *(len(r.name) + 2 for r in summary.rows))
    head = f"{'agent':<{width}}{'step':>10}{'mu':>8}{'sigma':>7}{'elo':>8}{'games':>7}" + "".join(
        f"{'vs ' + b:>20}" for b in bots
    )
    lines = [
        f"TrueSkill ladder ({summary.heroes_per_team}v{summary.heroes_per_team} {summary.map}, "
        f"{summary.games_per_pair} games per pair, seed {summary.seed}, {summary.seconds:.0f} s; random = 0):",
        head,
    ]
    for r in summary.rows:
        cells = []
        for b in bots:
            if b in r.versus:
                rate, low, high = r.versus[b]
                cells.append(f"{f'{rate:.2f} [{low:.2f},{high:.2f}]':>20}")
            else:
                cells.append(f"{'-':>20}")
        step = "-" if r.step is None else str(r.step)
        lines.append(
            f"{r.name:<{width}}{step:>10}{r.mu:>8.2f}{r.sigma:>7.2f}{r.elo:>8.0f}{r.games:>7}" + "".join(cells)
        )
    if summary.spearman is not None:
        lines.append(f"Spearman rho of mu with checkpoint order: {summary.spearman:.3f} (goal >= 0.9)")
    if summary.plot:
        lines.append(f"plot: {summary.plot}")
    return "\n".join(lines)


def plot_ladder(summary: LadderSummary, path: Path) -> Path:
    """Write the ladder's plot: checkpoints' mu +- sigma by step, bots as labelled horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.0, 4.2), dpi=110)
    rated = sorted((r for r in summary.rows if r.step is not None), key=lambda r: r.step or 0)
    bots = [r for r in summary.rows if r.step is None]
    if rated:
        axes.errorbar(
            [float(r.step or 0) for r in rated],
            [r.mu for r in rated],
            yerr=[r.sigma for r in rated],
            marker="o",
            capsize=3,
            label="checkpoints (mu +- sigma)",
        )
        for bot in bots:
            axes.axhline(bot.mu, linestyle="--", linewidth=1.0, color="grey")
            axes.annotate(bot.name, (rated[0].step or 0, bot.mu), fontsize=8, va="bottom")
        axes.set_xlabel("training step (agent-steps)")
        axes.legend(loc="lower right", fontsize=8)
    else:
        axes.bar([b.name for b in bots], [b.mu for b in bots], yerr=[b.sigma for b in bots], capsize=3)
    axes.set_ylabel("TrueSkill mu (random = 0)")
    axes.set_title(f"Five ladder, {summary.heroes_per_team}v{summary.heroes_per_team} {summary.map}")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
