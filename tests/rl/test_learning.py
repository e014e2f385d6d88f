"""Learning tests: each algorithm, with its tuned preset and a fixed seed, reaches the task's threshold (greedy
evaluation over 20 episodes). Slow (seconds to minutes on one core), and run in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from fourfold.rl.config import TrainConfig
from fourfold.rl.train import train


@pytest.mark.slow
@pytest.mark.parametrize(
    ("algo", "env", "seed", "threshold"),
    [
        ("ppo", "fourfold/CartPole-v1", 0, 475.0),
        ("dqn", "fourfold/CartPole-v1", 1, 475.0),
        ("sac", "fourfold/Pendulum-v1", 0, -200.0),
    ],
)
def test_preset_reaches_the_threshold(tmp_path: Path, algo: str, env: str, seed: int, threshold: float) -> None:
    summary = train(TrainConfig(algo=algo, env=env, seed=seed, runs=tmp_path, progress=False, eval_episodes=20))
    assert summary.eval_mean is not None and summary.eval_mean >= threshold, summary
