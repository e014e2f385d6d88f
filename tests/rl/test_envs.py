"""TrainEnv: same-step autoreset with the final observation handed over, on fourfold's and Gymnasium's envs."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

from fourfold.rl.envs import EnvError, TrainEnv, flat_size, flatten


@pytest.mark.parametrize("env_id", ["fourfold/CartPole-v1", "CartPole-v1"])
def test_final_observation_is_what_the_step_led_to(env_id: str) -> None:
    env = TrainEnv(env_id, 4)
    observations = env.reset(seed=3)
    ended_seen = 0
    for _ in range(300):
        result = env.step(np.zeros(4, dtype=np.int64))  # always push left: episodes end fast
        ended = result.terminated | result.truncated
        # Where nothing ended, what the step led to is what to act on next.
        np.testing.assert_array_equal(result.next_observations[~ended], result.observations[~ended])
        if ended.any():
            ended_seen += int(ended.sum())
            # An ended CartPole episode's last observation is out of bounds; the next one's first is near zero.
            assert np.all(np.abs(result.next_observations[ended][:, 2]) > 0.2094)
            assert np.all(np.abs(result.observations[ended]) <= 0.05)
            assert len(result.episode_returns) == int(ended.sum())
        observations = result.observations
    assert ended_seen > 10
    assert observations.dtype == np.float32
    env.close()


def test_truncation_is_reported_with_the_final_observation() -> None:
    env = TrainEnv("fourfold/Pendulum-v1", 2)
    env.reset(seed=0)
    for step in range(200):
        result = env.step(np.zeros((2, 1), dtype=np.float32))
        if step < 199:
            assert not result.truncated.any()
    assert result.truncated.all() and not result.terminated.any()
    assert result.episode_lengths == [200, 200]
    assert not np.array_equal(result.next_observations, result.observations)


def test_flatten_one_hot_and_tuples() -> None:
    assert flat_size(spaces.Discrete(16)) == 16
    np.testing.assert_array_equal(flatten(spaces.Discrete(3), np.array([2, 0])), [[0, 0, 1], [1, 0, 0]])
    blackjack = gymnasium.make("fourfold/Blackjack-v1").observation_space
    assert flat_size(blackjack) == 32 + 11 + 2
    batch = (np.array([14, 20]), np.array([3, 10]), np.array([0, 1]))
    flat = flatten(blackjack, batch)
    assert flat.shape == (2, 45) and flat.sum() == 6
    with pytest.raises(EnvError, match="not supported"):
        flat_size(spaces.Text(5))


def test_unknown_env_is_one_sentence() -> None:
    with pytest.raises(EnvError, match="unknown env 'fourfold/Nope-v0'"):
        TrainEnv("fourfold/Nope-v0", 1)
