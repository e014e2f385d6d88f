"""Generalized Advantage Estimation (Schulman et al. 2016), with time limits bootstrapped, not treated as ends.

For step t of env i, with V' the value of the observation the step led to (zero where the episode terminated; the
value of the final observation where it was truncated, Pardo et al. 2018):

    delta_t = r_t + gamma * V'_t - V(s_t)
    A_t     = delta_t + gamma * lambda * (1 - ended_t) * A_{t+1}

where ended_t is terminated or truncated: the next step belongs to another episode, so the sum stops there, but
a truncated step still bootstraps through V'. Returns (the value targets) are A_t + V(s_t).

Shape legend: T num_steps, N num_envs.
"""

from __future__ import annotations

import torch
from torch import Tensor


def gae(
    rewards: Tensor,
    values: Tensor,
    next_values: Tensor,
    ended: Tensor,
    gamma: float,
    gae_lambda: float,
) -> tuple[Tensor, Tensor]:
    """Advantages and returns, both (T, N).

    Args:
        rewards: (T, N) rewards r_t.
        values: (T, N) V(s_t).
        next_values: (T, N) V'_t: the value of what step t led to, already zero where it terminated.
        ended: (T, N) 1.0 where the episode ended at t (terminated or truncated), else 0.0.
        gamma, gae_lambda: discount and GAE's lambda.
    """
    deltas = rewards + gamma * next_values - values  # (T, N)
    carry = gamma * gae_lambda * (1.0 - ended)  # (T, N)
    advantages = torch.empty_like(rewards)  # (T, N)
    running = torch.zeros_like(rewards[0])  # (N,)
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = deltas[t] + carry[t] * running
        advantages[t] = running
    return advantages, advantages + values
