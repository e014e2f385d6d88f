"""Combat rules of Five: damage, death, bounties (gold and experience), levels, items, and the rules' hash.

Every function takes the batch `s` (a `GameState`) and a game index `g` and touches only game g's arrays. They are
plain Python with explicit loops, marked `register_jitable`: called from Python they run interpreted (the
reference, `core.step_reference`), called from a compiled function numba compiles them into it (`core.step`), so
the two implementations are one source. Functions that allocate nothing are compiled with `_nrt=False`: without it
numba reference-counts the ~50 arrays of `s` on every call, which cost about a microsecond a call and made the
core ten times slower. Floats are compared and clipped with `fmin`/`fmax` rather than the
builtins so that signed zeros and ties come out the same either way.

Randomness: `hash_uniform(seed, tick, unit)` is a counter-based hash (32-bit multiply-xorshift rounds on int64,
every product below 2**63), so a seed and the actions fix a game exactly.
"""

from __future__ import annotations

import math

from numba.extending import register_jitable

from fourfold.five.game.constants import (
    BASE_TOWER_OFFSET,
    EVENT_ANCIENT_DAMAGE,
    EVENT_ANCIENT_KILL,
    EVENT_DENY,
    EVENT_GOLD,
    EVENT_HERO_DEATH,
    EVENT_HERO_KILL,
    EVENT_LAST_HIT,
    EVENT_TOWER_DAMAGE,
    EVENT_TOWER_KILL,
    EVENT_XP,
    HERO_SLOTS,
    HEROES_PER_TEAM,
    KIND_ANCIENT,
    KIND_CREEP,
    KIND_HERO,
    KIND_TOWER,
    MAX_LEVEL,
    MAX_UNITS,
    NUM_LANES,
    ORDER_ATTACK,
    ORDER_CAST,
    ORDER_IDLE,
    STRUCTURE_START,
    STRUCTURES_PER_TEAM,
    TICKS_PER_SECOND,
)
from fourfold.five.game.state import GameState
from fourfold.five.game.stats import (
    AGGRO_TICKS,
    ARMOR_FACTOR,
    DAMAGE_SPREAD,
    GOLD_CREEP,
    GOLD_HERO_BASE,
    GOLD_HERO_PER_LEVEL,
    GOLD_TOWER,
    HERO_ARMOR,
    HERO_ARMOR_PER_LEVEL,
    HERO_DAMAGE,
    HERO_DAMAGE_PER_LEVEL,
    HERO_HP,
    HERO_HP_PER_LEVEL,
    HERO_HP_REGEN,
    HERO_MANA,
    HERO_MANA_PER_LEVEL,
    HERO_MANA_REGEN,
    HERO_SPEED,
    ITEM_AMOUNT,
    ITEM_ARMOR,
    ITEM_COST,
    ITEM_DAMAGE,
    ITEM_HP,
    ITEM_KIND,
    ITEM_MANA_REGEN,
    ITEM_SPEED,
    NUM_ITEMS,
    RESPAWN_BASE_TICKS,
    RESPAWN_PER_LEVEL_TICKS,
    XP_CREEP,
    XP_FOR_LEVEL,
    XP_HERO_BASE,
    XP_HERO_PER_LEVEL,
    XP_RADIUS,
)

MASK32 = 0xFFFFFFFF


@register_jitable(_nrt=False)
def fmin(a: float, b: float) -> float:
    """The smaller of two floats (the first on ties), the same interpreted and compiled."""
    return a if a <= b else b


@register_jitable(_nrt=False)
def fmax(a: float, b: float) -> float:
    """The larger of two floats (the first on ties), the same interpreted and compiled."""
    return a if a >= b else b


@register_jitable(_nrt=False)
def _mix32(x: int) -> int:
    """One 32-bit multiply-xorshift round (constants below 2**31, so x * c stays below 2**63 on int64)."""
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & MASK32
    x = x ^ (x >> 15)
    x = (x * 0x68E31DA5) & MASK32
    return x ^ (x >> 16)


@register_jitable(_nrt=False)
def hash_uniform(seed: int, tick: int, unit: int) -> float:
    """A number in [0, 1) fixed by (seed, tick, unit): the rules' only source of randomness."""
    x = _mix32(seed & MASK32)
    x = _mix32(x ^ ((seed >> 32) & MASK32))
    x = _mix32(x ^ (tick & MASK32))
    x = _mix32(x ^ (unit & MASK32))
    return x / 4294967296.0


@register_jitable(_nrt=False)
def distance2(s: GameState, g: int, a: int, b: int) -> float:
    """Squared distance between units a and b of game g."""
    dx = s.x[g, a] - s.x[g, b]
    dy = s.y[g, a] - s.y[g, b]
    return float(dx * dx + dy * dy)


@register_jitable(_nrt=False)
def structure_vulnerable(s: GameState, g: int, u: int) -> bool:
    """Whether structure u can take damage: a tier-2 tower once its lane's tier 1 fell, the base tower once any
    tier-2 tower of its team fell, the ancient once the base tower fell (tier-1 towers always)."""
    team = s.team[g, u]
    first = STRUCTURE_START + team * STRUCTURES_PER_TEAM
    if s.kind[g, u] == KIND_ANCIENT:
        return not s.alive[g, first + BASE_TOWER_OFFSET]
    tier = s.subtype[g, u]
    if tier == 1:
        return True
    if tier == 2:
        return not s.alive[g, first + s.lane[g, u] * 2]
    for lane in range(NUM_LANES):
        tier2 = first + lane * 2 + 1
        if s.present[g, tier2] and not s.alive[g, tier2]:
            return True
    return False


@register_jitable(_nrt=False)
def refresh_hero_stats(s: GameState, g: int, h: int) -> None:
    """Set hero h's maximum hit points, mana, damage, armor, regeneration and speed from its archetype, level and
    items; current hit points and mana move by the change of their maximum."""
    a = s.archetype[g, h]
    grown = s.level[g, h] - 1
    max_hp = HERO_HP[a] + HERO_HP_PER_LEVEL[a] * grown
    max_mana = HERO_MANA[a] + HERO_MANA_PER_LEVEL[a] * grown
    damage = HERO_DAMAGE[a] + HERO_DAMAGE_PER_LEVEL[a] * grown
    armor = HERO_ARMOR[a] + HERO_ARMOR_PER_LEVEL[a] * grown
    mana_regen = HERO_MANA_REGEN[a]
    speed = HERO_SPEED[a]
    for i in range(s.items[g, h]):
        kind = ITEM_KIND[a, i]
        amount = ITEM_AMOUNT[a, i]
        if kind == ITEM_DAMAGE:
            damage += amount
        elif kind == ITEM_HP:
            max_hp += amount
        elif kind == ITEM_MANA_REGEN:
            mana_regen += amount
        elif kind == ITEM_ARMOR:
            armor += amount
        elif kind == ITEM_SPEED:
            speed += amount
    if s.alive[g, h]:
        s.hp[g, h] = fmax(s.hp[g, h] + (max_hp - s.max_hp[g, h]), 1.0)
        s.mana[g, h] = fmax(s.mana[g, h] + (max_mana - s.max_mana[g, h]), 0.0)
    s.max_hp[g, h] = max_hp
    s.max_mana[g, h] = max_mana
    s.damage[g, h] = damage
    s.armor[g, h] = armor
    s.hp_regen[g, h] = HERO_HP_REGEN[a]
    s.mana_regen[g, h] = mana_regen
    s.speed[g, h] = speed


@register_jitable(_nrt=False)
def buy_items(s: GameState, g: int, h: int) -> None:
    """The fixed item script: while the hero can pay for the next item of its archetype's list, buy it."""
    a = s.archetype[g, h]
    bought = False
    while s.items[g, h] < NUM_ITEMS and s.gold[g, h] >= ITEM_COST[a, s.items[g, h]]:
        s.gold[g, h] -= ITEM_COST[a, s.items[g, h]]
        s.items[g, h] += 1
        bought = True
    if bought:
        refresh_hero_stats(s, g, h)


@register_jitable(_nrt=False)
def add_gold(s: GameState, g: int, h: int, amount: float) -> None:
    """Give hero h gold (counted in its EVENT_GOLD) and run the item script."""
    s.gold[g, h] += amount
    s.events[g, h, EVENT_GOLD] += amount
    buy_items(s, g, h)


@register_jitable(_nrt=False)
def add_xp(s: GameState, g: int, h: int, amount: float) -> None:
    """Give hero h experience (counted in its EVENT_XP) and level it up as far as the table allows."""
    s.xp[g, h] += amount
    s.events[g, h, EVENT_XP] += amount
    levelled = False
    while s.level[g, h] < MAX_LEVEL and s.xp[g, h] >= XP_FOR_LEVEL[s.level[g, h]]:
        s.level[g, h] += 1
        levelled = True
    if levelled:
        refresh_hero_stats(s, g, h)


@register_jitable(_nrt=False)
def share_xp(s: GameState, g: int, victim: int, amount: float) -> None:
    """Split `amount` experience equally among the alive enemy heroes of `victim` within XP_RADIUS of it."""
    enemy = 1 - s.team[g, victim]
    first = enemy * HEROES_PER_TEAM
    count = 0
    for h in range(first, first + HEROES_PER_TEAM):
        if s.alive[g, h] and distance2(s, g, h, victim) <= XP_RADIUS * XP_RADIUS:
            count += 1
    if count == 0:
        return
    share = amount / count
    for h in range(first, first + HEROES_PER_TEAM):
        if s.alive[g, h] and distance2(s, g, h, victim) <= XP_RADIUS * XP_RADIUS:
            add_xp(s, g, h, share)


@register_jitable(_nrt=False)
def team_event(s: GameState, g: int, team: int, event: int, amount: float) -> None:
    """Add `amount` to event `event` of every present hero of `team` (a team-shared event)."""
    first = team * HEROES_PER_TEAM
    for h in range(first, first + HEROES_PER_TEAM):
        if s.present[g, h]:
            s.events[g, h, event] += amount


@register_jitable(_nrt=False)
def kill_unit(s: GameState, g: int, killer: int, victim: int) -> None:
    """Unit `victim` dies, killed by unit `killer` (-1: the fountain): bounties, experience, respawn timer.

    Whoever targeted it forgets it. A dead creep frees its slot; a dead hero stays present and respawns later; a
    dead structure stays present, not alive.
    """
    s.alive[g, victim] = False
    s.hp[g, victim] = 0.0
    s.target[g, victim] = -1
    s.stun_ticks[g, victim] = 0
    s.shield[g, victim] = 0.0
    s.shield_ticks[g, victim] = 0
    for u in range(MAX_UNITS):
        if s.target[g, u] == victim:
            s.target[g, u] = -1
    for h in range(HERO_SLOTS):
        if s.order_target[g, h] == victim and (s.order[g, h] == ORDER_ATTACK or s.order[g, h] == ORDER_CAST):
            s.order[g, h] = ORDER_IDLE
            s.order_target[g, h] = -1
    victim_team = s.team[g, victim]
    killer_is_hero = 0 <= killer < HERO_SLOTS
    same_team = killer >= 0 and s.team[g, killer] == victim_team
    kind = s.kind[g, victim]
    if kind == KIND_HERO:
        level = s.level[g, victim]
        s.deaths[g, victim] += 1
        s.events[g, victim, EVENT_HERO_DEATH] += 1.0
        s.respawn_ticks[g, victim] = RESPAWN_BASE_TICKS + level * RESPAWN_PER_LEVEL_TICKS
        s.order[g, victim] = ORDER_IDLE
        s.order_target[g, victim] = -1
        s.aggro_ticks[g, victim] = 0
        if killer_is_hero and not same_team:
            s.kills[g, killer] += 1
            s.events[g, killer, EVENT_HERO_KILL] += 1.0
            add_gold(s, g, killer, GOLD_HERO_BASE + GOLD_HERO_PER_LEVEL * level)
        share_xp(s, g, victim, XP_HERO_BASE + XP_HERO_PER_LEVEL * level)
    elif kind == KIND_CREEP:
        s.present[g, victim] = False
        creep = s.subtype[g, victim]
        if killer_is_hero and same_team:
            s.denies[g, killer] += 1
            s.events[g, killer, EVENT_DENY] += 1.0
        else:
            if killer_is_hero:
                s.last_hits[g, killer] += 1
                s.events[g, killer, EVENT_LAST_HIT] += 1.0
                add_gold(s, g, killer, GOLD_CREEP[creep])
            share_xp(s, g, victim, XP_CREEP[creep])
    elif kind == KIND_TOWER:
        team_event(s, g, 1 - victim_team, EVENT_TOWER_KILL, 1.0)
        first = (1 - victim_team) * HEROES_PER_TEAM
        for h in range(first, first + HEROES_PER_TEAM):
            if s.present[g, h]:
                add_gold(s, g, h, GOLD_TOWER[s.subtype[g, victim]])
    else:
        team_event(s, g, 1 - victim_team, EVENT_ANCIENT_KILL, 1.0)


@register_jitable(_nrt=False)
def deal_damage(s: GameState, g: int, attacker: int, victim: int, amount: float, physical: bool) -> None:
    """Unit `attacker` (-1: the fountain) deals `amount` to `victim`: armor (physical only), shield, structure
    protection, the team-shared structure-damage events, tower aggro, and death at 0 hit points."""
    if not s.alive[g, victim]:
        return
    kind = s.kind[g, victim]
    if kind >= KIND_TOWER and not structure_vulnerable(s, g, victim):
        return
    if physical:
        amount = amount / (1.0 + ARMOR_FACTOR * s.armor[g, victim])
    if s.shield[g, victim] > 0.0:
        absorbed = fmin(amount, s.shield[g, victim])
        s.shield[g, victim] -= absorbed
        amount -= absorbed
    if amount <= 0.0:
        return
    before = s.hp[g, victim]
    after = before - amount
    s.hp[g, victim] = after
    if kind == KIND_TOWER:
        team_event(s, g, 1 - s.team[g, victim], EVENT_TOWER_DAMAGE, (before - fmax(after, 0.0)) / s.max_hp[g, victim])
    elif kind == KIND_ANCIENT:
        lost = (before - fmax(after, 0.0)) / s.max_hp[g, victim]
        team_event(s, g, 1 - s.team[g, victim], EVENT_ANCIENT_DAMAGE, lost)
    elif kind == KIND_HERO and 0 <= attacker < HERO_SLOTS and s.team[g, attacker] != s.team[g, victim]:
        s.aggro_ticks[g, attacker] = AGGRO_TICKS
        s.aggro_victim[g, attacker] = victim
    if after <= 0.0:
        kill_unit(s, g, attacker, victim)


@register_jitable(_nrt=False)
def attack(s: GameState, g: int, u: int, t: int) -> None:
    """Unit u attacks unit t now: its damage times the hash's spread factor, as physical damage; reload."""
    factor = 1.0 - 0.5 * DAMAGE_SPREAD + DAMAGE_SPREAD * hash_uniform(s.seed[g], s.tick[g], u)
    s.attack_timer[g, u] = s.attack_period[g, u]
    deal_damage(s, g, u, t, s.damage[g, u] * factor, True)


@register_jitable(_nrt=False)
def move_toward(s: GameState, g: int, u: int, tx: float, ty: float) -> bool:
    """Move unit u one tick of its speed towards (tx, ty); True when it got there."""
    dx = tx - s.x[g, u]
    dy = ty - s.y[g, u]
    distance = math.sqrt(dx * dx + dy * dy)
    step = s.speed[g, u] / TICKS_PER_SECOND
    if distance <= step:
        s.x[g, u] = tx
        s.y[g, u] = ty
        return True
    s.x[g, u] += dx / distance * step
    s.y[g, u] += dy / distance * step
    return False
