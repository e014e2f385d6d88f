"""`fourfold rl watch RUN`: record a trained agent playing its task, through the Gym recording tools (a GIF, an MP4
where imageio-ffmpeg is present, and a frame sheet PNG), by default into the run folder's `videos/`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tyro

from fourfold.core.config import require
from fourfold.gym.watch import WatchConfig as GymWatchConfig
from fourfold.gym.watch import WatchSummary
from fourfold.gym.watch import watch as record_task
from fourfold.rl.evaluate import EVAL_SEED_OFFSET
from fourfold.rl.policy import load_agent


@dataclass
class WatchConfig:
    """Record a trained agent (greedy actions) to a video and a frame sheet."""

    run: tyro.conf.Positional[Path]
    """The run folder, e.g. runs/rl/ppo-CartPole-v1-s0."""
    out: Path | None = None
    """Output path without extension (default: <run>/videos/agent)."""
    num_envs: int = 1
    """Envs shown side by side in a grid."""
    episodes: int = 1
    """Episodes per env."""
    max_steps: int = 1000
    """Stop after this many steps whatever the episodes."""
    seed: int | None = None
    """Seed of the episodes (default: the run's seed + 1,000,000, as `fourfold rl eval`)."""

    def __post_init__(self) -> None:
        require(self.num_envs >= 1, "num_envs", f"must be at least 1 (got {self.num_envs})")
        require(self.episodes >= 1, "episodes", f"must be at least 1 (got {self.episodes})")
        require(self.max_steps >= 1, "max_steps", f"must be at least 1 (got {self.max_steps})")


def watch(config: WatchConfig) -> WatchSummary:
    """Load the run's agent and record it."""
    agent = load_agent(config.run)
    seed = config.seed if config.seed is not None else agent.spec.train.seed + EVAL_SEED_OFFSET
    gym_config = GymWatchConfig(
        env=agent.env_id,
        out=config.out or config.run / "videos" / "agent",
        num_envs=config.num_envs,
        episodes=config.episodes,
        max_steps=config.max_steps,
        seed=seed,
    )
    return record_task(gym_config, policy=agent)
