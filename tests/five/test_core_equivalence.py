"""The compiled core (`core.step`) equals the interpreted reference (`core.step_reference`) bit for bit.

Both run the same rule functions; these tests catch anything where numba and Python disagree (integer widths,
float rounding, signed zeros, min/max ties, bounds) and any rule that reads state it should not. Games start from
random mid-game positions (`scenario.random_midgame`: creeps, towers, levels, abilities, deaths, wave spawns and
game ends all happen within a few steps) and from the real start, with random valid actions.
"""

from __future__ import annotations

import numpy as np
import pytest

from fourfold.five.game import core, scenario
from fourfold.five.game.config import GameConfig
from fourfold.five.game.state import GameState, copy_state, first_difference, new_state, states_equal


def _run_both(compiled: GameState, config: GameConfig, steps: int, seed: int) -> GameState:
    """Step `compiled` and a copy of it with both implementations, checking equality after every step."""
    reference = copy_state(compiled)
    for k in range(steps):
        primary, target, point = scenario.random_actions(compiled, seed, k)
        core.step(compiled, config, primary, target, point)
        core.step_reference(reference, config, primary, target, point)
        assert states_equal(compiled, reference), f"step {k}: {first_difference(compiled, reference)}"
    return reference


def test_compiled_equals_reference_on_1000_midgame_games() -> None:
    config = GameConfig()
    state = scenario.random_midgame(1000, config, seed=11)
    before = copy_state(state)
    reference = _run_both(state, config, steps=2, seed=5)
    # the positions were lively: deaths, last hits, casts, spawns and game ends all happened somewhere
    assert (state.deaths > before.deaths).any()
    assert (state.last_hits > before.last_hits).any()
    assert (state.ability_cooldown > before.ability_cooldown).any()
    assert (state.done & ~before.done).any()
    assert (state.present & ~before.present).any()  # a creep wave spawned
    assert ((~state.alive) & before.alive)[:, 10:26].any()  # a structure fell
    assert states_equal(state, reference)


def test_compiled_equals_reference_from_the_start_on_both_maps() -> None:
    duel = GameConfig(map="one_lane", heroes_per_team=3, time_cap_seconds=30.0, kills_to_win=1, towers_to_win=1)
    for config in (GameConfig(), duel):
        state = new_state(8, config)
        reference = copy_state(state)
        core.reset(reference, config, np.ones(8, dtype=bool), np.arange(8, dtype=np.int64), reference=True)
        assert states_equal(state, reference), first_difference(state, reference)
        _run_both(state, config, steps=30, seed=3)


@pytest.mark.slow
def test_compiled_equals_reference_on_longer_games() -> None:
    config = GameConfig()
    state = scenario.random_midgame(1000, config, seed=12)
    _run_both(state, config, steps=6, seed=6)
    one_lane = GameConfig(map="one_lane")
    _run_both(new_state(8, one_lane), one_lane, steps=250, seed=9)
