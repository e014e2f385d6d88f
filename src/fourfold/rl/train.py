"""`fourfold rl train`: train PPO, DQN or SAC on a task, into a run folder with CleanRL's metric names.

`train` resolves the hyperparameters (the tuned preset for the algorithm and task, `presets.py`, then
`--hyperparams` overrides and `--total-steps`), opens `runs/rl/<name>/` (config.json with the resolved values,
metrics.jsonl, checkpoints/), runs the algorithm's loop (`ppo.py`, `dqn.py`, `sac.py`), and evaluates the final
agent greedily. `--resume` continues a killed run from its newest checkpoint: on fourfold's tasks the resumed run
logs exactly the metrics the uninterrupted run would have (wall-clock columns aside).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fourfold.core.checkpoint import Checkpoint
from fourfold.core.config import ConfigError
from fourfold.core.runlog import Run, RunMode, open_run, run_directory
from fourfold.rl.config import RunSpec, TrainConfig, apply_overrides, read_run, run_record
from fourfold.rl.envs import check_algorithm, task_spaces
from fourfold.rl.loop import LoopResult
from fourfold.rl.presets import preset

SYSTEM = "rl"
SUMMARY_FILE = "summary.json"
"""The run folder's record of how training ended (`TrainSummary` as JSON), read by `fourfold rl table`."""


@dataclass
class TrainSummary:
    """How a training run went."""

    run: str
    algo: str
    env: str
    seed: int
    steps: int
    episodes: int
    seconds: float
    steps_per_second: float
    mean_return: float | None
    """Mean return of the last 100 training episodes."""
    seconds_to_target: float | None
    """Seconds until the last-100 mean first reached --target-return (None: no target, or never)."""
    eval_mean: float | None
    eval_std: float | None

    def __str__(self) -> str:
        lines = [
            f"{self.algo} on {self.env}, seed {self.seed}: {self.steps:,} steps, {self.episodes:,} episodes in "
            f"{self.seconds:.1f} s ({self.steps_per_second:,.0f} steps/s)",
        ]
        if self.mean_return is not None:
            lines.append(f"training return (last 100 episodes): {self.mean_return:.2f}")
        if self.seconds_to_target is not None:
            lines.append(f"target return reached after {self.seconds_to_target:.2f} s")
        if self.eval_mean is not None and self.eval_std is not None:
            lines.append(f"evaluation (greedy): {self.eval_mean:.2f} ± {self.eval_std:.2f}")
        lines.append(f"run: {self.run}")
        return "\n".join(lines)


def resolve(config: TrainConfig) -> RunSpec:
    """The run's spec: preset, then overrides, then --total-steps."""
    algorithm = apply_overrides(preset(config.algo, config.env), config.hyperparams)
    if config.total_steps is not None:
        algorithm = dataclasses.replace(algorithm, total_steps=config.total_steps)
    return RunSpec(config, algorithm)


def train(config: TrainConfig) -> TrainSummary:
    """Train as `config` says and evaluate the result."""
    import numpy as np
    import torch

    from fourfold.core.seeding import seed_everything
    from fourfold.rl import checkpoints
    from fourfold.rl.dqn import train_dqn
    from fourfold.rl.evaluate import EVAL_SEED_OFFSET, play_episodes
    from fourfold.rl.policy import load_agent
    from fourfold.rl.ppo import train_ppo
    from fourfold.rl.sac import train_sac

    loops: dict[str, Callable[[RunSpec, Run, Checkpoint | None], LoopResult]] = {
        "ppo": train_ppo,
        "dqn": train_dqn,
        "sac": train_sac,
    }
    # 1. What to run: the resolved spec, or the saved one when resuming.
    directory = run_folder(config)
    checkpoint = None
    if config.resume:
        spec = read_run(directory)
        if (spec.train.algo, spec.train.env, spec.train.seed) != (config.algo, config.env, config.seed):
            raise ConfigError(
                "resume",
                f"run {directory} trained {spec.train.algo} on {spec.train.env} with seed {spec.train.seed}; "
                "resume it with the same --algo, --env and --seed",
            )
        spec = RunSpec(dataclasses.replace(spec.train, resume=True, progress=config.progress), spec.algorithm)
        checkpoint = checkpoints.load_latest(directory)
    else:
        spec = resolve(config)
        check_algorithm(config.algo, task_spaces(config.env)[1])  # before the run folder is made
    mode: RunMode = "resume" if config.resume else "overwrite" if config.overwrite else "new"

    # 2. Train.
    torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    resume_step = checkpoint.step if checkpoint is not None else None
    record = run_record(spec)
    with open_run(
        SYSTEM, config.run_name, record, root=config.runs, mode=mode, resume_step=resume_step, directory=directory
    ) as run:
        result = loops[config.algo](spec, run, checkpoint)

        # 3. Evaluate the final agent greedily, logged as eval/* at the last step.
        eval_mean = eval_std = None
        if config.eval_episodes > 0:
            agent = load_agent(directory)
            returns, _ = play_episodes(agent, config.eval_episodes, config.seed + EVAL_SEED_OFFSET)
            eval_mean, eval_std = float(np.mean(returns)), float(np.std(returns))
            run.log(result.steps, {"eval/episodic_return": eval_mean, "eval/episodic_return_std": eval_std})
    summary = TrainSummary(
        run=str(directory),
        algo=config.algo,
        env=config.env,
        seed=config.seed,
        steps=result.steps,
        episodes=result.episodes,
        seconds=result.seconds,
        steps_per_second=result.steps_per_second,
        mean_return=result.recent_mean_return,
        seconds_to_target=result.seconds_to_target,
        eval_mean=eval_mean,
        eval_std=eval_std,
    )
    (directory / SUMMARY_FILE).write_text(json.dumps(dataclasses.asdict(summary), indent=2) + "\n", encoding="utf-8")
    return summary


def run_folder(config: TrainConfig) -> Path:
    """Where `train(config)` writes: --out, else <runs>/rl/<name>."""
    return config.out if config.out is not None else run_directory(SYSTEM, config.run_name, config.runs)
