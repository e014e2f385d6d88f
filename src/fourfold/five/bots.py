"""Five's scripted opponents: `random`, `easy`, `medium` and `hard`, deciding for one team of all games at once.

OpenAI Five measured itself against Dota 2's scripted bots before it met people (Berner et al. 2019, section 4);
these bots play that part here: fixed yardsticks a learner must beat, in a known order of strength (the round robin
in `tournament.py` checks it: easy beats random >= 95 %, medium beats easy >= 70 %, hard beats medium >= 70 %).

- `random`: samples uniformly among the valid primary actions of the core's rules (`orders.action_error`), then a
  valid target uniformly and a ground point uniformly in the ability's range.
- `easy`: walks its lane (heroes spread over the lanes) with its creeps, attacks the nearest visible enemy in range
  (hero, creep or a structure that can take damage), casts every ability the moment it is ready at whatever is
  nearest (itself, the nearest creep, its own feet): it wastes them. Never retreats.
- `medium`: lanes two-one-two, stands behind its creeps and last-hits (attacks an enemy creep whose hit points are
  below its attack damage after armor) and denies, nukes and stuns enemy heroes in range, hits a tower its creeps
  are tanking, and walks back to the fountain below 25 % hit points until it has 50 % again.
- `hard`: what medium does, and focuses the visible enemy hero with the fewest hit points near it, stuns it, nukes
  it, aims area abilities at heroes or creep packs, heals and shields allies in trouble, dashes to finish a fleeing
  hero or to escape; retreats below 35 % and returns only healed (90 %); never steps into an enemy tower's range
  unless its creeps are there for the tower to shoot (nor hits heroes under a tower, which draws the tower's fire);
  and once its lane's tier-1 tower (either team's) has fallen, or after the first minutes, it joins its team mates
  and pushes one lane together with the creeps, structure after structure.

Fog of war: a bot reads enemy units only where `state.visible[g, team]` is set. Enemy structures stand at known map
positions; the bot remembers one as destroyed once its team sees that spot without seeing the structure.

Decisions are one compiled kernel (`_decide`, numba) over the asked games and the team's 5 hero slots; the only
randomness (of `random`) is a counter hash of (bot seed, game seed, tick, hero), so bots are deterministic. Every
action is checked with the core's `orders.action_error` before it is returned (an invalid choice becomes a noop).
numba's disk cache keys the kernel by this file only: after editing the core's rule modules delete this folder's
`__pycache__/bots.*.nb*` files.

Shape legend: G games in the batch, K games asked for, H = 5 hero slots of one team, U = MAX_UNITS.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numba
import numpy as np
from numpy.typing import NDArray

from fourfold.core.config import ConfigError
from fourfold.five.game import orders
from fourfold.five.game.combat import hash_uniform
from fourfold.five.game.constants import (
    ABILITY_AREA,
    ABILITY_DASH,
    ABILITY_HEAL,
    ABILITY_NONE,
    ABILITY_NUKE,
    ABILITY_SHIELD,
    ABILITY_STUN,
    ACTION_ATTACK,
    ACTION_CAST_0,
    ACTION_MOVE_0,
    ACTION_NOOP,
    ACTION_RETREAT,
    ACTION_STOP,
    CREEP_START,
    HEROES_PER_TEAM,
    KIND_ANCIENT,
    LANE_BOT,
    LANE_MID,
    LANE_TOP,
    MAX_UNITS,
    NUM_ABILITIES,
    NUM_LANES,
    NUM_PRIMARY,
    NUM_TEAMS,
    ORDER_MOVE,
    STRUCTURE_START,
    STRUCTURES_PER_TEAM,
    TARGET_ALLY,
    TARGET_ENEMY,
    TARGET_NONE,
    TARGET_POINT,
    TICKS_PER_SECOND,
    ancient_slot,
    base_tower_slot,
)
from fourfold.five.game.maps import layout
from fourfold.five.game.state import GameState
from fourfold.five.game.stats import (
    ABILITY_AMOUNT,
    ABILITY_AMOUNT_PER_LEVEL,
    ABILITY_KIND,
    ABILITY_MANA,
    ABILITY_RADIUS,
    ABILITY_RANGE,
    ABILITY_TARGETING,
    ARMOR_FACTOR,
    DAMAGE_SPREAD,
    DENY_FRACTION,
    TOWER_RANGE,
)

BOT_NAMES: tuple[str, ...] = ("random", "easy", "medium", "hard")
"""The scripted bots, weakest first."""
LEVEL_RANDOM, LEVEL_EASY, LEVEL_MEDIUM, LEVEL_HARD = 0, 1, 2, 3

Actions = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]

MAX_PATH = 5
"""Points of a team's attack path along a lane: the lane's waypoints, then the enemy base tower and ancient."""
LANE_OF_SLOT = np.array(
    [
        [LANE_TOP, LANE_MID, LANE_BOT, LANE_TOP, LANE_MID],  # easy: slot i on lane i mod 3
        [LANE_BOT, LANE_MID, LANE_TOP, LANE_MID, LANE_TOP],  # medium, hard: carry bot, mage + support mid
    ],
    dtype=np.int64,
)
"""[2, H] the lane of each hero slot (row 0 for easy, row 1 for medium and hard) on the three-lane map."""
GROUP_SECONDS = 480.0
"""Hard heroes group up to push together at this game time even if no tier-1 tower has fallen yet."""
RETREAT_BELOW = np.array([0.0, 0.0, 0.25, 0.35])
"""Per level: start walking back to the fountain below this fraction of maximum hit points (0: never)."""
RETURN_ABOVE = np.array([0.0, 0.0, 0.5, 0.9])
"""Per level: walk back out once hit points are above this fraction again."""


class Bot(Protocol):
    """A scripted player of one team: core-level actions for that team's 5 hero slots of the asked games."""

    name: str

    def act(self, state: GameState, games: slice | NDArray[np.int64], team: int) -> Actions:
        """Actions ([K, 5] primary, [K, 5] target unit slot or -1, [K, 5, 2] ground point) for `team`'s heroes."""
        ...


class ScriptedBot:
    """One of the scripted bots (see the module docstring); keeps per-game memory (retreats, fallen towers).

    A bot may play several games and both teams at once; its memory of game g is forgotten when g's tick goes
    back (the game was reset).
    """

    def __init__(self, name: str, level: int, seed: int) -> None:
        self.name = name
        self.level = level
        self.seed = int(seed)
        world = layout("three_lane")
        self._paths, self._path_count = attack_paths(world.lane_points, world.lane_count)
        self._fountain = world.fountain.copy()
        self._retreating = np.zeros((NUM_TEAMS, 0, HEROES_PER_TEAM), dtype=np.bool_)  # [2, G, H]
        self._enemy_dead = np.zeros((NUM_TEAMS, 0, STRUCTURES_PER_TEAM), dtype=np.bool_)  # [2, G, 8]
        self._last_tick = np.zeros((NUM_TEAMS, 0), dtype=np.int64)  # [2, G]

    def __repr__(self) -> str:
        return f"ScriptedBot({self.name!r}, seed={self.seed})"

    def state_dict(self) -> dict[str, NDArray[Any]]:
        """Copies of the bot's per-game memory ([2, G, ...] retreats, fallen enemy structures, last tick seen)."""
        return {
            "retreating": self._retreating.copy(),
            "enemy_dead": self._enemy_dead.copy(),
            "last_tick": self._last_tick.copy(),
        }

    def load_state_dict(self, state: dict[str, NDArray[Any]]) -> None:
        """Put the per-game memory back as `state_dict` saved it."""
        self._retreating = np.array(state["retreating"], dtype=np.bool_)
        self._enemy_dead = np.array(state["enemy_dead"], dtype=np.bool_)
        self._last_tick = np.array(state["last_tick"], dtype=np.int64)

    def act(self, state: GameState, games: slice | NDArray[np.int64], team: int) -> Actions:
        """Decide for `team` (0 blue, 1 red) in `games` (a slice or an index array of the batch)."""
        num_games = state.tick.shape[0]
        if team not in (0, 1):
            raise ConfigError("team", f"must be 0 (blue) or 1 (red), got {team}")
        index = np.arange(num_games, dtype=np.int64)[games] if isinstance(games, slice) else np.asarray(games)
        index = np.ascontiguousarray(index, dtype=np.int64).reshape(-1)  # [K]
        if index.size and (index.min() < 0 or index.max() >= num_games):
            raise ConfigError("games", f"game indices must lie in 0..{num_games - 1}")
        if self._last_tick.shape[1] != num_games:
            self._retreating = np.zeros((NUM_TEAMS, num_games, HEROES_PER_TEAM), dtype=np.bool_)
            self._enemy_dead = np.zeros((NUM_TEAMS, num_games, STRUCTURES_PER_TEAM), dtype=np.bool_)
            self._last_tick = np.full((NUM_TEAMS, num_games), -1, dtype=np.int64)
        primary = np.zeros((index.size, HEROES_PER_TEAM), dtype=np.int64)  # [K, H]
        target = np.full((index.size, HEROES_PER_TEAM), -1, dtype=np.int64)  # [K, H]
        point = np.zeros((index.size, HEROES_PER_TEAM, 2), dtype=np.float64)  # [K, H, 2]
        _decide(
            state,
            index,
            team,
            self.level,
            self.seed,
            self._paths,
            self._path_count,
            self._fountain,
            self._retreating[team],
            self._enemy_dead[team],
            self._last_tick[team],
            primary,
            target,
            point,
        )
        return primary, target, point


def make_bot(name: str, seed: int = 0) -> ScriptedBot:
    """The scripted bot `name` (one of `BOT_NAMES`), seeded (only `random` draws numbers)."""
    if name not in BOT_NAMES:
        raise ConfigError("bot", f"unknown Five bot {name!r}; choose one of {', '.join(BOT_NAMES)}")
    return ScriptedBot(name, BOT_NAMES.index(name), seed)


def attack_paths(
    lane_points: NDArray[np.float64], lane_count: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Each team's path along each lane towards the enemy ancient: [2, L, MAX_PATH, 2] points and [2, L] counts.

    The lane's waypoints from the team's own end, then the enemy base tower and ancient (on the mid lane the base
    tower lies on the lane, so its far end is replaced by them).
    """
    world = layout("three_lane")
    paths = np.zeros((NUM_TEAMS, NUM_LANES, MAX_PATH, 2))
    counts = np.zeros((NUM_TEAMS, NUM_LANES), dtype=np.int64)
    for team in range(NUM_TEAMS):
        enemy = 1 - team
        base = world.structure_xy[base_tower_slot(enemy) - STRUCTURE_START]
        ancient = world.structure_xy[ancient_slot(enemy) - STRUCTURE_START]
        for lane in range(NUM_LANES):
            points = lane_points[lane, : max(int(lane_count[lane]), 2)]
            points = points if team == 0 else points[::-1]
            if lane == LANE_MID:
                points = points[:-1]
            full = np.concatenate([points, base[None], ancient[None]])
            paths[team, lane, : len(full)] = full
            paths[team, lane, len(full) :] = full[-1]
            counts[team, lane] = len(full)
    return paths, counts


# --- geometry ------------------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _project(path: NDArray[np.float64], count: int, x: float, y: float) -> float:
    """How far along the polyline `path[:count]` the point nearest to (x, y) lies."""
    best_d2 = 1.0e18
    best = 0.0
    walked = 0.0
    for i in range(count - 1):
        ax, ay = path[i, 0], path[i, 1]
        dx, dy = path[i + 1, 0] - ax, path[i + 1, 1] - ay
        length = math.sqrt(dx * dx + dy * dy)
        if length <= 0.0:
            continue
        t = ((x - ax) * dx + (y - ay) * dy) / (length * length)
        t = min(max(t, 0.0), 1.0)
        px, py = ax + t * dx - x, ay + t * dy - y
        d2 = px * px + py * py
        if d2 < best_d2:
            best_d2 = d2
            best = walked + t * length
        walked += length
    return best


@numba.njit(cache=True)
def _point_at(path: NDArray[np.float64], count: int, along: float) -> tuple[float, float]:
    """The point `along` units along the polyline `path[:count]` (clamped to its ends)."""
    remaining = max(along, 0.0)
    for i in range(count - 1):
        dx, dy = path[i + 1, 0] - path[i, 0], path[i + 1, 1] - path[i, 1]
        length = math.sqrt(dx * dx + dy * dy)
        if remaining <= length and length > 0.0:
            return path[i, 0] + dx * remaining / length, path[i, 1] + dy * remaining / length
        remaining -= length
    return path[count - 1, 0], path[count - 1, 1]


@numba.njit(cache=True)
def _distance(s: GameState, g: int, a: int, b: int) -> float:
    dx, dy = s.x[g, a] - s.x[g, b], s.y[g, a] - s.y[g, b]
    return math.sqrt(dx * dx + dy * dy)


@numba.njit(cache=True)
def _go_to(s: GameState, g: int, h: int, x: float, y: float) -> int:
    """The primary action that walks hero h towards (x, y): one of the 8 moves, or stop once there."""
    dx, dy = x - s.x[g, h], y - s.y[g, h]
    if dx * dx + dy * dy < 0.36:
        return ACTION_STOP if s.order[g, h] == ORDER_MOVE else ACTION_NOOP
    k = math.floor(math.atan2(dy, dx) / (math.pi / 4.0) + 0.5)
    return ACTION_MOVE_0 + (k + 8) % 8


@numba.njit(cache=True)
def _hit_damage(s: GameState, g: int, h: int, u: int) -> float:
    """The least damage one attack of hero h deals to unit u (lowest spread, after armor)."""
    return float(s.damage[g, h] * (1.0 - 0.5 * DAMAGE_SPREAD) / (1.0 + ARMOR_FACTOR * s.armor[g, u]))


@numba.njit(cache=True)
def _ability_ready(s: GameState, g: int, h: int, a: int) -> bool:
    arch = s.archetype[g, h]
    return bool(
        ABILITY_KIND[arch, a] != ABILITY_NONE
        and s.ability_cooldown[g, h, a] == 0
        and s.mana[g, h] >= ABILITY_MANA[arch, a]
    )


@numba.njit(cache=True)
def _amount(s: GameState, g: int, h: int, a: int) -> float:
    arch = s.archetype[g, h]
    return float(ABILITY_AMOUNT[arch, a] + ABILITY_AMOUNT_PER_LEVEL[arch, a] * (s.level[g, h] - 1))


@numba.njit(cache=True)
def _uniform(seed: int, s: GameState, g: int, h: int, salt: int) -> float:
    """The random bot's number in [0, 1), fixed by (bot seed, game seed, tick, hero, salt)."""
    return hash_uniform(seed * 1000003 + s.seed[g], s.tick[g], h * 64 + salt)


# --- the random bot --------------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _random_hero(
    s: GameState, g: int, h: int, seed: int, valid: NDArray[np.int64], out: NDArray[np.float64]
) -> tuple[int, int]:
    """A uniformly drawn valid (primary, target) of hero h; the ground point goes to `out`."""
    out[0], out[1] = s.x[g, h], s.y[g, h]
    if not (s.present[g, h] and s.alive[g, h]):
        return ACTION_NOOP, -1
    arch = s.archetype[g, h]
    n = 0
    for p in range(NUM_PRIMARY):
        ok = True
        if p == ACTION_ATTACK or ACTION_CAST_0 <= p < ACTION_CAST_0 + NUM_ABILITIES:
            ok = False
            if p == ACTION_ATTACK or orders.action_error(s, g, h, p, h, s.x[g, h], s.y[g, h]) == orders.OK:
                ok = True
                targeting = TARGET_ENEMY if p == ACTION_ATTACK else ABILITY_TARGETING[arch, p - ACTION_CAST_0]
                if targeting == TARGET_ENEMY or targeting == TARGET_ALLY:  # noqa: SIM109 (plain comparisons for numba)
                    ok = False
                    for u in range(MAX_UNITS):
                        if orders.action_error(s, g, h, p, u, 0.0, 0.0) == orders.OK:
                            ok = True
                            break
        if ok:
            valid[n] = p
            n += 1
    p = valid[min(int(_uniform(seed, s, g, h, 0) * n), n - 1)]
    t = -1
    if p == ACTION_ATTACK or ACTION_CAST_0 <= p < ACTION_CAST_0 + NUM_ABILITIES:
        targeting = TARGET_ENEMY if p == ACTION_ATTACK else ABILITY_TARGETING[arch, p - ACTION_CAST_0]
        if targeting == TARGET_ENEMY or targeting == TARGET_ALLY:  # noqa: SIM109 (plain comparisons for numba)
            m = 0
            for u in range(MAX_UNITS):
                if orders.action_error(s, g, h, p, u, 0.0, 0.0) == orders.OK:
                    m += 1
            pick = min(int(_uniform(seed, s, g, h, 1) * m), m - 1)
            for u in range(MAX_UNITS):
                if orders.action_error(s, g, h, p, u, 0.0, 0.0) == orders.OK:
                    if pick == 0:
                        t = u
                        break
                    pick -= 1
        elif targeting == TARGET_POINT:
            reach = ABILITY_RANGE[arch, p - ACTION_CAST_0]
            angle = 2.0 * math.pi * _uniform(seed, s, g, h, 2)
            radius = reach * math.sqrt(_uniform(seed, s, g, h, 3))
            out[0] = s.x[g, h] + radius * math.cos(angle)
            out[1] = s.y[g, h] + radius * math.sin(angle)
    return p, t


# --- the scripted bots -----------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _team_sees(s: GameState, g: int, team: int, x: float, y: float) -> bool:
    """Whether an alive unit of `team` has the point (x, y) in sight."""
    for u in range(MAX_UNITS):
        if s.alive[g, u] and s.team[g, u] == team:
            dx, dy = s.x[g, u] - x, s.y[g, u] - y
            if dx * dx + dy * dy <= s.sight[g, u] * s.sight[g, u]:
                return True
    return False


@numba.njit(cache=True)
def _enemy_structure_alive(s: GameState, g: int, team: int, j: int, dead: NDArray[np.bool_]) -> bool:
    """Update and return what `team` knows of enemy structure j (0..7): alive unless seen destroyed."""
    u = STRUCTURE_START + (1 - team) * STRUCTURES_PER_TEAM + j
    if not s.present[g, u]:
        dead[g, j] = True
    elif s.visible[g, team, u]:
        dead[g, j] = False
    elif not dead[g, j] and _team_sees(s, g, team, s.x[g, u], s.y[g, u]):
        dead[g, j] = True
    return not dead[g, j]


@numba.njit(cache=True)
def _decide(
    s: GameState,
    games: NDArray[np.int64],
    team: int,
    level: int,
    seed: int,
    paths: NDArray[np.float64],
    path_count: NDArray[np.int64],
    fountain: NDArray[np.float64],
    retreating: NDArray[np.bool_],
    enemy_dead: NDArray[np.bool_],
    last_tick: NDArray[np.int64],
    primary: NDArray[np.int64],
    target: NDArray[np.int64],
    point: NDArray[np.float64],
) -> None:
    """Fill primary/target/point [K, H(, 2)] with `team`'s actions in games `games` [K] (see the module docstring).

    Args:
        retreating: [G, H] the level's retreat memory of this team; enemy_dead: [G, 8] enemy structures seen
            destroyed; last_tick: [G] tick of the last decision (memory is forgotten when the tick goes back).
    """
    enemy = 1 - team
    first_hero = team * HEROES_PER_TEAM
    valid = np.empty(NUM_PRIMARY, dtype=np.int64)
    out = np.zeros(2)
    enemy_heroes = np.empty(HEROES_PER_TEAM, dtype=np.int64)
    enemy_creeps = np.empty(MAX_UNITS, dtype=np.int64)
    own_creeps = np.empty(MAX_UNITS, dtype=np.int64)
    alive_struct = np.zeros(STRUCTURES_PER_TEAM, dtype=np.bool_)
    covered = np.zeros(STRUCTURES_PER_TEAM, dtype=np.bool_)
    tanked = np.zeros(STRUCTURES_PER_TEAM, dtype=np.bool_)
    lane_on = np.zeros(NUM_LANES, dtype=np.bool_)
    front = np.zeros(NUM_LANES)
    next_struct = np.zeros(NUM_LANES, dtype=np.int64)
    struct_along = np.zeros(NUM_LANES)
    grouped = np.zeros(HEROES_PER_TEAM, dtype=np.bool_)
    for k in range(games.shape[0]):
        g = games[k]
        if s.tick[g] < last_tick[g]:
            for i in range(HEROES_PER_TEAM):
                retreating[g, i] = False
            for j in range(STRUCTURES_PER_TEAM):
                enemy_dead[g, j] = False
        last_tick[g] = s.tick[g]
        for i in range(HEROES_PER_TEAM):
            h = first_hero + i
            point[k, i, 0], point[k, i, 1] = s.x[g, h], s.y[g, h]
        if s.done[g]:
            continue
        if level == LEVEL_RANDOM:
            for i in range(HEROES_PER_TEAM):
                p, t = _random_hero(s, g, first_hero + i, seed, valid, out)
                primary[k, i], target[k, i] = p, t
                point[k, i, 0], point[k, i, 1] = out[0], out[1]
            continue
        # 1. What the team sees: enemy heroes and creeps, own creeps, enemy structures.
        ne = nc = no = 0
        for u in range(HEROES_PER_TEAM):
            v = enemy * HEROES_PER_TEAM + u
            if s.present[g, v] and s.alive[g, v] and s.visible[g, team, v]:
                enemy_heroes[ne] = v
                ne += 1
        for u in range(CREEP_START, MAX_UNITS):
            if s.present[g, u] and s.alive[g, u]:
                if s.team[g, u] == team:
                    own_creeps[no] = u
                    no += 1
                elif s.visible[g, team, u]:
                    enemy_creeps[nc] = u
                    nc += 1
        for j in range(STRUCTURES_PER_TEAM):
            alive_struct[j] = _enemy_structure_alive(s, g, team, j, enemy_dead)
            covered[j] = False
            tanked[j] = False
            u = STRUCTURE_START + enemy * STRUCTURES_PER_TEAM + j
            if alive_struct[j] and s.kind[g, u] != KIND_ANCIENT:
                tanks = 0
                reach = TOWER_RANGE - 0.5
                for c in range(no):
                    if _distance(s, g, u, own_creeps[c]) <= reach:
                        tanks += 1
                aimed = s.visible[g, team, u] and first_hero <= s.target[g, u] < first_hero + HEROES_PER_TEAM
                covered[j] = tanks >= 1 and not aimed
                tanked[j] = tanks >= 1
        # 2. Per lane: the front of the own creeps and the next enemy structure along the attack path.
        for lane in range(NUM_LANES):
            lane_on[lane] = s.present[g, STRUCTURE_START + team * STRUCTURES_PER_TEAM + lane * 2]
            path = paths[team, lane]
            count = path_count[team, lane]
            front[lane] = -1.0
            for c in range(no):
                u = own_creeps[c]
                if s.lane[g, u] == lane:
                    front[lane] = max(front[lane], _project(path, count, s.x[g, u], s.y[g, u]))
            order = (lane * 2, lane * 2 + 1, 6, 7)
            next_struct[lane] = 7
            for j in order:
                if alive_struct[j]:
                    next_struct[lane] = j
                    break
            u = STRUCTURE_START + enemy * STRUCTURES_PER_TEAM + next_struct[lane]
            struct_along[lane] = _project(path, count, s.x[g, u], s.y[g, u])
        # 3. Hard: who groups up, and on which lane (the one pushed deepest; mid on ties).
        group_lane = LANE_MID
        best = -1
        for lane in (LANE_MID, LANE_TOP, LANE_BOT):
            if lane_on[lane]:
                fallen = (not alive_struct[lane * 2]) + (not alive_struct[lane * 2 + 1])
                if fallen > best:
                    best = fallen
                    group_lane = lane
        for i in range(HEROES_PER_TEAM):
            lane = LANE_OF_SLOT[1, i] if lane_on[LANE_OF_SLOT[1, i]] else LANE_MID
            own_fell = not s.alive[g, STRUCTURE_START + team * STRUCTURES_PER_TEAM + lane * 2]
            grouped[i] = level == LEVEL_HARD and (
                not alive_struct[lane * 2] or own_fell or s.tick[g] >= GROUP_SECONDS * TICKS_PER_SECOND
            )
        # 4. Each hero.
        for i in range(HEROES_PER_TEAM):
            h = first_hero + i
            if not (s.present[g, h] and s.alive[g, h]):
                continue
            lane = LANE_OF_SLOT[0 if level == LEVEL_EASY else 1, i]
            if grouped[i]:
                lane = group_lane
            if not lane_on[lane]:
                lane = LANE_MID
            p, t, px, py = _scripted_hero(
                s, g, h, i, team, level, grouped[i], paths[team, lane], path_count[team, lane], fountain,
                front[lane], next_struct[lane], struct_along[lane], retreating, alive_struct, covered,
                tanked, enemy_heroes[:ne], enemy_creeps[:nc], own_creeps[:no],
            )  # fmt: skip
            if orders.action_error(s, g, h, p, t, px, py) != orders.OK:
                p, t, px, py = ACTION_NOOP, -1, s.x[g, h], s.y[g, h]
            primary[k, i], target[k, i] = p, t
            point[k, i, 0], point[k, i, 1] = px, py


@numba.njit(cache=True)
def _near_tower(s: GameState, g: int, team: int, x: float, y: float, alive: NDArray[np.bool_], margin: float) -> int:
    """The enemy tower (0..6 offset) whose range plus `margin` covers (x, y), or -1."""
    first = STRUCTURE_START + (1 - team) * STRUCTURES_PER_TEAM
    for j in range(STRUCTURES_PER_TEAM - 1):
        if alive[j]:
            dx, dy = s.x[g, first + j] - x, s.y[g, first + j] - y
            if dx * dx + dy * dy <= (TOWER_RANGE + margin) * (TOWER_RANGE + margin):
                return j
    return -1


@numba.njit(cache=True)
def _nearest(s: GameState, g: int, h: int, units: NDArray[np.int64], radius: float) -> int:
    """The unit of `units` nearest to hero h within `radius`, or -1."""
    best, best_d = -1, radius
    for v in units:
        d = _distance(s, g, h, v)
        if d <= best_d:
            best, best_d = v, d
    return best


@numba.njit(cache=True)
def _weakest(s: GameState, g: int, h: int, units: NDArray[np.int64], radius: float, killable: bool) -> int:
    """The unit of `units` with the fewest hit points within `radius` of hero h (with `killable`, only one that
    one attack of h kills; allied creeps only when they can be denied), or -1."""
    best, best_hp = -1, 1.0e18
    for v in units:
        if _distance(s, g, h, v) > radius or s.hp[g, v] >= best_hp:
            continue
        if killable and s.hp[g, v] > _hit_damage(s, g, h, v):
            continue
        if s.team[g, v] == s.team[g, h] and s.hp[g, v] >= DENY_FRACTION * s.max_hp[g, v]:
            continue
        best, best_hp = v, s.hp[g, v]
    return best


@numba.njit(cache=True)
def _weakest_outside(
    s: GameState,
    g: int,
    h: int,
    team: int,
    units: NDArray[np.int64],
    radius: float,
    alive: NDArray[np.bool_],
    covered: NDArray[np.bool_],
) -> int:
    """The unit of `units` with the fewest hit points within `radius` of hero h that stands outside the range of
    every enemy tower not covered by own creeps, or -1."""
    best, best_hp = -1, 1.0e18
    for v in units:
        if _distance(s, g, h, v) > radius or s.hp[g, v] >= best_hp:
            continue
        j = _near_tower(s, g, team, s.x[g, v], s.y[g, v], alive, 0.5)
        if j >= 0 and not covered[j]:
            continue
        best, best_hp = v, s.hp[g, v]
    return best


@numba.njit(cache=True)
def _scripted_hero(
    s: GameState,
    g: int,
    h: int,
    i: int,
    team: int,
    level: int,
    grouped: bool,
    path: NDArray[np.float64],
    count: int,
    fountain: NDArray[np.float64],
    front: float,
    next_j: int,
    struct_along: float,
    retreating: NDArray[np.bool_],
    alive_struct: NDArray[np.bool_],
    covered: NDArray[np.bool_],
    tanked: NDArray[np.bool_],
    enemy_heroes: NDArray[np.int64],
    enemy_creeps: NDArray[np.int64],
    own_creeps: NDArray[np.int64],
) -> tuple[int, int, float, float]:
    """The (primary, target, x, y) of alive hero h (team slot i) of an easy, medium or hard bot."""
    x, y = s.x[g, h], s.y[g, h]
    arch = s.archetype[g, h]
    reach = s.attack_range[g, h]
    frac = s.hp[g, h] / s.max_hp[g, h]
    along = _project(path, count, x, y)
    structure = STRUCTURE_START + (1 - team) * STRUCTURES_PER_TEAM + next_j
    # 1. Easy: wastes every ability the moment it is ready, hits the nearest enemy in range, follows its creeps.
    if level == LEVEL_EASY:
        for a in range(NUM_ABILITIES):
            if not _ability_ready(s, g, h, a):
                continue
            targeting = ABILITY_TARGETING[arch, a]
            if targeting == TARGET_ENEMY:
                v = _nearest(s, g, h, enemy_creeps, ABILITY_RANGE[arch, a])
                if v >= 0:
                    return ACTION_CAST_0 + a, v, x, y
            else:
                return ACTION_CAST_0 + a, h if targeting == TARGET_ALLY else -1, x, y
        v = _nearest(s, g, h, enemy_heroes, reach + 1.0)
        c = _nearest(s, g, h, enemy_creeps, reach + 1.0)
        if c >= 0 and (v < 0 or _distance(s, g, h, c) < _distance(s, g, h, v)):
            v = c
        near = alive_struct[next_j] and _distance(s, g, h, structure) <= reach + 1.0
        if v < 0 and near and orders.attack_error(s, g, h, structure) == orders.OK:
            v = structure
        if v >= 0:
            return ACTION_ATTACK, v, x, y
        hold = front if front >= 0.0 else along + 5.0
        tx, ty = _point_at(path, count, hold)
        return _go_to(s, g, h, tx, ty), -1, x, y
    # 2. Medium and hard: retreat when low, until healed enough.
    if retreating[g, i] and frac >= RETURN_ABOVE[level]:
        retreating[g, i] = False
    elif not retreating[g, i] and frac < RETREAT_BELOW[level]:
        retreating[g, i] = True
    threat = _nearest(s, g, h, enemy_heroes, 9.0)
    if retreating[g, i]:
        if level == LEVEL_HARD:
            for a in range(NUM_ABILITIES):
                if not _ability_ready(s, g, h, a):
                    continue
                kind = ABILITY_KIND[arch, a]
                if kind == ABILITY_HEAL:
                    return ACTION_CAST_0 + a, h, x, y
                if kind == ABILITY_SHIELD and threat >= 0:
                    return ACTION_CAST_0 + a, h if ABILITY_TARGETING[arch, a] == TARGET_ALLY else -1, x, y
                if kind == ABILITY_DASH and threat >= 0:
                    return ACTION_CAST_0 + a, -1, fountain[team, 0], fountain[team, 1]
                if kind == ABILITY_STUN and threat >= 0 and _distance(s, g, h, threat) <= ABILITY_RANGE[arch, a]:
                    return ACTION_CAST_0 + a, threat, x, y
        return ACTION_RETREAT, -1, x, y
    if level == LEVEL_MEDIUM:
        # 3. Medium: nuke or stun the nearest hero in range, last-hit, hit heroes in range, hit tanked towers.
        for a in range(NUM_ABILITIES):
            kind = ABILITY_KIND[arch, a]
            if (kind == ABILITY_NUKE or kind == ABILITY_STUN) and _ability_ready(s, g, h, a):  # noqa: SIM109
                v = _weakest(s, g, h, enemy_heroes, ABILITY_RANGE[arch, a] + 0.5, False)
                if v >= 0:
                    return ACTION_CAST_0 + a, v, x, y
        v = _weakest(s, g, h, enemy_heroes, reach + 0.5, False)
        if v >= 0 and _near_tower(s, g, team, s.x[g, v], s.y[g, v], alive_struct, 0.0) >= 0:
            v = -1
        if v < 0:
            v = _weakest(s, g, h, enemy_creeps, reach + 1.5, True)
        if v < 0:
            v = _weakest(s, g, h, own_creeps, reach + 1.5, True)
        near = alive_struct[next_j] and _distance(s, g, h, structure) <= reach + 1.0
        if v < 0 and near and (next_j == 7 or tanked[next_j]):
            v = structure if orders.attack_error(s, g, h, structure) == orders.OK else -1
        if v < 0:
            v = _weakest_outside(s, g, h, team, enemy_creeps, reach + 4.0, alive_struct, covered)
        if v >= 0:
            return ACTION_ATTACK, v, x, y
        hold = front - 1.5 if front >= 0.0 else min(along + 5.0, struct_along - TOWER_RANGE - 1.5)
        tx, ty = _point_at(path, count, hold)
        return _go_to(s, g, h, tx, ty), -1, x, y
    # 4. Hard: save allies, then focus the weakest hero near it (never under a tower unless it dies to it).
    for a in range(NUM_ABILITIES):
        if not _ability_ready(s, g, h, a):
            continue
        kind = ABILITY_KIND[arch, a]
        targeting = ABILITY_TARGETING[arch, a]
        if kind == ABILITY_HEAL or (kind == ABILITY_SHIELD and targeting == TARGET_ALLY):
            best, best_frac = -1, 0.6
            for v in range(team * HEROES_PER_TEAM, team * HEROES_PER_TEAM + HEROES_PER_TEAM):
                if not (s.present[g, v] and s.alive[g, v]) or _distance(s, g, h, v) > ABILITY_RANGE[arch, a] + 2.0:
                    continue
                missing = s.max_hp[g, v] - s.hp[g, v]
                ally_frac = s.hp[g, v] / s.max_hp[g, v]
                if kind == ABILITY_HEAL and missing < 0.6 * _amount(s, g, h, a):
                    continue
                if kind == ABILITY_SHIELD and _nearest(s, g, v, enemy_heroes, 8.0) < 0:
                    continue
                if ally_frac < best_frac:
                    best, best_frac = v, ally_frac
            if best >= 0:
                return ACTION_CAST_0 + a, best, x, y
        if kind == ABILITY_SHIELD and targeting == TARGET_NONE and frac < 0.75 and threat >= 0:
            return ACTION_CAST_0 + a, -1, x, y
    engage = reach + (5.0 if grouped else 3.0)
    focus, focus_hp = -1, 1.0e18
    for v in enemy_heroes:
        if _distance(s, g, h, v) > engage or s.hp[g, v] >= focus_hp:
            continue
        finishing = s.hp[g, v] <= 2.0 * _hit_damage(s, g, h, v) and frac > 0.5
        if _near_tower(s, g, team, s.x[g, v], s.y[g, v], alive_struct, 0.5) >= 0 and not finishing:
            continue
        focus, focus_hp = v, s.hp[g, v]
    if focus >= 0:
        distance = _distance(s, g, h, focus)
        for a in range(NUM_ABILITIES):
            if not _ability_ready(s, g, h, a):
                continue
            kind = ABILITY_KIND[arch, a]
            in_range = distance <= ABILITY_RANGE[arch, a] + 1.0
            if kind == ABILITY_STUN and in_range and s.stun_ticks[g, focus] == 0:
                return ACTION_CAST_0 + a, focus, x, y
            if kind == ABILITY_NUKE and in_range:
                return ACTION_CAST_0 + a, focus, x, y
            if kind == ABILITY_AREA and in_range:
                return ACTION_CAST_0 + a, -1, s.x[g, focus], s.y[g, focus]
            chase = reach + 0.5 < distance <= ABILITY_RANGE[arch, a] + reach
            if kind == ABILITY_DASH and chase and focus_hp < 0.35 * s.max_hp[g, focus]:
                return ACTION_CAST_0 + a, -1, s.x[g, focus], s.y[g, focus]
        return ACTION_ATTACK, focus, x, y
    # 5. Hard, no hero to fight: area abilities on creep packs when mana allows, last hits, towers, creeps.
    for a in range(NUM_ABILITIES):
        if ABILITY_KIND[arch, a] != ABILITY_AREA or not _ability_ready(s, g, h, a):
            continue
        if s.mana[g, h] < 0.6 * s.max_mana[g, h]:
            continue
        radius = ABILITY_RADIUS[arch, a]
        for c in enemy_creeps:
            if _distance(s, g, h, c) > ABILITY_RANGE[arch, a]:
                continue
            hits = 0
            for d in enemy_creeps:
                if _distance(s, g, c, d) <= radius * 0.8:
                    hits += 1
            if hits >= 3:
                return ACTION_CAST_0 + a, -1, s.x[g, c], s.y[g, c]
    v = _weakest(s, g, h, enemy_creeps, reach + 1.5, True)
    if v < 0:
        v = _weakest(s, g, h, own_creeps, reach + 1.5, True)
    near = alive_struct[next_j] and _distance(s, g, h, structure) <= reach + 1.0
    if v < 0 and near and (next_j == 7 or covered[next_j]):
        v = structure if orders.attack_error(s, g, h, structure) == orders.OK else -1
    if v < 0:
        v = _weakest_outside(s, g, h, team, enemy_creeps, reach + 4.0, alive_struct, covered)
    if v >= 0:
        return ACTION_ATTACK, v, x, y
    hold = front - 1.5 if front >= 0.0 else along + 5.0
    if next_j != 7 and not covered[next_j]:
        hold = min(hold, struct_along - TOWER_RANGE - 1.5)
    tx, ty = _point_at(path, count, hold)
    return _go_to(s, g, h, tx, ty), -1, x, y
