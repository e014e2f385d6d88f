"""Training: every algorithm runs, a seed fixes the run, a killed run resumes exactly, time limits bootstrap."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium import spaces

from fourfold.core.config import ConfigError
from fourfold.rl.config import TrainConfig
from fourfold.rl.envs import EnvError
from fourfold.rl.evaluate import EvalConfig, evaluate
from fourfold.rl.policy import load_agent
from fourfold.rl.train import train

SMOKE = {
    "ppo": ("fourfold/CartPole-v1", ("num_envs=4", "num_steps=32", "num_minibatches=2", "update_epochs=2")),
    "dqn": ("fourfold/CartPole-v1", ("learning_starts=100", "train_frequency=4", "gradient_steps=1")),
    "sac": ("fourfold/Pendulum-v1", ("learning_starts=100", "batch_size=32", "hidden_sizes=32,32")),
}


def _config(tmp_path: Path, algo: str, **changes: Any) -> TrainConfig:
    env, hyperparams = SMOKE[algo]
    base: dict[str, Any] = {
        "algo": algo,
        "env": env,
        "seed": 1,
        "hyperparams": hyperparams,
        "total_steps": 512,
        "runs": tmp_path,
        "progress": False,
        "eval_episodes": 2,
    }
    return TrainConfig(**{**base, **changes})


def _metrics(run: Path) -> list[dict[str, float]]:
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    wall_clock = ("time", "charts/sps")
    return [{k: v for k, v in line.items() if k not in wall_clock} for line in lines]


@pytest.mark.parametrize("algo", ["ppo", "dqn", "sac"])
def test_smoke_every_algorithm(tmp_path: Path, algo: str) -> None:
    summary = train(_config(tmp_path, algo))
    assert summary.steps >= 512 and summary.episodes > 0
    assert summary.eval_mean is not None
    run = Path(summary.run)
    metrics = _metrics(run)
    assert any("charts/episodic_return" in line for line in metrics)
    assert any(key.startswith("losses/") for line in metrics for key in line)
    assert metrics[-1]["eval/episodic_return"] == summary.eval_mean
    config = json.loads((run / "config.json").read_text())
    assert config["algo"] == algo and config["hyperparameters"]["total_steps"] == 512
    result = evaluate(EvalConfig(run=run, episodes=3))
    assert result.episodes == 3 and len(result.returns) == 3


@pytest.mark.parametrize("algo", ["ppo", "dqn", "sac"])
def test_same_seed_same_metrics(tmp_path: Path, algo: str) -> None:
    first = train(_config(tmp_path, algo, name="a", eval_episodes=0))
    second = train(_config(tmp_path, algo, name="b", eval_episodes=0))
    assert _metrics(Path(first.run)) == _metrics(Path(second.run))
    third = train(_config(tmp_path, algo, name="c", seed=2, eval_episodes=0))
    assert _metrics(Path(third.run)) != _metrics(Path(first.run))


@pytest.mark.parametrize("algo", ["ppo", "dqn", "sac"])
def test_resume_after_a_kill_continues_exactly(tmp_path: Path, algo: str) -> None:
    whole = train(_config(tmp_path, algo, name="whole", total_steps=1024, eval_episodes=0))
    killed = train(_config(tmp_path, algo, name="killed", total_steps=1024, checkpoint_every=400, eval_episodes=0))
    # Lose everything after the first checkpoint, as a kill would have.
    folders = sorted((Path(killed.run) / "checkpoints").iterdir())
    assert len(folders) == 2
    shutil.rmtree(folders[-1])
    resumed = train(_config(tmp_path, algo, name="killed", total_steps=1024, resume=True, eval_episodes=0))
    assert resumed.steps == whole.steps
    assert _metrics(Path(resumed.run)) == _metrics(Path(whole.run))


def test_resume_refuses_another_task(tmp_path: Path) -> None:
    train(_config(tmp_path, "ppo", name="r", eval_episodes=0))
    with pytest.raises(ConfigError, match="same --algo, --env and --seed"):
        train(_config(tmp_path, "ppo", name="r", seed=5, resume=True))


def test_wrong_algorithm_for_the_action_space_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(EnvError, match="SAC needs continuous"):
        train(_config(tmp_path, "sac", env="fourfold/CartPole-v1"))
    with pytest.raises(EnvError, match="DQN needs discrete"):
        train(_config(tmp_path, "dqn", env="fourfold/Pendulum-v1"))


class Forever(gymnasium.Env[np.ndarray, int]):
    """Reward 1 every step, never terminates; only a time limit of 5 steps ends episodes. The true value of its one
    state is 1 / (1 - gamma) = 10 at gamma 0.9; treating the time limit as a termination would learn about 4."""

    observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.ones(1, np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        return np.ones(1, np.float32), 1.0, False, False, {}


@pytest.fixture(scope="module")
def forever_id() -> str:
    env_id = "fourfold-test/Forever-v0"
    if env_id not in gymnasium.registry:
        gymnasium.register(env_id, entry_point=Forever, max_episode_steps=5)
    return env_id


def test_ppo_bootstraps_time_limits(tmp_path: Path, forever_id: str) -> None:
    hyperparams = ("gamma=0.9", "num_envs=4", "num_steps=20", "learning_rate=0.01", "anneal_lr=false")
    summary = train(
        TrainConfig(
            algo="ppo",
            env=forever_id,
            hyperparams=hyperparams,
            total_steps=8000,
            runs=tmp_path,
            progress=False,
            eval_episodes=0,
        )
    )
    agent = load_agent(summary.run)
    value = agent.network.value(torch.ones(1, 1)).item()  # type: ignore[operator]
    assert value == pytest.approx(10.0, abs=1.0)


def test_dqn_bootstraps_time_limits(tmp_path: Path, forever_id: str) -> None:
    hyperparams = ("gamma=0.9", "learning_starts=0", "learning_rate=0.003", "target_update_interval=50")
    summary = train(
        TrainConfig(
            algo="dqn",
            env=forever_id,
            hyperparams=hyperparams,
            total_steps=3000,
            runs=tmp_path,
            progress=False,
            eval_episodes=0,
        )
    )
    agent = load_agent(summary.run)
    values = agent.network(torch.ones(1, 1))
    assert values.min().item() == pytest.approx(10.0, abs=1.0)


@pytest.mark.parametrize("anneal", [True, False])
def test_dqn_learning_rate_decays_linearly_to_zero_with_anneal_lr(tmp_path: Path, anneal: bool) -> None:
    hyperparams = (*SMOKE["dqn"][1], "hidden_sizes=32,32", "learning_rate=0.002", f"anneal_lr={str(anneal).lower()}")
    summary = train(_config(tmp_path, "dqn", hyperparams=hyperparams, total_steps=3000, eval_episodes=0))
    rates = {int(line["global_step"]): line["charts/learning_rate"] for line in _metrics(Path(summary.run))}
    assert sorted(rates) == [1000, 2000, 3000]
    for step, rate in rates.items():
        assert rate == pytest.approx(0.002 * (1 - step / 3000) if anneal else 0.002)
