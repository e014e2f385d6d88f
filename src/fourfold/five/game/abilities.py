"""Hero abilities: carrying out a standing cast order (walk into range, then cast once) and each ability's effect.

Kinds (constants.ABILITY_*): a nuke damages one enemy hero or creep; a stun damages it and stuns it (no moving,
attacking or casting) for the ability's duration; an area effect damages every enemy hero and creep within its
radius of a ground point; a heal restores an allied hero's hit points; a shield absorbs damage on an allied hero for
its duration; a dash jumps towards a ground point, at most the ability's range, at once. Ability damage ignores
armor and scales with level (`stats.ABILITY_AMOUNT_PER_LEVEL`); casting costs mana and starts the cooldown.
Rule functions (see `combat.py`): interpreted in the reference, compiled in the core.
"""

from __future__ import annotations

import math

from numba.extending import register_jitable

from fourfold.five.game.combat import deal_damage, fmax, fmin, move_toward
from fourfold.five.game.constants import (
    ABILITY_AREA,
    ABILITY_DASH,
    ABILITY_HEAL,
    ABILITY_NONE,
    ABILITY_NUKE,
    ABILITY_SHIELD,
    ABILITY_STUN,
    KIND_CREEP,
    KIND_HERO,
    MAX_UNITS,
    ORDER_IDLE,
    TARGET_NONE,
    TARGET_POINT,
)
from fourfold.five.game.orders import OK, cast_target_error
from fourfold.five.game.state import GameState
from fourfold.five.game.stats import (
    ABILITY_AMOUNT,
    ABILITY_AMOUNT_PER_LEVEL,
    ABILITY_COOLDOWN,
    ABILITY_DURATION,
    ABILITY_KIND,
    ABILITY_MANA,
    ABILITY_RADIUS,
    ABILITY_RANGE,
    ABILITY_TARGETING,
)


@register_jitable(_nrt=False)
def cast(s: GameState, g: int, h: int, a: int, t: int, px: float, py: float, size: float) -> None:
    """Hero h casts its ability a now on unit t or point (px, py): pay mana, start the cooldown, apply the effect."""
    arch = s.archetype[g, h]
    kind = ABILITY_KIND[arch, a]
    amount = ABILITY_AMOUNT[arch, a] + ABILITY_AMOUNT_PER_LEVEL[arch, a] * (s.level[g, h] - 1)
    s.mana[g, h] -= ABILITY_MANA[arch, a]
    s.ability_cooldown[g, h, a] = ABILITY_COOLDOWN[arch, a]
    s.order[g, h] = ORDER_IDLE
    s.order_target[g, h] = -1
    if kind == ABILITY_NUKE:
        deal_damage(s, g, h, t, amount, False)
    elif kind == ABILITY_STUN:
        deal_damage(s, g, h, t, amount, False)
        if s.alive[g, t] and s.stun_ticks[g, t] < ABILITY_DURATION[arch, a]:
            s.stun_ticks[g, t] = ABILITY_DURATION[arch, a]
    elif kind == ABILITY_AREA:
        radius = ABILITY_RADIUS[arch, a]
        team = s.team[g, h]
        for u in range(MAX_UNITS):
            if not s.alive[g, u] or s.team[g, u] == team:
                continue
            if s.kind[g, u] != KIND_HERO and s.kind[g, u] != KIND_CREEP:
                continue
            dx = s.x[g, u] - px
            dy = s.y[g, u] - py
            if dx * dx + dy * dy <= radius * radius:
                deal_damage(s, g, h, u, amount, False)
    elif kind == ABILITY_HEAL:
        s.hp[g, t] = fmin(s.hp[g, t] + amount, s.max_hp[g, t])
    elif kind == ABILITY_SHIELD:
        s.shield[g, t] = fmax(s.shield[g, t], amount)
        s.shield_ticks[g, t] = ABILITY_DURATION[arch, a]
    elif kind == ABILITY_DASH:
        dx = px - s.x[g, h]
        dy = py - s.y[g, h]
        distance = math.sqrt(dx * dx + dy * dy)
        reach = ABILITY_RANGE[arch, a]
        if distance <= reach:
            s.x[g, h] = px
            s.y[g, h] = py
        else:
            s.x[g, h] = fmin(fmax(s.x[g, h] + dx / distance * reach, 0.0), size)
            s.y[g, h] = fmin(fmax(s.y[g, h] + dy / distance * reach, 0.0), size)


@register_jitable(_nrt=False)
def pursue_cast(s: GameState, g: int, h: int, size: float) -> None:
    """One tick of hero h's cast order: cast if the ability's target is in range (a self-cast or a dash always is),
    else walk towards it; drop the order if the ability or its target became invalid."""
    a = s.order_ability[g, h]
    arch = s.archetype[g, h]
    kind = ABILITY_KIND[arch, a]
    if kind == ABILITY_NONE or s.ability_cooldown[g, h, a] > 0 or s.mana[g, h] < ABILITY_MANA[arch, a]:
        s.order[g, h] = ORDER_IDLE
        return
    targeting = ABILITY_TARGETING[arch, a]
    reach = ABILITY_RANGE[arch, a]
    if targeting == TARGET_NONE:
        cast(s, g, h, a, h, s.x[g, h], s.y[g, h], size)
    elif targeting == TARGET_POINT:
        px = s.order_x[g, h]
        py = s.order_y[g, h]
        dx = px - s.x[g, h]
        dy = py - s.y[g, h]
        if kind == ABILITY_DASH or dx * dx + dy * dy <= reach * reach:
            cast(s, g, h, a, -1, px, py, size)
        else:
            move_toward(s, g, h, px, py)
    else:
        t = s.order_target[g, h]
        if cast_target_error(s, g, h, targeting, t) != OK:
            s.order[g, h] = ORDER_IDLE
            s.order_target[g, h] = -1
            return
        dx = s.x[g, t] - s.x[g, h]
        dy = s.y[g, t] - s.y[g, h]
        if dx * dx + dy * dy <= reach * reach:
            cast(s, g, h, a, t, s.x[g, t], s.y[g, t], size)
        else:
            move_toward(s, g, h, s.x[g, t], s.y[g, t])
