"""Bad input to Five's native API: invalid actions and configs give one sentence naming the game, hero and problem,
and leave the state untouched."""

from __future__ import annotations

import numpy as np
import pytest

from fourfold.core.config import ConfigError
from fourfold.core.errors import FourfoldError
from fourfold.five.game import core
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import (
    ACTION_ATTACK,
    ACTION_CAST_0,
    ACTION_CAST_1,
    ACTION_CAST_2,
    ACTION_MOVE_0,
    ACTION_NOOP,
    CARRY,
    HERO_SLOTS,
    MAGE,
    MAX_UNITS,
    SUPPORT,
    ancient_slot,
)
from fourfold.five.game.errors import InvalidActionError
from fourfold.five.game.maps import layout
from fourfold.five.game.state import copy_state, new_state, states_equal


def _actions(games: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    primary = np.zeros((games, HERO_SLOTS), dtype=np.int64)
    target = np.full((games, HERO_SLOTS), -1, dtype=np.int64)
    return primary, target, np.zeros((games, HERO_SLOTS, 2))


@pytest.mark.parametrize(
    ("hero", "primary", "target", "message"),
    [
        (3, 99, -1, "game 1, hero 3 .* is not a primary action"),
        (2, ACTION_ATTACK, -1, "game 1, hero 2 .* needs a target unit slot"),
        (2, ACTION_ATTACK, MAX_UNITS, "needs a target unit slot"),
        (7, ACTION_ATTACK, 2, "hero 7 .* does not see"),
        (1, ACTION_ATTACK, 1, "targets the hero itself"),
        (1, ACTION_ATTACK, 0, "attacks an allied unit that is not a creep"),
        (0, ACTION_ATTACK, ancient_slot(0), "attacks an allied unit"),
        (0, ACTION_CAST_2, -1, "ability slot this hero's archetype does not have"),
        (0, ACTION_CAST_1, 3, "not a visible enemy hero or creep"),
        (3, ACTION_CAST_0, 7, "not an allied hero"),
        (3, ACTION_CAST_0, 200, "needs a target unit slot"),
    ],
)
def test_invalid_actions_name_game_hero_and_problem(hero: int, primary: int, target: int, message: str) -> None:
    config = GameConfig(lineup_blue=(CARRY, MAGE, CARRY, SUPPORT, MAGE))
    state = new_state(2, config)
    before = copy_state(state)
    actions = _actions(2)
    actions[0][1, hero], actions[1][1, hero] = primary, target
    with pytest.raises(InvalidActionError, match=message):
        core.step(state, config, *actions)
    assert states_equal(state, before)  # nothing moved
    with pytest.raises(InvalidActionError, match=message):
        core.validate_actions(state, *actions)


def test_dead_and_absent_heroes_only_take_noop() -> None:
    config = GameConfig(heroes_per_team=3)
    state = new_state(1, config)
    primary, target, point = _actions(1)
    primary[0, 4] = ACTION_MOVE_0
    with pytest.raises(InvalidActionError, match=r"hero 4 .* absent in this game"):
        core.validate_actions(state, primary, target, point)
    primary[0, 4] = ACTION_NOOP
    state.alive[0, 6] = False
    primary[0, 6] = ACTION_MOVE_0
    with pytest.raises(InvalidActionError, match=r"hero 6 .* dead hero"):
        core.validate_actions(state, primary, target, point)


def test_nan_points_and_wrong_shapes_are_errors_and_unvalidated_invalid_actions_are_noops() -> None:
    config = GameConfig()  # blue hero 0 is a carry: its ability 0 is a ground-targeted dash
    state = new_state(1, config)
    primary, target, point = _actions(1)
    primary[0, 0] = ACTION_CAST_0
    point[0, 0] = np.nan
    with pytest.raises(InvalidActionError, match="NaN point"):
        core.step(state, config, primary, target, point)
    with pytest.raises(InvalidActionError, match=r"shape \(1, 10\)"):
        core.step(state, config, primary[:, :5], target, point)
    with pytest.raises(InvalidActionError, match=r"point of shape"):
        core.step(state, config, primary, target, point[:, :, :1])
    primary[0, 1] = ACTION_ATTACK
    target[0, 1] = 10_000  # out of bounds: must not crash the compiled core
    core.step(state, config, primary, target, point, validate=False)
    assert state.order[0, 0] == 0 and state.order[0, 1] == 0
    fountain = layout("three_lane").fountain[0]
    assert (state.x[0, 0], state.y[0, 0]) == (fountain[0], fountain[1])


def test_bad_configs_are_one_sentence_config_errors() -> None:
    with pytest.raises(ConfigError, match="heroes_per_team"):
        GameConfig(heroes_per_team=2)
    with pytest.raises(ConfigError, match="map"):
        GameConfig(map="four_lane")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="lineup_red"):
        GameConfig(lineup_red=(0, 1, 2, 3, 9))
    with pytest.raises(ConfigError, match="time_cap_seconds"):
        GameConfig(time_cap_seconds=0.0)
    with pytest.raises(FourfoldError, match="num_games"):
        new_state(0, GameConfig())
    with pytest.raises(ConfigError, match="unknown Five map"):
        layout("nowhere")
