"""Running normalisation of observations and rewards, as Stable-Baselines3's `VecNormalize` does it.

Observations are scaled by a running mean and variance (Chan et al.'s parallel update), clipped to +-clip.
Rewards are divided by the running std of the discounted return each env has accumulated (not of the reward:
Engstrom et al. 2020 found this "reward scaling" matters for PPO), clipped likewise; the return resets where an
episode ends. Both are plain NumPy with `state_dict` for checkpoints; evaluation uses the frozen statistics.

Shape legend: N num_envs, D the observation size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


class RunningMeanStd:
    """Mean and variance of a stream of (B, *shape) batches."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = 1e-4  # SB3's epsilon: the first batch dominates at once

    def update(self, batch: NDArray[Any]) -> None:
        """Fold a (B, *shape) batch into the statistics."""
        batch_mean = batch.mean(axis=0)
        batch_var = batch.var(axis=0)
        batch_count = batch.shape[0]
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.mean = self.mean + delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total
        self.var = m2 / total
        self.count = total

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": float(self.count)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean, self.var, self.count = np.array(state["mean"]), np.array(state["var"]), float(state["count"])


class ObservationNormalizer:
    """(obs - mean) / sqrt(var + eps), clipped; updated from training batches only."""

    def __init__(self, size: int, clip: float = 10.0, epsilon: float = 1e-8) -> None:
        self.statistics = RunningMeanStd((size,))
        self.clip = clip
        self.epsilon = epsilon

    def __call__(self, observations: NDArray[np.float32], update: bool = False) -> NDArray[np.float32]:
        """Normalise (N, D) observations; with `update`, first fold them into the statistics."""
        if update:
            self.statistics.update(observations)
        scaled = (observations - self.statistics.mean) / np.sqrt(self.statistics.var + self.epsilon)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)  # (N, D)

    def state_dict(self) -> dict[str, Any]:
        return self.statistics.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.statistics.load_state_dict(state)


class RewardNormalizer:
    """reward / sqrt(var(discounted return) + eps), clipped; one running return per env."""

    def __init__(self, num_envs: int, gamma: float, clip: float = 10.0, epsilon: float = 1e-8) -> None:
        self.statistics = RunningMeanStd(())
        self.returns = np.zeros(num_envs, dtype=np.float64)  # (N,)
        self.gamma = gamma
        self.clip = clip
        self.epsilon = epsilon

    def __call__(self, rewards: NDArray[np.float32], ended: NDArray[np.bool_]) -> NDArray[np.float32]:
        """Scale one step's (N,) rewards, then reset the running return of envs whose episode `ended`."""
        self.returns = self.returns * self.gamma + rewards
        self.statistics.update(self.returns)
        scaled = rewards / np.sqrt(self.statistics.var + self.epsilon)
        self.returns[ended] = 0.0
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)  # (N,)

    def state_dict(self) -> dict[str, Any]:
        return {**self.statistics.state_dict(), "returns": self.returns.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.statistics.load_state_dict(state)
        self.returns = np.array(state["returns"])
