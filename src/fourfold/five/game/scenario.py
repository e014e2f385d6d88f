"""Random Five positions and random valid actions, for tests and benchmarks.

- `random_midgame(num_games, config, seed)`: games set in the middle of the action: a random time (some just
  before a creep wave, some just before the time cap), heroes of random levels, items, hit points, mana and
  cooldowns near the lanes (some dead and about to respawn), creeps of both teams fighting along the lanes,
  towers and ancients damaged or destroyed (some about to fall). Short runs from here exercise every rule.
- `random_actions(state, seed, counter)`: one uniformly drawn valid action per hero (a third attacks, a third
  casts, the rest moves, stops, retreats or waits, when such actions are valid), compiled; the draw comes from the
  rules' hash, so it is reproducible.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable
from numpy.typing import NDArray

from fourfold.five.game.combat import hash_uniform, refresh_hero_stats
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import (
    ABILITY_NONE,
    ACTION_ATTACK,
    ACTION_CAST_0,
    ACTION_MOVE_0,
    ACTION_NOOP,
    ACTION_RETREAT,
    ACTION_STOP,
    CREEP_START,
    HERO_SLOTS,
    KIND_TOWER,
    LANE_MID,
    MAX_UNITS,
    NUM_ABILITIES,
    NUM_DIRECTIONS,
    NUM_STRUCTURES,
    STRUCTURE_START,
    TARGET_ALLY,
    TARGET_ENEMY,
    TARGET_NONE,
    TARGET_POINT,
    TICKS_PER_DECISION,
    base_tower_slot,
    tower_slot,
)
from fourfold.five.game.fog import update_visibility
from fourfold.five.game.jit import compiled
from fourfold.five.game.maps import layout
from fourfold.five.game.orders import OK, action_error, attack_error, cast_target_error
from fourfold.five.game.spawn import spawn_creep
from fourfold.five.game.state import GameState, new_state
from fourfold.five.game.stats import (
    ABILITY_COOLDOWN,
    ABILITY_KIND,
    ABILITY_TARGETING,
    NUM_ITEMS,
    WAVE_TICKS,
    XP_FOR_LEVEL,
)


def random_midgame(num_games: int, config: GameConfig, seed: int) -> GameState:
    """A batch of games in random mid-game positions (see the module docstring); deterministic in `seed`."""
    rng = np.random.default_rng(seed)
    s = new_state(num_games, config)
    world = layout(config.map)
    lanes = world.active_lanes()
    for g in range(num_games):
        s.seed[g] = int(rng.integers(0, 2**40))
        wave = int(rng.integers(1, 12))
        s.tick[g] = wave * WAVE_TICKS - TICKS_PER_DECISION * int(rng.integers(0, 8))
        s.time_cap_ticks[g] = s.tick[g] + TICKS_PER_DECISION * int(rng.integers(1, 6) if rng.random() < 0.1 else 5000)
        # a fight on one lane, around a point between the middle and one team's towers
        lane = lanes[int(rng.integers(len(lanes)))]
        points = world.lane(lane)
        where = float(rng.uniform(0.25, 0.75))
        segment = min(int(where * (len(points) - 1)), len(points) - 2)
        frac = where * (len(points) - 1) - segment
        cx, cy = points[segment] + frac * (points[segment + 1] - points[segment])
        for i in range(NUM_STRUCTURES):
            u = STRUCTURE_START + i
            if not s.present[g, u]:
                continue
            roll = rng.random()
            if roll < 0.15 and s.subtype[g, u] != 0:
                s.alive[g, u] = False
                s.hp[g, u] = 0.0
            elif roll < 0.5:
                s.hp[g, u] = s.max_hp[g, u] * float(rng.uniform(0.02, 1.0))
        if rng.random() < 0.4:  # a siege: a structure made vulnerable, nearly down, is the fight's centre
            u = STRUCTURE_START + int(rng.integers(NUM_STRUCTURES))
            if s.present[g, u]:
                _expose(s, g, u)
                s.alive[g, u] = True
                s.hp[g, u] = float(rng.uniform(1, 40))
                cx, cy = float(s.x[g, u]), float(s.y[g, u])
        for h in range(HERO_SLOTS):
            if not s.present[g, h]:
                continue
            level = int(rng.integers(1, 13))
            s.level[g, h] = level
            s.xp[g, h] = XP_FOR_LEVEL[level - 1] + float(rng.uniform(0, 150))
            s.items[g, h] = int(rng.integers(0, NUM_ITEMS + 1))
            s.gold[g, h] = float(rng.uniform(0, 900))
            s.alive[g, h] = True
            refresh_hero_stats(s, g, h)
            s.x[g, h] = min(max(cx + float(rng.normal(0, 6)), 0.0), world.size)
            s.y[g, h] = min(max(cy + float(rng.normal(0, 6)), 0.0), world.size)
            s.hp[g, h] = s.max_hp[g, h] * float(rng.uniform(0.03, 1.0))
            s.mana[g, h] = s.max_mana[g, h] * float(rng.uniform(0.0, 1.0))
            s.attack_timer[g, h] = int(rng.integers(0, 30))
            for a in range(NUM_ABILITIES):
                if rng.random() < 0.4:
                    s.ability_cooldown[g, h, a] = int(rng.integers(1, ABILITY_COOLDOWN[s.archetype[g, h], a] + 2))
            if rng.random() < 0.1:
                s.alive[g, h] = False
                s.hp[g, h] = 0.0
                s.respawn_ticks[g, h] = int(rng.integers(1, 9))
            elif rng.random() < 0.1:
                s.stun_ticks[g, h] = int(rng.integers(1, 10))
            elif rng.random() < 0.1:
                s.shield[g, h] = float(rng.uniform(10, 150))
                s.shield_ticks[g, h] = int(rng.integers(1, 10))
        u = CREEP_START
        for _ in range(int(rng.integers(4, 40))):
            team = int(rng.integers(2))
            count = len(points)
            waypoint = int(rng.integers(1, count)) if team == 0 else int(rng.integers(0, count - 1))
            x = min(max(cx + float(rng.normal(0, 7)), 0.0), world.size)
            y = min(max(cy + float(rng.normal(0, 7)), 0.0), world.size)
            spawn_creep(s, g, u, team, int(rng.random() < 0.25), lane, waypoint, x, y)
            s.hp[g, u] = s.max_hp[g, u] * float(rng.uniform(0.02, 1.0))
            s.attack_timer[g, u] = int(rng.integers(0, 30))
            u += 1
        update_visibility(s, g)
    return s


def _expose(s: GameState, g: int, u: int) -> None:
    """Destroy what protects structure u (the tier-1 tower before a tier 2, the mid tier 2 before the base tower,
    the base tower before the ancient)."""
    team, kind, tier = int(s.team[g, u]), int(s.kind[g, u]), int(s.subtype[g, u])
    if kind == KIND_TOWER and tier == 1:
        return
    if kind == KIND_TOWER and tier == 2:
        shield = tower_slot(team, int(s.lane[g, u]), 1)
    elif kind == KIND_TOWER:
        shield = tower_slot(team, LANE_MID, 2)
    else:
        shield = base_tower_slot(team)
    s.alive[g, shield] = False
    s.hp[g, shield] = 0.0


@register_jitable(_nrt=False)
def _pick(s: GameState, g: int, h: int, primary: int, draw: float) -> int:
    """A uniformly drawn unit slot that makes (primary) valid for hero h, or -1 when none does."""
    count = 0
    for phase in range(2):
        chosen = int(draw * count) if phase == 1 else 0
        seen = 0
        for t in range(MAX_UNITS):
            if primary == ACTION_ATTACK:
                ok = attack_error(s, g, h, t) == OK
            else:
                targeting = ABILITY_TARGETING[s.archetype[g, h], primary - ACTION_CAST_0]
                ok = cast_target_error(s, g, h, targeting, t) == OK
            if not ok:
                continue
            if phase == 0:
                count += 1
            elif seen == chosen:
                return t
            else:
                seen += 1
        if count == 0:
            return -1
    return -1


def _random_actions_kernel(
    s: GameState,
    seed: int,
    counter: int,
    primary: NDArray[np.int64],
    target: NDArray[np.int64],
    point: NDArray[np.float64],
) -> None:
    for g in range(primary.shape[0]):
        for h in range(HERO_SLOTS):
            key = (g * HERO_SLOTS + h) * 8
            primary[g, h] = ACTION_NOOP
            target[g, h] = -1
            point[g, h, 0] = s.x[g, h] + 16.0 * hash_uniform(seed, counter, key + 1) - 8.0
            point[g, h, 1] = s.y[g, h] + 16.0 * hash_uniform(seed, counter, key + 2) - 8.0
            if s.done[g] or not s.present[g, h] or not s.alive[g, h]:
                continue
            roll = hash_uniform(seed, counter, key)
            draw = hash_uniform(seed, counter, key + 3)
            if roll < 0.33:
                t = _pick(s, g, h, ACTION_ATTACK, draw)
                if t >= 0:
                    primary[g, h] = ACTION_ATTACK
                    target[g, h] = t
                    continue
            elif roll < 0.66:
                a = int(hash_uniform(seed, counter, key + 4) * NUM_ABILITIES)
                p = ACTION_CAST_0 + a
                if ABILITY_KIND[s.archetype[g, h], a] != ABILITY_NONE:
                    targeting = ABILITY_TARGETING[s.archetype[g, h], a]
                    t = -1
                    if targeting in (TARGET_ENEMY, TARGET_ALLY):
                        t = _pick(s, g, h, p, draw)
                    if (t >= 0 or targeting in (TARGET_POINT, TARGET_NONE)) and action_error(
                        s, g, h, p, t, point[g, h, 0], point[g, h, 1]
                    ) == OK:
                        primary[g, h] = p
                        target[g, h] = t
                        continue
            other = int(draw * (NUM_DIRECTIONS + 3))
            if other < NUM_DIRECTIONS:
                primary[g, h] = ACTION_MOVE_0 + other
            elif other == NUM_DIRECTIONS:
                primary[g, h] = ACTION_STOP
            elif other == NUM_DIRECTIONS + 1:
                primary[g, h] = ACTION_RETREAT


_random_actions_compiled = compiled(_random_actions_kernel)


def random_actions(
    state: GameState, seed: int, counter: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Valid random actions for every hero of the batch: primary [G, 10], target [G, 10], point [G, 10, 2].

    Args:
        state: the batch (actions are drawn for its current position).
        seed, counter: the draw is a function of (seed, counter, game, hero); use a new counter every step.
    """
    games = state.tick.shape[0]
    primary = np.zeros((games, HERO_SLOTS), dtype=np.int64)
    target = np.zeros((games, HERO_SLOTS), dtype=np.int64)
    point = np.zeros((games, HERO_SLOTS, 2))
    _random_actions_compiled(state, seed, counter, primary, target, point)
    return primary, target, point
