"""Running statistics against NumPy over the whole stream; reward scaling by the discounted return's std."""

from __future__ import annotations

import numpy as np

from fourfold.rl.normalize import ObservationNormalizer, RewardNormalizer, RunningMeanStd


def test_running_mean_std_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, size=(n, 4)) for n in (1, 7, 64, 3)]
    statistics = RunningMeanStd((4,))
    for batch in batches:
        statistics.update(batch)
    everything = np.concatenate(batches)
    np.testing.assert_allclose(statistics.mean, everything.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(statistics.var, everything.var(axis=0), rtol=1e-4)


def test_observation_normalizer_state_round_trip_and_clip() -> None:
    normalizer = ObservationNormalizer(2, clip=5.0)
    normalizer(np.array([[0.0, 0.0], [2.0, 4.0]], dtype=np.float32), update=True)
    restored = ObservationNormalizer(2, clip=5.0)
    restored.load_state_dict(normalizer.state_dict())
    probe = np.array([[1.0, 2.0], [100.0, -100.0]], dtype=np.float32)
    np.testing.assert_array_equal(normalizer(probe), restored(probe))
    assert np.abs(normalizer(probe)).max() == 5.0


def test_reward_normalizer_divides_by_the_return_std() -> None:
    normalizer = RewardNormalizer(1, gamma=0.5)
    rewards = [np.array([1.0], dtype=np.float32)] * 3
    returns = []
    running = 0.0
    for reward in rewards:
        running = running * 0.5 + 1.0
        returns.append(running)
        scaled = normalizer(reward, np.array([False]))
    statistics = RunningMeanStd(())
    statistics.update(np.array(returns[:1]))
    statistics.update(np.array(returns[1:2]))
    statistics.update(np.array(returns[2:]))
    np.testing.assert_allclose(scaled, 1.0 / np.sqrt(statistics.var + 1e-8), rtol=1e-6)
    normalizer(np.array([1.0], dtype=np.float32), np.array([True]))
    assert normalizer.returns[0] == 0.0
