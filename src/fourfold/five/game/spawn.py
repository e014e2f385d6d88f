"""Putting units on Five's map: a game's starting position (`reset_game`) and creep waves (`spawn_wave`).

Same pattern as `combat.py`: plain Python over one game g of the batch `s`, `register_jitable` so the reference
runs it interpreted and the core compiles it. Map geometry arrives as the arrays of a `maps.MapLayout`.
"""

from __future__ import annotations

import math

import numpy as np
from numba.extending import register_jitable
from numpy.typing import NDArray

from fourfold.five.game.combat import refresh_hero_stats
from fourfold.five.game.constants import (
    BLUE,
    CREEP_MELEE,
    CREEP_RANGED,
    CREEP_START,
    HERO_SLOTS,
    HEROES_PER_TEAM,
    KIND_ANCIENT,
    KIND_CREEP,
    KIND_HERO,
    MAX_UNITS,
    NUM_ABILITIES,
    NUM_EVENTS,
    NUM_LANES,
    NUM_STRUCTURES,
    ORDER_IDLE,
    STRUCTURE_START,
    STRUCTURES_PER_TEAM,
    WINNER_NONE,
)
from fourfold.five.game.fog import update_visibility
from fourfold.five.game.state import GameState
from fourfold.five.game.stats import (
    ANCIENT_ARMOR,
    ANCIENT_HP,
    ANCIENT_SIGHT,
    CREEP_ARMOR,
    CREEP_ATTACK_PERIOD,
    CREEP_DAMAGE,
    CREEP_HP,
    CREEP_RANGE,
    CREEP_SIGHT,
    CREEP_SPEED,
    HERO_ATTACK_PERIOD,
    HERO_RANGE,
    HERO_SIGHT,
    STARTING_GOLD,
    TOWER_ARMOR,
    TOWER_ATTACK_PERIOD,
    TOWER_DAMAGE,
    TOWER_HP,
    TOWER_RANGE,
    TOWER_SIGHT,
    WAVE_MELEE,
    WAVE_RANGED,
)

CREEP_SPACING = 0.8
"""Distance between consecutive creeps of a wave at spawn, lined up behind the lane's end."""


@register_jitable(_nrt=False)
def clear_unit(s: GameState, g: int, u: int) -> None:
    """Empty slot u of game g (absent, every field zero, no target)."""
    s.present[g, u] = False
    s.alive[g, u] = False
    s.team[g, u] = 0
    s.kind[g, u] = KIND_CREEP
    s.subtype[g, u] = 0
    s.x[g, u] = 0.0
    s.y[g, u] = 0.0
    s.hp[g, u] = 0.0
    s.max_hp[g, u] = 0.0
    s.mana[g, u] = 0.0
    s.max_mana[g, u] = 0.0
    s.hp_regen[g, u] = 0.0
    s.mana_regen[g, u] = 0.0
    s.damage[g, u] = 0.0
    s.armor[g, u] = 0.0
    s.attack_range[g, u] = 0.0
    s.attack_period[g, u] = 1
    s.attack_timer[g, u] = 0
    s.speed[g, u] = 0.0
    s.sight[g, u] = 0.0
    s.target[g, u] = -1
    s.stun_ticks[g, u] = 0
    s.shield[g, u] = 0.0
    s.shield_ticks[g, u] = 0
    s.lane[g, u] = -1
    s.waypoint[g, u] = 0


@register_jitable
def reset_game(
    s: GameState,
    g: int,
    seed: int,
    fountain: NDArray[np.float64],
    structure_xy: NDArray[np.float64],
    structure_present: NDArray[np.bool_],
    structure_kind: NDArray[np.int64],
    structure_tier: NDArray[np.int64],
    structure_lane: NDArray[np.int64],
    lineup: NDArray[np.int64],
    heroes_per_team: int,
    time_cap_ticks: int,
    kills_to_win: int,
    towers_to_win: int,
) -> None:
    """Game g's starting position: heroes at their fountains, all structures up, no creeps, tick 0.

    Args:
        lineup: [2, 5] archetype of every hero slot (slots beyond `heroes_per_team` stay absent).
        the others: the arrays of the map's `MapLayout` and the config's values.
    """
    for u in range(MAX_UNITS):
        clear_unit(s, g, u)
    for h in range(HERO_SLOTS):
        team = h // HEROES_PER_TEAM
        s.team[g, h] = team
        s.kind[g, h] = KIND_HERO
        s.archetype[g, h] = lineup[team, h % HEROES_PER_TEAM]
        s.subtype[g, h] = s.archetype[g, h]
        s.level[g, h] = 1
        s.xp[g, h] = 0.0
        s.gold[g, h] = STARTING_GOLD
        s.respawn_ticks[g, h] = 0
        s.kills[g, h] = 0
        s.deaths[g, h] = 0
        s.last_hits[g, h] = 0
        s.denies[g, h] = 0
        s.items[g, h] = 0
        for a in range(NUM_ABILITIES):
            s.ability_cooldown[g, h, a] = 0
        s.order[g, h] = ORDER_IDLE
        s.order_direction[g, h] = 0
        s.order_ability[g, h] = 0
        s.order_target[g, h] = -1
        s.order_x[g, h] = 0.0
        s.order_y[g, h] = 0.0
        s.aggro_ticks[g, h] = 0
        s.aggro_victim[g, h] = -1
        for e in range(NUM_EVENTS):
            s.events[g, h, e] = 0.0
        s.present[g, h] = h % HEROES_PER_TEAM < heroes_per_team
        refresh_hero_stats(s, g, h)
        arch = s.archetype[g, h]
        s.attack_range[g, h] = HERO_RANGE[arch]
        s.attack_period[g, h] = HERO_ATTACK_PERIOD[arch]
        s.sight[g, h] = HERO_SIGHT
        s.x[g, h] = fountain[team, 0]
        s.y[g, h] = fountain[team, 1]
        if s.present[g, h]:
            s.alive[g, h] = True
            s.hp[g, h] = s.max_hp[g, h]
            s.mana[g, h] = s.max_mana[g, h]
    for i in range(NUM_STRUCTURES):
        u = STRUCTURE_START + i
        s.team[g, u] = i // STRUCTURES_PER_TEAM
        s.kind[g, u] = structure_kind[i]
        s.subtype[g, u] = structure_tier[i]
        s.lane[g, u] = structure_lane[i]
        s.x[g, u] = structure_xy[i, 0]
        s.y[g, u] = structure_xy[i, 1]
        if structure_kind[i] == KIND_ANCIENT:
            s.max_hp[g, u] = ANCIENT_HP
            s.armor[g, u] = ANCIENT_ARMOR
            s.sight[g, u] = ANCIENT_SIGHT
        else:
            s.max_hp[g, u] = TOWER_HP[structure_tier[i]]
            s.armor[g, u] = TOWER_ARMOR
            s.damage[g, u] = TOWER_DAMAGE
            s.attack_range[g, u] = TOWER_RANGE
            s.attack_period[g, u] = TOWER_ATTACK_PERIOD
            s.sight[g, u] = TOWER_SIGHT
        if structure_present[i]:
            s.present[g, u] = True
            s.alive[g, u] = True
            s.hp[g, u] = s.max_hp[g, u]
    s.tick[g] = 0
    s.done[g] = False
    s.winner[g] = WINNER_NONE
    s.seed[g] = seed
    s.time_cap_ticks[g] = time_cap_ticks
    s.kills_to_win[g] = kills_to_win
    s.towers_to_win[g] = towers_to_win
    update_visibility(s, g)


@register_jitable
def reset_masked(
    s: GameState,
    mask: NDArray[np.bool_],
    seeds: NDArray[np.int64],
    fountain: NDArray[np.float64],
    structure_xy: NDArray[np.float64],
    structure_present: NDArray[np.bool_],
    structure_kind: NDArray[np.int64],
    structure_tier: NDArray[np.int64],
    structure_lane: NDArray[np.int64],
    lineup: NDArray[np.int64],
    heroes_per_team: int,
    time_cap_ticks: int,
    kills_to_win: int,
    towers_to_win: int,
) -> None:
    """`reset_game` for every game g with mask[g] (the loop `core.reset` compiles)."""
    for g in range(mask.shape[0]):
        if mask[g]:
            reset_game(
                s,
                g,
                seeds[g],
                fountain,
                structure_xy,
                structure_present,
                structure_kind,
                structure_tier,
                structure_lane,
                lineup,
                heroes_per_team,
                time_cap_ticks,
                kills_to_win,
                towers_to_win,
            )


@register_jitable(_nrt=False)
def spawn_creep(
    s: GameState, g: int, u: int, team: int, creep: int, lane: int, waypoint: int, x: float, y: float
) -> None:
    """Put a fresh creep of type `creep` (melee or ranged) in free slot u, walking `lane` towards `waypoint`."""
    clear_unit(s, g, u)
    s.present[g, u] = True
    s.alive[g, u] = True
    s.team[g, u] = team
    s.kind[g, u] = KIND_CREEP
    s.subtype[g, u] = creep
    s.x[g, u] = x
    s.y[g, u] = y
    s.hp[g, u] = CREEP_HP[creep]
    s.max_hp[g, u] = CREEP_HP[creep]
    s.damage[g, u] = CREEP_DAMAGE[creep]
    s.armor[g, u] = CREEP_ARMOR[creep]
    s.attack_range[g, u] = CREEP_RANGE[creep]
    s.attack_period[g, u] = CREEP_ATTACK_PERIOD
    s.speed[g, u] = CREEP_SPEED
    s.sight[g, u] = CREEP_SIGHT
    s.lane[g, u] = lane
    s.waypoint[g, u] = waypoint


@register_jitable(_nrt=False)
def spawn_wave(s: GameState, g: int, lane_points: NDArray[np.float64], lane_count: NDArray[np.int64]) -> None:
    """A wave per lane per team (WAVE_MELEE melee then WAVE_RANGED ranged creeps) at the team's end of the lane,
    lined up behind it; lanes top, mid, bot and blue before red take the lowest free creep slots, and a wave that
    finds the pool full loses the creeps that do not fit."""
    u = CREEP_START
    for lane in range(NUM_LANES):
        count = lane_count[lane]
        if count == 0:
            continue
        for team in range(2):
            if team == BLUE:
                start = 0
                toward = 1
            else:
                start = count - 1
                toward = count - 2
            sx = lane_points[lane, start, 0]
            sy = lane_points[lane, start, 1]
            dx = lane_points[lane, toward, 0] - sx
            dy = lane_points[lane, toward, 1] - sy
            length = math.sqrt(dx * dx + dy * dy)
            dx = dx / length
            dy = dy / length
            for k in range(WAVE_MELEE + WAVE_RANGED):
                while u < MAX_UNITS and s.present[g, u]:
                    u += 1
                if u >= MAX_UNITS:
                    return
                creep = CREEP_MELEE if k < WAVE_MELEE else CREEP_RANGED
                back = CREEP_SPACING * k
                spawn_creep(s, g, u, team, creep, lane, toward, sx - dx * back, sy - dy * back)
