"""PPO's rollout storage: T steps of N envs in preallocated tensors, filled step by step, then flattened into
minibatches after GAE.

Shape legend: T num_steps, N num_envs, D observation size, A action size (() for discrete actions).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Rollout:
    """One rollout's tensors, all (T, N, ...); `next_values` is zero where an episode terminated."""

    observations: Tensor  # (T, N, D)
    actions: Tensor  # (T, N, *A)
    log_probs: Tensor  # (T, N)
    values: Tensor  # (T, N)
    rewards: Tensor  # (T, N)
    next_values: Tensor  # (T, N) value of what each step led to
    ended: Tensor  # (T, N) 1.0 where an episode ended (terminated or truncated)

    @classmethod
    def allocate(cls, num_steps: int, num_envs: int, observation_size: int, action_shape: tuple[int, ...]) -> Rollout:
        """Zeroed storage; discrete actions (action_shape ()) are stored as int64."""
        t, n = num_steps, num_envs
        action_dtype = torch.int64 if action_shape == () else torch.float32
        return cls(
            observations=torch.zeros((t, n, observation_size)),
            actions=torch.zeros((t, n, *action_shape), dtype=action_dtype),
            log_probs=torch.zeros((t, n)),
            values=torch.zeros((t, n)),
            rewards=torch.zeros((t, n)),
            next_values=torch.zeros((t, n)),
            ended=torch.zeros((t, n)),
        )


def flatten_steps(tensor: Tensor) -> Tensor:
    """(T, N, ...) -> (T * N, ...), the layout minibatches are drawn from."""
    return tensor.reshape(tensor.shape[0] * tensor.shape[1], *tensor.shape[2:])
