"""The rules of Five, tick by tick: upkeep, targeting, heroes, creeps, towers, the end of a game; and `step_games`.

One source, two executions. Every function here (and in `combat`, `abilities`, `orders`, `spawn`, `fog`) is plain
Python with explicit loops over one game g of the batch `s`, marked `register_jitable`. `core.step_reference`
calls `step_games` as it is, interpreted (the reference); `core.step` calls `numba.njit(step_games)`, which
compiles it and everything it calls into one loop over all games. The tests check the two agree bit for bit.

A step (one decision, `TICKS_PER_DECISION` ticks) of game g:
1. the heroes' actions become standing orders (`orders.apply_actions`);
2. each tick: a creep wave spawns when the tick is a multiple of `WAVE_TICKS`; upkeep (timers, regeneration,
   passive gold, items, respawns, fountains); on the step's first tick creeps and towers pick targets; heroes act
   (blue first on even ticks, red first on odd ones), then creeps, then towers; the tick advances and the game
   ends if an ancient fell or the time cap is reached;
3. the teams' sight is recomputed (`fog.update_visibility`).
Per-step costs stay near linear in the units: targets are searched once per step over the list of alive units.
"""

from __future__ import annotations

import math

import numpy as np
from numba.extending import register_jitable
from numpy.typing import NDArray

from fourfold.five.game.abilities import pursue_cast
from fourfold.five.game.combat import (
    add_gold,
    attack,
    deal_damage,
    distance2,
    fmax,
    fmin,
    move_toward,
    structure_vulnerable,
    team_event,
)
from fourfold.five.game.constants import (
    ANCIENT_OFFSET,
    BLUE,
    CREEP_START,
    EVENT_WIN,
    HERO_SLOTS,
    HEROES_PER_TEAM,
    KIND_CREEP,
    KIND_HERO,
    KIND_TOWER,
    MAX_UNITS,
    MOVE_DIRECTIONS,
    NUM_ABILITIES,
    NUM_EVENTS,
    NUM_STRUCTURES,
    ORDER_ATTACK,
    ORDER_CAST,
    ORDER_IDLE,
    ORDER_MOVE,
    ORDER_RETREAT,
    RED,
    STRUCTURE_START,
    STRUCTURES_PER_TEAM,
    TICKS_PER_DECISION,
    TICKS_PER_SECOND,
    WINNER_DRAW,
    WINNER_NONE,
)
from fourfold.five.game.fog import visibility_from_lists
from fourfold.five.game.orders import OK, apply_actions, attack_error
from fourfold.five.game.spawn import spawn_wave
from fourfold.five.game.state import GameState
from fourfold.five.game.stats import (
    CREEP_AGGRO,
    CREEP_HERO_PENALTY,
    CREEP_LEASH,
    FOUNTAIN_DAMAGE,
    FOUNTAIN_HEAL_FRACTION,
    FOUNTAIN_RADIUS,
    GOLD_PER_TICK,
    WAVE_TICKS,
)


@register_jitable(_nrt=False)
def respawn(s: GameState, g: int, h: int, fountain: NDArray[np.float64]) -> None:
    """Hero h comes back at its fountain with full hit points and mana and no order."""
    team = s.team[g, h]
    s.alive[g, h] = True
    s.hp[g, h] = s.max_hp[g, h]
    s.mana[g, h] = s.max_mana[g, h]
    s.x[g, h] = fountain[team, 0]
    s.y[g, h] = fountain[team, 1]
    s.order[g, h] = ORDER_IDLE
    s.order_target[g, h] = -1
    s.target[g, h] = -1
    s.attack_timer[g, h] = 0
    s.aggro_ticks[g, h] = 0


@register_jitable(_nrt=False)
def upkeep(s: GameState, g: int, fountain: NDArray[np.float64]) -> None:
    """One tick of timers for every unit, and for heroes: cooldowns, passive gold and items, regeneration,
    respawn, the own fountain's healing and the enemy fountain's damage."""
    for u in range(MAX_UNITS):
        if not s.alive[g, u]:
            continue
        if s.attack_timer[g, u] > 0:
            s.attack_timer[g, u] -= 1
        if s.stun_ticks[g, u] > 0:
            s.stun_ticks[g, u] -= 1
        if s.shield_ticks[g, u] > 0:
            s.shield_ticks[g, u] -= 1
            if s.shield_ticks[g, u] == 0:
                s.shield[g, u] = 0.0
    for h in range(HERO_SLOTS):
        if not s.present[g, h]:
            continue
        for a in range(NUM_ABILITIES):
            if s.ability_cooldown[g, h, a] > 0:
                s.ability_cooldown[g, h, a] -= 1
        if s.aggro_ticks[g, h] > 0:
            s.aggro_ticks[g, h] -= 1
        add_gold(s, g, h, GOLD_PER_TICK)
        if not s.alive[g, h]:
            s.respawn_ticks[g, h] -= 1
            if s.respawn_ticks[g, h] <= 0:
                s.respawn_ticks[g, h] = 0
                respawn(s, g, h, fountain)
            continue
        team = s.team[g, h]
        heal = s.hp_regen[g, h] / TICKS_PER_SECOND
        restore = s.mana_regen[g, h] / TICKS_PER_SECOND
        dx = s.x[g, h] - fountain[team, 0]
        dy = s.y[g, h] - fountain[team, 1]
        if dx * dx + dy * dy <= FOUNTAIN_RADIUS * FOUNTAIN_RADIUS:
            heal += s.max_hp[g, h] * FOUNTAIN_HEAL_FRACTION / TICKS_PER_SECOND
            restore += s.max_mana[g, h] * FOUNTAIN_HEAL_FRACTION / TICKS_PER_SECOND
        s.hp[g, h] = fmin(s.hp[g, h] + heal, s.max_hp[g, h])
        s.mana[g, h] = fmin(s.mana[g, h] + restore, s.max_mana[g, h])
        dx = s.x[g, h] - fountain[1 - team, 0]
        dy = s.y[g, h] - fountain[1 - team, 1]
        if dx * dx + dy * dy <= FOUNTAIN_RADIUS * FOUNTAIN_RADIUS:
            deal_damage(s, g, -1, h, FOUNTAIN_DAMAGE / TICKS_PER_SECOND, False)


@register_jitable(_nrt=False)
def acquire_creep_target(s: GameState, g: int, u: int, enemies: NDArray[np.int64], first: int, last: int) -> None:
    """Creep u keeps a target it can still hit, else takes the nearest enemy within CREEP_AGGRO (heroes count
    CREEP_HERO_PENALTY farther, protected structures not at all), else none; candidates are enemies[first:last]."""
    t = s.target[g, u]
    reach = s.attack_range[g, u]
    if t >= 0 and s.alive[g, t] and distance2(s, g, u, t) <= reach * reach:
        return
    best = -1
    best_score = 1.0e18
    xs = s.x[g]  # this game's rows, read once: the scan below touches only them
    ys = s.y[g]
    kinds = s.kind[g]
    ux = xs[u]
    uy = ys[u]
    for i in range(first, last):
        v = enemies[i]
        dx = xs[v] - ux
        if dx > CREEP_AGGRO or dx < -CREEP_AGGRO:
            continue
        dy = ys[v] - uy
        d2 = dx * dx + dy * dy
        if d2 > CREEP_AGGRO * CREEP_AGGRO:
            continue
        kind = kinds[v]
        if kind >= KIND_TOWER and not structure_vulnerable(s, g, v):
            continue
        score = math.sqrt(d2)
        if kind == KIND_HERO:
            score += CREEP_HERO_PENALTY
        if score < best_score:
            best = v
            best_score = score
    s.target[g, u] = best


@register_jitable(_nrt=False)
def acquire_tower_target(s: GameState, g: int, u: int, enemies: NDArray[np.int64], first: int, last: int) -> None:
    """Tower u targets, in this order: the nearest enemy hero in range that damaged an allied hero in range within
    AGGRO_TICKS (tower aggro); its current target if still in range; the nearest enemy creep in range; the
    nearest enemy hero in range; else none. Candidates for the last two are enemies[first:last]."""
    reach2 = s.attack_range[g, u] * s.attack_range[g, u]
    team = s.team[g, u]
    enemy_first = (1 - team) * HEROES_PER_TEAM
    best = -1
    best_d2 = 1.0e18
    for h in range(enemy_first, enemy_first + HEROES_PER_TEAM):
        if not s.alive[g, h] or s.aggro_ticks[g, h] == 0:
            continue
        victim = s.aggro_victim[g, h]
        if victim < 0 or s.team[g, victim] != team or distance2(s, g, u, victim) > reach2:
            continue
        d2 = distance2(s, g, u, h)
        if d2 <= reach2 and d2 < best_d2:
            best = h
            best_d2 = d2
    if best >= 0:
        s.target[g, u] = best
        return
    t = s.target[g, u]
    if t >= 0 and s.alive[g, t] and distance2(s, g, u, t) <= reach2:
        return
    best_hero = -1
    best_hero_d2 = 1.0e18
    for i in range(first, last):
        v = enemies[i]
        kind = s.kind[g, v]
        if kind != KIND_CREEP and kind != KIND_HERO:
            continue
        d2 = distance2(s, g, u, v)
        if d2 > reach2:
            continue
        if kind == KIND_CREEP and d2 < best_d2:
            best = v
            best_d2 = d2
        elif kind == KIND_HERO and d2 < best_hero_d2:
            best_hero = v
            best_hero_d2 = d2
    s.target[g, u] = best if best >= 0 else best_hero


@register_jitable(_nrt=False)
def acquire_targets(s: GameState, g: int, units: NDArray[np.int64]) -> None:
    """Creeps and towers of game g pick targets (once per step) among the alive enemy units, listed first."""
    count = 0
    for u in range(MAX_UNITS):
        if s.alive[g, u] and s.team[g, u] == BLUE:
            units[count] = u
            count += 1
    blue = count
    for u in range(MAX_UNITS):
        if s.alive[g, u] and s.team[g, u] == RED:
            units[count] = u
            count += 1
    for i in range(count):
        u = units[i]
        kind = s.kind[g, u]
        first = blue if i < blue else 0
        last = count if i < blue else blue
        if kind == KIND_CREEP:
            acquire_creep_target(s, g, u, units, first, last)
        elif kind == KIND_TOWER:
            acquire_tower_target(s, g, u, units, first, last)


@register_jitable(_nrt=False)
def hero_act(s: GameState, g: int, h: int, fountain: NDArray[np.float64], size: float) -> None:
    """One tick of alive, unstunned hero h following its standing order."""
    order = s.order[g, h]
    if order == ORDER_MOVE:
        step = s.speed[g, h] / TICKS_PER_SECOND
        d = s.order_direction[g, h]
        s.x[g, h] = fmin(fmax(s.x[g, h] + MOVE_DIRECTIONS[d, 0] * step, 0.0), size)
        s.y[g, h] = fmin(fmax(s.y[g, h] + MOVE_DIRECTIONS[d, 1] * step, 0.0), size)
    elif order == ORDER_RETREAT:
        team = s.team[g, h]
        move_toward(s, g, h, fountain[team, 0], fountain[team, 1])
    elif order == ORDER_ATTACK:
        t = s.order_target[g, h]
        if attack_error(s, g, h, t) != OK:
            s.order[g, h] = ORDER_IDLE
            s.order_target[g, h] = -1
            s.target[g, h] = -1
            return
        reach = s.attack_range[g, h]
        if distance2(s, g, h, t) <= reach * reach:
            if s.attack_timer[g, h] == 0:
                attack(s, g, h, t)
        else:
            move_toward(s, g, h, s.x[g, t], s.y[g, t])
    elif order == ORDER_CAST:
        pursue_cast(s, g, h, size)


@register_jitable(_nrt=False)
def creep_act(s: GameState, g: int, u: int, lane_points: NDArray[np.float64], lane_count: NDArray[np.int64]) -> None:
    """One tick of alive, unstunned creep u: hit its target if in range, chase it within CREEP_LEASH, else walk
    its lane's waypoints and then on to the enemy ancient."""
    t = s.target[g, u]
    if t >= 0:
        d2 = distance2(s, g, u, t)
        reach = s.attack_range[g, u]
        if d2 <= reach * reach:
            if s.attack_timer[g, u] == 0:
                attack(s, g, u, t)
            return
        if d2 <= CREEP_LEASH * CREEP_LEASH:
            move_toward(s, g, u, s.x[g, t], s.y[g, t])
            return
        s.target[g, u] = -1
    lane = s.lane[g, u]
    w = s.waypoint[g, u]
    if 0 <= w < lane_count[lane]:
        if move_toward(s, g, u, lane_points[lane, w, 0], lane_points[lane, w, 1]):
            s.waypoint[g, u] = w + 1 if s.team[g, u] == BLUE else w - 1
    else:
        ancient = STRUCTURE_START + (1 - s.team[g, u]) * STRUCTURES_PER_TEAM + ANCIENT_OFFSET
        move_toward(s, g, u, s.x[g, ancient], s.y[g, ancient])


@register_jitable(_nrt=False)
def tower_act(s: GameState, g: int, u: int) -> None:
    """One tick of alive tower u: hit its target when reloaded, forget it once out of range."""
    t = s.target[g, u]
    if t < 0:
        return
    reach = s.attack_range[g, u]
    if not s.alive[g, t] or distance2(s, g, u, t) > reach * reach:
        s.target[g, u] = -1
        return
    if s.attack_timer[g, u] == 0:
        attack(s, g, u, t)


@register_jitable(_nrt=False)
def structures_destroyed(s: GameState, g: int, team: int) -> int:
    """How many of the other team's structures `team` has destroyed in game g."""
    count = 0
    for i in range(NUM_STRUCTURES):
        u = STRUCTURE_START + i
        if s.present[g, u] and not s.alive[g, u] and s.team[g, u] != team:
            count += 1
    return count


@register_jitable(_nrt=False)
def team_kills(s: GameState, g: int, team: int) -> int:
    """The hero kills of `team`'s heroes in game g."""
    count = 0
    for h in range(HERO_SLOTS):
        if s.team[g, h] == team:
            count += s.kills[g, h]
    return count


@register_jitable(_nrt=False)
def score_winner(s: GameState, g: int) -> int:
    """The winner at the time cap: more enemy structures destroyed, else more hero kills, else a draw."""
    by_blue = structures_destroyed(s, g, BLUE)
    by_red = structures_destroyed(s, g, RED)
    if by_blue != by_red:
        return BLUE if by_blue > by_red else RED
    blue_kills = team_kills(s, g, BLUE)
    red_kills = team_kills(s, g, RED)
    if blue_kills != red_kills:
        return BLUE if blue_kills > red_kills else RED
    return WINNER_DRAW


@register_jitable(_nrt=False)
def _reached(s: GameState, g: int, team: int) -> bool:
    """Whether `team` has reached game g's kill target or structure target (a target of 0 is off)."""
    kills = s.kills_to_win[g] > 0 and team_kills(s, g, team) >= s.kills_to_win[g]
    towers = s.towers_to_win[g] > 0 and structures_destroyed(s, g, team) >= s.towers_to_win[g]
    return bool(kills or towers)


@register_jitable(_nrt=False)
def target_winner(s: GameState, g: int) -> int:
    """The team that reached `kills_to_win` kills or `towers_to_win` structures (both teams at once: a draw)."""
    blue = _reached(s, g, BLUE)
    red = _reached(s, g, RED)
    if blue and red:
        return WINNER_DRAW
    if blue:
        return BLUE
    if red:
        return RED
    return WINNER_NONE


@register_jitable(_nrt=False)
def check_end(s: GameState, g: int) -> None:
    """End game g if an ancient fell (both in one tick: a draw), a team reached the game's kill or structure
    target, or the time cap is reached; EVENT_WIN."""
    blue_fell = not s.alive[g, STRUCTURE_START + ANCIENT_OFFSET]
    red_fell = not s.alive[g, STRUCTURE_START + STRUCTURES_PER_TEAM + ANCIENT_OFFSET]
    winner = WINNER_NONE
    if blue_fell and red_fell:
        winner = WINNER_DRAW
    elif blue_fell:
        winner = RED
    elif red_fell:
        winner = BLUE
    else:
        winner = target_winner(s, g)
    if winner == WINNER_NONE and s.tick[g] >= s.time_cap_ticks[g]:
        winner = score_winner(s, g)
    if winner == WINNER_NONE:
        return
    s.done[g] = True
    s.winner[g] = winner
    if winner != WINNER_DRAW:
        team_event(s, g, winner, EVENT_WIN, 1.0)


@register_jitable(_nrt=False)
def step_game(
    s: GameState,
    g: int,
    primary: NDArray[np.int64],
    target: NDArray[np.int64],
    point: NDArray[np.float64],
    lane_points: NDArray[np.float64],
    lane_count: NDArray[np.int64],
    fountain: NDArray[np.float64],
    size: float,
    units: NDArray[np.int64],
) -> None:
    """One decision step of game g (see the module docstring for the order of things)."""
    apply_actions(s, g, primary, target, point, size)
    for k in range(TICKS_PER_DECISION):
        if s.tick[g] % WAVE_TICKS == 0:
            spawn_wave(s, g, lane_points, lane_count)
        upkeep(s, g, fountain)
        if k == 0:
            acquire_targets(s, g, units)
        first = 0 if s.tick[g] % 2 == 0 else HEROES_PER_TEAM
        for i in range(HERO_SLOTS):
            h = (first + i) % HERO_SLOTS
            if s.alive[g, h] and s.stun_ticks[g, h] == 0:
                hero_act(s, g, h, fountain, size)
        for u in range(CREEP_START, MAX_UNITS):
            if s.alive[g, u] and s.stun_ticks[g, u] == 0:
                creep_act(s, g, u, lane_points, lane_count)
        for u in range(STRUCTURE_START, CREEP_START):
            if s.alive[g, u] and s.kind[g, u] == KIND_TOWER:
                tower_act(s, g, u)
        s.tick[g] += 1
        check_end(s, g)
        if s.done[g]:
            break
    visibility_from_lists(s, g, units)


def step_games(
    s: GameState,
    primary: NDArray[np.int64],
    target: NDArray[np.int64],
    point: NDArray[np.float64],
    lane_points: NDArray[np.float64],
    lane_count: NDArray[np.int64],
    fountain: NDArray[np.float64],
    size: float,
) -> None:
    """One decision step of every game of the batch: clear the events, step the games that are not over.

    Args:
        s: the batch, changed in place.
        primary: [G, 10] primary actions; target: [G, 10] unit slots or -1; point: [G, 10, 2] ground points.
        lane_points, lane_count, fountain, size: the map (`maps.MapLayout`).
    """
    units = np.empty(MAX_UNITS, dtype=np.int64)
    for g in range(s.tick.shape[0]):
        for h in range(HERO_SLOTS):
            for e in range(NUM_EVENTS):
                s.events[g, h, e] = 0.0
        if not s.done[g]:
            step_game(s, g, primary, target, point, lane_points, lane_count, fountain, size, units)
