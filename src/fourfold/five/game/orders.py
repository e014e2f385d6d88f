"""Hero actions: which ones the rules allow (`action_error`) and how they become standing orders (`apply_actions`).

An action sets what a hero keeps doing until its next order: `ACTION_NOOP` keeps the current order, a move keeps
walking that way, an attack keeps chasing and hitting its target until it dies or hides, a cast walks into range,
casts once and then idles, retreat walks to the own fountain. Stunned heroes keep their orders and resume after.

Valid actions (anything else is an error code, message in `ERROR_MESSAGES`):
- a game that is over takes any action (it is ignored); an absent or dead hero only `ACTION_NOOP`;
- `ACTION_ATTACK` needs a visible, alive unit that is an enemy (a structure only once it can take damage) or an
  allied creep below `DENY_FRACTION` of its hit points (a deny);
- `ACTION_CAST_i` needs ability i to exist, be off cooldown and affordable, and its target: an enemy hero or creep
  that the team sees, an allied hero (self included), or a ground point that is not NaN (points are clipped to the
  map); self-cast abilities ignore `target`.
Rule functions (see `combat.py`): interpreted in the reference, compiled in the core.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable
from numpy.typing import NDArray

from fourfold.five.game.combat import fmax, fmin, structure_vulnerable
from fourfold.five.game.constants import (
    ABILITY_NONE,
    ACTION_ATTACK,
    ACTION_CAST_0,
    ACTION_CAST_2,
    ACTION_MOVE_0,
    ACTION_MOVE_7,
    ACTION_NOOP,
    ACTION_RETREAT,
    ACTION_STOP,
    HERO_SLOTS,
    KIND_CREEP,
    KIND_HERO,
    MAX_UNITS,
    NUM_PRIMARY,
    ORDER_ATTACK,
    ORDER_CAST,
    ORDER_IDLE,
    ORDER_MOVE,
    ORDER_RETREAT,
    TARGET_ALLY,
    TARGET_ENEMY,
    TARGET_POINT,
)
from fourfold.five.game.state import GameState
from fourfold.five.game.stats import ABILITY_KIND, ABILITY_MANA, ABILITY_TARGETING, DENY_FRACTION

OK = 0
ERROR_PRIMARY = 1
ERROR_ABSENT = 2
ERROR_DEAD = 3
ERROR_TARGET_SLOT = 4
ERROR_TARGET_GONE = 5
ERROR_TARGET_HIDDEN = 6
ERROR_TARGET_SELF = 7
ERROR_TARGET_ALLY = 8
ERROR_NOT_DENIABLE = 9
ERROR_INVULNERABLE = 10
ERROR_NO_ABILITY = 11
ERROR_COOLDOWN = 12
ERROR_MANA = 13
ERROR_CAST_ENEMY = 14
ERROR_CAST_ALLY = 15
ERROR_POINT = 16
ERROR_MESSAGES = (
    "is valid",
    "is not a primary action (use 0..14)",
    "is for a hero slot that is absent in this game (only noop, 0, is allowed)",
    "is for a dead hero (only noop, 0, is allowed until it respawns)",
    "needs a target unit slot in 0..MAX_UNITS-1",
    "targets a unit that is absent or dead",
    "targets a unit the hero's team does not see",
    "targets the hero itself",
    "attacks an allied unit that is not a creep",
    "attacks an allied creep that is not below the deny threshold (half its hit points)",
    "attacks a structure that is still protected by the structure in front of it",
    "casts an ability slot this hero's archetype does not have",
    "casts an ability that is on cooldown",
    "casts an ability without enough mana",
    "casts an enemy-targeted ability on a unit that is not a visible enemy hero or creep",
    "casts an ally-targeted ability on a unit that is not an allied hero",
    "casts a ground-targeted ability at a NaN point",
)


@register_jitable(_nrt=False)
def attack_error(s: GameState, g: int, h: int, t: int) -> int:
    """Why hero h may not attack unit t now (OK if it may): the attack rule of the module docstring."""
    if t < 0 or t >= MAX_UNITS:
        return ERROR_TARGET_SLOT
    if not (s.present[g, t] and s.alive[g, t]):
        return ERROR_TARGET_GONE
    if t == h:
        return ERROR_TARGET_SELF
    team = s.team[g, h]
    if not s.visible[g, team, t]:
        return ERROR_TARGET_HIDDEN
    if s.team[g, t] == team:
        if s.kind[g, t] != KIND_CREEP:
            return ERROR_TARGET_ALLY
        if s.hp[g, t] >= DENY_FRACTION * s.max_hp[g, t]:
            return ERROR_NOT_DENIABLE
        return OK
    if s.kind[g, t] != KIND_HERO and s.kind[g, t] != KIND_CREEP and not structure_vulnerable(s, g, t):
        return ERROR_INVULNERABLE
    return OK


@register_jitable(_nrt=False)
def cast_target_error(s: GameState, g: int, h: int, targeting: int, t: int) -> int:
    """Why unit t is not a valid target of an ability aimed `targeting` by hero h (OK if it is)."""
    if targeting == TARGET_ENEMY:
        if t < 0 or t >= MAX_UNITS:
            return ERROR_TARGET_SLOT
        if not (s.present[g, t] and s.alive[g, t]):
            return ERROR_TARGET_GONE
        kind = s.kind[g, t]
        if s.team[g, t] == s.team[g, h] or kind not in (KIND_HERO, KIND_CREEP):
            return ERROR_CAST_ENEMY
        if not s.visible[g, s.team[g, h], t]:
            return ERROR_TARGET_HIDDEN
    elif targeting == TARGET_ALLY:
        if t < 0 or t >= MAX_UNITS:
            return ERROR_TARGET_SLOT
        if not (s.present[g, t] and s.alive[g, t]):
            return ERROR_TARGET_GONE
        if s.team[g, t] != s.team[g, h] or s.kind[g, t] != KIND_HERO:
            return ERROR_CAST_ALLY
    return OK


@register_jitable(_nrt=False)
def action_error(s: GameState, g: int, h: int, primary: int, target: int, px: float, py: float) -> int:
    """The error code of hero h of game g taking action (primary, target, point); OK (0) when valid."""
    if s.done[g]:
        return OK
    if primary < 0 or primary >= NUM_PRIMARY:
        return ERROR_PRIMARY
    if not s.present[g, h]:
        return OK if primary == ACTION_NOOP else ERROR_ABSENT
    if not s.alive[g, h]:
        return OK if primary == ACTION_NOOP else ERROR_DEAD
    if primary == ACTION_ATTACK:
        return attack_error(s, g, h, target)
    if ACTION_CAST_0 <= primary <= ACTION_CAST_2:
        a = primary - ACTION_CAST_0
        arch = s.archetype[g, h]
        if ABILITY_KIND[arch, a] == ABILITY_NONE:
            return ERROR_NO_ABILITY
        if s.ability_cooldown[g, h, a] > 0:
            return ERROR_COOLDOWN
        if s.mana[g, h] < ABILITY_MANA[arch, a]:
            return ERROR_MANA
        targeting = ABILITY_TARGETING[arch, a]
        if targeting == TARGET_POINT:
            if px != px or py != py:
                return ERROR_POINT
            return OK
        return cast_target_error(s, g, h, targeting, target)
    return OK


@register_jitable
def first_error(
    s: GameState, primary: NDArray[np.int64], target: NDArray[np.int64], point: NDArray[np.float64]
) -> NDArray[np.int64]:
    """[code, game, hero] of the first invalid action in game-then-hero order; code OK when all are valid."""
    result = np.zeros(3, dtype=np.int64)
    for g in range(primary.shape[0]):
        for h in range(HERO_SLOTS):
            code = action_error(s, g, h, primary[g, h], target[g, h], point[g, h, 0], point[g, h, 1])
            if code != OK:
                result[0] = code
                result[1] = g
                result[2] = h
                return result
    return result


@register_jitable(_nrt=False)
def apply_actions(
    s: GameState,
    g: int,
    primary: NDArray[np.int64],
    target: NDArray[np.int64],
    point: NDArray[np.float64],
    size: float,
) -> None:
    """Turn game g's actions into standing orders. Invalid actions become no-ops (`action_error`), so a batch that
    skipped validation still steps safely."""
    for h in range(HERO_SLOTS):
        p = primary[g, h]
        t = target[g, h]
        px = point[g, h, 0]
        py = point[g, h, 1]
        if p == ACTION_NOOP or action_error(s, g, h, p, t, px, py) != OK:
            continue
        if ACTION_MOVE_0 <= p <= ACTION_MOVE_7:
            s.order[g, h] = ORDER_MOVE
            s.order_direction[g, h] = p - ACTION_MOVE_0
        elif p == ACTION_STOP:
            s.order[g, h] = ORDER_IDLE
            s.order_target[g, h] = -1
            s.target[g, h] = -1
        elif p == ACTION_ATTACK:
            s.order[g, h] = ORDER_ATTACK
            s.order_target[g, h] = t
            s.target[g, h] = t
        elif p == ACTION_RETREAT:
            s.order[g, h] = ORDER_RETREAT
        else:
            s.order[g, h] = ORDER_CAST
            a = p - ACTION_CAST_0
            targeting = ABILITY_TARGETING[s.archetype[g, h], a]
            s.order_ability[g, h] = a
            s.order_target[g, h] = t if targeting in (TARGET_ENEMY, TARGET_ALLY) else -1
            if px != px or py != py:
                px = s.x[g, h]
                py = s.y[g, h]
            s.order_x[g, h] = fmin(fmax(px, 0.0), size)
            s.order_y[g, h] = fmin(fmax(py, 0.0), size)
