"""Unit tests of Five's rules: damage, death and respawn, last hits and denies, tower aggro, creep waves, abilities,
fog of war, game end, levels and items. Each test builds a small position by hand in game 0 of a batch and steps
it with the compiled core (the reference agrees, see test_core_equivalence.py).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fourfold.core.config import ConfigError
from fourfold.five.game import core
from fourfold.five.game.combat import hash_uniform
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import (
    ACTION_ATTACK,
    ACTION_CAST_0,
    ACTION_CAST_1,
    ACTION_MOVE_0,
    ACTION_NOOP,
    BLUE,
    CARRY,
    CREEP_MELEE,
    CREEP_START,
    EVENT_ANCIENT_KILL,
    EVENT_DENY,
    EVENT_GOLD,
    EVENT_HERO_DEATH,
    EVENT_HERO_KILL,
    EVENT_LAST_HIT,
    EVENT_TOWER_DAMAGE,
    EVENT_WIN,
    HERO_SLOTS,
    KIND_CREEP,
    MAGE,
    RED,
    TICKS_PER_DECISION,
    WINNER_DRAW,
    ancient_slot,
    base_tower_slot,
    tower_slot,
)
from fourfold.five.game.errors import InvalidActionError
from fourfold.five.game.fog import can_see, update_visibility
from fourfold.five.game.maps import layout
from fourfold.five.game.spawn import spawn_creep
from fourfold.five.game.state import GameState, new_state
from fourfold.five.game.stats import (
    ABILITY_AMOUNT,
    ABILITY_COOLDOWN,
    ABILITY_MANA,
    ARMOR_FACTOR,
    DAMAGE_SPREAD,
    GOLD_CREEP,
    GOLD_HERO_BASE,
    GOLD_HERO_PER_LEVEL,
    GOLD_PER_TICK,
    ITEM_COST,
    RESPAWN_BASE_TICKS,
    RESPAWN_PER_LEVEL_TICKS,
    TOWER_DAMAGE,
    WAVE_MELEE,
    WAVE_RANGED,
    WAVE_TICKS,
    XP_CREEP,
    XP_FOR_LEVEL,
)

# Two mages face each other far from every structure, in the middle of the top-right quarter.
CONFIG = GameConfig(heroes_per_team=1, lineup_blue=(MAGE,), lineup_red=(MAGE,))
BLUE_HERO, RED_HERO = 0, 5


def _position(config: GameConfig = CONFIG, tick: int = 4) -> GameState:
    """Game 0 at `tick` (past the first wave's spawn), heroes moved to the empty top-left corner of the map."""
    state = new_state(1, config)
    state.tick[0] = tick
    state.x[0, BLUE_HERO], state.y[0, BLUE_HERO] = 40.0, 70.0
    state.x[0, RED_HERO], state.y[0, RED_HERO] = 44.0, 70.0
    _refresh(state)
    return state


def _refresh(state: GameState) -> None:
    """Recompute sight after moving units by hand (a step does it at its end)."""
    update_visibility(state, 0)


def _step(
    state: GameState,
    config: GameConfig = CONFIG,
    actions: dict[int, tuple[int, int]] | None = None,
    point: tuple[float, float] = (0.0, 0.0),
) -> None:
    """One step of the batch with {hero: (primary, target)} (others noop)."""
    primary = np.full((1, HERO_SLOTS), ACTION_NOOP, dtype=np.int64)
    target = np.full((1, HERO_SLOTS), -1, dtype=np.int64)
    for hero, (p, t) in (actions or {}).items():
        primary[0, hero], target[0, hero] = p, t
    points = np.zeros((1, HERO_SLOTS, 2))
    points[0, :] = point
    core.step(state, config, primary, target, points)


def _creep(state: GameState, slot: int, team: int, x: float, y: float, hp: float | None = None) -> None:
    spawn_creep(state, 0, slot, team, CREEP_MELEE, 0, 1, x, y)
    if hp is not None:
        state.hp[0, slot] = hp
    _refresh(state)


def test_an_attack_deals_damage_reduced_by_armor_with_the_hash_spread() -> None:
    state = _position()
    hp, armor, damage = state.hp[0, RED_HERO], state.armor[0, RED_HERO], state.damage[0, BLUE_HERO]
    tick, seed = int(state.tick[0]), int(state.seed[0])
    _step(state, actions={BLUE_HERO: (ACTION_ATTACK, RED_HERO)})
    spread = 1.0 - 0.5 * DAMAGE_SPREAD + DAMAGE_SPREAD * hash_uniform(seed, tick, BLUE_HERO)
    regen = 0.0  # the first tick's regeneration happens before the hit, and hit points were full
    expected = hp - damage * spread / (1.0 + ARMOR_FACTOR * armor) + regen
    # after the hit, three more ticks of regeneration
    expected += 3 * state.hp_regen[0, RED_HERO] / 30.0
    assert abs(state.hp[0, RED_HERO] - expected) < 1e-9
    assert state.attack_timer[0, BLUE_HERO] == state.attack_period[0, BLUE_HERO] - 3


def test_a_hero_dies_gives_bounties_and_respawns_at_its_fountain_after_its_timer() -> None:
    state = _position()
    state.hp[0, RED_HERO] = 1.0
    state.level[0, RED_HERO] = 3
    gold = state.gold[0, BLUE_HERO]
    _step(state, actions={BLUE_HERO: (ACTION_ATTACK, RED_HERO)})
    assert not state.alive[0, RED_HERO] and state.present[0, RED_HERO]
    assert state.deaths[0, RED_HERO] == 1 and state.kills[0, BLUE_HERO] == 1
    assert state.events[0, RED_HERO, EVENT_HERO_DEATH] == 1.0
    assert state.events[0, BLUE_HERO, EVENT_HERO_KILL] == 1.0
    bounty = GOLD_HERO_BASE + GOLD_HERO_PER_LEVEL * 3
    assert abs(state.gold[0, BLUE_HERO] - (gold + bounty + 4 * GOLD_PER_TICK)) < 1e-9
    respawn = RESPAWN_BASE_TICKS + 3 * RESPAWN_PER_LEVEL_TICKS
    assert state.respawn_ticks[0, RED_HERO] == respawn - 3  # died on the first tick, three ticks counted since
    assert not can_see(state, 0, BLUE, RED_HERO)  # a dead enemy is not on the map
    assert state.order[0, BLUE_HERO] == 0  # the attack order ended with its target
    steps = 0
    while not state.alive[0, RED_HERO]:
        _step(state)
        steps += 1
    assert steps == (respawn - 3 + TICKS_PER_DECISION - 1) // TICKS_PER_DECISION
    fountain = layout("three_lane").fountain[RED]
    assert (state.x[0, RED_HERO], state.y[0, RED_HERO]) == (fountain[0], fountain[1])
    assert state.hp[0, RED_HERO] == state.max_hp[0, RED_HERO]


def test_a_last_hit_pays_the_creep_bounty_and_a_deny_pays_nothing() -> None:
    state = _position()
    _creep(state, CREEP_START, RED, 43.0, 70.0, hp=1.0)
    gold = state.gold[0, BLUE_HERO]
    _step(state, actions={BLUE_HERO: (ACTION_ATTACK, CREEP_START)})
    assert not state.present[0, CREEP_START]  # a dead creep frees its slot
    assert state.last_hits[0, BLUE_HERO] == 1 and state.events[0, BLUE_HERO, EVENT_LAST_HIT] == 1.0
    assert abs(state.gold[0, BLUE_HERO] - (gold + GOLD_CREEP[0] + 4 * GOLD_PER_TICK)) < 1e-9
    assert abs(state.events[0, BLUE_HERO, EVENT_GOLD] - (GOLD_CREEP[0] + 4 * GOLD_PER_TICK)) < 1e-9
    assert abs(state.xp[0, BLUE_HERO] - XP_CREEP[0]) < 1e-9  # the only enemy hero near it

    state = _position()
    _creep(state, CREEP_START, BLUE, 41.0, 70.0, hp=1.0)
    gold, xp = state.gold[0, BLUE_HERO], state.xp[0, RED_HERO]
    _step(state, actions={BLUE_HERO: (ACTION_ATTACK, CREEP_START)})
    assert state.denies[0, BLUE_HERO] == 1 and state.events[0, BLUE_HERO, EVENT_DENY] == 1.0
    assert state.last_hits[0, BLUE_HERO] == 0
    assert abs(state.gold[0, BLUE_HERO] - (gold + 4 * GOLD_PER_TICK)) < 1e-9
    assert state.xp[0, RED_HERO] == xp  # a denied creep gives the enemy no experience


def test_allied_creeps_above_half_health_cannot_be_denied() -> None:
    state = _position()
    _creep(state, CREEP_START, BLUE, 41.0, 70.0)
    with pytest.raises(InvalidActionError, match="deny threshold"):
        _step(state, actions={BLUE_HERO: (ACTION_ATTACK, CREEP_START)})


def test_towers_prefer_creeps_but_turn_on_a_hero_that_hits_an_allied_hero_in_range() -> None:
    config = GameConfig(heroes_per_team=1, lineup_blue=(CARRY,), lineup_red=(MAGE,))
    state = _position(config)
    tower = tower_slot(RED, 1, 1)  # red's tier-1 mid tower
    tx, ty = state.x[0, tower], state.y[0, tower]
    state.x[0, RED_HERO], state.y[0, RED_HERO] = tx - 3.0, ty
    state.x[0, BLUE_HERO], state.y[0, BLUE_HERO] = tx - 6.0, ty
    state.hp[0, BLUE_HERO] = 10_000.0
    state.max_hp[0, BLUE_HERO] = 10_000.0
    _creep(state, CREEP_START, BLUE, tx - 2.0, ty - 1.0)
    _step(state, config)
    assert state.target[0, tower] == CREEP_START  # creeps first
    creep_hp = state.hp[0, CREEP_START]
    assert creep_hp < state.max_hp[0, CREEP_START] - TOWER_DAMAGE / 2
    _step(state, config, actions={BLUE_HERO: (ACTION_ATTACK, RED_HERO)})  # the carry hits the red mage
    _step(state, config)
    assert state.target[0, tower] == BLUE_HERO  # tower aggro
    hp = state.hp[0, BLUE_HERO]
    for _ in range(10):
        _step(state, config)
    assert state.hp[0, BLUE_HERO] < hp - TOWER_DAMAGE / 2


def test_creep_waves_spawn_every_30_seconds_on_every_lane() -> None:
    for config, lanes in ((GameConfig(), 3), (GameConfig(map="one_lane"), 1)):
        state = new_state(1, config)
        wave = 2 * lanes * (WAVE_MELEE + WAVE_RANGED)
        _step(state, config)  # tick 0 spawns the first wave
        creeps = state.present[0] & (state.kind[0] == KIND_CREEP)
        assert creeps.sum() == wave
        state.tick[0] = WAVE_TICKS - TICKS_PER_DECISION
        _step(state, config)  # ticks 896..899: no wave yet
        assert (state.present[0] & (state.kind[0] == KIND_CREEP)).sum() == wave
        _step(state, config)  # tick 900
        assert (state.present[0] & (state.kind[0] == KIND_CREEP)).sum() == 2 * wave


def test_abilities_cost_mana_and_wait_for_their_cooldown() -> None:
    state = _position()
    mana = state.mana[0, BLUE_HERO]
    hp = state.hp[0, RED_HERO]
    _step(state, actions={BLUE_HERO: (ACTION_CAST_0, RED_HERO)})  # the mage's nuke, in range
    cost, cooldown, amount = ABILITY_MANA[MAGE, 0], ABILITY_COOLDOWN[MAGE, 0], ABILITY_AMOUNT[MAGE, 0]
    assert state.mana[0, BLUE_HERO] < mana - cost + 1.0
    assert state.hp[0, RED_HERO] < hp - amount + 1.0  # ability damage ignores armor
    assert state.ability_cooldown[0, BLUE_HERO, 0] == cooldown - 3
    with pytest.raises(InvalidActionError, match=r"game 0, hero 0 .*cooldown"):
        _step(state, actions={BLUE_HERO: (ACTION_CAST_0, RED_HERO)})
    for _ in range((cooldown - 3 + TICKS_PER_DECISION - 1) // TICKS_PER_DECISION):
        _step(state)
    assert state.ability_cooldown[0, BLUE_HERO, 0] == 0
    state.mana[0, BLUE_HERO] = cost - 1.0
    with pytest.raises(InvalidActionError, match="mana"):
        _step(state, actions={BLUE_HERO: (ACTION_CAST_0, RED_HERO)})


def test_a_ground_area_ability_hits_every_enemy_in_its_radius_and_only_them() -> None:
    state = _position()
    _creep(state, CREEP_START, RED, 44.0, 71.0)
    _creep(state, CREEP_START + 1, RED, 44.0, 80.0)  # outside the radius
    _creep(state, CREEP_START + 2, BLUE, 44.0, 69.0)  # an ally inside it
    _step(state, actions={BLUE_HERO: (ACTION_CAST_1, -1)}, point=(44.0, 70.0))
    assert state.hp[0, CREEP_START] < state.max_hp[0, CREEP_START]
    assert state.hp[0, RED_HERO] < state.max_hp[0, RED_HERO]
    assert state.hp[0, CREEP_START + 1] == state.max_hp[0, CREEP_START + 1]
    assert state.hp[0, CREEP_START + 2] > state.max_hp[0, CREEP_START + 2] - 50.0  # at most a creep's hits


def test_fog_of_war_shows_enemies_only_within_sight_of_a_living_ally() -> None:
    state = _position()
    assert can_see(state, 0, BLUE, RED_HERO) and can_see(state, 0, RED, BLUE_HERO)
    state.x[0, RED_HERO] = 40.0 + 12.5  # just beyond the hero's sight of 12
    _refresh(state)
    assert not can_see(state, 0, BLUE, RED_HERO)
    assert can_see(state, 0, RED, RED_HERO)  # own units are always visible
    _creep(state, CREEP_START, BLUE, 50.0, 70.0)  # a blue creep lights it up
    assert can_see(state, 0, BLUE, RED_HERO)
    far_tower = tower_slot(RED, 0, 1)
    assert can_see(state, 0, RED, far_tower) and not can_see(state, 0, BLUE, far_tower)
    with pytest.raises(InvalidActionError, match="does not see"):
        _step(state, actions={BLUE_HERO: (ACTION_ATTACK, far_tower)})


def test_structures_are_protected_until_the_one_in_front_falls() -> None:
    state = _position()
    tier2 = tower_slot(RED, 1, 2)
    state.x[0, BLUE_HERO], state.y[0, BLUE_HERO] = state.x[0, tier2] - 3.0, state.y[0, tier2]
    _refresh(state)
    with pytest.raises(InvalidActionError, match="protected"):
        _step(state, actions={BLUE_HERO: (ACTION_ATTACK, tier2)})
    state.alive[0, tower_slot(RED, 1, 1)] = False
    _step(state, actions={BLUE_HERO: (ACTION_ATTACK, tier2)})
    assert state.hp[0, tier2] < state.max_hp[0, tier2]
    assert state.events[0, BLUE_HERO, EVENT_TOWER_DAMAGE] > 0.0


def test_the_game_ends_when_an_ancient_falls() -> None:
    state = _position()
    ancient = ancient_slot(RED)
    state.alive[0, base_tower_slot(RED)] = False
    state.hp[0, ancient] = 1.0
    state.x[0, BLUE_HERO], state.y[0, BLUE_HERO] = state.x[0, ancient] - 2.0, state.y[0, ancient]
    state.hp[0, BLUE_HERO] = 10_000.0
    _refresh(state)
    _step(state, actions={BLUE_HERO: (ACTION_ATTACK, ancient)})
    assert state.done[0] and state.winner[0] == BLUE
    assert state.events[0, BLUE_HERO, EVENT_WIN] == 1.0 and state.events[0, RED_HERO, EVENT_WIN] == 0.0
    assert state.events[0, BLUE_HERO, EVENT_ANCIENT_KILL] == 1.0
    tick = int(state.tick[0])
    _step(state)  # a finished game stands still
    assert state.tick[0] == tick and state.events[0].sum() == 0.0


def test_at_the_time_cap_structures_then_kills_decide_else_a_draw() -> None:
    config = GameConfig(heroes_per_team=1, lineup_blue=(MAGE,), lineup_red=(MAGE,), time_cap_seconds=1.0)
    state = _position(config, tick=0)
    for _ in range(7):
        _step(state, config)
    assert not state.done[0]
    _step(state, config)  # tick 30
    assert state.done[0] and state.winner[0] == WINNER_DRAW
    state = _position(config, tick=0)
    state.kills[0, RED_HERO] = 1
    for _ in range(8):
        _step(state, config)
    assert state.winner[0] == RED
    state = _position(config, tick=0)
    state.kills[0, RED_HERO] = 3
    state.alive[0, tower_slot(RED, 2, 1)] = False  # blue destroyed more structures
    for _ in range(8):
        _step(state, config)
    assert state.winner[0] == BLUE


def test_experience_levels_heroes_up_and_gold_buys_the_item_script() -> None:
    state = _position()
    state.xp[0, BLUE_HERO] = XP_FOR_LEVEL[1] - 1.0
    hp = state.max_hp[0, BLUE_HERO]
    _creep(state, CREEP_START, RED, 43.0, 70.0, hp=1.0)
    state.gold[0, BLUE_HERO] = ITEM_COST[MAGE, 0] - GOLD_CREEP[0] + 1.0
    _step(state, actions={BLUE_HERO: (ACTION_ATTACK, CREEP_START)})
    assert state.level[0, BLUE_HERO] == 2 and state.max_hp[0, BLUE_HERO] > hp
    assert state.items[0, BLUE_HERO] == 1 and state.gold[0, BLUE_HERO] < 10.0
    assert state.mana_regen[0, BLUE_HERO] > 1.6


def test_moves_follow_the_compass_and_persist_under_noop() -> None:
    state = _position()
    x = state.x[0, BLUE_HERO]
    _step(state, actions={BLUE_HERO: (ACTION_MOVE_0 + 4, -1)})  # west
    _step(state)
    assert abs(state.x[0, BLUE_HERO] - (x - 8 * state.speed[0, BLUE_HERO] / 30.0)) < 1e-9
    assert state.y[0, BLUE_HERO] == 70.0


def test_a_kill_or_structure_target_ends_the_game_at_once_for_the_team_that_reaches_it() -> None:
    # OpenAI's 1v1 rules: two kills or the first tower. Kills are counted on the heroes, structures by their state.
    config = GameConfig(heroes_per_team=1, lineup_blue=(MAGE,), lineup_red=(MAGE,), kills_to_win=2, towers_to_win=1)
    state = _position(config)
    assert state.kills_to_win[0] == 2 and state.towers_to_win[0] == 1
    state.kills[0, RED_HERO] = 1
    _step(state, config)
    assert not state.done[0]
    state.kills[0, RED_HERO] = 2
    _step(state, config)
    assert state.done[0] and state.winner[0] == RED
    assert state.events[0, RED_HERO, EVENT_WIN] == 1.0 and state.events[0, BLUE_HERO, EVENT_WIN] == 0.0

    state = _position(config)
    state.alive[0, tower_slot(RED, 1, 1)] = False  # blue destroyed a red tower
    _step(state, config)
    assert state.done[0] and state.winner[0] == BLUE

    state = _position(config)
    state.alive[0, tower_slot(RED, 1, 1)] = False
    state.alive[0, tower_slot(BLUE, 1, 1)] = False  # both at once: a draw
    _step(state, config)
    assert state.done[0] and state.winner[0] == WINNER_DRAW

    plain = dataclasses.replace(config, kills_to_win=0, towers_to_win=0)  # targets off: the game goes on
    state = _position(plain)
    state.kills[0, RED_HERO] = 5
    state.alive[0, tower_slot(RED, 1, 1)] = False
    _step(state, plain)
    assert not state.done[0]


@pytest.mark.parametrize("field", ["kills_to_win", "towers_to_win"])
def test_a_negative_target_is_one_sentence(field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        GameConfig(**{field: -1})  # type: ignore[arg-type]
