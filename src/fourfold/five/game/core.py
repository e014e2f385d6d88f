"""Five's batched game core: `step` (compiled) and `step_reference` (interpreted), `reset`, `validate_actions`.

Both steps run the same rule source, `rules.step_games` and what it calls (see `rules.py`): `step` runs it
compiled by numba into one loop over all games, `step_reference` runs the very same Python functions
interpreted, one game after another. They agree bit for bit (tests/five/test_core_equivalence.py); the reference
is for tests and for reading, the compiled core for everything else.

The kernels are cached on disk by numba under a stamp of every source file of this folder (`jit.compiled`), so an
edit to any rule module recompiles them.

Shape legend: G games, H = 10 hero slots, U = MAX_UNITS unit slots.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from fourfold.five.game import orders, rules, spawn
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import ACTION_NAMES, HERO_SLOTS, NUM_PRIMARY
from fourfold.five.game.errors import InvalidActionError
from fourfold.five.game.jit import compiled
from fourfold.five.game.maps import layout
from fourfold.five.game.state import GameState

_step_compiled = compiled(rules.step_games)
_reset_compiled = compiled(spawn.reset_masked)
_first_error_compiled = compiled(orders.first_error)


def _actions(
    state: GameState, primary: NDArray[np.int64], target: NDArray[np.int64], point: NDArray[np.float64] | None
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """The actions as C-contiguous int64/float64 arrays of the batch's shapes (a point of zeros when absent)."""
    games = state.tick.shape[0]
    primary = np.ascontiguousarray(primary, dtype=np.int64)
    target = np.ascontiguousarray(target, dtype=np.int64)
    if primary.shape != (games, HERO_SLOTS) or target.shape != (games, HERO_SLOTS):
        raise InvalidActionError(
            f"Five actions need primary and target of shape ({games}, {HERO_SLOTS}) (games, heroes); "
            f"got {primary.shape} and {target.shape}."
        )
    if point is None:
        point = np.zeros((games, HERO_SLOTS, 2))
    point = np.ascontiguousarray(point, dtype=np.float64)
    if point.shape != (games, HERO_SLOTS, 2):
        raise InvalidActionError(
            f"Five actions need point of shape ({games}, {HERO_SLOTS}, 2) (games, heroes, x/y); got {point.shape}."
        )
    return primary, target, point


def describe_error(code: int, game: int, hero: int, primary: int, target: int) -> str:
    """The one-sentence message of `orders` error `code` for hero `hero` of game `game`."""
    team = "blue" if hero < HERO_SLOTS // 2 else "red"
    name = ACTION_NAMES[primary] if 0 <= primary < NUM_PRIMARY else str(primary)
    return (
        f"invalid Five action in game {game}, hero {hero} ({team}): action {name} (target {target}) "
        f"{orders.ERROR_MESSAGES[code]}."
    )


def validate_actions(
    state: GameState,
    primary: NDArray[np.int64],
    target: NDArray[np.int64],
    point: NDArray[np.float64] | None = None,
) -> None:
    """Raise `InvalidActionError` naming the first game and hero whose action the rules do not allow.

    Args:
        state: the batch the actions are for (games that are over accept anything).
        primary: [G, 10] primary actions (constants.ACTION_*).
        target: [G, 10] unit slots (or -1 where the action needs none).
        point: [G, 10, 2] ground points of ground-targeted casts (optional; only NaN is invalid).
    """
    primary, target, point = _actions(state, primary, target, point)
    code, game, hero = (int(v) for v in _first_error_compiled(state, primary, target, point))
    if code != orders.OK:
        raise InvalidActionError(describe_error(code, game, hero, int(primary[game, hero]), int(target[game, hero])))


def _map_arrays(config: GameConfig) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], float]:
    world = layout(config.map)
    return world.lane_points, world.lane_count, world.fountain, world.size


def step(
    state: GameState,
    config: GameConfig,
    primary: NDArray[np.int64],
    target: NDArray[np.int64],
    point: NDArray[np.float64] | None = None,
    *,
    validate: bool = True,
) -> None:
    """Advance every game that is not over by TICKS_PER_DECISION ticks, in place, with one compiled call.

    Fills `state.events` (this step's), `state.visible`, `done` and `winner`. With `validate` (the native API's
    default) invalid actions raise `InvalidActionError` before anything changes; without it they are no-ops.

    Args:
        state: the batch.
        config: the config the batch was reset with (its map is read here).
        primary: [G, 10] primary actions; target: [G, 10] unit slots or -1; point: [G, 10, 2] world (x, y).
    """
    primary, target, point = _actions(state, primary, target, point)
    if validate:
        validate_actions(state, primary, target, point)
    lane_points, lane_count, fountain, size = _map_arrays(config)
    _step_compiled(state, primary, target, point, lane_points, lane_count, fountain, size)


def step_reference(
    state: GameState,
    config: GameConfig,
    primary: NDArray[np.int64],
    target: NDArray[np.int64],
    point: NDArray[np.float64] | None = None,
    *,
    validate: bool = True,
) -> None:
    """`step` with the same rule functions run interpreted (slow; the reference the tests compare against)."""
    primary, target, point = _actions(state, primary, target, point)
    if validate:
        validate_actions(state, primary, target, point)
    lane_points, lane_count, fountain, size = _map_arrays(config)
    rules.step_games(state, primary, target, point, lane_points, lane_count, fountain, size)


def reset(
    state: GameState,
    config: GameConfig,
    mask: NDArray[np.bool_],
    seeds: NDArray[np.int64],
    *,
    reference: bool = False,
) -> None:
    """Start the masked games afresh with their seeds (compiled, or interpreted with `reference`)."""
    games = state.tick.shape[0]
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    seeds = np.ascontiguousarray(seeds, dtype=np.int64)
    if mask.shape != (games,) or seeds.shape != (games,):
        from fourfold.core.config import ConfigError

        raise ConfigError("seeds", f"reset needs mask and seeds of shape ({games},); got {mask.shape}, {seeds.shape}")
    world = layout(config.map)
    lineup = np.array([config.lineup(0), config.lineup(1)], dtype=np.int64)
    run = spawn.reset_masked if reference else _reset_compiled
    run(
        state,
        mask,
        seeds,
        world.fountain,
        world.structure_xy,
        world.structure_present,
        world.structure_kind,
        world.structure_tier,
        world.structure_lane,
        lineup,
        config.heroes_per_team,
        config.time_cap_ticks,
        config.kills_to_win,
        config.towers_to_win,
    )
