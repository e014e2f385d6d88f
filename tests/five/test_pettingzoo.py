"""Five's PettingZoo environment: PettingZoo's own API and seed tests, dead heroes kept, invalid actions no-ops."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

import fourfold.five
from fourfold.core.config import ConfigError
from fourfold.five.game.config import GameConfig
from fourfold.five.pettingzoo_env import FiveParallelEnv, parallel_env


def test_reexport_is_lazy_and_the_same() -> None:
    assert fourfold.five.parallel_env is parallel_env


def test_parallel_api_test() -> None:
    env = parallel_env(time_cap_seconds=40.0)
    parallel_api_test(env, num_cycles=1000)


def test_parallel_api_test_1v1_one_lane() -> None:
    env = parallel_env(map="one_lane", heroes_per_team=1, time_cap_seconds=30.0)
    assert env.possible_agents == ["blue_0", "red_0"]
    parallel_api_test(env, num_cycles=300)


def test_parallel_seed_test() -> None:
    parallel_seed_test(lambda: parallel_env(time_cap_seconds=40.0), num_cycles=100)


def test_agents_and_spaces() -> None:
    env = parallel_env()
    obs, _ = env.reset(seed=1)
    assert env.agents == [f"blue_{i}" for i in range(5)] + [f"red_{i}" for i in range(5)]
    for agent in env.agents:
        assert env.observation_space(agent).contains(obs[agent])
        assert env.action_space(agent).contains(env.action_space(agent).sample(mask=obs[agent]["action_mask"]))


def test_dead_heroes_stay_masked_and_invalid_actions_are_noops() -> None:
    env = parallel_env(time_cap_seconds=600.0)
    obs, _ = env.reset(seed=2)
    state = env.game_state
    # Kill blue_0 by hand (as the rules would), then check it stays an agent that may only wait.
    state.alive[0, 0] = False
    state.hp[0, 0] = 0.0
    state.respawn_ticks[0, 0] = 300
    bad = {a: np.array([13, 33, 24]) for a in env.agents}  # often forbidden: a cast with far-off heads
    obs, _, _, _, _ = env.step(bad)
    assert "blue_0" in env.agents
    primary_mask = obs["blue_0"]["action_mask"][0]
    assert primary_mask[0] == 1 and primary_mask[1:].sum() == 0
    for _ in range(20):
        actions = {a: env.action_space(a).sample(mask=obs[a]["action_mask"]) for a in env.agents}
        actions["red_3"] = np.array([99, -5, 7])  # out of range: a no-op
        obs, rewards, _, _, infos = env.step(actions)
    assert set(rewards) == set(env.agents) and all(np.isfinite(list(rewards.values())))
    assert set(infos["red_0"]) >= {"win", "gold", "hero_death"}


def test_game_end_removes_all_agents() -> None:
    env = parallel_env(time_cap_seconds=10.0)
    env.reset(seed=3)
    steps = 0
    while env.agents:
        _, _, terms, _, infos = env.step({})
        steps += 1
    assert all(terms.values()) and len(terms) == 10
    assert infos["blue_0"]["winner"] in (0, 1, 2)
    assert steps == 10 * 30 // 4
    assert env.step({}) == ({}, {}, {}, {}, {})


def test_render_and_bad_arguments() -> None:
    env = FiveParallelEnv(GameConfig(map="one_lane"), render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame is not None and frame.ndim == 3 and frame.dtype == np.uint8
    with pytest.raises(ConfigError):
        FiveParallelEnv(render_mode="human")
    with pytest.raises(ConfigError):
        parallel_env(config=GameConfig(), map="one_lane")


def test_same_seed_same_game() -> None:
    # parallel_seed_test above stops after one step (it sizes its loop before reset); play 150 steps here.
    def play() -> list[dict]:
        env = parallel_env()
        obs, _ = env.reset(seed=42)
        for i, agent in enumerate(env.agents):
            env.action_space(agent).seed(42 + i)
        history = []
        for _ in range(150):
            actions = {a: env.action_space(a).sample(mask=obs[a]["action_mask"]) for a in env.agents}
            obs, rewards, _, _, _ = env.step(actions)
            history.append(rewards)
        history.append({a: obs[a]["observation"]["units"].tobytes() for a in obs})
        return history

    assert play() == play()
