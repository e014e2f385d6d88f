"""`fourfold gym watch ENV [--policy RUN]`: play a task and write a video (GIF, and MP4 when imageio-ffmpeg is
present) and a frame sheet PNG, of one env or a grid of several, under a random policy or a trained agent.

A trained agent comes from a run folder of a system that trains agents (`runs/rl/<name>`, written by `fourfold rl
train`). Gym sits below those systems (DESIGN.md: `gym` <- `rl`), so it does not import them: `POLICY_LOADERS` names
each system's loader as "module:function", imported only when `--policy` asks for it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium

from fourfold.core.config import require
from fourfold.core.errors import FourfoldError
from fourfold.gym.record import Policy, record
from fourfold.gym.registration import TASKS


@dataclass
class WatchConfig:
    """Play a task with random actions, or a trained agent, and record it to a video and a frame sheet."""

    env: str | None = None
    """Task id (fourfold/<Name>-vN, or any Gymnasium id that renders rgb_array); default: the --policy run's task,
    else fourfold/CartPole-v1."""
    policy: Path | None = None
    """A trained agent's run folder (runs/rl/<name>); default: uniformly random actions."""
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


POLICY_LOADERS: dict[str, str] = {"rl": "fourfold.rl.policy:load_agent"}
"""Run folders `runs/<system>/<name>` by system: the function that loads a run's agent. A loader returns a callable
observation -> action with an `env_id` attribute (the task it was trained on)."""


def watch(config: WatchConfig, policy: Policy | None = None) -> WatchSummary:
    """Record the task under `policy`, the agent of `config.policy`, or uniformly random actions."""
    env_id = config.env
    if policy is None and config.policy is not None:
        agent = load_policy(config.policy)
        policy, env_id = agent, env_id or str(agent.env_id)
    env_id = env_id or "fourfold/CartPole-v1"
    if env_id not in gymnasium.registry:
        known = ", ".join(task.id for task in TASKS)
        raise FourfoldError(f"unknown env {env_id!r}; fourfold's tasks are {known} (`fourfold gym list`)")
    envs = [gymnasium.make(env_id, render_mode="rgb_array") for _ in range(config.num_envs)]
    config.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        recording = record(
            envs if len(envs) > 1 else envs[0],
            config.out,
            episodes=config.episodes,
            max_steps=config.max_steps,
            seed=config.seed,
            policy=policy,
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


def load_policy(run: Path) -> Any:
    """The agent of a run folder, through the loader of the system that wrote it (`POLICY_LOADERS`).

    Raises:
        FourfoldError: the folder does not exist or is not a run of a system that trains agents.
    """
    if not run.is_dir():
        raise FourfoldError(f"--policy {run}: no such run folder; train one with `fourfold rl train`")
    system = run.resolve().parent.name
    if system not in POLICY_LOADERS:
        systems = ", ".join(f"runs/{name}/<name>" for name in POLICY_LOADERS)
        raise FourfoldError(f"--policy {run}: not a run folder of a system that trains agents ({systems})")
    module, _, function = POLICY_LOADERS[system].partition(":")
    return getattr(importlib.import_module(module), function)(run)
