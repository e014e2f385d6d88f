"""What each hero observes, and which actions it may take: the observation and action-mask builder of Five.

As OpenAI Five's observation (Berner et al. 2019, "Dota 2 with Large Scale Deep Reinforcement Learning", Appendix,
"Observation space"), each hero sees global features and padded lists of the units its team can see, nearest first:

- `globals` (G, H, NUM_GLOBAL): game time, time since the last creep wave, its team, its own state (alive, hit
  points, mana, level and progress, gold, position, attack reload, stun, shield, respawn timer, damage, armor, range,
  speed, items, archetype, distance to its fountain, kills, deaths, last hits, denies), each ability (exists, ready,
  cooldown, affordable, range), every hero of the game (own team first: present, alive, respawn timer, level) and
  every structure (own team first: standing or not). Layout: `GLOBAL_*` offsets below.
- `units` (G, H, T, NUM_UNIT_FEATURES) with `unit_present` (G, H, T): the lists `actions.LIST_NAMES` (allied heroes
  with the hero itself first, enemy heroes, allied creeps, enemy creeps, allied and enemy structures), each the
  nearest visible alive units of that kind (ties by slot), padded to `actions.LIST_SIZES`. Per entry: relative
  position and distance, hit points, ally flag, kind, attack range, whether it is in the hero's attack range,
  damage, stun, shield, level, archetype, mana, whether it targets the hero, self flag, subtype, whether the hero
  may attack it, whether it can take damage. Layout: `UNIT_*` offsets below.
- `slots` (G, H, T) int32: the unit slot behind each entry (-1 padding), used to decode target pointers; not part
  of what a policy sees.
- masks (see `actions.py` for the heads): `mask_primary` (G, H, P), `mask_target` (G, H, P, T) and `mask_offset`
  (G, H, P, O), the last two per primary; a row of a primary that is not allowed, or that does not read that head,
  allows only index 0. Primary: noop always; moves, stop, retreat and attack (when a target exists) for an alive
  hero; a cast when the ability exists, is off cooldown, affordable, the hero alive and not stunned, and (aimed at
  a unit) a target exists. Targets: attack any listed enemy that can take damage and allied creeps low enough to
  deny; an enemy-targeted cast enemy heroes and creeps within cast range; an ally-targeted cast allied heroes (self
  included). Offsets: grid cells whose point lies on the map. Every mask allows only actions `orders.action_error`
  accepts.

Positions are in the hero's team frame (`actions.py`): red mirrors them through the map's centre.

`build_observations` fills an `Observation` for all games in one compiled call; `build_observations_reference` is
the same in plain NumPy, written independently (vectorised per hero), and the tests hold them equal bit for bit.

Shape legend: G games, H = 10 hero slots, U = MAX_UNITS, T = NUM_TARGETS, P = NUM_PRIMARY, O = NUM_OFFSETS.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from numpy.typing import NDArray

from fourfold.five.actions import LIST_SIZES, LIST_STARTS, NUM_LISTS, NUM_OFFSETS, NUM_TARGETS, OFFSETS
from fourfold.five.game import stats
from fourfold.five.game.combat import structure_vulnerable
from fourfold.five.game.constants import (
    ABILITY_NONE,
    ACTION_ATTACK,
    ACTION_CAST_0,
    ACTION_CAST_2,
    ACTION_MOVE_0,
    ACTION_NOOP,
    ACTION_RETREAT,
    ACTION_STOP,
    BASE_TOWER_OFFSET,
    BLUE,
    HERO_SLOTS,
    HEROES_PER_TEAM,
    KIND_ANCIENT,
    KIND_CREEP,
    KIND_HERO,
    KIND_TOWER,
    MAX_LEVEL,
    MAX_UNITS,
    NUM_ABILITIES,
    NUM_ARCHETYPES,
    NUM_LANES,
    NUM_PRIMARY,
    NUM_STRUCTURES,
    STRUCTURE_START,
    STRUCTURES_PER_TEAM,
    TARGET_ALLY,
    TARGET_ENEMY,
    TARGET_POINT,
    TICKS_PER_SECOND,
)
from fourfold.five.game.maps import MAP_SIZE
from fourfold.five.game.state import GameState

# --- globals layout ---------------------------------------------------------------------------------------------
GLOBAL_SELF = 0
"""time, wave, team, alive, hp frac, hp, mana frac, mana, level, level progress, gold, x, y, reload, stun, shield,
respawn, damage, armor, range, speed, items, archetype one-hot (4), fountain distance, kills, deaths, last hits,
denies: 31 features."""
NUM_SELF = 31
GLOBAL_ABILITIES = GLOBAL_SELF + NUM_SELF
"""Per ability: exists, ready, cooldown fraction, affordable, range."""
ABILITY_FEATURES = 5
GLOBAL_HEROES = GLOBAL_ABILITIES + NUM_ABILITIES * ABILITY_FEATURES
"""Per hero slot, own team first: present, alive, respawn (30 s units), level."""
HERO_FEATURES = 4
GLOBAL_STRUCTURES = GLOBAL_HEROES + HERO_SLOTS * HERO_FEATURES
"""Per structure slot, own team first: alive."""
NUM_GLOBAL = GLOBAL_STRUCTURES + NUM_STRUCTURES

# --- unit entry layout ------------------------------------------------------------------------------------------
UNIT_DX, UNIT_DY, UNIT_DISTANCE = 0, 1, 2
UNIT_HP_FRACTION, UNIT_HP, UNIT_MAX_HP = 3, 4, 5
UNIT_ALLY = 6
UNIT_KIND = 7
"""One-hot over the 4 kinds: 7..10."""
UNIT_RANGE, UNIT_IN_RANGE, UNIT_DAMAGE, UNIT_STUNNED, UNIT_SHIELD, UNIT_LEVEL = 11, 12, 13, 14, 15, 16
UNIT_ARCHETYPE = 17
"""One-hot over the 4 archetypes (heroes): 17..20."""
UNIT_MANA, UNIT_TARGETS_ME, UNIT_SELF, UNIT_SUBTYPE, UNIT_ATTACKABLE, UNIT_VULNERABLE = 21, 22, 23, 24, 25, 26
NUM_UNIT_FEATURES = 27

DISTANCE_SCALE = 20.0
"""Relative positions and distances are divided by this (about two sight radii)."""

# Lists: (ally?, kind group) of each list, kind group 0 heroes, 1 creeps, 2 structures.
_LIST_ALLY = np.array([1, 0, 1, 0, 1, 0], dtype=np.int64)
_LIST_GROUP = np.array([0, 0, 1, 1, 2, 2], dtype=np.int64)
_LIST_SIZES = np.array(LIST_SIZES, dtype=np.int64)
_LIST_STARTS = np.array(LIST_STARTS, dtype=np.int64)
_MAX_LIST = int(max(LIST_SIZES))
_XP_FOR_NEXT = np.append(stats.XP_FOR_LEVEL, stats.XP_FOR_LEVEL[-1])
"""XP needed for level L + 1, indexed by L (level L needs XP_FOR_LEVEL[L - 1])."""


class Observation(NamedTuple):
    """The observations and action masks of a batch (see the module docstring for each array)."""

    globals: NDArray[np.float32]
    units: NDArray[np.float32]
    unit_present: NDArray[np.bool_]
    slots: NDArray[np.int32]
    mask_primary: NDArray[np.bool_]
    mask_target: NDArray[np.bool_]
    mask_offset: NDArray[np.bool_]


def new_observation(num_games: int) -> Observation:
    """An `Observation` of `num_games` games, allocated (contents undefined until built)."""
    g, h, t, p = num_games, HERO_SLOTS, NUM_TARGETS, NUM_PRIMARY
    return Observation(
        globals=np.zeros((g, h, NUM_GLOBAL), dtype=np.float32),
        units=np.zeros((g, h, t, NUM_UNIT_FEATURES), dtype=np.float32),
        unit_present=np.zeros((g, h, t), dtype=np.bool_),
        slots=np.full((g, h, t), -1, dtype=np.int32),
        mask_primary=np.zeros((g, h, p), dtype=np.bool_),
        mask_target=np.zeros((g, h, p, t), dtype=np.bool_),
        mask_offset=np.zeros((g, h, p, NUM_OFFSETS), dtype=np.bool_),
    )


@numba.njit(cache=True)
def _build_kernel(s: GameState, fountain: NDArray[np.float64], out: Observation) -> None:
    """Fill `out` for every game of `s` (see the module docstring).

    One function with no calls that take the state: numba passes a named tuple of ~50 arrays by value and counts
    references of each, which would cost more than the work itself.
    """
    num_games = s.tick.shape[0]
    candidates = np.empty((2 * NUM_LISTS, MAX_UNITS), dtype=np.int64)  # per team x list: unit slots
    counts = np.zeros(2 * NUM_LISTS, dtype=np.int64)
    vulnerable = np.zeros(MAX_UNITS, dtype=np.bool_)
    best_d2 = np.empty(_MAX_LIST, dtype=np.float64)
    best_u = np.empty(_MAX_LIST, dtype=np.int64)
    units = out.units
    gl = out.globals
    mt = out.mask_target
    mo = out.mask_offset
    mp = out.mask_primary
    for g in range(num_games):
        # 1. What each team sees, sorted into lists (ally/enemy by the seeing team), and which structures can be hurt.
        counts[:] = 0
        for u in range(MAX_UNITS):
            vulnerable[u] = True
            if not (s.present[g, u] and s.alive[g, u]):
                continue
            kind = s.kind[g, u]
            if kind >= KIND_TOWER:
                vulnerable[u] = _structure_vulnerable(
                    s.alive[g], s.present[g], s.team[g, u], kind, s.subtype[g, u], s.lane[g, u]
                )
            grp = 0 if kind == KIND_HERO else (1 if kind == KIND_CREEP else 2)
            for team in range(2):
                if s.visible[g, team, u]:
                    lst = 2 * grp + (0 if s.team[g, u] == team else 1)
                    c = team * NUM_LISTS + lst
                    candidates[c, counts[c]] = u
                    counts[c] += 1
        for h in range(HERO_SLOTS):
            gl[g, h] = 0.0
            units[g, h] = 0.0
            out.unit_present[g, h] = False
            out.slots[g, h] = -1
            mp[g, h] = False
            mt[g, h] = False
            mo[g, h] = False
            mp[g, h, ACTION_NOOP] = True
            if s.present[g, h]:
                team = s.team[g, h]
                sign = 1.0 if team == BLUE else -1.0
                alive = s.alive[g, h]
                arch = s.archetype[g, h]
                hx = s.x[g, h]
                hy = s.y[g, h]
                mana = s.mana[g, h]
                # 2. Globals: own state, abilities, every hero, every structure.
                gl[g, h, 0] = s.tick[g] / s.time_cap_ticks[g]
                gl[g, h, 1] = (s.tick[g] % stats.WAVE_TICKS) / stats.WAVE_TICKS
                gl[g, h, 2] = team
                gl[g, h, 3] = 1.0 if alive else 0.0
                gl[g, h, 4] = s.hp[g, h] / s.max_hp[g, h] if s.max_hp[g, h] > 0.0 else 0.0
                gl[g, h, 5] = s.hp[g, h] / 1000.0
                gl[g, h, 6] = mana / s.max_mana[g, h] if s.max_mana[g, h] > 0.0 else 0.0
                gl[g, h, 7] = mana / 1000.0
                level = s.level[g, h]
                gl[g, h, 8] = level / MAX_LEVEL
                if level >= MAX_LEVEL:
                    gl[g, h, 9] = 1.0
                else:
                    low = stats.XP_FOR_LEVEL[level - 1]
                    gl[g, h, 9] = (s.xp[g, h] - low) / (_XP_FOR_NEXT[level] - low)
                gl[g, h, 10] = s.gold[g, h] / 1000.0
                if team == BLUE:
                    gl[g, h, 11] = hx / MAP_SIZE
                    gl[g, h, 12] = hy / MAP_SIZE
                else:
                    gl[g, h, 11] = (MAP_SIZE - hx) / MAP_SIZE
                    gl[g, h, 12] = (MAP_SIZE - hy) / MAP_SIZE
                gl[g, h, 13] = s.attack_timer[g, h] / s.attack_period[g, h] if s.attack_period[g, h] > 0 else 0.0
                gl[g, h, 14] = s.stun_ticks[g, h] / TICKS_PER_SECOND
                gl[g, h, 15] = s.shield[g, h] / 100.0
                gl[g, h, 16] = s.respawn_ticks[g, h] / (30.0 * TICKS_PER_SECOND)
                gl[g, h, 17] = s.damage[g, h] / 100.0
                gl[g, h, 18] = s.armor[g, h] / 10.0
                gl[g, h, 19] = s.attack_range[g, h] / 10.0
                gl[g, h, 20] = s.speed[g, h] / 5.0
                gl[g, h, 21] = s.items[g, h] / stats.NUM_ITEMS
                gl[g, h, 22 + arch] = 1.0
                fx = hx - fountain[team, 0]
                fy = hy - fountain[team, 1]
                gl[g, h, 26] = math.sqrt(fx * fx + fy * fy) / MAP_SIZE
                gl[g, h, 27] = s.kills[g, h] / 10.0
                gl[g, h, 28] = s.deaths[g, h] / 10.0
                gl[g, h, 29] = s.last_hits[g, h] / 50.0
                gl[g, h, 30] = s.denies[g, h] / 20.0
                for a in range(NUM_ABILITIES):
                    base = GLOBAL_ABILITIES + a * ABILITY_FEATURES
                    if stats.ABILITY_KIND[arch, a] == ABILITY_NONE:
                        continue
                    cooldown = s.ability_cooldown[g, h, a]
                    gl[g, h, base] = 1.0
                    gl[g, h, base + 1] = 1.0 if cooldown == 0 else 0.0
                    gl[g, h, base + 2] = cooldown / stats.ABILITY_COOLDOWN[arch, a]
                    gl[g, h, base + 3] = 1.0 if mana >= stats.ABILITY_MANA[arch, a] else 0.0
                    gl[g, h, base + 4] = stats.ABILITY_RANGE[arch, a] / 10.0
                for k in range(HERO_SLOTS):
                    other = (k + team * HEROES_PER_TEAM) % HERO_SLOTS  # own team first
                    base = GLOBAL_HEROES + k * HERO_FEATURES
                    if s.present[g, other]:
                        gl[g, h, base] = 1.0
                        gl[g, h, base + 1] = 1.0 if s.alive[g, other] else 0.0
                        gl[g, h, base + 2] = s.respawn_ticks[g, other] / (30.0 * TICKS_PER_SECOND)
                        gl[g, h, base + 3] = s.level[g, other] / MAX_LEVEL
                for k in range(NUM_STRUCTURES):
                    other = STRUCTURE_START + (k + team * STRUCTURES_PER_TEAM) % NUM_STRUCTURES
                    if s.alive[g, other]:
                        gl[g, h, GLOBAL_STRUCTURES + k] = 1.0
                # 3. Unit lists: the nearest visible alive units of each list, (distance, slot) order, self first.
                my_range = s.attack_range[g, h]
                any_attack = False
                for lst in range(NUM_LISTS):
                    c = team * NUM_LISTS + lst
                    size = _LIST_SIZES[lst]
                    n = 0
                    for i in range(counts[c]):
                        u = candidates[c, i]
                        dx = s.x[g, u] - hx
                        dy = s.y[g, u] - hy
                        d2 = -1.0 if u == h else dx * dx + dy * dy
                        if n == size and d2 >= best_d2[n - 1]:
                            continue
                        j = n if n < size else size - 1
                        while j > 0 and best_d2[j - 1] > d2:
                            best_d2[j] = best_d2[j - 1]
                            best_u[j] = best_u[j - 1]
                            j -= 1
                        best_d2[j] = d2
                        best_u[j] = u
                        if n < size:
                            n += 1
                    ally = _LIST_ALLY[lst] == 1
                    for j in range(n):
                        u = best_u[j]
                        e = _LIST_STARTS[lst] + j
                        dx = s.x[g, u] - hx
                        dy = s.y[g, u] - hy
                        distance = math.sqrt(dx * dx + dy * dy)
                        kind = s.kind[g, u]
                        out.unit_present[g, h, e] = True
                        out.slots[g, h, e] = u
                        units[g, h, e, UNIT_DX] = sign * dx / DISTANCE_SCALE
                        units[g, h, e, UNIT_DY] = sign * dy / DISTANCE_SCALE
                        units[g, h, e, UNIT_DISTANCE] = distance / DISTANCE_SCALE
                        units[g, h, e, UNIT_HP_FRACTION] = s.hp[g, u] / s.max_hp[g, u]
                        units[g, h, e, UNIT_HP] = s.hp[g, u] / 1000.0
                        units[g, h, e, UNIT_MAX_HP] = s.max_hp[g, u] / 1000.0
                        units[g, h, e, UNIT_ALLY] = 1.0 if ally else 0.0
                        units[g, h, e, UNIT_KIND + kind] = 1.0
                        units[g, h, e, UNIT_RANGE] = s.attack_range[g, u] / 10.0
                        units[g, h, e, UNIT_IN_RANGE] = 1.0 if distance <= my_range else 0.0
                        units[g, h, e, UNIT_DAMAGE] = s.damage[g, u] / 100.0
                        units[g, h, e, UNIT_STUNNED] = 1.0 if s.stun_ticks[g, u] > 0 else 0.0
                        units[g, h, e, UNIT_SHIELD] = s.shield[g, u] / 100.0
                        if kind == KIND_HERO:
                            units[g, h, e, UNIT_LEVEL] = s.level[g, u] / MAX_LEVEL
                            units[g, h, e, UNIT_ARCHETYPE + s.archetype[g, u]] = 1.0
                            units[g, h, e, UNIT_MANA] = s.mana[g, u] / s.max_mana[g, u]
                        elif kind == KIND_CREEP:
                            units[g, h, e, UNIT_SUBTYPE] = s.subtype[g, u]
                        elif kind == KIND_TOWER:
                            units[g, h, e, UNIT_SUBTYPE] = s.subtype[g, u] / 3.0
                        units[g, h, e, UNIT_TARGETS_ME] = 1.0 if s.target[g, u] == h else 0.0
                        units[g, h, e, UNIT_SELF] = 1.0 if u == h else 0.0
                        if ally:
                            attackable = kind == KIND_CREEP and s.hp[g, u] < stats.DENY_FRACTION * s.max_hp[g, u]
                        else:
                            attackable = vulnerable[u]
                        units[g, h, e, UNIT_ATTACKABLE] = 1.0 if attackable else 0.0
                        units[g, h, e, UNIT_VULNERABLE] = 1.0 if vulnerable[u] else 0.0
                        # 4. Target masks of this entry.
                        if not alive:
                            continue
                        if attackable:
                            mt[g, h, ACTION_ATTACK, e] = True
                            any_attack = True
                        for a in range(NUM_ABILITIES):
                            targeting = stats.ABILITY_TARGETING[arch, a]
                            if targeting == TARGET_ENEMY:
                                if not ally and kind <= KIND_CREEP and distance <= stats.ABILITY_RANGE[arch, a]:
                                    mt[g, h, ACTION_CAST_0 + a, e] = True
                            elif targeting == TARGET_ALLY and ally and kind == KIND_HERO:
                                mt[g, h, ACTION_CAST_0 + a, e] = True
                # 5. Primary masks (and offsets of ground casts) of an alive hero.
                if alive:
                    for p in range(ACTION_MOVE_0, ACTION_STOP + 1):
                        mp[g, h, p] = True
                    mp[g, h, ACTION_RETREAT] = True
                    mp[g, h, ACTION_ATTACK] = any_attack
                    stunned = s.stun_ticks[g, h] > 0
                    for a in range(NUM_ABILITIES):
                        p = ACTION_CAST_0 + a
                        targeting = stats.ABILITY_TARGETING[arch, a]
                        ok = (
                            stats.ABILITY_KIND[arch, a] != ABILITY_NONE
                            and s.ability_cooldown[g, h, a] == 0
                            and mana >= stats.ABILITY_MANA[arch, a]
                            and not stunned
                        )
                        if targeting in (TARGET_ENEMY, TARGET_ALLY):
                            found = False
                            for e in range(NUM_TARGETS):
                                if mt[g, h, p, e]:
                                    found = True
                                    break
                            ok = ok and found
                            if not ok:
                                mt[g, h, p] = False
                        mp[g, h, p] = ok
                        if ok and targeting == TARGET_POINT:
                            reach = stats.ABILITY_RANGE[arch, a]
                            for k in range(NUM_OFFSETS):
                                px = hx + OFFSETS[k, 0] * (reach * sign)
                                py = hy + OFFSETS[k, 1] * (reach * sign)
                                mo[g, h, p, k] = 0.0 <= px <= MAP_SIZE and 0.0 <= py <= MAP_SIZE
            # 6. Rows of primaries not allowed, or not reading a head, allow index 0 only.
            for p in range(NUM_PRIMARY):
                empty = True
                for e in range(NUM_TARGETS):
                    if mt[g, h, p, e]:
                        empty = False
                        break
                if empty:
                    mt[g, h, p, 0] = True
                empty = True
                for k in range(NUM_OFFSETS):
                    if mo[g, h, p, k]:
                        empty = False
                        break
                if empty:
                    mo[g, h, p, 0] = True


@numba.njit(cache=True)
def _structure_vulnerable(
    alive: NDArray[np.bool_], present: NDArray[np.bool_], team: int, kind: int, tier: int, lane: int
) -> bool:
    """`combat.structure_vulnerable` on one game's `alive`/`present` rows (U,): whether a structure can be hurt."""
    first = STRUCTURE_START + team * STRUCTURES_PER_TEAM
    if kind == KIND_ANCIENT:
        return not alive[first + BASE_TOWER_OFFSET]
    if tier == 1:
        return True
    if tier == 2:
        return not alive[first + lane * 2]
    for other in range(NUM_LANES):
        tier2 = first + other * 2 + 1
        if present[tier2] and not alive[tier2]:
            return True
    return False


def build_observations(state: GameState, map_name: str, out: Observation | None = None) -> Observation:
    """Every hero's observation and action masks, all games in one compiled call.

    Args:
        state: the games (read only).
        map_name: the games' map (for the fountains).
        out: arrays to fill (from `new_observation`), or None to allocate them.
    """
    from fourfold.five.game.maps import layout

    if out is None:
        out = new_observation(state.tick.shape[0])
    _build_kernel(state, layout(map_name).fountain, out)
    return out


def build_observations_reference(state: GameState, map_name: str) -> Observation:
    """`build_observations` in plain NumPy, vectorised per hero: the oracle the compiled builder is tested against."""
    from fourfold.five.game.maps import layout

    fountain = layout(map_name).fountain
    s = state
    out = new_observation(s.tick.shape[0])
    for g in range(s.tick.shape[0]):
        for h in range(HERO_SLOTS):
            _reference_hero(s, g, h, fountain, out)
    return out


def _reference_hero(s: GameState, g: int, h: int, fountain: NDArray[np.float64], out: Observation) -> None:
    """One hero's observation and masks, the reference way."""
    p_count = NUM_PRIMARY
    mask_target = np.zeros((p_count, NUM_TARGETS), dtype=bool)  # (P, T)
    mask_offset = np.zeros((p_count, NUM_OFFSETS), dtype=bool)  # (P, O)
    mask_primary = np.zeros(p_count, dtype=bool)  # (P,)
    mask_primary[ACTION_NOOP] = True
    gl = np.zeros(NUM_GLOBAL, dtype=np.float64)
    units = np.zeros((NUM_TARGETS, NUM_UNIT_FEATURES), dtype=np.float64)  # (T, F)
    present = np.zeros(NUM_TARGETS, dtype=bool)
    slots = np.full(NUM_TARGETS, -1, dtype=np.int32)
    if s.present[g, h]:
        team = int(s.team[g, h])
        arch = int(s.archetype[g, h])
        alive = bool(s.alive[g, h])
        sign = 1.0 if team == BLUE else -1.0
        hx, hy = s.x[g, h], s.y[g, h]
        level = int(s.level[g, h])
        low = stats.XP_FOR_LEVEL[min(level, MAX_LEVEL) - 1]
        progress = 1.0 if level >= MAX_LEVEL else (s.xp[g, h] - low) / (_XP_FOR_NEXT[level] - low)
        frame = np.array([hx, hy]) if team == BLUE else (MAP_SIZE - np.array([hx, hy]))
        fxy = np.array([hx, hy]) - fountain[team]
        own = [
            s.tick[g] / s.time_cap_ticks[g],
            (s.tick[g] % stats.WAVE_TICKS) / stats.WAVE_TICKS,
            team,
            float(alive),
            s.hp[g, h] / s.max_hp[g, h] if s.max_hp[g, h] > 0 else 0.0,
            s.hp[g, h] / 1000.0,
            s.mana[g, h] / s.max_mana[g, h] if s.max_mana[g, h] > 0 else 0.0,
            s.mana[g, h] / 1000.0,
            level / MAX_LEVEL,
            progress,
            s.gold[g, h] / 1000.0,
            frame[0] / MAP_SIZE,
            frame[1] / MAP_SIZE,
            s.attack_timer[g, h] / s.attack_period[g, h] if s.attack_period[g, h] > 0 else 0.0,
            s.stun_ticks[g, h] / TICKS_PER_SECOND,
            s.shield[g, h] / 100.0,
            s.respawn_ticks[g, h] / (30.0 * TICKS_PER_SECOND),
            s.damage[g, h] / 100.0,
            s.armor[g, h] / 10.0,
            s.attack_range[g, h] / 10.0,
            s.speed[g, h] / 5.0,
            s.items[g, h] / stats.NUM_ITEMS,
            *np.eye(NUM_ARCHETYPES)[arch],
            np.sqrt(fxy[0] * fxy[0] + fxy[1] * fxy[1]) / MAP_SIZE,
            s.kills[g, h] / 10.0,
            s.deaths[g, h] / 10.0,
            s.last_hits[g, h] / 50.0,
            s.denies[g, h] / 20.0,
        ]
        gl[:NUM_SELF] = own
        exists = stats.ABILITY_KIND[arch] != ABILITY_NONE  # (A,)
        cooldown = s.ability_cooldown[g, h]  # (A,)
        affordable = s.mana[g, h] >= stats.ABILITY_MANA[arch]  # (A,)
        ability = np.stack(
            [
                np.ones(NUM_ABILITIES),
                (cooldown == 0).astype(float),
                cooldown / np.maximum(stats.ABILITY_COOLDOWN[arch], 1),
                affordable.astype(float),
                stats.ABILITY_RANGE[arch] / 10.0,
            ],
            axis=1,
        )  # (A, 5)
        ability[~exists] = 0.0
        gl[GLOBAL_ABILITIES:GLOBAL_HEROES] = ability.reshape(-1)
        order = np.roll(np.arange(HERO_SLOTS), -team * HEROES_PER_TEAM)  # own team first
        heroes = np.stack(
            [
                np.ones(HERO_SLOTS),
                s.alive[g, order].astype(float),
                s.respawn_ticks[g, order] / (30.0 * TICKS_PER_SECOND),
                s.level[g, order] / MAX_LEVEL,
            ],
            axis=1,
        )  # (H, 4)
        heroes[~s.present[g, order]] = 0.0
        gl[GLOBAL_HEROES:GLOBAL_STRUCTURES] = heroes.reshape(-1)
        structure_order = STRUCTURE_START + np.roll(np.arange(NUM_STRUCTURES), -team * STRUCTURES_PER_TEAM)
        gl[GLOBAL_STRUCTURES:] = s.alive[g, structure_order]
        # Lists.
        seen = s.present[g] & s.alive[g] & s.visible[g, team]  # (U,)
        group = np.where(s.kind[g] == KIND_HERO, 0, np.where(s.kind[g] == KIND_CREEP, 1, 2))  # (U,)
        ally = s.team[g] == team  # (U,)
        for lst in range(NUM_LISTS):
            chosen = np.nonzero(seen & (group == _LIST_GROUP[lst]) & (ally == bool(_LIST_ALLY[lst])))[0]
            dx_all = s.x[g, chosen] - hx
            dy_all = s.y[g, chosen] - hy
            d2 = np.where(chosen == h, -1.0, dx_all * dx_all + dy_all * dy_all)
            chosen = chosen[np.lexsort((chosen, d2))][: LIST_SIZES[lst]]
            for j, u in enumerate(chosen):
                e = LIST_STARTS[lst] + j
                dx, dy = s.x[g, u] - hx, s.y[g, u] - hy
                distance = np.sqrt(dx * dx + dy * dy)
                kind = int(s.kind[g, u])
                f = np.zeros(NUM_UNIT_FEATURES)
                f[[UNIT_DX, UNIT_DY, UNIT_DISTANCE]] = [
                    sign * dx / DISTANCE_SCALE,
                    sign * dy / DISTANCE_SCALE,
                    distance / DISTANCE_SCALE,
                ]
                f[UNIT_HP_FRACTION:UNIT_ALLY] = [
                    s.hp[g, u] / s.max_hp[g, u],
                    s.hp[g, u] / 1000.0,
                    s.max_hp[g, u] / 1000.0,
                ]
                f[UNIT_ALLY] = _LIST_ALLY[lst]
                f[UNIT_KIND + kind] = 1.0
                f[UNIT_RANGE] = s.attack_range[g, u] / 10.0
                f[UNIT_IN_RANGE] = distance <= s.attack_range[g, h]
                f[UNIT_DAMAGE] = s.damage[g, u] / 100.0
                f[UNIT_STUNNED] = s.stun_ticks[g, u] > 0
                f[UNIT_SHIELD] = s.shield[g, u] / 100.0
                if kind == KIND_HERO:
                    f[UNIT_LEVEL] = s.level[g, u] / MAX_LEVEL
                    f[UNIT_ARCHETYPE + s.archetype[g, u]] = 1.0
                    f[UNIT_MANA] = s.mana[g, u] / s.max_mana[g, u]
                f[UNIT_TARGETS_ME] = s.target[g, u] == h
                f[UNIT_SELF] = u == h
                f[UNIT_SUBTYPE] = {KIND_CREEP: s.subtype[g, u], KIND_TOWER: s.subtype[g, u] / 3.0}.get(kind, 0.0)
                enemy = s.team[g, u] != team
                vulnerable = kind <= KIND_CREEP or bool(structure_vulnerable(s, g, int(u)))
                deniable = kind == KIND_CREEP and s.hp[g, u] < stats.DENY_FRACTION * s.max_hp[g, u]
                attackable = u != h and ((enemy and vulnerable) or (not enemy and deniable))
                f[UNIT_ATTACKABLE] = attackable
                f[UNIT_VULNERABLE] = vulnerable
                units[e] = f
                present[e] = True
                slots[e] = u
                if not alive:
                    continue
                mask_target[ACTION_ATTACK, e] = attackable
                targeting = stats.ABILITY_TARGETING[arch]  # (A,)
                in_reach = distance <= stats.ABILITY_RANGE[arch]  # (A,)
                enemy_ok = (targeting == TARGET_ENEMY) & enemy & (kind <= KIND_CREEP) & in_reach
                ally_ok = (targeting == TARGET_ALLY) & (not enemy) & (kind == KIND_HERO)
                mask_target[ACTION_CAST_0 : ACTION_CAST_2 + 1, e] = enemy_ok | ally_ok
        if alive:
            mask_primary[ACTION_MOVE_0 : ACTION_STOP + 1] = True
            mask_primary[ACTION_RETREAT] = True
            mask_primary[ACTION_ATTACK] = mask_target[ACTION_ATTACK].any()
            targeting = stats.ABILITY_TARGETING[arch]  # (A,)
            unit_aimed = (targeting == TARGET_ENEMY) | (targeting == TARGET_ALLY)
            castable = exists & (cooldown == 0) & affordable & (s.stun_ticks[g, h] == 0)
            castable &= ~unit_aimed | mask_target[ACTION_CAST_0 : ACTION_CAST_2 + 1].any(axis=1)
            mask_primary[ACTION_CAST_0 : ACTION_CAST_2 + 1] = castable
            for a in np.nonzero(castable & (targeting == TARGET_POINT))[0]:
                reach = stats.ABILITY_RANGE[arch, a]
                points = np.array([hx, hy]) + OFFSETS * (reach * sign)  # (O, 2)
                mask_offset[ACTION_CAST_0 + a] = ((points >= 0.0) & (points <= MAP_SIZE)).all(axis=1)
            uses_target = np.zeros(p_count, dtype=bool)
            uses_target[ACTION_ATTACK] = True
            uses_target[ACTION_CAST_0 : ACTION_CAST_2 + 1] = unit_aimed
            mask_target[~(uses_target & mask_primary)] = False
    mask_target[~mask_target.any(axis=1), 0] = True
    mask_offset[~mask_offset.any(axis=1), 0] = True
    out.globals[g, h] = gl
    out.units[g, h] = units
    out.unit_present[g, h] = present
    out.slots[g, h] = slots
    out.mask_primary[g, h] = mask_primary
    out.mask_target[g, h] = mask_target
    out.mask_offset[g, h] = mask_offset
