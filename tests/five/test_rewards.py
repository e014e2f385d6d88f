"""Five's rewards: weights from the paper's table, team spirit, zero-sum, time decay, absent heroes."""

from __future__ import annotations

import numpy as np
import pytest

from fourfold.core.config import ConfigError
from fourfold.five.game import stats
from fourfold.five.game.constants import (
    CREEP_MELEE,
    EVENT_GOLD,
    EVENT_HERO_DEATH,
    EVENT_HERO_KILL,
    EVENT_WIN,
    EVENT_XP,
    HERO_SLOTS,
    NUM_EVENTS,
)
from fourfold.five.rewards import COMPONENTS, RewardConfig, compute_rewards, team_mean


def _events(rng: np.random.Generator, games: int) -> np.ndarray:
    return rng.integers(0, 3, size=(games, HERO_SLOTS, NUM_EVENTS)).astype(np.float64)


def test_components_cover_every_event_once() -> None:
    ids = [event for _, event in COMPONENTS]
    assert sorted(ids) == list(range(NUM_EVENTS))


def test_raw_reward_is_the_weighted_sum_and_components_are_reported() -> None:
    rng = np.random.default_rng(0)
    events = _events(rng, 3)
    present = np.ones((3, HERO_SLOTS), dtype=bool)
    config = RewardConfig(team_spirit=0.0, zero_sum=False, decay_base=1.0)
    out = compute_rewards(events, present, np.zeros(3), config)
    expected = events @ config.weights()
    np.testing.assert_allclose(out.raw, expected)
    np.testing.assert_allclose(out.total, expected.astype(np.float32), rtol=1e-6)
    parts = sum(out.components[name].astype(np.float64) for name, _ in COMPONENTS)
    np.testing.assert_allclose(parts, expected, rtol=1e-6)
    assert out.components["hero_death"].shape == (3, HERO_SLOTS)


def test_paper_weights_and_scaling() -> None:
    w = RewardConfig().weights()
    assert w[EVENT_WIN] == 5.0
    assert w[EVENT_HERO_DEATH] == -1.0
    assert w[EVENT_HERO_KILL] == -0.6
    # One creep's bounty here pays what a Dota creep's ~37 gold pays at the paper's 0.006 per gold.
    assert w[EVENT_GOLD] * stats.GOLD_CREEP[CREEP_MELEE] == pytest.approx(0.006 * 37.0)
    assert w[EVENT_XP] * stats.XP_CREEP[CREEP_MELEE] == pytest.approx(0.002 * 57.0)
    assert RewardConfig(gold=0.5).weights()[EVENT_GOLD] == 0.5


def test_zero_sum_makes_team_totals_cancel() -> None:
    rng = np.random.default_rng(1)
    events = _events(rng, 4)
    present = np.ones((4, HERO_SLOTS), dtype=bool)
    for tau in (0.0, 0.3, 1.0):
        out = compute_rewards(events, present, np.full(4, 37.0), RewardConfig(team_spirit=tau))
        np.testing.assert_allclose(out.total.astype(np.float64).sum(axis=1), 0.0, atol=1e-4)


def test_team_spirit_blends_with_team_mean() -> None:
    events = np.zeros((1, HERO_SLOTS, NUM_EVENTS))
    events[0, 0, EVENT_HERO_DEATH] = 1.0  # blue hero 0 dies
    present = np.ones((1, HERO_SLOTS), dtype=bool)
    selfish = compute_rewards(events, present, np.zeros(1), RewardConfig(team_spirit=0.0, zero_sum=False))
    np.testing.assert_allclose(selfish.total[0], [-1.0] + [0.0] * 9)
    shared = compute_rewards(events, present, np.zeros(1), RewardConfig(team_spirit=1.0, zero_sum=False))
    np.testing.assert_allclose(shared.total[0], [-0.2] * 5 + [0.0] * 5)
    half = compute_rewards(events, present, np.zeros(1), RewardConfig(team_spirit=0.5, zero_sum=True))
    np.testing.assert_allclose(half.total[0], [-0.6] + [-0.1] * 4 + [0.2] * 5, rtol=1e-6)


def test_time_decay() -> None:
    events = np.zeros((2, HERO_SLOTS, NUM_EVENTS))
    events[:, 5, EVENT_HERO_KILL] = 1.0
    present = np.ones((2, HERO_SLOTS), dtype=bool)
    config = RewardConfig(team_spirit=0.0, zero_sum=False)
    out = compute_rewards(events, present, np.array([0.0, 300.0]), config)
    assert out.total[0, 5] == pytest.approx(-0.6)
    assert out.total[1, 5] == pytest.approx(-0.6 * 0.6**2)
    # Components are reported before the decay.
    assert out.components["hero_kill"][1, 5] == pytest.approx(-0.6)


def test_absent_heroes_get_nothing_and_do_not_count() -> None:
    events = np.ones((1, HERO_SLOTS, NUM_EVENTS))
    present = np.zeros((1, HERO_SLOTS), dtype=bool)
    present[0, [0, 5]] = True  # 1v1
    out = compute_rewards(events, present, np.zeros(1), RewardConfig(team_spirit=0.5))
    assert np.all(out.total[0, [1, 2, 3, 4, 6, 7, 8, 9]] == 0.0)
    np.testing.assert_allclose(out.total[0, [0, 5]], 0.0, atol=1e-5)  # equal events, zero-sum
    means = team_mean(np.arange(10.0)[None], present)
    np.testing.assert_allclose(means, [[0.0, 5.0]])


@pytest.mark.parametrize(
    ("field", "value"), [("team_spirit", 1.5), ("decay_base", 0.0), ("decay_period_seconds", -1.0), ("win", np.nan)]
)
def test_bad_config_is_an_error(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        RewardConfig(**{field: value})
