"""`fourfold five train`: self-play PPO on Five into a run folder, with checkpoints, exact resume and a time budget.

`train(config)` opens the run folder (`--out DIR`, else `runs/five/<name>/`): `config.json`, `metrics.jsonl` (one
line per iteration: losses, agent-steps/s overall and for the rollout and the learner alone, win rates per kind of
opponent, curriculum stage, team spirit), `checkpoints/step_N/` (each a full training state that `policy.load_policy`
also reads as a policy), `pool/step_N/` (the past snapshots the opponent pool plays), and `summary.json`. The loop
itself is `selfplay.train_selfplay` (`distributed.train_distributed` with `--workers N`). `--resume` continues the
newest checkpoint exactly: the resumed run logs the same metrics as an uninterrupted one (wall-clock columns, all
under `time/`, aside).

Steps count agent-steps: one decision of one learning hero (a 5v5 game step gives 5, a 1v1 game step 1).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import tyro

from fourfold.core.config import ConfigError, require
from fourfold.five.game.config import GameConfig
from fourfold.five.policy import PolicyConfig
from fourfold.five.pool import PoolConfig
from fourfold.five.rewards import RewardConfig

SYSTEM = "five"
SUMMARY_FILE = "summary.json"
CHECKPOINT_KIND = "five-train"


@dataclass(frozen=True)
class Stage:
    """One stage of the curriculum: the games played, and when to move on to the next stage."""

    name: str
    game: GameConfig = field(default_factory=GameConfig)
    """The games of this stage: map, heroes a side, time cap, kill and structure targets."""
    max_steps: int = 0
    """Agent-steps after which the next stage starts anyway (0: no limit)."""
    reward: RewardConfig | None = None
    """The reward weights of this stage (None: `TrainConfig.reward`); team spirit comes from the schedule."""
    pool: PoolConfig | None = None
    """The opponent mix of this stage (None: `TrainConfig.pool`); the past snapshots and their scores carry over."""
    learning_rate: float | None = None
    """Adam's step size in this stage (None: `TrainConfig.learning_rate`); the optimizer's moments carry over."""

    def pool_config(self, default: PoolConfig) -> PoolConfig:
        """The opponent mix of this stage: its own, else `default` (the run's)."""
        return self.pool if self.pool is not None else default

    def __post_init__(self) -> None:
        require(self.max_steps >= 0, "max_steps", f"must be 0 or more (got {self.max_steps})")
        require(
            self.learning_rate is None or self.learning_rate > 0,
            "learning_rate",
            f"must be positive or None (got {self.learning_rate})",
        )


LANING_REWARD = RewardConfig(hero_death=0.0, hero_kill=1.0, tower_damage=8.0, tower_kill=3.0)
"""The 1v1 and 3v3 stages' reward: Five's table with the death penalty replaced by a kill reward, and towers worth four
times as much (8 per tower's health, 3 for its fall). With the death penalty, a first policy that has just found the
lane dies to creeps and towers about 4 times a game and PPO learns within one generation of games to stay at the
fountain (experience per game fell from 2.3 to 0.03); a kill of +1 costs the victim 1 through zero-sum all the same,
but a death to a tower or creeps costs nothing, so heroes keep pushing. At Five's tower weights a hit on a tower
(about 1/25 of its health) pays a third of a last hit, and policies farmed creeps but never took a tower in 1.2 M
agent-steps; at four times they take it. Measured on seed 0, 15 minutes each (docs/five.md): the kill term lifts the
win rate against `easy` from 48 % to 67 % and lowers it against `random` from 98 % to 74 %."""

DEFAULT_CURRICULUM: tuple[Stage, ...] = (
    Stage(
        "1v1",
        GameConfig(map="one_lane", heroes_per_team=1, time_cap_seconds=300.0, kills_to_win=2, towers_to_win=1),
        max_steps=3_000_000,
        reward=LANING_REWARD,
        pool=PoolConfig(bot_share=0.8),
        learning_rate=5e-4,
    ),
    Stage(
        "3v3",
        GameConfig(map="three_lane", heroes_per_team=3, time_cap_seconds=300.0),
        max_steps=6_000_000,
        reward=LANING_REWARD,
        pool=PoolConfig(bot_share=0.8),
    ),
    Stage(
        "5v5",
        GameConfig(map="three_lane", heroes_per_team=5, time_cap_seconds=600.0),
        reward=LANING_REWARD,
        pool=PoolConfig(bot_share=0.8, bots=("random", "easy", "medium")),
    ),
)
"""OpenAI Five's curriculum at laptop scale: 1v1 on the one-lane map, then 3v3, then 5v5 on three lanes. The 1v1 stage
plays the rules of OpenAI's 2017 1v1 Dota bot: two kills or the first tower win at once, so a game's outcome follows
soon after what decided it (a tower takes a lone hero about 3.5 game-minutes to destroy), and plays 80 % of its games
against the bots (`random` and `easy`): fixed yardsticks a novice learns from, where self-play between two novices is
mostly noise. It learns at half the run's step size (5e-4) for up to 3 M agent-steps: at 1e-3 and 2 M the duel's policy
swung from game to game and one seed of three beat `easy` 90 % of the time within 15 minutes; at 5e-4 and 3 M all six
seeds tried did (0.91-0.96 in 200 games, docs/five.md). The 3v3 stage keeps that reward and that mix: continued from a
1v1 policy for 1.5 M agent-steps, it beat `easy` in 50 % of 3v3 games, against 15 % with Five's reward and half of the
games against `easy` and `medium` (docs/five.md), and moves on after 6 M agent-steps at most. The 5v5 stage keeps that
reward too (Five's death penalty sent 5v5 heroes back to the fountain as it had in 1v1: a 2-hour run with it and 30 %
bot games stood at 0 % against `easy` after 55 minutes of 5v5) and plays 80 % of its games against `random`, `easy` and
`medium`: with `hard` in place of `random`, a 2-hour run of seed 1 did worse against every bot, `hard` included, and
one of seed 2 worse still (docs/five.md)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything `fourfold five train` needs; saved as the run's config.json."""

    out: Path | None = None
    """The run folder; default runs/five/<name>."""
    name: str = "default"
    """The run's name under runs/five/ when --out is not given."""
    runs: Path = Path("runs")
    """The folder that holds all runs."""
    minutes: float | None = None
    """Stop after this many minutes of training in this process (checked after each iteration)."""
    total_steps: int | None = None
    """Stop after this many agent-steps (whichever of minutes and steps comes first)."""
    seed: int = 0
    num_games: int = 32
    """Games played at once (G)."""
    num_steps: int = 64
    """Decisions per game per iteration (T); a multiple of bptt."""
    bptt: int = 16
    """Length of the recurrent training sequences."""
    update_epochs: int = 2
    num_minibatches: int = 8
    learning_rate: float = 1e-3
    """Adam's step size in the stages that set none of their own (the default curriculum's 1v1 stage learns at 5e-4).
    At 3e-4 and one epoch the KL per iteration stayed near 1e-5 (the policy hardly moved); at 1e-3 and two epochs it is
    about 3e-3 and last hits per 1v1 game rose half again as fast."""
    gamma: float = 0.995
    gae_lambda: float = 0.95
    clip_coef: float = 0.2
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    ent_coef: float = 0.003
    """Entropy bonus at the start, annealed linearly to ent_coef_final over anneal_steps."""
    ent_coef_final: float = 0.001
    anneal_steps: int = 5_000_000
    team_spirit_start: float = 0.3
    team_spirit_end: float = 1.0
    team_spirit_steps: int = 5_000_000
    """Agent-steps over which team spirit tau goes linearly from start to end (Five: 0.3 -> 1.0)."""
    curriculum: tyro.conf.Suppress[tuple[Stage, ...]] = DEFAULT_CURRICULUM
    """The stages in order (set from Python; the command line trains the default curriculum)."""
    first_stage: str | None = None
    """The curriculum stage to start at, by name (default: the first); with init_from, a later stage continues a
    policy trained on an earlier one."""
    advance_bot: str = "easy"
    """The bot whose win rate moves the curriculum on."""
    advance_win_rate: float = 0.8
    """Win rate against advance_bot (last `advance_games` training games of the stage) that calls the exam, or without
    one starts the next stage."""
    advance_games: int = 50
    advance_exam_games: int = 100
    """Held-out games against advance_bot that confirm a stage's end: once the training games reach
    advance_win_rate, the stage ends only if the policy wins advance_exam_win_rate of these (0: no exam)."""
    advance_exam_win_rate: float = 0.9
    """Exam score (wins + draws / 2) that ends the stage."""
    advance_exam_every: int = 25
    """Iterations between two exams of one stage."""
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    init_from: Path | None = None
    """Start from this policy's weights (a run, a training checkpoint or a saved policy folder) instead of random
    ones, with a fresh optimizer, pool and step count; its policy settings replace `policy`."""
    pool: PoolConfig = field(default_factory=PoolConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    """The reward weights (Five's table by default); its team_spirit is replaced by the team spirit schedule."""
    snapshot_every: int = 10
    """Iterations between snapshots added to the opponent pool."""
    checkpoint_every: int = 20
    """Iterations between checkpoints (one is always written at the end)."""
    keep_checkpoints: int = 20
    win_window: int = 100
    """Games per opponent kind over which win rates are reported."""
    resume: bool = False
    overwrite: bool = False
    threads: int = 1
    """torch threads."""
    workers: int = 0
    """Rollout workers: 0 plays and learns in this process; N >= 1 runs N Ray actors that play G / N games each
    and a learner here (`distributed.py`, `pip install fourfold[distributed]`)."""
    stop_after_iterations: int | None = None
    """Stop (with a checkpoint) after this many iterations in this process: a kill at a known point, for tests."""
    progress: bool = True

    def __post_init__(self) -> None:
        require(self.num_games >= 1, "num_games", f"must be at least 1 (got {self.num_games})")
        require(self.bptt >= 1, "bptt", f"must be at least 1 (got {self.bptt})")
        require(
            self.num_steps >= self.bptt and self.num_steps % self.bptt == 0,
            "num_steps",
            f"must be a positive multiple of bptt ({self.bptt}) (got {self.num_steps})",
        )
        sequences = self.num_games * self.num_steps // self.bptt
        require(
            1 <= self.num_minibatches <= sequences,
            "num_minibatches",
            f"must be between 1 and the {sequences} training sequences (got {self.num_minibatches})",
        )
        require(self.update_epochs >= 1, "update_epochs", f"must be at least 1 (got {self.update_epochs})")
        require(self.learning_rate > 0, "learning_rate", f"must be positive (got {self.learning_rate})")
        require(0.0 < self.gamma <= 1.0, "gamma", f"must be in (0, 1] (got {self.gamma})")
        require(0.0 <= self.gae_lambda <= 1.0, "gae_lambda", f"must be in [0, 1] (got {self.gae_lambda})")
        for name in ("team_spirit_start", "team_spirit_end"):
            value = getattr(self, name)
            require(0.0 <= value <= 1.0, name, f"must be in [0, 1] (got {value})")
        require(len(self.curriculum) >= 1, "curriculum", "must hold at least one stage")
        names = [stage.name for stage in self.curriculum]
        require(
            self.first_stage is None or self.first_stage in names,
            "first_stage",
            f"must name a curriculum stage: {', '.join(names)} (got {self.first_stage})",
        )
        require(self.minutes is None or self.minutes > 0, "minutes", f"must be positive (got {self.minutes})")
        require(
            self.total_steps is None or self.total_steps > 0, "total_steps", f"must be positive ({self.total_steps})"
        )
        for name in ("advance_win_rate", "advance_exam_win_rate"):
            value = getattr(self, name)
            require(0.0 <= value <= 1.0, name, f"must be in [0, 1] (got {value})")
        require(
            self.advance_exam_games == 0 or self.advance_exam_games >= 2,
            "advance_exam_games",
            f"must be 0 (no exam) or at least 2, one game on each side (got {self.advance_exam_games})",
        )
        counts = ("snapshot_every", "checkpoint_every", "keep_checkpoints", "win_window", "advance_games")
        for name in (*counts, "advance_exam_every"):
            value = getattr(self, name)
            require(value >= 1, name, f"must be at least 1 (got {value})")
        require(self.threads >= 1, "threads", f"must be at least 1 (got {self.threads})")
        require(
            self.workers == 0 or (self.workers >= 1 and self.num_games % self.workers == 0),
            "workers",
            f"must be 0 or divide num_games ({self.num_games}) so that workers play as many games (got {self.workers})",
        )


@dataclass
class TrainSummary:
    """How a `fourfold five train` run went."""

    run: str
    seed: int
    steps: int
    """Agent-steps trained in all (before a resume included)."""
    iterations: int
    seconds: float
    """Wall time of this process's training."""
    steps_per_second: float
    """Agent-steps per second of this process (rollout and learning)."""
    stage: str
    """The curriculum stage at the end."""
    win_rates: dict[str, float]
    """Win rate (draws count half) over the last games against each kind of opponent."""
    games: int

    def __str__(self) -> str:
        rates = ", ".join(f"{name} {rate:.0%}" for name, rate in sorted(self.win_rates.items()))
        return (
            f"five self-play, seed {self.seed}: {self.steps:,} agent-steps in {self.iterations} iterations, "
            f"{self.seconds:.0f} s ({self.steps_per_second:,.0f} agent-steps/s), stage {self.stage}, "
            f"{self.games} games\nwin rates: {rates or 'none yet'}\nrun: {self.run}"
        )


Mode = Literal["new", "resume", "overwrite"]


def run_folder(config: TrainConfig) -> Path:
    """Where `train(config)` writes: --out, else <runs>/five/<name>."""
    from fourfold.core.runlog import run_directory

    return config.out if config.out is not None else run_directory(SYSTEM, config.name, config.runs)


def train(config: TrainConfig) -> TrainSummary:
    """Train a Five policy by self-play as `config` says (see the module docstring)."""
    import torch

    from fourfold.core.checkpoint import latest_checkpoint, load_checkpoint
    from fourfold.core.config import from_jsonable
    from fourfold.core.runlog import open_run
    from fourfold.five.agents import resolve_checkpoint
    from fourfold.five.distributed import DistributedConfig, train_distributed
    from fourfold.five.policy import load_policy
    from fourfold.five.selfplay import train_selfplay

    # 1. The run folder, and the checkpoint to continue.
    directory = run_folder(config)
    checkpoint = None
    if config.resume:
        path = latest_checkpoint(directory / "checkpoints")
        if path is None:
            raise ConfigError("resume", f"run {directory} has no checkpoint to resume; drop --resume to start it")
        checkpoint = load_checkpoint(path, kind=CHECKPOINT_KIND)
        saved = from_jsonable(TrainConfig, checkpoint.config)
        if saved.seed != config.seed:
            raise ConfigError("resume", f"run {directory} was trained with seed {saved.seed}; resume with that --seed")
        # The saved settings win; only the budget, threads and progress come from this call.
        config = dataclasses.replace(
            saved,
            resume=True,
            out=config.out,
            minutes=config.minutes,
            total_steps=config.total_steps if config.total_steps is not None else saved.total_steps,
            stop_after_iterations=config.stop_after_iterations,
            threads=config.threads,
            progress=config.progress,
        )
    elif config.init_from is not None:
        _, policy_config = load_policy(resolve_checkpoint(config.init_from))
        config = dataclasses.replace(config, policy=policy_config)
    mode: Mode = "resume" if config.resume else "overwrite" if config.overwrite else "new"

    # 2. Train: in this process, or with rollout workers on Ray (checked before the run folder is touched).
    torch.set_num_threads(config.threads)
    distributed = DistributedConfig(config, backend="ray") if config.workers > 0 else None
    resume_step = checkpoint.step if checkpoint is not None else None
    with open_run(SYSTEM, config.name, config, mode=mode, resume_step=resume_step, directory=directory) as run:
        if distributed is None:
            result = train_selfplay(config, run, checkpoint)
        else:
            result = train_distributed(distributed, run, checkpoint)
    summary = TrainSummary(run=str(directory), seed=config.seed, **dataclasses.asdict(result))
    (directory / SUMMARY_FILE).write_text(json.dumps(dataclasses.asdict(summary), indent=2) + "\n", encoding="utf-8")
    return summary
