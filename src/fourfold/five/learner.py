"""The learner's state and bookkeeping in Five self-play, shared by the in-process loop and the workers' learner.

OpenAI Five (Berner et al. 2019) trains one policy against a pool of its past versions, with team spirit annealed
from 0.3 to 1.0, an annealed entropy bonus, and (here) a curriculum from 1v1 to 5v5. Both training loops,
`selfplay.train_selfplay` (one process) and `distributed.train_distributed` (rollout workers and a learner), keep
the same `Learner` state (policy, optimizer, the random stream of the PPO minibatches, the opponent pool and the
past snapshots, win histories, counters) and call the same small functions for what happens around the PPO update:
the schedules, the games' results into win rates, snapshots into the pool (kept while a game still plays one), the
curriculum, the stop rule, the metrics line and the checkpoint.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fourfold.core.checkpoint import Checkpoint, checkpoint_path, load_model_state, prune_checkpoints, save_checkpoint
from fourfold.core.runlog import Run
from fourfold.five.agents import resolve_checkpoint
from fourfold.five.match import policy_vs_bot
from fourfold.five.policy import FivePolicy, load_policy, save_policy
from fourfold.five.pool import OpponentPool
from fourfold.five.ppo import Update
from fourfold.five.rewards import RewardConfig
from fourfold.five.rollout import GameResult, Storage
from fourfold.five.train import CHECKPOINT_KIND, TrainConfig


@dataclass(frozen=True)
class SelfPlayResult:
    """How a training loop (`train_selfplay` or `train_distributed`) ended."""

    steps: int
    iterations: int
    seconds: float
    steps_per_second: float
    stage: str
    win_rates: dict[str, float]
    games: int


@dataclass
class Learner:
    """Everything the learner carries from one iteration to the next (and into a checkpoint)."""

    policy: FivePolicy
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    """The in-process loop samples actions from it too; the distributed learner only draws minibatch orders."""
    pool: OpponentPool
    snapshots: dict[int, FivePolicy]
    """Past versions by step: those in the pool, and dropped ones a game in progress still plays."""
    pool_dir: Path
    """Where the snapshots are saved (`pool/step_N/`)."""
    history: dict[str, list[float]]
    """Opponent kind ("latest", "past") or bot name -> the last `win_window` outcomes."""
    counters: dict[str, int]
    """iteration, global_step (agent-steps), stage, stage_start (its first step), games (ended), exam_iteration
    (the iteration of the stage's last exam, 0 before the first)."""


def new_learner(config: TrainConfig, pool_dir: Path, checkpoint: Checkpoint | None) -> Learner:
    """A fresh learner seeded by `config.seed`, or the one saved in `checkpoint` (snapshots read from `pool_dir`)."""
    torch.manual_seed(config.seed)
    policy = FivePolicy(config.policy)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate, eps=1e-5)
    generator = torch.Generator().manual_seed(config.seed)
    learner = Learner(
        policy=policy,
        optimizer=optimizer,
        generator=generator,
        pool=OpponentPool(config.pool),
        snapshots={},
        pool_dir=pool_dir,
        history={},
        counters={
            "iteration": 0,
            "global_step": 0,
            "stage": first_stage(config),
            "stage_start": 0,
            "games": 0,
            "exam_iteration": 0,
        },
    )
    if checkpoint is not None:
        load_model_state(policy, checkpoint.model, str(checkpoint.path))
        state = checkpoint.state
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        learner.pool.load_state_dict(state["pool"])
        learner.history = {name: list(results) for name, results in state["history"].items()}
        learner.counters = {name: int(value) for name, value in state["counters"].items()}
        load_snapshots(learner, learner.pool.versions)
    elif config.init_from is not None:
        start, _ = load_policy(resolve_checkpoint(config.init_from))
        policy.load_state_dict(start.state_dict())
    return learner


def first_stage(config: TrainConfig) -> int:
    """The index of the curriculum stage a fresh run starts at."""
    names = [stage.name for stage in config.curriculum]
    return names.index(config.first_stage) if config.first_stage is not None else 0


def load_snapshots(learner: Learner, versions: list[int] | set[int]) -> None:
    """Read the snapshots of `versions` not held yet from the pool folder."""
    for version in versions:
        if version not in learner.snapshots:
            learner.snapshots[version], _ = load_policy(checkpoint_path(learner.pool_dir, version))


def schedule(start: float, end: float, step: int, steps: int) -> float:
    """Linear from `start` at step 0 to `end` at `steps`, then constant."""
    return start + (end - start) * min(1.0, step / max(1, steps))


def team_spirit(config: TrainConfig, step: int) -> float:
    """Team spirit tau at agent-step `step` (Five: 0.3 -> 1.0)."""
    return schedule(config.team_spirit_start, config.team_spirit_end, step, config.team_spirit_steps)


def entropy_coef(config: TrainConfig, step: int) -> float:
    """The entropy bonus at agent-step `step`."""
    return schedule(config.ent_coef, config.ent_coef_final, step, config.anneal_steps)


def stage_learning_rate(config: TrainConfig, stage: int) -> float:
    """Adam's step size in curriculum stage `stage` (its own, else the config's)."""
    own = config.curriculum[stage].learning_rate
    return own if own is not None else config.learning_rate


def stage_reward(config: TrainConfig, stage: int, tau: float) -> RewardConfig:
    """The reward weights of curriculum stage `stage` (its own, else the config's) with team spirit `tau`."""
    own = config.curriculum[stage].reward
    return dataclasses.replace(own if own is not None else config.reward, team_spirit=tau)


def record_games(learner: Learner, results: list[GameResult], window: int, record_wins: bool) -> None:
    """Ended games into the win histories and the games counter; with `record_wins` also into the pool's scores
    (`OpponentPool.record_result`; the in-process rollout records them in the pool it draws from as they happen)."""
    for opponent, outcome in results:
        key = opponent.name if opponent.kind == "bot" else opponent.kind
        learner.history.setdefault(key, []).append(outcome)
        del learner.history[key][:-window]
        if record_wins:
            learner.pool.record_result(opponent, outcome)
        learner.counters["games"] += 1


def win_rates(history: dict[str, list[float]]) -> dict[str, float]:
    """Opponent -> mean outcome (draws count half) of its recorded games."""
    return {name: float(np.mean(results)) for name, results in history.items() if results}


def take_snapshot(learner: Learner) -> None:
    """The current policy joins the pool as version `global_step` (kept in memory and in the pool folder)."""
    version = learner.counters["global_step"]
    learner.snapshots[version] = copy.deepcopy(learner.policy).eval()
    save_policy(checkpoint_path(learner.pool_dir, version), learner.policy, step=version)
    learner.pool.add(version)


def release_snapshots(learner: Learner, playing: set[int]) -> None:
    """Forget, and delete from the pool folder, the snapshots the pool dropped that no game in `playing` plays."""
    for version in sorted(learner.snapshots):
        if version not in learner.pool.versions and version not in playing:
            del learner.snapshots[version]
            shutil.rmtree(checkpoint_path(learner.pool_dir, version), ignore_errors=True)


EXAM_SEED = 2_000_000
"""Seed of the exams' games (plus the iteration): away from training's seeds and from `fourfold five eval`'s."""


@dataclass(frozen=True)
class Advance:
    """What the curriculum check after one iteration did."""

    moved: bool
    """The next stage starts."""
    exam: float | None = None
    """The win rate of the exam played at this check, if one was."""


def advance_curriculum(config: TrainConfig, learner: Learner) -> Advance:
    """Move to the next stage after the current one's step budget, or once the policy has shown it beats
    `advance_bot`: the last `advance_games` training games against it score `advance_win_rate`, and then (unless
    `advance_exam_games` is 0) an exam of that many held-out games scores `advance_exam_win_rate`; a failed exam is
    retaken `advance_exam_every` iterations later at the earliest. The win histories start afresh in a new stage."""
    counters = learner.counters
    if counters["stage"] + 1 >= len(config.curriculum):
        return Advance(moved=False)
    stage = config.curriculum[counters["stage"]]
    recent = learner.history.get(config.advance_bot, [])[-config.advance_games :]
    ready = len(recent) >= config.advance_games and float(np.mean(recent)) >= config.advance_win_rate
    exam: float | None = None
    if ready and config.advance_exam_games > 0:
        last = counters.get("exam_iteration", 0)
        if last > 0 and counters["iteration"] - last < config.advance_exam_every:
            ready = False
        else:
            exam = sit_exam(config, learner)
            counters["exam_iteration"] = counters["iteration"]
            ready = exam >= config.advance_exam_win_rate
    out_of_steps = stage.max_steps > 0 and counters["global_step"] - counters["stage_start"] >= stage.max_steps
    if not (ready or out_of_steps):
        return Advance(moved=False, exam=exam)
    counters["stage"] += 1
    counters["stage_start"] = counters["global_step"]
    counters["exam_iteration"] = 0
    learner.history.clear()
    return Advance(moved=True, exam=exam)


def sit_exam(config: TrainConfig, learner: Learner) -> float:
    """The current policy's win rate against `advance_bot` in `advance_exam_games` games of the current stage
    (sides swapped half the time, the policy sampling), on seeds that neither training nor `fourfold five eval`
    plays. Its own copy of the policy and its own random streams: training goes on exactly as without it."""
    game = config.curriculum[learner.counters["stage"]].game
    seed = EXAM_SEED + learner.counters["iteration"]
    return policy_vs_bot(learner.policy, config.advance_bot, config.advance_exam_games, game, seed).win_rate


def should_stop(config: TrainConfig, learner: Learner, elapsed: float, iterations_here: int) -> bool:
    """The step budget, the time budget (`elapsed` seconds) or the iteration count of this process is reached."""
    total, minutes, iterations = config.total_steps, config.minutes, config.stop_after_iterations
    return (
        (total is not None and learner.counters["global_step"] >= total)
        or (minutes is not None and elapsed >= minutes * 60.0)
        or (iterations is not None and iterations_here >= iterations)
    )


def iteration_metrics(
    learner: Learner,
    tau: float,
    ent_coef: float,
    storage: Storage,
    update: Update,
    components: dict[str, float],
    batch_steps: int,
) -> dict[str, float]:
    """The metrics line of an iteration (without the `time/` columns): stage, schedules, losses, win rates per kind of
    opponent, and the reward components the learners collected per 1000 agent-steps (weighted, before team spirit,
    zero-sum and decay)."""
    counters = learner.counters
    return {
        "train/stage": float(counters["stage"]),
        "train/team_spirit": tau,
        "train/ent_coef": ent_coef,
        "train/learning_rate": float(learner.optimizer.param_groups[0]["lr"]),
        "train/games": float(counters["games"]),
        "train/pool_size": float(len(learner.pool.versions)),
        "train/mean_reward": float(storage.rewards.mean()),
        "train/explained_variance": update.explained_variance,
        **{f"losses/{name}": value for name, value in update.losses.items()},
        **{f"win_rate/{name}": rate for name, rate in win_rates(learner.history).items()},
        **{f"reward/{name}": 1000.0 * value / batch_steps for name, value in components.items()},
    }


def speed_metrics(
    batch_steps: int,
    steps_per_second: float,
    rollout: tuple[float, float],
    learn: tuple[float, float],
) -> dict[str, float]:
    """The `time/` columns: agent-steps per second overall (`steps_per_second`), and of the rollout and the learner
    alone per wall and per CPU second, from their (wall, CPU) seconds for this iteration's `batch_steps`."""
    (rollout_seconds, rollout_cpu), (learn_seconds, learn_cpu) = rollout, learn
    return {
        "time/agent_steps_per_second": steps_per_second,
        "time/rollout_steps_per_second": batch_steps / max(rollout_seconds, 1e-9),
        "time/learner_steps_per_second": batch_steps / max(learn_seconds, 1e-9),
        "time/agent_steps_per_cpu_second": batch_steps / max(rollout_cpu + learn_cpu, 1e-9),
        "time/rollout_steps_per_cpu_second": batch_steps / max(rollout_cpu, 1e-9),
        "time/learner_steps_per_cpu_second": batch_steps / max(learn_cpu, 1e-9),
        "time/rollout_seconds": rollout_seconds,
        "time/learner_seconds": learn_seconds,
    }


def save_learner(run: Run, config: TrainConfig, learner: Learner, extra: dict[str, Any]) -> None:
    """A checkpoint of the learner (policy, optimizer, random stream, pool, histories, counters) and the loop's own
    `extra` state at `checkpoints/step_N`; older ones beyond `keep_checkpoints` are pruned."""
    state = {
        "optimizer": learner.optimizer.state_dict(),
        "generator": learner.generator.get_state(),
        "pool": learner.pool.state_dict(),
        "history": learner.history,
        "counters": learner.counters,
        **extra,
    }
    step = learner.counters["global_step"]
    save_checkpoint(
        checkpoint_path(run.checkpoints, step),
        model=learner.policy.state_dict(),
        config=config,
        state=state,
        step=step,
        kind=CHECKPOINT_KIND,
    )
    prune_checkpoints(run.checkpoints, config.keep_checkpoints)
