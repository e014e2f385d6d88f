"""The fixed numbers of Five's game: time, teams, unit slots, kinds, actions, orders, abilities, events.

Everything here is a plain `int`/`float` or a small NumPy table, so the rules in `rules.py` read them the same way
interpreted and compiled (numba freezes module-level globals into the compiled code). Balance numbers (hit points,
damage, bounties, items) live in `stats.py`; the map's geometry in `maps.py`.

Unit slots per game (`MAX_UNITS` in all), team-major: heroes `0..9` (blue `0..4`, red `5..9`), structures
`10..25` (per team 8: tier 1 and tier 2 towers of the top, mid and bottom lanes, the base tower, the ancient; see
`tower_slot`), then `MAX_CREEPS` creep slots, a pool reused as creeps die and spawn.
"""

from __future__ import annotations

import numpy as np

# --- time -------------------------------------------------------------------------------------------------------
TICKS_PER_SECOND = 30
"""Simulation ticks per game-second."""
TICKS_PER_DECISION = 4
"""Ticks per `core.step` (one decision of every hero: 7.5 decisions per game-second, as OpenAI Five)."""

# --- teams and slots --------------------------------------------------------------------------------------------
BLUE = 0
RED = 1
NUM_TEAMS = 2
HEROES_PER_TEAM = 5
"""Hero slots per team (a game with fewer heroes leaves the rest absent)."""
HERO_SLOTS = 10
NUM_LANES = 3
LANE_TOP, LANE_MID, LANE_BOT = 0, 1, 2
LANE_NAMES = ("top", "mid", "bot")
STRUCTURE_START = HERO_SLOTS
STRUCTURES_PER_TEAM = 8
NUM_STRUCTURES = NUM_TEAMS * STRUCTURES_PER_TEAM
BASE_TOWER_OFFSET = 6
"""Index of the base tower inside a team's 8 structure slots (the ancient is 7)."""
ANCIENT_OFFSET = 7
CREEP_START = STRUCTURE_START + NUM_STRUCTURES
MAX_CREEPS = 96
"""Size of the creep pool per game; a wave spawns only into free slots (the rest of it is skipped)."""
MAX_UNITS = CREEP_START + MAX_CREEPS

# --- unit kinds and archetypes ----------------------------------------------------------------------------------
KIND_HERO = 0
KIND_CREEP = 1
KIND_TOWER = 2
KIND_ANCIENT = 3
NUM_KINDS = 4
KIND_NAMES = ("hero", "creep", "tower", "ancient")
CARRY = 0
TANK = 1
SUPPORT = 2
MAGE = 3
NUM_ARCHETYPES = 4
ARCHETYPE_NAMES = ("carry", "tank", "support", "mage")
CREEP_MELEE = 0
CREEP_RANGED = 1
"""`subtype` of a creep; for a tower `subtype` is its tier (1, 2, or 3 for the base tower), for a hero its archetype."""
MAX_LEVEL = 12

# --- actions ----------------------------------------------------------------------------------------------------
ACTION_NOOP = 0
"""No new order: the hero keeps doing what it was doing (moving, attacking, walking to cast)."""
ACTION_MOVE_0 = 1
"""Move in compass direction i = primary - ACTION_MOVE_0 (0 = +x, then counter-clockwise in 45 degree steps)."""
ACTION_MOVE_7 = 8
NUM_DIRECTIONS = 8
ACTION_STOP = 9
ACTION_ATTACK = 10
ACTION_CAST_0 = 11
ACTION_CAST_1 = 12
ACTION_CAST_2 = 13
ACTION_RETREAT = 14
NUM_PRIMARY = 15
ACTION_NAMES = (
    "noop",
    "move_0",
    "move_1",
    "move_2",
    "move_3",
    "move_4",
    "move_5",
    "move_6",
    "move_7",
    "stop",
    "attack",
    "cast_0",
    "cast_1",
    "cast_2",
    "retreat",
)
_DIAGONAL = 0.7071067811865476
MOVE_DIRECTIONS = np.array(
    [
        [1.0, 0.0],
        [_DIAGONAL, _DIAGONAL],
        [0.0, 1.0],
        [-_DIAGONAL, _DIAGONAL],
        [-1.0, 0.0],
        [-_DIAGONAL, -_DIAGONAL],
        [0.0, -1.0],
        [_DIAGONAL, -_DIAGONAL],
    ]
)
"""Unit vectors of the 8 move directions, [8, 2] (x, y); written out so no trigonometry enters the rules."""

# --- hero orders (what a hero keeps doing between decisions) ----------------------------------------------------
ORDER_IDLE = 0
ORDER_MOVE = 1
ORDER_ATTACK = 2
ORDER_CAST = 3
ORDER_RETREAT = 4

# --- abilities --------------------------------------------------------------------------------------------------
NUM_ABILITIES = 3
"""Ability slots per hero; slots an archetype lacks hold `ABILITY_NONE`."""
ABILITY_NONE = 0
ABILITY_NUKE = 1
"""Damage one enemy hero or creep."""
ABILITY_STUN = 2
"""Damage and stun one enemy hero or creep."""
ABILITY_AREA = 3
"""Damage every enemy hero and creep within a radius of a ground point."""
ABILITY_HEAL = 4
"""Restore hit points of an allied hero (self included)."""
ABILITY_SHIELD = 5
"""Give an allied hero (or self) a shield that absorbs damage for a while."""
ABILITY_DASH = 6
"""Jump towards a ground point, at most the ability's range."""
ABILITY_NAMES = ("none", "nuke", "stun", "area", "heal", "shield", "dash")
TARGET_NONE = 0
"""The ability needs no target (cast on self at once); also the kind of an absent ability."""
TARGET_ENEMY = 1
"""The ability needs an enemy hero or creep (`target` of `core.step`)."""
TARGET_ALLY = 2
"""The ability needs an allied hero, self included (`target` of `core.step`)."""
TARGET_POINT = 3
"""The ability needs a ground point (`point` of `core.step`)."""

# --- per-decision events (state.events[G, 10, NUM_EVENTS]) ------------------------------------------------------
EVENT_WIN = 0
"""1 for every hero of the team that won in this step."""
EVENT_HERO_DEATH = 1
"""1 when this hero died."""
EVENT_HERO_KILL = 2
"""1 per enemy hero this hero dealt the killing blow to."""
EVENT_GOLD = 3
"""Gold this hero gained (passive, last hits, kills, structures)."""
EVENT_XP = 4
"""Experience this hero gained."""
EVENT_LAST_HIT = 5
"""Enemy creeps this hero dealt the killing blow to."""
EVENT_DENY = 6
"""Allied creeps this hero denied."""
EVENT_TOWER_DAMAGE = 7
"""Team-shared: enemy tower hit points lost, as fractions of their maximum (1.0 = one whole tower)."""
EVENT_TOWER_KILL = 8
"""Team-shared: enemy towers destroyed."""
EVENT_ANCIENT_DAMAGE = 9
"""Team-shared: enemy ancient hit points lost, as a fraction of its maximum."""
EVENT_ANCIENT_KILL = 10
"""Team-shared: 1 when the enemy ancient fell."""
NUM_EVENTS = 11
EVENT_NAMES = (
    "win",
    "hero_death",
    "hero_kill",
    "gold",
    "xp",
    "last_hit",
    "deny",
    "tower_damage",
    "tower_kill",
    "ancient_damage",
    "ancient_kill",
)

# --- outcomes ---------------------------------------------------------------------------------------------------
WINNER_NONE = -1
WINNER_DRAW = 2
"""`winner` values besides `BLUE`/`RED`: still playing, and a draw at the time cap."""


def tower_slot(team: int, lane: int, tier: int) -> int:
    """The unit slot of a team's tier-1 or tier-2 tower on a lane."""
    return STRUCTURE_START + team * STRUCTURES_PER_TEAM + lane * 2 + (tier - 1)


def base_tower_slot(team: int) -> int:
    """The unit slot of a team's base tower."""
    return STRUCTURE_START + team * STRUCTURES_PER_TEAM + BASE_TOWER_OFFSET


def ancient_slot(team: int) -> int:
    """The unit slot of a team's ancient."""
    return STRUCTURE_START + team * STRUCTURES_PER_TEAM + ANCIENT_OFFSET


def hero_slot(team: int, index: int) -> int:
    """The unit slot of a team's hero `index` (0..4)."""
    return team * HEROES_PER_TEAM + index
