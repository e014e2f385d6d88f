"""The replay buffer of DQN and SAC: a ring of transitions from N envs, sampled uniformly, with n-step returns.

Transitions are stored by time row and env column, (capacity / N, N), so that an n-step return can follow one
env's next steps: from a sampled (t, i) it sums gamma^k r_{t+k} until an episode ends, n steps pass, or the newest
row is reached, and bootstraps from the observation the last of those steps led to (the final observation where
an episode was truncated, so time limits bootstrap; terminated steps do not). Sampling draws from a NumPy
generator the caller owns, so a run's draws survive a checkpoint.

Shape legend: R capacity rows (capacity // N), N num_envs, D observation size, A action size, B batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class ReplayBatch:
    """A sampled batch; `discounts` is gamma^k for the k rewards summed, zero where the last step terminated."""

    observations: NDArray[np.float32]  # (B, D)
    actions: NDArray[Any]  # (B, *A)
    rewards: NDArray[np.float32]  # (B,) the n-step discounted reward sum
    next_observations: NDArray[np.float32]  # (B, D) what to bootstrap from
    discounts: NDArray[np.float32]  # (B,) the bootstrap's factor


class ReplayBuffer:
    """Uniform replay over the last `capacity` transitions (rounded down to a multiple of num_envs)."""

    def __init__(
        self,
        capacity: int,
        num_envs: int,
        observation_size: int,
        action_shape: tuple[int, ...],
        action_dtype: type[np.generic],
    ) -> None:
        self.rows = max(1, capacity // num_envs)  # R
        self.num_envs = num_envs
        r, n = self.rows, num_envs
        self.observations = np.zeros((r, n, observation_size), dtype=np.float32)  # (R, N, D)
        self.next_observations = np.zeros((r, n, observation_size), dtype=np.float32)  # (R, N, D)
        self.actions = np.zeros((r, n, *action_shape), dtype=action_dtype)  # (R, N, *A)
        self.rewards = np.zeros((r, n), dtype=np.float32)  # (R, N)
        self.terminated = np.zeros((r, n), dtype=np.bool_)  # (R, N)
        self.ended = np.zeros((r, n), dtype=np.bool_)  # (R, N) terminated or truncated
        self.position = 0  # the next row written
        self.size = 0  # rows filled

    def add(
        self,
        observations: NDArray[np.float32],
        actions: NDArray[Any],
        rewards: NDArray[np.float32],
        next_observations: NDArray[np.float32],
        terminated: NDArray[np.bool_],
        truncated: NDArray[np.bool_],
    ) -> None:
        """Store one step of all N envs."""
        row = self.position
        self.observations[row] = observations
        self.actions[row] = actions
        self.rewards[row] = rewards
        self.next_observations[row] = next_observations
        self.terminated[row] = terminated
        self.ended[row] = terminated | truncated
        self.position = (row + 1) % self.rows
        self.size = min(self.size + 1, self.rows)

    def __len__(self) -> int:
        return self.size * self.num_envs

    def sample(self, batch_size: int, generator: np.random.Generator, gamma: float, n_step: int = 1) -> ReplayBatch:
        """Draw `batch_size` transitions uniformly, with `n_step`-step returns."""
        rows = generator.integers(0, self.size, size=batch_size)  # (B,)
        envs = generator.integers(0, self.num_envs, size=batch_size)  # (B,)
        if n_step == 1:
            return ReplayBatch(
                observations=self.observations[rows, envs],
                actions=self.actions[rows, envs],
                rewards=self.rewards[rows, envs],
                next_observations=self.next_observations[rows, envs],
                discounts=np.where(self.terminated[rows, envs], 0.0, gamma).astype(np.float32),
            )
        newest = (self.position - 1) % self.rows
        returns = np.zeros(batch_size, dtype=np.float64)  # (B,)
        scale = np.ones(batch_size, dtype=np.float64)  # (B,) gamma^k so far
        last = rows.copy()  # (B,) row of the last step summed
        active = np.ones(batch_size, dtype=np.bool_)  # (B,) still summing
        for k in range(n_step):
            current = (rows + k) % self.rows
            returns = np.where(active, returns + scale * self.rewards[current, envs], returns)
            last = np.where(active, current, last)
            scale = np.where(active, scale * gamma, scale)
            # Stop after an episode's end, at the newest row, or after n steps.
            active = active & ~self.ended[current, envs] & (current != newest)
        discounts = np.where(self.terminated[last, envs], 0.0, scale)
        return ReplayBatch(
            observations=self.observations[rows, envs],
            actions=self.actions[rows, envs],
            rewards=returns.astype(np.float32),
            next_observations=self.next_observations[last, envs],
            discounts=discounts.astype(np.float32),
        )

    def state_dict(self) -> dict[str, Any]:
        """The filled rows and positions, for a checkpoint."""
        filled = slice(0, self.size)
        return {
            "observations": self.observations[filled].copy(),
            "next_observations": self.next_observations[filled].copy(),
            "actions": self.actions[filled].copy(),
            "rewards": self.rewards[filled].copy(),
            "terminated": self.terminated[filled].copy(),
            "ended": self.ended[filled].copy(),
            "position": self.position,
            "size": self.size,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        size = int(state["size"])
        for name in ("observations", "next_observations", "actions", "rewards", "terminated", "ended"):
            getattr(self, name)[:size] = state[name]
        self.position, self.size = int(state["position"]), size
