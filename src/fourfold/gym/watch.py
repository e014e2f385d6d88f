"""`fourfold gym watch ENV`: play a task and write a video (GIF, and MP4 when imageio-ffmpeg is present) and a
frame sheet PNG, of one env or a grid of several. The policy is uniformly random; trained policies come from the
RL commands (`fourfold rl watch RUN`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import gymnasium

from fourfold.core.config import require
from fourfold.core.errors import FourfoldError
from fourfold.gym.record import record
from fourfold.gym.registration import TASKS


@dataclass
class WatchConfig:
    """Play a task with random actions and record it to a video and a frame sheet."""

    env: str = "fourfold/CartPole-v1"
    """Task id (fourfold/<Name>-vN, or any Gymnasium id that renders rgb_array)."""
    out: Path = Path("runs/gym/watch")
    """Output path without extension: <out>.gif, <out>.mp4 and <out>-frames.png."""
    num_envs: int = 1
    """Envs shown side by side in a grid."""
    episodes: int = 1
    """Episodes per env."""
    max_steps: int = 500
    """Stop after this many steps whatever the episodes."""
    seed: int = 0
    """Seed of the resets and the random actions (env i of a grid gets seed + i)."""

    def __post_init__(self) -> None:
        require(self.num_envs >= 1, "num_envs", f"must be at least 1 (got {self.num_envs})")
        require(self.episodes >= 1, "episodes", f"must be at least 1 (got {self.episodes})")
        require(self.max_steps >= 1, "max_steps", f"must be at least 1 (got {self.max_steps})")


@dataclass
class WatchSummary:
    """Where the video and the frame sheet were written, and how the episodes went."""

    files: list[str] = field(default_factory=list)
    frames: int = 0
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)


def watch(config: WatchConfig) -> WatchSummary:
    """Record `config.env` under a random policy."""
    if config.env not in gymnasium.registry:
        known = ", ".join(task.id for task in TASKS)
        raise FourfoldError(f"unknown env {config.env!r}; fourfold's tasks are {known} (`fourfold gym list`)")
    envs = [gymnasium.make(config.env, render_mode="rgb_array") for _ in range(config.num_envs)]
    config.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        recording = record(
            envs if len(envs) > 1 else envs[0],
            config.out,
            episodes=config.episodes,
            max_steps=config.max_steps,
            seed=config.seed,
        )
    finally:
        for env in envs:
            env.close()
    files = [str(p) for p in (recording.gif, recording.mp4, recording.sheet) if p is not None]
    return WatchSummary(
        files=files,
        frames=recording.num_frames,
        episode_returns=[float(r) for r in recording.episode_returns],
        episode_lengths=[int(n) for n in recording.episode_lengths],
    )
