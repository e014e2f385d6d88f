"""Five's native batched environment: shapes, seeding, same-step auto-reset, rewards and errors."""

from __future__ import annotations

import numpy as np
import pytest

from fourfold.core.config import ConfigError
from fourfold.five.actions import NUM_OFFSETS, NUM_TARGETS
from fourfold.five.env import FiveVecEnv, game_seeds
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import ACTION_MOVE_0, HERO_SLOTS, NUM_PRIMARY
from fourfold.five.game.errors import InvalidActionError
from fourfold.five.game.observe import NUM_GLOBAL, NUM_UNIT_FEATURES
from fourfold.five.rewards import RewardConfig


def _run(env: FiveVecEnv, steps: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        obs, rewards, terminated, _, info = env.step(*env.sample_actions(rng))
        out.append({"obs": obs, "rewards": rewards, "terminated": terminated, "info": info})
    return out


def test_shapes_and_dtypes() -> None:
    env = FiveVecEnv(3, GameConfig(), seed=0)
    obs, info = env.reset()
    assert obs["globals"].shape == (3, HERO_SLOTS, NUM_GLOBAL) and obs["globals"].dtype == np.float32
    assert obs["units"].shape == (3, HERO_SLOTS, NUM_TARGETS, NUM_UNIT_FEATURES)
    assert obs["unit_present"].shape == (3, HERO_SLOTS, NUM_TARGETS)
    masks = obs["action_mask"]
    assert masks["primary"].shape == (3, HERO_SLOTS, NUM_PRIMARY)
    assert masks["target"].shape == (3, HERO_SLOTS, NUM_PRIMARY, NUM_TARGETS)
    assert masks["offset"].shape == (3, HERO_SLOTS, NUM_PRIMARY, NUM_OFFSETS)
    assert info["seeds"].shape == (3,) and len(set(info["seeds"].tolist())) == 3
    obs, rewards, terminated, truncated, info = env.step(*env.sample_actions(np.random.default_rng(0)))
    assert rewards.shape == (3, HERO_SLOTS) and rewards.dtype == np.float32
    assert terminated.shape == truncated.shape == (3,) and not truncated.any()
    assert set(info["reward_components"]) == {
        "win", "hero_death", "hero_kill", "gold", "xp", "last_hit", "deny",
        "tower_damage", "tower_kill", "ancient_damage", "ancient_kill",
    }  # fmt: skip


def test_same_seed_same_run_and_different_seeds_differ() -> None:
    runs = []
    hp = []
    for seed in (4, 4, 5):
        env = FiveVecEnv(2, GameConfig(), seed=seed)
        env.reset()
        runs.append(_run(env, 200, seed=1))
        hp.append(env.state.hp.copy())
    for a, b in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(a["obs"]["units"], b["obs"]["units"])
        np.testing.assert_array_equal(a["rewards"], b["rewards"])
    np.testing.assert_array_equal(hp[0], hp[1])
    # The seed draws the damage spread: once creeps fight, games of other seeds differ.
    assert not np.array_equal(hp[0], hp[2])
    # reset(seed) restarts the seed sequence.
    env = FiveVecEnv(2, GameConfig(), seed=4)
    first, _ = env.reset()
    env.step(*env.sample_actions(np.random.default_rng(0)))
    again, _ = env.reset(seed=4)
    np.testing.assert_array_equal(first["globals"], again["globals"])


def test_same_step_auto_reset_and_zero_sum_rewards() -> None:
    config = GameConfig(time_cap_seconds=8.0)  # 60 decisions a game
    env = FiveVecEnv(3, config, RewardConfig(team_spirit=0.5), seed=1)
    _, info = env.reset()
    seeds = info["seeds"]
    steps = _run(env, 60, seed=2)
    last = steps[-1]
    assert last["terminated"].all()
    assert np.all(last["info"]["winner"] >= 0) and np.all(last["info"]["episode_ticks"] == 240)
    assert not np.array_equal(last["info"]["seeds"], seeds)
    # The returned observation is already the new game's first: time 0.
    assert np.all(last["obs"]["globals"][:, :, 0] == 0.0)
    assert np.all(env.state.tick == 0)
    for step in steps[:-1]:
        assert not step["terminated"].any() and np.all(step["info"]["winner"] == -1)
    for step in steps:
        np.testing.assert_allclose(step["rewards"].sum(axis=1), 0.0, atol=1e-4)
    # A win is paid to the winners and, zero-sum, taken from the losers.
    win = last["info"]["reward_components"]["win"]
    for g, w in enumerate(last["info"]["winner"]):
        if w in (0, 1):
            assert np.all(win[g, w * 5 : w * 5 + 5] > 0)


def test_without_auto_reset_a_finished_game_stays_over() -> None:
    env = FiveVecEnv(1, GameConfig(time_cap_seconds=2.0), seed=0, auto_reset=False)
    env.reset()
    steps = _run(env, 20, seed=0)
    ended = [i for i, s in enumerate(steps) if s["terminated"][0]]
    assert ended == [14]
    assert np.all(steps[-1]["rewards"] == 0.0) and env.state.done[0]


def test_copy_obs_false_reuses_buffers() -> None:
    env = FiveVecEnv(1, GameConfig(), seed=0, copy_obs=False)
    obs, _ = env.reset()
    assert obs["globals"] is env.obs.globals
    copied = FiveVecEnv(1, GameConfig(), seed=0)
    obs, _ = copied.reset()
    assert obs["globals"] is not copied.obs.globals


def test_errors() -> None:
    with pytest.raises(ConfigError, match="num_games"):
        FiveVecEnv(0)
    env = FiveVecEnv(1, GameConfig(), seed=0)
    zeros = np.zeros((1, HERO_SLOTS), dtype=np.int64)
    with pytest.raises(InvalidActionError, match="reset"):
        env.step(zeros, zeros, zeros)
    env.reset()
    env.state.alive[0, 2] = False  # a dead hero may only wait
    env.step(zeros, zeros, zeros)
    env.state.alive[0, 2] = False
    env.state.respawn_ticks[0, 2] = 100
    from fourfold.five.game.observe import build_observations

    build_observations(env.state, env.config.map, env.obs)
    moves = zeros.copy()
    moves[0, 2] = ACTION_MOVE_0
    with pytest.raises(InvalidActionError, match="game 0, hero 2: primary action move_0 is not allowed"):
        env.step(moves, zeros, zeros)


def test_game_seeds_are_distinct() -> None:
    seeds = game_seeds(7, np.array([0, 0, 1, 1]))
    assert len(set(seeds.tolist())) == 4 and np.all(seeds >= 0)
