"""The replay buffer: storage, wrap-around, and n-step returns against a hand computation."""

from __future__ import annotations

import numpy as np

from fourfold.rl.replay import ReplayBuffer


def _fill(buffer: ReplayBuffer, steps: int, ended_at: set[int], terminated_at: set[int]) -> None:
    for t in range(steps):
        obs = np.full((buffer.num_envs, 1), t, dtype=np.float32)
        next_obs = np.full((buffer.num_envs, 1), t + 0.5, dtype=np.float32)
        terminated = np.full(buffer.num_envs, t in terminated_at)
        truncated = np.full(buffer.num_envs, t in ended_at and t not in terminated_at)
        rewards = np.full(buffer.num_envs, float(t + 1), dtype=np.float32)
        buffer.add(obs, np.zeros(buffer.num_envs, dtype=np.int64), rewards, next_obs, terminated, truncated)


def test_one_step_sample_pairs_what_was_stored() -> None:
    buffer = ReplayBuffer(8, 2, 1, (), np.int64)
    _fill(buffer, 11, ended_at=set(), terminated_at={6})  # wraps: rows hold t = 7..10 and 3..6 -> last 4 rows
    assert len(buffer) == 8
    batch = buffer.sample(64, np.random.default_rng(0), gamma=0.9)
    t = batch.observations[:, 0]
    assert set(t.tolist()) <= {7.0, 8.0, 9.0, 10.0}
    np.testing.assert_array_equal(batch.next_observations[:, 0], t + 0.5)
    np.testing.assert_array_equal(batch.rewards, t + 1)
    np.testing.assert_allclose(batch.discounts, 0.9)


def test_n_step_returns_stop_at_episode_ends_and_the_newest_row() -> None:
    buffer = ReplayBuffer(100, 1, 1, (), np.int64)
    # t = 0..9; episode ends: truncated at t=3, terminated at t=6.
    _fill(buffer, 10, ended_at={3, 6}, terminated_at={6})
    gamma = 0.5
    batch = buffer.sample(500, np.random.default_rng(1), gamma=gamma, n_step=3)
    for obs, reward, next_obs, discount in zip(
        batch.observations[:, 0], batch.rewards, batch.next_observations[:, 0], batch.discounts, strict=True
    ):
        t = int(obs)
        steps = []
        for k in range(3):
            steps.append(t + k)
            if t + k in (3, 6) or t + k == 9:
                break
        expected_reward = sum(gamma**k * (s + 1) for k, s in enumerate(steps))
        last = steps[-1]
        assert reward == np.float32(expected_reward)
        assert next_obs == last + 0.5
        assert discount == np.float32(0.0 if last == 6 else gamma ** len(steps))


def test_state_dict_round_trip() -> None:
    buffer = ReplayBuffer(10, 2, 1, (), np.int64)
    _fill(buffer, 3, ended_at=set(), terminated_at=set())
    copy = ReplayBuffer(10, 2, 1, (), np.int64)
    copy.load_state_dict(buffer.state_dict())
    a = buffer.sample(16, np.random.default_rng(3), 0.9, 2)
    b = copy.sample(16, np.random.default_rng(3), 0.9, 2)
    np.testing.assert_array_equal(a.rewards, b.rewards)
    np.testing.assert_array_equal(a.next_observations, b.next_observations)
