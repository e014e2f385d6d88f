"""Five's single-agent Gymnasium environment: Gymnasium's env checker, one hero and one team against bots."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from fourfold.core.config import ConfigError
from fourfold.five.game.config import GameConfig
from fourfold.five.gymnasium_env import FiveGymEnv


@pytest.mark.parametrize("control", ["hero", "team"])
def test_check_env(control: str) -> None:
    env = FiveGymEnv(GameConfig(time_cap_seconds=60.0), control=control, opponent="easy")  # type: ignore[arg-type]
    check_env(env, skip_render_check=True)


def test_hero_plays_to_the_end_against_bots() -> None:
    env = FiveGymEnv(GameConfig(map="one_lane", heroes_per_team=3, time_cap_seconds=20.0), hero=1, team=1)
    obs, info = env.reset(seed=5)
    assert obs["globals"][2] == 1.0  # the red team's flag
    total = 0.0
    for steps in range(1, 1000):  # noqa: B007 - the count is checked after the loop
        action = env.action_space.sample(mask=obs["action_mask"])
        obs, reward, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(obs)
        total += reward
        if terminated or truncated:
            break
    assert terminated and steps == 20 * 30 // 4
    assert info["winner"] in (0, 1, 2)
    assert set(info["reward_components"]) >= {"win", "gold", "xp"}
    assert np.isfinite(total)


def test_team_control_shapes_and_determinism() -> None:
    def rollout() -> list[float]:
        env = FiveGymEnv(GameConfig(time_cap_seconds=30.0), control="team", opponent="medium")
        obs, _ = env.reset(seed=9)
        assert obs["globals"].shape[0] == 5 and len(obs["action_mask"]) == 15
        env.action_space.seed(0)
        rewards = []
        for _ in range(60):
            obs, reward, _, _, _ = env.step(env.action_space.sample(mask=obs["action_mask"]))
            rewards.append(reward)
        return rewards

    assert rollout() == rollout()


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="hero"):
        FiveGymEnv(GameConfig(heroes_per_team=1), hero=2)
    with pytest.raises(ConfigError, match="opponent"):
        FiveGymEnv(opponent="grandmaster")
    with pytest.raises(ConfigError, match="control"):
        FiveGymEnv(control="everyone")  # type: ignore[arg-type]
