"""GAE against a per-step loop over one env at a time, with terminations and truncations mixed in."""

from __future__ import annotations

import numpy as np
import torch

from fourfold.rl.advantages import gae


def _oracle(rewards, values, next_values, ended, gamma, lam):  # type: ignore[no-untyped-def]
    steps, envs = rewards.shape
    advantages = np.zeros((steps, envs))
    for i in range(envs):
        running = 0.0
        for t in reversed(range(steps)):
            delta = rewards[t, i] + gamma * next_values[t, i] - values[t, i]
            running = delta + (0.0 if ended[t, i] else gamma * lam * running)
            advantages[t, i] = running
    return advantages


def test_gae_matches_a_per_step_loop() -> None:
    rng = np.random.default_rng(0)
    steps, envs = 37, 5
    rewards = rng.normal(size=(steps, envs))
    values = rng.normal(size=(steps, envs))
    terminated = rng.random((steps, envs)) < 0.1
    truncated = ~terminated & (rng.random((steps, envs)) < 0.1)
    # Terminated steps bootstrap from nothing; truncated ones from their final observation's value.
    next_values = np.where(terminated, 0.0, rng.normal(size=(steps, envs)))
    ended = terminated | truncated
    expected = _oracle(rewards, values, next_values, ended, 0.97, 0.9)
    as_tensor = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    advantages, returns = gae(
        as_tensor(rewards), as_tensor(values), as_tensor(next_values), as_tensor(ended.astype(float)), 0.97, 0.9
    )
    np.testing.assert_allclose(advantages.numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(returns.numpy(), expected + values, rtol=1e-12, atol=1e-12)


def test_truncation_bootstraps_and_termination_does_not() -> None:
    # One env, one step each: r = 1, V(s) = 0, the final observation's value 5.
    rewards, values = torch.ones(1, 1), torch.zeros(1, 1)
    truncated_advantage, _ = gae(rewards, values, torch.full((1, 1), 5.0), torch.ones(1, 1), 0.9, 0.95)
    terminated_advantage, _ = gae(rewards, values, torch.zeros((1, 1)), torch.ones(1, 1), 0.9, 0.95)
    assert truncated_advantage.item() == 1.0 + 0.9 * 5.0
    assert terminated_advantage.item() == 1.0
