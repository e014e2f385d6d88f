"""Five's balance tables: hero archetypes, abilities, items, levels, creeps, structures, bounties.

Units of measure: distances in map units (the map is `maps.MAP_SIZE` units a side), times in ticks (30 a
game-second) unless a name says seconds, rates per game-second. Tables are NumPy arrays indexed by archetype (and
ability or item slot) so the rules index them the same way interpreted and compiled. The numbers are a small
hand-tuned Dota-like balance: a carry hits hardest late, a tank survives towers longest, a support heals and stuns,
a mage bursts with spells; towers kill a lone hero in a few seconds; creeps alone never take a tower quickly.
"""

from __future__ import annotations

import numpy as np

from fourfold.five.game.constants import (
    ABILITY_AREA,
    ABILITY_DASH,
    ABILITY_HEAL,
    ABILITY_NONE,
    ABILITY_NUKE,
    ABILITY_SHIELD,
    ABILITY_STUN,
    TARGET_ALLY,
    TARGET_ENEMY,
    TARGET_NONE,
    TARGET_POINT,
    TICKS_PER_SECOND,
)

# --- heroes: one row per archetype (carry, tank, support, mage) -------------------------------------------------
HERO_HP = np.array([480.0, 650.0, 450.0, 420.0])
HERO_HP_PER_LEVEL = np.array([45.0, 70.0, 40.0, 38.0])
HERO_MANA = np.array([200.0, 180.0, 300.0, 340.0])
HERO_MANA_PER_LEVEL = np.array([20.0, 15.0, 30.0, 35.0])
HERO_DAMAGE = np.array([38.0, 30.0, 24.0, 26.0])
HERO_DAMAGE_PER_LEVEL = np.array([4.5, 2.5, 2.0, 2.0])
HERO_ARMOR = np.array([2.0, 4.0, 1.0, 1.0])
HERO_ARMOR_PER_LEVEL = np.array([0.3, 0.4, 0.2, 0.2])
HERO_HP_REGEN = np.array([1.0, 2.0, 0.8, 0.8])
"""Hit points regenerated per game-second."""
HERO_MANA_REGEN = np.array([0.8, 0.7, 1.5, 1.6])
"""Mana regenerated per game-second."""
HERO_RANGE = np.array([5.0, 1.6, 5.5, 6.0])
HERO_ATTACK_PERIOD = np.array([36, 45, 48, 48])
"""Ticks between two attacks."""
HERO_SPEED = np.array([3.3, 3.1, 3.2, 3.1])
"""Map units per game-second."""
HERO_SIGHT = 12.0

# --- abilities: [archetype, slot] -------------------------------------------------------------------------------
ABILITY_KIND = np.array(
    [
        [ABILITY_DASH, ABILITY_NUKE, ABILITY_NONE],  # carry
        [ABILITY_STUN, ABILITY_AREA, ABILITY_SHIELD],  # tank
        [ABILITY_HEAL, ABILITY_STUN, ABILITY_SHIELD],  # support
        [ABILITY_NUKE, ABILITY_AREA, ABILITY_STUN],  # mage
    ]
)
ABILITY_TARGETING = np.array(
    [
        [TARGET_POINT, TARGET_ENEMY, TARGET_NONE],
        [TARGET_ENEMY, TARGET_POINT, TARGET_NONE],
        [TARGET_ALLY, TARGET_ENEMY, TARGET_ALLY],
        [TARGET_ENEMY, TARGET_POINT, TARGET_ENEMY],
    ]
)
"""How each ability is aimed (`TARGET_NONE` for self-cast and for absent slots)."""
ABILITY_MANA = np.array([[60.0, 80.0, 0.0], [90.0, 80.0, 70.0], [90.0, 100.0, 80.0], [100.0, 130.0, 110.0]])
ABILITY_COOLDOWN = np.array([[300, 240, 0], [420, 270, 480], [300, 480, 420], [210, 360, 540]])
"""Ticks before the ability can be cast again."""
ABILITY_RANGE = np.array([[8.0, 6.0, 0.0], [3.0, 4.0, 0.0], [7.0, 7.0, 7.0], [8.0, 9.0, 7.0]])
"""Cast range (a dash's longest jump); a hero ordered to cast from farther walks until in range."""
ABILITY_AMOUNT = np.array([[0.0, 90.0, 0.0], [50.0, 70.0, 150.0], [140.0, 40.0, 110.0], [120.0, 100.0, 30.0]])
"""Damage (nuke, stun, area), hit points restored (heal) or absorbed (shield) at level 1."""
ABILITY_AMOUNT_PER_LEVEL = np.array([[0.0, 15.0, 0.0], [8.0, 10.0, 25.0], [20.0, 6.0, 18.0], [20.0, 16.0, 5.0]])
ABILITY_RADIUS = np.array([[0.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 0.0], [0.0, 4.5, 0.0]])
"""Radius of an area ability."""
ABILITY_DURATION = np.array([[0, 0, 0], [45, 0, 150], [0, 54, 150], [0, 0, 36]])
"""Ticks a stun or a shield lasts."""

# --- items: [archetype, item], bought in order by script ---------------------------------------------------------
ITEM_DAMAGE = 0
ITEM_HP = 1
ITEM_MANA_REGEN = 2
ITEM_ARMOR = 3
ITEM_SPEED = 4
ITEM_NAMES = ("damage", "hp", "mana_regen", "armor", "speed")
NUM_ITEMS = 4
ITEM_KIND = np.array(
    [
        [ITEM_DAMAGE, ITEM_HP, ITEM_DAMAGE, ITEM_ARMOR],
        [ITEM_HP, ITEM_ARMOR, ITEM_HP, ITEM_DAMAGE],
        [ITEM_MANA_REGEN, ITEM_HP, ITEM_SPEED, ITEM_ARMOR],
        [ITEM_MANA_REGEN, ITEM_HP, ITEM_MANA_REGEN, ITEM_HP],
    ]
)
ITEM_AMOUNT = np.array(
    [[15.0, 150.0, 25.0, 4.0], [200.0, 4.0, 300.0, 15.0], [1.5, 150.0, 0.5, 3.0], [1.5, 150.0, 2.0, 250.0]]
)
ITEM_COST = np.array(
    [
        [400.0, 500.0, 900.0, 1100.0],
        [450.0, 600.0, 900.0, 1000.0],
        [300.0, 500.0, 600.0, 900.0],
        [350.0, 500.0, 800.0, 1000.0],
    ]
)
STARTING_GOLD = 200.0

# --- levels, experience, gold -----------------------------------------------------------------------------------
XP_FOR_LEVEL = np.array([0.0, 200.0, 500.0, 900.0, 1400.0, 2000.0, 2700.0, 3500.0, 4400.0, 5400.0, 6500.0, 7700.0])
"""Total experience needed to reach level i + 1."""
XP_RADIUS = 13.0
"""Enemy heroes this close to a dying unit share its experience."""
XP_CREEP = np.array([45.0, 60.0])
"""Experience of a melee and a ranged creep."""
XP_HERO_BASE = 100.0
XP_HERO_PER_LEVEL = 20.0
GOLD_CREEP = np.array([38.0, 48.0])
"""Gold of a last hit on a melee and a ranged creep."""
GOLD_HERO_BASE = 120.0
GOLD_HERO_PER_LEVEL = 8.0
GOLD_TOWER = np.array([0.0, 120.0, 160.0, 200.0])
"""Gold every hero of a team gets when it destroys a tower of tier 1, 2 or 3 (index by tier)."""
GOLD_PER_SECOND = 1.5
GOLD_PER_TICK = GOLD_PER_SECOND / TICKS_PER_SECOND
DENY_FRACTION = 0.5
"""An allied creep can be attacked (denied) when its hit points are below this fraction of its maximum."""
RESPAWN_BASE_TICKS = 4 * TICKS_PER_SECOND
RESPAWN_PER_LEVEL_TICKS = 2 * TICKS_PER_SECOND
"""A hero of level L that dies respawns at its fountain after RESPAWN_BASE_TICKS + L * RESPAWN_PER_LEVEL_TICKS."""
AGGRO_TICKS = 2 * TICKS_PER_SECOND
"""How long a hero that damaged an enemy hero draws the fire of towers near its victim."""
ARMOR_FACTOR = 0.06
"""Attack damage is divided by (1 + ARMOR_FACTOR * armor); ability damage ignores armor."""
DAMAGE_SPREAD = 0.2
"""An attack deals its damage times a uniform factor in [1 - spread/2, 1 + spread/2) from the rules' hash."""

# --- creeps: [melee, ranged] ------------------------------------------------------------------------------------
CREEP_HP = np.array([300.0, 220.0])
CREEP_DAMAGE = np.array([18.0, 22.0])
CREEP_ARMOR = np.array([2.0, 0.0])
CREEP_RANGE = np.array([1.5, 5.0])
CREEP_ATTACK_PERIOD = 30
CREEP_SPEED = 2.8
CREEP_SIGHT = 8.0
CREEP_AGGRO = 7.0
"""Creeps pick the nearest enemy within this distance (heroes count CREEP_HERO_PENALTY farther)."""
CREEP_HERO_PENALTY = 3.0
CREEP_LEASH = 12.0
"""A creep drops a target that got farther than this."""
WAVE_TICKS = 30 * TICKS_PER_SECOND
"""A wave spawns at every tick that is a multiple of this (tick 0 included)."""
WAVE_MELEE = 3
WAVE_RANGED = 1

# --- structures: index by tier (1, 2, 3 = base tower) or the ancient ---------------------------------------------
TOWER_HP = np.array([0.0, 1600.0, 1800.0, 2000.0])
TOWER_DAMAGE = 100.0
TOWER_ARMOR = 8.0
TOWER_RANGE = 7.5
TOWER_ATTACK_PERIOD = 30
TOWER_SIGHT = 10.0
ANCIENT_HP = 3000.0
ANCIENT_ARMOR = 10.0
ANCIENT_SIGHT = 10.0

# --- fountain ---------------------------------------------------------------------------------------------------
FOUNTAIN_RADIUS = 8.0
FOUNTAIN_HEAL_FRACTION = 0.04
"""Fraction of maximum hit points and mana a hero at its own fountain regains per game-second."""
FOUNTAIN_DAMAGE = 150.0
"""Damage per game-second an enemy hero takes inside a fountain (no kill credit)."""
