"""`GameState`: a batch of Five games as a structure of arrays, and the functions that create, reset and compare it.

Shape legend: G games, U = `MAX_UNITS` unit slots (heroes 0..9, structures, creeps), H = `HERO_SLOTS` (10 heroes,
team-major), A = `NUM_ABILITIES`, E = `NUM_EVENTS`. Every array has the games axis first and is C-contiguous.

`GameState` is a `NamedTuple` of arrays (not a dataclass) so that the compiled rules take it as one argument: numba
compiles attribute access on a named tuple, and the interpreted reference reads the same attributes. The arrays are
mutated in place; the tuple itself never changes. Positions are map units, times ticks, rates per game-second.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import HERO_SLOTS, MAX_UNITS, NUM_ABILITIES, NUM_EVENTS, NUM_TEAMS

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Bool = NDArray[np.bool_]


class GameState(NamedTuple):
    """A batch of G games. Per unit [G, U], per hero [G, H] (H = 10), per game [G]."""

    # --- per unit [G, U] ---
    present: Bool
    """The slot holds a unit (heroes of the game stay present while dead; a dead creep frees its slot)."""
    alive: Bool
    team: I64
    kind: I64
    """KIND_HERO, KIND_CREEP, KIND_TOWER or KIND_ANCIENT."""
    subtype: I64
    """Hero: archetype; creep: CREEP_MELEE/CREEP_RANGED; tower: tier 1, 2, 3 (base); ancient: 0."""
    x: F64
    y: F64
    hp: F64
    max_hp: F64
    mana: F64
    max_mana: F64
    hp_regen: F64
    """Hit points per game-second."""
    mana_regen: F64
    damage: F64
    """Attack damage before armor and spread."""
    armor: F64
    attack_range: F64
    attack_period: I64
    """Ticks between attacks."""
    attack_timer: I64
    """Ticks until the unit can attack again (0: ready)."""
    speed: F64
    """Map units per game-second (0 for structures)."""
    sight: F64
    target: I64
    """Unit slot this unit attacks (creeps and towers: chosen by the rules; heroes: their attack order), or -1."""
    stun_ticks: I64
    shield: F64
    """Damage the unit's shield still absorbs."""
    shield_ticks: I64
    lane: I64
    """Creep: its lane; tower: its lane or -1."""
    waypoint: I64
    """Creep: index of the lane waypoint it walks to next."""
    # --- per hero [G, H] ---
    archetype: I64
    level: I64
    xp: F64
    gold: F64
    respawn_ticks: I64
    """Ticks until a dead hero respawns at its fountain."""
    kills: I64
    deaths: I64
    last_hits: I64
    denies: I64
    items: I64
    """Items bought so far from the archetype's fixed list (stats.ITEM_*)."""
    ability_cooldown: I64
    """[G, H, A] ticks until ability a can be cast again."""
    order: I64
    """ORDER_IDLE, ORDER_MOVE, ORDER_ATTACK, ORDER_CAST or ORDER_RETREAT: what the hero keeps doing."""
    order_direction: I64
    order_ability: I64
    order_target: I64
    order_x: F64
    order_y: F64
    aggro_ticks: I64
    """Ticks this hero still draws tower fire for having damaged an enemy hero."""
    aggro_victim: I64
    """The enemy hero it damaged last (unit slot)."""
    # --- per game [G] ---
    tick: I64
    done: Bool
    winner: I64
    """-1 playing, 0 blue won, 1 red won, 2 draw."""
    seed: I64
    time_cap_ticks: I64
    kills_to_win: I64
    """Hero kills that end the game at once (0: off; `GameConfig.kills_to_win`)."""
    towers_to_win: I64
    """Enemy structures destroyed that end the game at once (0: off; `GameConfig.towers_to_win`)."""
    # --- sight and events ---
    visible: Bool
    """[G, 2, U] whether team t sees unit u (own units always; others within sight of an alive own unit)."""
    events: F64
    """[G, H, E] what happened to each hero during the last `step` (see constants.EVENT_*)."""


def _allocate(num_games: int) -> GameState:
    g, u, h = num_games, MAX_UNITS, HERO_SLOTS
    arrays: dict[str, NDArray[np.generic]] = {}
    annotations = GameState.__annotations__
    per_hero = set(list(GameState._fields)[GameState._fields.index("archetype") : GameState._fields.index("tick")])
    per_game = {"tick", "done", "winner", "seed", "time_cap_ticks", "kills_to_win", "towers_to_win"}
    for name in GameState._fields:
        annotation = annotations[name]
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__forward_arg__", "")
        dtype = {"F64": np.float64, "I64": np.int64, "Bool": np.bool_}[text]
        if name == "ability_cooldown":
            shape: tuple[int, ...] = (g, h, NUM_ABILITIES)
        elif name == "visible":
            shape = (g, NUM_TEAMS, u)
        elif name == "events":
            shape = (g, h, NUM_EVENTS)
        elif name in per_game:
            shape = (g,)
        elif name in per_hero:
            shape = (g, h)
        else:
            shape = (g, u)
        arrays[name] = np.zeros(shape, dtype=dtype)
    return GameState(**arrays)  # type: ignore[arg-type]


def new_state(num_games: int, config: GameConfig) -> GameState:
    """A batch of `num_games` games at tick 0, game i seeded with i (reseed with `reset_games`)."""
    if num_games < 1:
        from fourfold.core.config import ConfigError

        raise ConfigError("num_games", f"must be at least 1 (got {num_games})")
    state = _allocate(num_games)
    reset_games(state, config, np.ones(num_games, dtype=bool), np.arange(num_games, dtype=np.int64))
    return state


def reset_games(state: GameState, config: GameConfig, mask: NDArray[np.bool_], seeds: NDArray[np.int64]) -> None:
    """Start game g afresh (tick 0, seed `seeds[g]`) wherever `mask[g]`; other games are untouched.

    Args:
        state: the batch, changed in place.
        config: map, heroes per team, lineups, time cap.
        mask: [G] bool, the games to reset.
        seeds: [G] int64 (only masked entries are read).
    """
    from fourfold.five.game import core

    core.reset(state, config, mask, seeds)


def copy_state(state: GameState) -> GameState:
    """A deep copy (every array copied)."""
    return GameState(*(np.array(a, copy=True) for a in state))  # type: ignore[arg-type]


def states_equal(a: GameState, b: GameState) -> bool:
    """Whether two batches hold exactly the same values in every array (bit for bit, NaN equal to NaN)."""
    for left, right in zip(a, b, strict=True):
        if left.shape != right.shape or left.dtype != right.dtype:
            return False
        if left.dtype == np.float64:
            if not np.array_equal(left.view(np.int64), right.view(np.int64)):
                return False
        elif not np.array_equal(left, right):
            return False
    return True


def first_difference(a: GameState, b: GameState) -> str:
    """A sentence naming the first field and index where two batches differ ("" when equal); for test messages."""
    for name, left, right in zip(GameState._fields, a, b, strict=True):
        if left.shape != right.shape:
            return f"{name}: shapes {left.shape} and {right.shape}"
        differ = left.view(np.int64) != right.view(np.int64) if left.dtype == np.float64 else left != right
        if differ.any():
            where = tuple(int(i) for i in np.argwhere(differ)[0])
            return f"{name}{list(where)}: {left[where]!r} != {right[where]!r}"
    return ""
