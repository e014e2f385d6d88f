"""What the three training loops share besides their algorithm: the clock (steps per second, time to the target
return) and the result they hand back to `train`."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from fourfold.rl.episodes import EpisodeLog


@dataclass(frozen=True)
class LoopResult:
    """How a training loop ended.

    Attributes:
        steps: environment steps taken in all (including those before a resume).
        seconds: wall time of this process's part of the training.
        steps_per_second: environment steps per second in this process (policy, env and learning together).
        seconds_to_target: seconds until the last-100 mean return first reached the target (None: never or no target).
        recent_mean_return: the last-100 mean training return at the end.
        episodes: training episodes ended.
    """

    steps: int
    seconds: float
    steps_per_second: float
    seconds_to_target: float | None
    recent_mean_return: float | None
    episodes: int


class TrainingClock:
    """Times a loop from its first step; notices when the last-100 mean return reaches `target`."""

    def __init__(self, start_step: int, target: float | None, stop_at_target: bool = True) -> None:
        self.start = time.perf_counter()
        self.start_step = start_step
        self.target = target
        self.stop_at_target = stop_at_target
        self.seconds_to_target: float | None = None

    def steps_per_second(self, step: int) -> float:
        elapsed = time.perf_counter() - self.start
        return (step - self.start_step) / elapsed if elapsed > 0 else 0.0

    def stop(self, episodes: EpisodeLog) -> bool:
        """Whether the loop should stop for the target: remember when the last-100 mean first reached it, and say
        True from then on if asked to stop there."""
        mean = episodes.recent_mean
        if self.target is None or mean is None or mean < self.target:
            return False
        if self.seconds_to_target is None:
            self.seconds_to_target = time.perf_counter() - self.start
        return self.stop_at_target

    def result(self, step: int, episodes: EpisodeLog) -> LoopResult:
        return LoopResult(
            steps=step,
            seconds=time.perf_counter() - self.start,
            steps_per_second=self.steps_per_second(step),
            seconds_to_target=self.seconds_to_target,
            recent_mean_return=episodes.recent_mean,
            episodes=episodes.count,
        )


def generator_state(generator: np.random.Generator) -> dict[str, object]:
    """A NumPy generator's state, for a checkpoint."""
    return dict(generator.bit_generator.state)


def restore_generator(generator: np.random.Generator, state: dict[str, object]) -> None:
    generator.bit_generator.state = state


def torch_generator(seed: int) -> torch.Generator:
    """A CPU torch generator seeded with `seed`: a loop's own stream of samples."""
    return torch.Generator().manual_seed(seed)
