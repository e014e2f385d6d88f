"""The scripted Five bots and their round robin: valid actions, fog of war, determinism, tables, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from fourfold.core.errors import FourfoldError
from fourfold.five.bots import BOT_NAMES, make_bot
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import ACTION_ATTACK, ACTION_CAST_0, ACTION_CAST_2, CREEP_START, HERO_SLOTS
from fourfold.five.game.core import step, validate_actions
from fourfold.five.game.state import GameState, copy_state, new_state, reset_games
from fourfold.five.tournament import BotsConfig, bots, play_pair, round_robin, wilson_interval

SMALL = GameConfig(map="one_lane", heroes_per_team=3, time_cap_seconds=90.0)


def play(blue: str, red: str, config: GameConfig, games: int, decisions: int, seed: int = 0) -> GameState:
    """Play `decisions` steps of `games` games, validating every action of both bots (the native API raises)."""
    state = new_state(games, config)
    reset_games(state, config, np.ones(games, dtype=bool), np.arange(games, dtype=np.int64) + seed)
    first, second = make_bot(blue, 1), make_bot(red, 2)
    for _ in range(decisions):
        p0, t0, q0 = first.act(state, slice(None), 0)
        p1, t1, q1 = second.act(state, np.arange(games), 1)
        primary = np.concatenate([p0, p1], axis=1)
        target = np.concatenate([t0, t1], axis=1)
        point = np.concatenate([q0, q1], axis=1)
        validate_actions(state, primary, target, point)
        step(state, config, primary, target, point)
    return state


@pytest.mark.parametrize("config", [GameConfig(time_cap_seconds=60.0), SMALL], ids=["three_lane", "one_lane"])
def test_every_bot_acts_validly(config: GameConfig) -> None:
    for blue, red in (("random", "hard"), ("easy", "medium"), ("hard", "easy"), ("medium", "random")):
        state = play(blue, red, config, games=3, decisions=120)
        assert (state.tick > 0).all()


def test_scripted_bots_fight_and_farm() -> None:
    state = play("hard", "medium", GameConfig(time_cap_seconds=120.0), games=2, decisions=400)
    assert (state.last_hits[:, :5].sum(axis=1) > 0).all() and (state.last_hits[:, 5:].sum(axis=1) > 0).all()
    assert (state.xp[:, :HERO_SLOTS] > 0.0).any()


def test_actions_have_the_contract_shapes_and_slices_select_games() -> None:
    state = new_state(4, SMALL)
    bot = make_bot("hard", 0)
    primary, target, point = bot.act(state, slice(1, 3), 1)
    assert primary.shape == (2, 5) and target.shape == (2, 5) and point.shape == (2, 5, 2)
    assert primary.dtype == np.int64 and target.dtype == np.int64 and point.dtype == np.float64
    assert (primary[:, 3:] == 0).all()  # slots beyond heroes_per_team are absent: noop


def test_bots_are_deterministic_and_random_depends_on_its_seed() -> None:
    for name in BOT_NAMES:
        a = play(name, name, SMALL, games=2, decisions=60)
        b = play(name, name, SMALL, games=2, decisions=60)
        assert np.array_equal(a.x, b.x) and np.array_equal(a.hp, b.hp)
    state = play("easy", "easy", SMALL, games=2, decisions=40)
    actions = [make_bot("random", seed).act(state, slice(None), 0)[0] for seed in range(4)]
    assert any(not np.array_equal(actions[0], other) for other in actions[1:])


def _hide_changes(state: GameState, team: int) -> GameState:
    """A copy where every enemy hero and creep that `team` does not see has moved and lost hit points."""
    changed = copy_state(state)
    enemy = 1 - team
    hidden = changed.present & (changed.team == enemy) & ~changed.visible[:, team]  # [G, U]
    hidden[:, HERO_SLOTS:CREEP_START] = False  # structures stand where the map puts them
    changed.x[hidden] = 50.0
    changed.y[hidden] = 50.0
    changed.hp[hidden] = np.maximum(changed.hp[hidden] * 0.5, 1.0)
    return changed


@pytest.mark.parametrize("name", BOT_NAMES)
def test_bots_only_read_what_their_team_sees(name: str) -> None:
    state = play("medium", "easy", GameConfig(time_cap_seconds=120.0), games=3, decisions=300)
    for team in (0, 1):
        changed = _hide_changes(state, team)
        assert not np.array_equal(changed.x, state.x)  # something was hidden to change
        seen = make_bot(name, 5).act(state, slice(None), team)
        hidden = make_bot(name, 5).act(changed, slice(None), team)
        for a, b in zip(seen, hidden, strict=True):
            assert np.array_equal(a, b)


def test_targets_are_visible_units() -> None:
    state = play("hard", "hard", GameConfig(time_cap_seconds=120.0), games=2, decisions=300)
    for team in (0, 1):
        primary, target, _ = make_bot("hard", 0).act(state, slice(None), team)
        aimed = (primary == ACTION_ATTACK) | ((primary >= ACTION_CAST_0) & (primary <= ACTION_CAST_2) & (target >= 0))
        games, _ = np.nonzero(aimed)
        assert state.visible[games, team, target[aimed]].all()


def test_unknown_bot_and_bad_team_are_clear_errors() -> None:
    with pytest.raises(FourfoldError, match="unknown Five bot 'expert'"):
        make_bot("expert", 0)
    with pytest.raises(FourfoldError, match="team"):
        make_bot("easy", 0).act(new_state(1, SMALL), slice(None), 2)


def test_wilson_interval() -> None:
    low, high = wilson_interval(0.0, 10)
    assert low == 0.0 and 0.25 < high < 0.31
    low, high = wilson_interval(10.0, 10)
    assert high == pytest.approx(1.0) and 0.69 < low < 0.75
    low, high = wilson_interval(100.0, 200)
    assert low < 0.5 < high and high - low < 0.15


def test_play_pair_swaps_sides_and_counts_draws_as_half() -> None:
    config = GameConfig(map="one_lane", heroes_per_team=1, time_cap_seconds=8.0)
    score, ticks = play_pair(make_bot("easy", 0), make_bot("easy", 1), 4, config, np.arange(4))
    assert score.shape == (4,) and set(np.unique(score)) <= {0.0, 0.5, 1.0}
    assert (ticks == config.time_cap_ticks).all()


def test_round_robin_table_and_command() -> None:
    config = GameConfig(map="one_lane", heroes_per_team=3, time_cap_seconds=150.0)
    table = round_robin(("random", "easy"), 6, config, seed=3)
    easy = table.result("easy", "random")
    assert easy.games == 6 and easy.wins + easy.losses + easy.draws == 6
    assert easy.win_rate == pytest.approx(1.0 - table.result("random", "easy").win_rate)
    assert easy.win_rate >= 0.5  # easy pushes its lane, random wanders at its fountain
    assert easy.low <= easy.win_rate <= easy.high
    summary = bots(BotsConfig(games=2, bots=("random", "easy"), map="one_lane", heroes_per_team=1))
    assert len(summary.pairs) == 2 and len(summary.bots) == 2
    assert "win rate of the row bot" in str(summary)


def test_bots_config_rejects_bad_values() -> None:
    with pytest.raises(FourfoldError, match="games"):
        BotsConfig(games=1)
    with pytest.raises(FourfoldError, match="unknown bot 'expert'"):
        BotsConfig(bots=("easy", "expert"))
    with pytest.raises(FourfoldError, match="two different bots"):
        BotsConfig(bots=("easy", "easy"))


@pytest.mark.slow
def test_the_order_holds_on_a_small_round_robin() -> None:
    table = round_robin(BOT_NAMES, 16, GameConfig(), seed=11)
    assert table.result("easy", "random").win_rate >= 0.9
    assert table.result("medium", "easy").win_rate >= 0.6
    assert table.result("hard", "medium").win_rate >= 0.6
