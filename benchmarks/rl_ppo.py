"""PPO on CartPole-v1: wall time to a mean training return of 475, fourfold against Stable-Baselines3.

Both train from scratch, one torch thread each, in this process, seed after seed: fourfold's PPO with its tuned
preset on the batched `fourfold/CartPole-v1`, SB3's PPO with rl-baselines3-zoo's hyperparameters for CartPole-v1
(8 envs x 32 steps, batch 256, 20 epochs, gamma 0.98, GAE lambda 0.8, learning rate and clip range linear from
1e-3 and 0.2, 1e5 steps) on Gymnasium's CartPole-v1 in SB3's `DummyVecEnv`, as rl-zoo runs it. The clock starts
when training starts (network built, envs reset) and stops when the mean return of the last 100 training episodes
first reaches 475 (SB3's `rollout/ep_rew_mean`); both then train on to the end of their 1e5 steps, and the greedy
evaluation after it (100 episodes) says whether the run ended solved. The figure is the median over seeds.

Also: environment steps per second of whole PPO training (policy, env, learning) at 8, 64 and 1024 envs, with the
same hyperparameters on both sides (128 steps per env per rollout, 4 epochs, 4 minibatches, 64x64 networks).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fourfold.bench import BenchRow, print_rows
from fourfold.rl.config import TrainConfig
from fourfold.rl.train import train

TARGET = 475.0
ZOO = {
    "n_steps": 32,
    "batch_size": 256,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "n_epochs": 20,
    "ent_coef": 0.0,
}


def fourfold_run(seed: int, runs: Path) -> tuple[float | None, float]:
    """Seconds to the target and the final greedy evaluation of one fourfold PPO run."""
    summary = train(
        TrainConfig(
            algo="ppo",
            env="fourfold/CartPole-v1",
            seed=seed,
            runs=runs,
            overwrite=True,
            target_return=TARGET,
            stop_at_target=False,
            eval_episodes=100,
            progress=False,
        )
    )
    assert summary.eval_mean is not None
    return summary.seconds_to_target, summary.eval_mean


def sb3_run(seed: int) -> tuple[float | None, float]:
    """Seconds to the target and the final greedy evaluation of one SB3 PPO run with rl-zoo's hyperparameters."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    class TimeToTarget(BaseCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.start = time.perf_counter()
            self.seconds: float | None = None

        def _on_step(self) -> bool:
            buffer = self.model.ep_info_buffer
            if self.seconds is None and buffer and np.mean([e["r"] for e in buffer]) >= TARGET:
                self.seconds = time.perf_counter() - self.start
            return True

    callback = TimeToTarget()
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = PPO(
        "MlpPolicy",
        env,
        learning_rate=lambda progress: 1e-3 * progress,
        clip_range=lambda progress: 0.2 * progress,
        seed=seed,
        device="cpu",
        verbose=0,
        **ZOO,
    )
    model.learn(100_000, callback=callback)
    returns, _ = evaluate_policy(model, make_vec_env("CartPole-v1", n_envs=1, seed=seed + 1_000_000), 100)
    return callback.seconds, float(returns)


def throughput(num_envs: int, runs: Path, steps: int) -> tuple[float, float]:
    """Steps/s of PPO training at `num_envs` envs: fourfold, then SB3 on DummyVecEnv."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    hyperparams = ("num_steps=128", "num_minibatches=4", "update_epochs=4", f"num_envs={num_envs}")
    summary = train(
        TrainConfig(
            algo="ppo",
            env="fourfold/CartPole-v1",
            hyperparams=hyperparams,
            total_steps=steps,
            runs=runs,
            overwrite=True,
            eval_episodes=0,
            progress=False,
        )
    )
    env = make_vec_env("CartPole-v1", n_envs=num_envs, seed=0)
    batch = num_envs * 128
    model = PPO("MlpPolicy", env, n_steps=128, batch_size=batch // 4, n_epochs=4, device="cpu", seed=0)
    start = time.perf_counter()
    model.learn(steps)
    sb3_rate = model.num_timesteps / (time.perf_counter() - start)
    return summary.steps_per_second, sb3_rate


def run(threads: int, quick: bool) -> list[BenchRow]:
    """Time to 475 over seeds, and training throughput at three env counts."""
    torch.set_num_threads(1)  # both sides: small networks run fastest on one thread
    seeds = range(3 if quick else 10)
    ours: list[tuple[float | None, float]] = []
    theirs: list[tuple[float | None, float]] = []
    with tempfile.TemporaryDirectory(prefix="fourfold-bench-rl-") as directory:
        runs = Path(directory)
        for seed in seeds:
            ours.append(fourfold_run(seed, runs))
            theirs.append(sb3_run(seed))
            print(f"seed {seed}: fourfold {ours[-1]}, SB3 {theirs[-1]}", flush=True)
        rows = [
            BenchRow(
                f"PPO CartPole-v1: seconds to mean return 475, median of {len(seeds)} seeds",
                _median_time(ours),
                "SB3 PPO (rl-zoo hyperparameters)",
                _median_time(theirs),
                "s",
                1,
                higher_is_better=False,
            ),
            BenchRow(
                f"PPO CartPole-v1: seeds ending at 500 (greedy, 100 episodes) of {len(seeds)}",
                float(sum(score >= 500.0 for _, score in ours)),
                "SB3 PPO (rl-zoo hyperparameters)",
                float(sum(score >= 500.0 for _, score in theirs)),
                "seeds",
                1,
            ),
        ]
        for num_envs in (8, 64, 1024):
            steps = 2 * num_envs * 128 if num_envs == 1024 else 20_000 if quick else 50_000
            fourfold_rate, sb3_rate = throughput(num_envs, runs, steps)
            rows.append(
                BenchRow(
                    f"PPO training steps/s, CartPole-v1, {num_envs} envs",
                    fourfold_rate,
                    "SB3 PPO on DummyVecEnv",
                    sb3_rate,
                    "steps/s",
                    1,
                )
            )
    return rows


def _median_time(results: list[tuple[float | None, Any]]) -> float:
    """Median seconds to the target; a run that never reached it counts as infinitely slow."""
    return statistics.median(seconds if seconds is not None else float("inf") for seconds, _ in results)


if __name__ == "__main__":
    print_rows(run(threads=1, quick=False))
