"""Five's observation builder: the compiled kernel equals the NumPy reference, and what it shows is right."""

from __future__ import annotations

import numpy as np
import pytest

from fourfold.five.actions import LIST_SIZES, LIST_STARTS, NUM_OFFSETS, NUM_TARGETS, decode_actions
from fourfold.five.env import sample_masked
from fourfold.five.game import core
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import HERO_SLOTS, KIND_CREEP, KIND_HERO, MAX_UNITS, NUM_PRIMARY
from fourfold.five.game.maps import MAP_SIZE
from fourfold.five.game.observe import (
    NUM_GLOBAL,
    NUM_UNIT_FEATURES,
    UNIT_ALLY,
    UNIT_DISTANCE,
    UNIT_DX,
    UNIT_DY,
    UNIT_SELF,
    Observation,
    build_observations,
    build_observations_reference,
)
from fourfold.five.game.scenario import random_midgame
from fourfold.five.game.state import GameState


def assert_same(a: Observation, b: Observation) -> None:
    for name, left, right in zip(Observation._fields, a, b, strict=True):
        assert left.dtype == right.dtype and left.shape == right.shape, name
        if not np.array_equal(left, right):
            where = tuple(int(i) for i in np.argwhere(left != right)[0])
            raise AssertionError(f"{name}{list(where)}: compiled {left[where]!r} != reference {right[where]!r}")


def _play_and_compare(state: GameState, config: GameConfig, steps: int, seed: int) -> int:
    """Random masked play from `state`, comparing compiled and reference observations every 3rd step; compared."""
    rng = np.random.default_rng(seed)
    compared = 0
    for i in range(steps):
        obs = build_observations(state, config.map)
        if i % 3 == 0:
            assert_same(obs, build_observations_reference(state, config.map))
            compared += 1
        primary, target, offset = sample_masked(obs, rng)
        core.step(state, config, *decode_actions(state, obs.slots, primary, target, offset))
    return compared


@pytest.mark.parametrize(
    "config", [GameConfig(), GameConfig(map="one_lane", heroes_per_team=3)], ids=["three_lane", "one_lane_3v3"]
)
def test_compiled_equals_reference(config: GameConfig) -> None:
    for seed in range(3):
        state = random_midgame(6, config, seed=seed)
        assert _play_and_compare(state, config, 12, seed=seed) == 4


def test_shapes_and_types() -> None:
    config = GameConfig()
    state = random_midgame(3, config, seed=0)
    obs = build_observations(state, config.map)
    assert obs.globals.shape == (3, HERO_SLOTS, NUM_GLOBAL) and obs.globals.dtype == np.float32
    assert obs.units.shape == (3, HERO_SLOTS, NUM_TARGETS, NUM_UNIT_FEATURES)
    assert obs.mask_target.shape == (3, HERO_SLOTS, NUM_PRIMARY, NUM_TARGETS)
    assert obs.mask_offset.shape == (3, HERO_SLOTS, NUM_PRIMARY, NUM_OFFSETS)
    assert np.isfinite(obs.globals).all() and np.isfinite(obs.units).all()
    # Every mask row allows something, so sampling any head is always possible.
    assert obs.mask_primary.any(axis=2).all()
    assert obs.mask_target.any(axis=3).all() and obs.mask_offset.any(axis=3).all()
    # Padding is zero and has no slot.
    assert np.all(obs.units[~obs.unit_present] == 0.0)
    assert np.all(obs.slots[~obs.unit_present] == -1)


def test_lists_hold_the_nearest_visible_units_and_respect_fog() -> None:
    config = GameConfig()
    state = random_midgame(6, config, seed=5)
    obs = build_observations(state, config.map)
    for g in range(6):
        for h in range(HERO_SLOTS):
            if not state.alive[g, h]:
                continue
            team = state.team[g, h]
            # The hero itself heads its allied-hero list.
            assert obs.slots[g, h, 0] == h and obs.units[g, h, 0, UNIT_SELF] == 1.0
            shown = obs.slots[g, h][obs.unit_present[g, h]]
            # Only units the team sees, alive, each at most once.
            assert np.all(state.visible[g, team, shown]) and np.all(state.alive[g, shown])
            assert len(set(shown.tolist())) == len(shown)
            # Each list is sorted by distance and holds the nearest of its kind.
            start, size = LIST_STARTS[3], LIST_SIZES[3]  # enemy creeps
            entries = obs.slots[g, h, start : start + size]
            entries = entries[entries >= 0]
            d = np.hypot(state.x[g, entries] - state.x[g, h], state.y[g, entries] - state.y[g, h])
            assert np.all(np.diff(d) >= 0)
            others = [
                u
                for u in range(MAX_UNITS)
                if state.present[g, u]
                and state.alive[g, u]
                and state.visible[g, team, u]
                and state.kind[g, u] == KIND_CREEP
                and state.team[g, u] != team
                and u not in entries
            ]
            if others and len(entries) == size:
                rest = np.hypot(state.x[g, others] - state.x[g, h], state.y[g, others] - state.y[g, h])
                assert rest.min() >= d.max()
            if len(entries) < size:
                assert not others
            # Hidden enemy heroes never appear.
            hidden = [u for u in range(HERO_SLOTS) if state.team[g, u] != team and not state.visible[g, team, u]]
            assert not set(hidden) & set(shown.tolist())


def test_team_frame_mirrors_red() -> None:
    config = GameConfig()
    state = random_midgame(4, config, seed=6)
    obs = build_observations(state, config.map)
    for g in range(4):
        for h in range(HERO_SLOTS):
            sign = 1.0 if h < 5 else -1.0
            for e in np.nonzero(obs.unit_present[g, h])[0]:
                u = obs.slots[g, h, e]
                dx = (state.x[g, u] - state.x[g, h]) * sign / 20.0
                dy = (state.y[g, u] - state.y[g, h]) * sign / 20.0
                assert obs.units[g, h, e, UNIT_DX] == pytest.approx(dx, abs=1e-5)
                assert obs.units[g, h, e, UNIT_DY] == pytest.approx(dy, abs=1e-5)
                assert obs.units[g, h, e, UNIT_DISTANCE] >= 0
                assert obs.units[g, h, e, UNIT_ALLY] == float(state.team[g, u] == state.team[g, h])
            if state.present[g, h]:
                x = state.x[g, h] if h < 5 else MAP_SIZE - state.x[g, h]
                assert obs.globals[g, h, 11] == pytest.approx(x / MAP_SIZE, abs=1e-6)


def test_dead_and_absent_heroes_may_only_wait() -> None:
    config = GameConfig(heroes_per_team=3)
    state = random_midgame(8, config, seed=7)
    obs = build_observations(state, config.map)
    idle = ~state.alive[:, :HERO_SLOTS]
    assert idle.any()
    assert np.all(obs.mask_primary[idle][:, 1:] == 0) and np.all(obs.mask_primary[idle][:, 0])
    assert not state.present[:, [3, 4, 8, 9]].any()
    assert np.all(obs.globals[:, [3, 4, 8, 9]] == 0.0)
    assert np.all(obs.units[:, :, :, 7 + KIND_HERO] >= 0)
