"""Five's factored action space for agents, and its decoding into the core's actions.

As OpenAI Five's action head (Berner et al. 2019, "Dota 2 with Large Scale Deep Reinforcement Learning", section
2 and Appendix, "Action space"), an agent's action is factored into heads, each masked (`obs["action_mask"]`):

- `primary` in [0, NUM_PRIMARY): noop, move in 8 directions, stop, attack, cast ability 0..2, retreat
  (`constants.ACTION_*`);
- `target` in [0, NUM_TARGETS): a pointer into the concatenation of the observed unit lists (`LIST_NAMES`, each
  padded to `LIST_SIZES`), read when the primary is attack or a unit-targeted cast;
- `offset` in [0, NUM_OFFSETS): a cell of a 5 x 5 grid of ground offsets around the hero, scaled to the cast
  ability's range (so a row of the grid spans -range..+range), read when the primary is a ground-targeted cast.

A head the chosen primary does not read allows only index 0 in its mask (so a policy sampling every head always has
something to sample); its value is ignored.

Team frame. The map is point-symmetric (`maps.py`), and each team observes it from its own side: a red hero's
positions are mirrored through the map's centre, so that both teams see their base bottom-left. Actions are given
in the same frame and mirrored back here: a red hero's move direction d is the world direction (d + 4) mod 8, and
its ground offsets are negated. One policy can therefore play either side.

Shape legend: G games, H = 10 hero slots, T = NUM_TARGETS, O = NUM_OFFSETS.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from fourfold.five.game import stats
from fourfold.five.game.constants import (
    ACTION_ATTACK,
    ACTION_CAST_0,
    ACTION_MOVE_0,
    ACTION_MOVE_7,
    ACTION_NAMES,
    HERO_SLOTS,
    HEROES_PER_TEAM,
    NUM_ABILITIES,
    NUM_ARCHETYPES,
    NUM_DIRECTIONS,
    NUM_PRIMARY,
    TARGET_ALLY,
    TARGET_ENEMY,
    TARGET_NONE,
    TARGET_POINT,
)
from fourfold.five.game.errors import InvalidActionError
from fourfold.five.game.state import GameState

LIST_NAMES = ("ally_heroes", "enemy_heroes", "ally_creeps", "enemy_creeps", "ally_structures", "enemy_structures")
"""The observed unit lists, in the order the target pointer concatenates them. `ally_heroes` starts with the hero
itself (so ally-targeted abilities can target self), then the other alive allies by distance."""
LIST_SIZES = (5, 5, 8, 8, 4, 4)
"""Entries per list: the nearest visible alive units of that kind, padded."""
NUM_LISTS = len(LIST_NAMES)
LIST_STARTS = tuple(int(s) for s in np.cumsum((0, *LIST_SIZES[:-1])))
"""Index of each list's first entry in the target pointer."""
NUM_TARGETS = int(sum(LIST_SIZES))

OFFSET_GRID = 5
NUM_OFFSETS = OFFSET_GRID * OFFSET_GRID
OFFSETS = np.array(
    [[(k % OFFSET_GRID - 2) / 2.0, (k // OFFSET_GRID - 2) / 2.0] for k in range(NUM_OFFSETS)], dtype=np.float64
)
"""[O, 2] ground offset k as a fraction of the ability's range: x = (k % 5 - 2) / 2, y = (k // 5 - 2) / 2."""

NUM_CASTS = NUM_ABILITIES


def primary_targeting() -> NDArray[np.int64]:
    """[NUM_ARCHETYPES, NUM_PRIMARY] what each primary of each archetype aims at (`constants.TARGET_*`).

    Attack aims at an enemy (`TARGET_ENEMY`; allied creeps low enough to deny count too); a cast aims as its ability
    does; every other primary at nothing.
    """
    table = np.full((NUM_ARCHETYPES, NUM_PRIMARY), TARGET_NONE, dtype=np.int64)
    table[:, ACTION_ATTACK] = TARGET_ENEMY
    table[:, ACTION_CAST_0 : ACTION_CAST_0 + NUM_CASTS] = stats.ABILITY_TARGETING
    return table


PRIMARY_TARGETING = primary_targeting()
"""[NUM_ARCHETYPES, NUM_PRIMARY] `primary_targeting()`, computed once."""


def uses_target(archetype: NDArray[np.int64], primary: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Whether `primary` (any shape) of heroes of `archetype` (same shape) reads the target head."""
    kind = PRIMARY_TARGETING[archetype, primary]
    reads: NDArray[np.bool_] = (kind == TARGET_ENEMY) | (kind == TARGET_ALLY)
    return reads


def uses_offset(archetype: NDArray[np.int64], primary: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Whether `primary` (any shape) of heroes of `archetype` (same shape) reads the offset head."""
    reads: NDArray[np.bool_] = PRIMARY_TARGETING[archetype, primary] == TARGET_POINT
    return reads


def allowed_actions(
    mask_primary: NDArray[np.bool_],
    mask_target: NDArray[np.bool_],
    mask_offset: NDArray[np.bool_],
    archetype: NDArray[np.int64],
    primary: NDArray[np.int64],
    target_index: NDArray[np.int64],
    offset_index: NDArray[np.int64],
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """(G, H) whether each hero's primary, target and offset are allowed by its masks (out of range: not allowed).

    Args:
        mask_primary: (G, H, NUM_PRIMARY); mask_target: (G, H, NUM_PRIMARY, T); mask_offset: (G, H, NUM_PRIMARY, O):
            the masks of the observation the actions answer.
        archetype: (G, H) each hero's archetype.
        primary, target_index, offset_index: (G, H) the actions; heads the primary does not read always pass.
    """
    g, h = mask_primary.shape[:2]
    games, heroes = np.indices((g, h))  # (G, H) each
    in_range = (primary >= 0) & (primary < NUM_PRIMARY)
    p = np.where(in_range, primary, 0)  # (G, H)
    t = np.clip(target_index, 0, NUM_TARGETS - 1)  # (G, H)
    o = np.clip(offset_index, 0, NUM_OFFSETS - 1)  # (G, H)
    ok = in_range & mask_primary[games, heroes, p]
    t_ok = ~uses_target(archetype, p) | ((target_index == t) & mask_target[games, heroes, p, t])
    o_ok = ~uses_offset(archetype, p) | ((offset_index == o) & mask_offset[games, heroes, p, o])
    return ok, t_ok, o_ok


def check_actions(
    mask_primary: NDArray[np.bool_],
    mask_target: NDArray[np.bool_],
    mask_offset: NDArray[np.bool_],
    archetype: NDArray[np.int64],
    primary: NDArray[np.int64],
    target_index: NDArray[np.int64],
    offset_index: NDArray[np.int64],
) -> None:
    """Raise `InvalidActionError` naming the first game and hero whose action its masks do not allow.

    The arguments are those of `allowed_actions`; the actions must have shape (G, H) and lie in their heads' ranges.
    """
    g, h = mask_primary.shape[:2]
    for name, values, size in (
        ("primary", primary, NUM_PRIMARY),
        ("target_index", target_index, NUM_TARGETS),
        ("offset_index", offset_index, NUM_OFFSETS),
    ):
        if values.shape != (g, h):
            raise InvalidActionError(f"{name} must have shape ({g}, {h}) (got {values.shape}); give one per hero.")
        bad = (values < 0) | (values >= size)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            raise InvalidActionError(
                f"game {i}, hero {j}: {name} {int(values[i, j])} is out of range; it must lie in [0, {size})."
            )
    ok, ok_target, ok_offset = allowed_actions(
        mask_primary, mask_target, mask_offset, archetype, primary, target_index, offset_index
    )
    bad = ~(ok & ok_target & ok_offset)
    if not bad.any():
        return
    i, j = (int(v) for v in np.argwhere(bad)[0])
    name = ACTION_NAMES[int(primary[i, j])]
    if not ok[i, j]:
        why = f"primary action {name} is not allowed now (dead, stunned, on cooldown, out of mana or no target)"
    elif not ok_target[i, j]:
        why = f"target index {int(target_index[i, j])} is not a valid target for {name}"
    else:
        why = f"offset index {int(offset_index[i, j])} puts the {name} point off the map"
    raise InvalidActionError(f"game {i}, hero {j}: {why}; pick actions allowed by obs['action_mask'].")


def decode_actions(
    state: GameState,
    slots: NDArray[np.int32],
    primary: NDArray[np.int64],
    target_index: NDArray[np.int64],
    offset_index: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """The core's actions (`core.step`'s primary, target, point) for agent actions in the team frame.

    Args:
        state: the games the actions are for (hero positions and archetypes).
        slots: (G, H, T) the unit slot behind each target pointer of the observation answered (-1 padding).
        primary, target_index, offset_index: (G, H) the agents' actions (indices assumed in range).

    Returns:
        primary (G, H) int64 in the world frame, target (G, H) int64 unit slot or -1, point (G, H, 2) float64.
    """
    g = primary.shape[0]
    h = HERO_SLOTS
    red = np.zeros((g, h), dtype=bool)
    red[:, HEROES_PER_TEAM:] = True
    archetype = state.archetype  # (G, H)
    world = primary.astype(np.int64, copy=True)  # (G, H)
    moving = (primary >= ACTION_MOVE_0) & (primary <= ACTION_MOVE_7)
    mirrored = moving & red
    world[mirrored] = (primary[mirrored] - ACTION_MOVE_0 + NUM_DIRECTIONS // 2) % NUM_DIRECTIONS + ACTION_MOVE_0
    games, heroes = np.indices((g, h))  # (G, H) each
    picked = slots[games, heroes, target_index].astype(np.int64)  # (G, H)
    target = np.where(uses_target(archetype, primary), picked, -1)  # (G, H)
    cast = np.clip(primary - ACTION_CAST_0, 0, NUM_CASTS - 1)  # (G, H)
    reach = stats.ABILITY_RANGE[archetype, cast]  # (G, H)
    sign = np.where(red, -1.0, 1.0)  # (G, H)
    offset = OFFSETS[offset_index] * (reach * sign)[:, :, None]  # (G, H, 2)
    point = np.stack([state.x[:, :h], state.y[:, :h]], axis=2) + offset  # (G, H, 2)
    point = np.where(uses_offset(archetype, primary)[:, :, None], point, 0.0)
    return world, target, point
