"""`fourfold rl eval RUN`: play a trained agent deterministically for N episodes and report mean and std.

Each of N envs plays one episode from seed `seed + i` (seeds apart from training's by default), on the same
batched envs as training, so evaluating 100 episodes of CartPole costs one vector rollout.

Shape legend: N episodes (one env each), D flat observation size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tyro

from fourfold.core.config import require
from fourfold.rl.envs import TrainEnv
from fourfold.rl.policy import Agent, load_agent

EVAL_SEED_OFFSET = 1_000_000
"""Evaluation seeds start here above the run's seed, away from every training env's seed."""


@dataclass
class EvalConfig:
    """Evaluate a trained agent (greedy actions) over N episodes."""

    run: tyro.conf.Positional[Path]
    """The run folder, e.g. runs/rl/ppo-CartPole-v1-s0."""
    episodes: int = 100
    """Episodes to play (one env each, all at once)."""
    seed: int | None = None
    """Seed of the first episode (default: the run's seed + 1,000,000)."""

    def __post_init__(self) -> None:
        require(self.episodes >= 1, "episodes", f"must be at least 1 (got {self.episodes})")


@dataclass
class EvalSummary:
    """How the agent scored."""

    run: str
    env: str
    algo: str
    episodes: int
    mean_return: float
    std_return: float
    min_return: float
    max_return: float
    mean_length: float
    returns: list[float] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.algo} on {self.env}: {self.mean_return:.2f} ± {self.std_return:.2f} over {self.episodes} "
            f"episodes (min {self.min_return:.2f}, max {self.max_return:.2f}, mean length {self.mean_length:.1f})"
        )


def evaluate(config: EvalConfig) -> EvalSummary:
    """Load the run's agent and play `config.episodes` episodes."""
    agent = load_agent(config.run)
    seed = config.seed if config.seed is not None else agent.spec.train.seed + EVAL_SEED_OFFSET
    returns, lengths = play_episodes(agent, config.episodes, seed)
    return EvalSummary(
        run=str(config.run),
        env=agent.spec.train.env,
        algo=agent.spec.train.algo,
        episodes=len(returns),
        mean_return=float(np.mean(returns)),
        std_return=float(np.std(returns)),
        min_return=float(np.min(returns)),
        max_return=float(np.max(returns)),
        mean_length=float(np.mean(lengths)),
        returns=returns,
    )


def play_episodes(agent: Agent, episodes: int, seed: int) -> tuple[list[float], list[int]]:
    """Returns and lengths of one greedy episode in each of `episodes` envs seeded `seed + i`."""
    env = TrainEnv(agent.spec.train.env, episodes, scale_observations=agent.scale_observations)
    observations = env.reset(seed)  # (N, D)
    finished = np.zeros(episodes, dtype=np.bool_)  # (N,)
    returns = np.zeros(episodes, dtype=np.float64)  # (N,)
    lengths = np.zeros(episodes, dtype=np.int64)  # (N,)
    limit = _step_limit(agent.spec.train.env)
    for _ in range(limit):
        result = env.step(agent.act(observations))
        playing = ~finished
        returns[playing] += result.rewards[playing]
        lengths[playing] += 1
        finished |= result.terminated | result.truncated
        observations = result.observations
        if finished.all():
            break
    env.close()
    return [float(r) for r in returns], [int(n) for n in lengths]


def _step_limit(env_id: str) -> int:
    """The most steps an episode can take (its time limit), or 100,000 where the task has none."""
    import gymnasium

    steps = gymnasium.spec(env_id).max_episode_steps
    return steps if steps is not None else 100_000
