"""`fourfold gym list`: the suite's tasks with their spaces, time limits and solved thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium
import numpy as np

from fourfold.gym.registration import TASKS


@dataclass
class ListConfig:
    """List fourfold's Gym tasks: ids, observation and action spaces, time limits, solved thresholds."""


@dataclass
class TaskRow:
    """One task of the suite."""

    id: str
    observation_space: str
    action_space: str
    max_episode_steps: int | None
    reward_threshold: float | None


@dataclass
class SuiteSummary:
    """The suite, one row per task."""

    tasks: list[TaskRow] = field(default_factory=list)


def list_tasks(config: ListConfig) -> SuiteSummary:
    """Describe every registered task (each env is made once, to read its spaces)."""
    rows = []
    for task in TASKS:
        env = gymnasium.make(task.id)
        rows.append(
            TaskRow(
                id=task.id,
                observation_space=describe_space(env.observation_space),
                action_space=describe_space(env.action_space),
                max_episode_steps=task.max_episode_steps,
                reward_threshold=task.reward_threshold,
            )
        )
        env.close()
    return SuiteSummary(tasks=rows)


def describe_space(space: gymnasium.Space[Any]) -> str:
    """A short description of a space: `Discrete(2)`, `Box(4,) float32`, `Box[-2, 2](1,) float32`, `Tuple(...)`."""
    if isinstance(space, gymnasium.spaces.Box):
        low, high = np.unique(space.low), np.unique(space.high)
        bounds = f"[{low[0]:g}, {high[0]:g}]" if len(low) == 1 and len(high) == 1 else ""
        return f"Box{bounds}{space.shape} {space.dtype}"
    if isinstance(space, gymnasium.spaces.Tuple):
        return "Tuple(" + ", ".join(describe_space(s) for s in space.spaces) + ")"
    return str(space)
