"""Tests of fourfold.gym.mountain_car_continuous: exactness against Gymnasium's MountainCarContinuous-v0 (single env
and SyncVectorEnv, every autoreset mode, clipped actions), numba against the reference, the env checker, errors,
registration and rendering."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)
from fourfold.gym.mountain_car_continuous import MountainCarContinuousEnv, MountainCarContinuousVectorEnv
from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]


def _actions(observations: np.ndarray, generator: np.random.Generator) -> np.ndarray:
    """(N, 1) float32: even envs push along the velocity with forces up to 3 (clipped to 1; they reach the flag),
    odd envs push at random in [-1.5, 1.5] (some clipped; their episodes reach the time limit)."""
    num_envs = len(observations)
    pump = np.where(observations[:, 1:] >= 0, 1.0, -1.0) * generator.uniform(0.2, 3.0, (num_envs, 1))
    random = generator.uniform(-1.5, 1.5, (num_envs, 1))
    actions: np.ndarray = np.where(np.arange(num_envs)[:, None] % 2 == 0, pump, random).astype(np.float32)
    return actions


def _run_against_sync(
    mode: AutoresetMode, num_envs: int, steps: int, seed: int, **kwargs: Any
) -> tuple[dict[str, int], dict[str, int]]:
    """Step fourfold and SyncVectorEnv side by side, asserting equal outputs; return mismatch and event counts."""
    ours = gym.make_vec("fourfold/MountainCarContinuous-v0", num_envs=num_envs, autoreset_mode=mode, **kwargs)
    theirs = gym.make_vec(
        "MountainCarContinuous-v0",
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": mode},
        **kwargs,
    )
    observations, _ = ours.reset(seed=seed)
    expected, _ = theirs.reset(seed=seed)
    assert np.array_equal(observations, expected)  # identical initial observations
    generator = np.random.default_rng(seed)
    mismatches = {"reward": 0, "terminated": 0, "truncated": 0}
    events = {"terminated": 0, "truncated": 0, "wall": 0}
    for _ in range(steps):
        actions = _actions(observations, generator)
        observations, rewards, terminated, truncated, info = ours.step(actions)
        expected, expected_rewards, expected_terminated, expected_truncated, expected_info = theirs.step(actions)
        assert observations.dtype == np.float32
        np.testing.assert_allclose(observations, expected, rtol=0, atol=1e-6)
        mismatches["reward"] += int((rewards != expected_rewards).sum())
        mismatches["terminated"] += int((terminated != expected_terminated).sum())
        mismatches["truncated"] += int((truncated != expected_truncated).sum())
        assert info.keys() == expected_info.keys()
        for i in np.flatnonzero(info.get("_final_obs", [])):
            np.testing.assert_allclose(info["final_obs"][i], expected_info["final_obs"][i], rtol=0, atol=1e-6)
        events["terminated"] += int(terminated.sum())
        events["truncated"] += int(truncated.sum())
        events["wall"] += int(((observations[:, 0] == np.float32(-1.2)) & (observations[:, 1] == 0)).sum())
        done = terminated | truncated
        if mode == AutoresetMode.DISABLED and done.any():
            observations, _ = ours.reset(options={"reset_mask": done})
            assert np.array_equal(observations, theirs.reset(options={"reset_mask": done.copy()})[0])
    return mismatches, events


def test_gymnasium_env_checker_passes() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(MountainCarContinuousEnv(), skip_render_check=True)
        check_env(gym.make("fourfold/MountainCarContinuous-v0", render_mode="rgb_array").unwrapped)
    assert not caught, [str(warning.message) for warning in caught]


def test_single_env_matches_gymnasium_including_clipped_actions() -> None:
    ours, theirs = gym.make("fourfold/MountainCarContinuous-v0"), gym.make("MountainCarContinuous-v0")
    assert ours.observation_space == theirs.observation_space and ours.action_space == theirs.action_space
    generator = np.random.default_rng(0)
    outcomes = {"terminated": 0, "truncated": 0}
    for episode in range(6):
        observation, info = ours.reset(seed=episode)
        expected, expected_info = theirs.reset(seed=episode)
        assert np.array_equal(observation, expected) and info == expected_info == {}
        done = False
        while not done:
            if episode % 3:
                action = _actions(observation[None], generator)[0]
            else:
                action = generator.uniform(-1.5, 1.5, 1).astype(np.float32)
            observation, reward, terminated, truncated, info = ours.step(action)
            expected, expected_reward, expected_terminated, expected_truncated, _ = theirs.step(action)
            np.testing.assert_allclose(observation, expected, rtol=0, atol=1e-6)
            assert (reward, terminated, truncated) == (expected_reward, expected_terminated, expected_truncated)
            assert type(reward) is float and type(terminated) is bool and info == {}
            done = terminated or truncated
            outcomes["terminated"] += terminated
            outcomes["truncated"] += truncated
    assert outcomes["terminated"] >= 3 and outcomes["truncated"] >= 1


def test_vector_env_matches_sync_vector_env_over_20000_steps() -> None:
    mismatches, events = _run_against_sync(AutoresetMode.NEXT_STEP, num_envs=8, steps=2500, seed=123)
    assert mismatches == {"reward": 0, "terminated": 0, "truncated": 0}
    assert events["terminated"] > 50 and events["truncated"] >= 8 and events["wall"] > 5


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_every_autoreset_mode_matches_sync_vector_env(mode: AutoresetMode) -> None:
    mismatches, events = _run_against_sync(mode, num_envs=4, steps=1100, seed=7, goal_velocity=0.01)
    assert mismatches == {"reward": 0, "terminated": 0, "truncated": 0}
    assert events["terminated"] >= 6 and events["truncated"] >= 2


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_numba_kernel_equals_numpy_reference(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {
        "num_envs": 5,
        "autoreset_mode": mode,
        "episode_statistics": True,
        "max_episode_steps": 150,
    }
    compiled = MountainCarContinuousVectorEnv(**kwargs)
    reference = MountainCarContinuousVectorEnv(**kwargs, backend="numpy")
    observations, _ = compiled.reset(seed=11)
    assert np.array_equal(observations, reference.reset(seed=11)[0])
    generator = np.random.default_rng(0)
    ended = 0
    for step in range(500):
        actions = _actions(observations, generator)
        observations, rewards, terminated, truncated, info = compiled.step(actions)
        expected = reference.step(actions)
        for ours, theirs in zip((observations, rewards, terminated, truncated), expected[:4], strict=True):
            assert np.array_equal(ours, theirs) and ours.dtype == theirs.dtype, step
        assert info.keys() == expected[4].keys()
        if "episode" in info:
            assert np.array_equal(info["episode"]["r"], expected[4]["episode"]["r"])
        done = terminated | truncated
        ended += int(done.sum())
        if mode == AutoresetMode.DISABLED and done.any():
            observations, _ = compiled.reset(options={"reset_mask": done})
            assert np.array_equal(observations, reference.reset(options={"reset_mask": done})[0])
    assert ended > 10
    assert np.array_equal(compiled.state, reference.state) and np.array_equal(compiled._rng, reference._rng)


def test_out_of_range_actions_are_clipped_as_gymnasium_clips_them() -> None:
    pushes = np.array([[5.0], [1.0], [-4.0], [-1.0]], dtype=np.float32)
    envs = MountainCarContinuousVectorEnv(num_envs=4)
    envs.reset(seed=[0, 0, 1, 1])
    observations, rewards, *_ = envs.step(pushes)
    assert np.array_equal(observations[0], observations[1]) and np.array_equal(observations[2], observations[3])
    assert rewards[0] == pytest.approx(-2.5) and rewards[1] == pytest.approx(-0.1)  # the cost of the unclipped action
    assert rewards[2] == pytest.approx(-1.6)
    theirs = gym.make_vec("MountainCarContinuous-v0", num_envs=4, vectorization_mode="sync")
    theirs.reset(seed=[0, 0, 1, 1])
    expected, expected_rewards, *_ = theirs.step(pushes)
    assert np.array_equal(observations, expected) and np.array_equal(rewards, expected_rewards)
    as_float64 = MountainCarContinuousVectorEnv(num_envs=4)
    as_float64.reset(seed=[0, 0, 1, 1])
    assert np.array_equal(as_float64.step(pushes.astype(np.float64))[0], observations)  # taken as float32


def test_reset_options_low_and_high_match_gymnasium() -> None:
    options = {"low": -1.1, "high": 0.4}
    ours, theirs = MountainCarContinuousEnv(), gym.make("MountainCarContinuous-v0").unwrapped
    assert np.array_equal(ours.reset(seed=3, options=options)[0], theirs.reset(seed=3, options=options)[0])
    expected = np.stack([MountainCarContinuousEnv().reset(seed=s, options=options)[0] for s in (3, 4)])
    for backend in ("numba", "numpy"):
        vector = MountainCarContinuousVectorEnv(num_envs=2, backend=backend)  # type: ignore[arg-type]
        assert np.array_equal(vector.reset(seed=3, options=options)[0], expected)
        with pytest.raises(EnvArgumentError, match="Lower bound"):
            vector.reset(options={"low": 1.0, "high": -1.0})


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (np.zeros(3, dtype=np.float32), r"shape \(3, 1\)"),
        (np.array([["a"], ["b"], ["c"]]), "must be numbers"),
        (np.array([[0.5], [np.nan], [0.0]], dtype=np.float32), r"action \[nan\] of env 1 is NaN"),
    ],
)
def test_bad_vector_actions_are_clear_errors_and_change_nothing(actions: np.ndarray, message: str) -> None:
    for backend in ("numba", "numpy"):
        envs = MountainCarContinuousVectorEnv(num_envs=3, backend=backend)  # type: ignore[arg-type]
        envs.reset(seed=0)
        state = envs.state.copy()
        with pytest.raises(InvalidActionError, match=message):
            envs.step(actions)
        assert np.array_equal(envs.state, state)


def test_single_env_errors() -> None:
    env = MountainCarContinuousEnv()
    with pytest.raises(ResetNeededError, match="reset"):
        env.step(np.zeros(1, dtype=np.float32))
    env.reset(seed=0, options={"low": 0.44, "high": 0.45})  # start just below the flag
    for bad, message in [(0.5, "shape"), (np.zeros(2), "shape"), (np.array(["a"]), "number"), ([np.nan], "NaN")]:
        with pytest.raises(InvalidActionError, match=message):
            env.step(bad)  # type: ignore[arg-type]
    terminated = False
    while not terminated:
        _, reward, terminated, _, _ = env.step([2.0])  # lists are actions too; clipped to 1
    assert reward == pytest.approx(100.0 - 0.4)
    with pytest.raises(ResetNeededError, match="terminated; call reset"):
        env.step(np.ones(1, dtype=np.float32))


def test_make_and_make_vec() -> None:
    spec, reference = gym.spec("fourfold/MountainCarContinuous-v0"), gym.spec("MountainCarContinuous-v0")
    assert spec.max_episode_steps == reference.max_episode_steps == 999
    assert spec.reward_threshold == reference.reward_threshold == 90.0
    env = gym.make("fourfold/MountainCarContinuous-v0", goal_velocity=0.01)
    assert isinstance(env.unwrapped, MountainCarContinuousEnv) and env.unwrapped.goal_velocity == 0.01
    envs = gym.make_vec("fourfold/MountainCarContinuous-v0", num_envs=16, autoreset_mode="Disabled")
    assert isinstance(envs, MountainCarContinuousVectorEnv) and envs.num_envs == 16 and envs.max_episode_steps == 999
    assert envs.single_action_space == gym.make("MountainCarContinuous-v0").action_space
    sync = gym.make_vec("fourfold/MountainCarContinuous-v0", num_envs=2, vectorization_mode="sync")
    assert np.array_equal(sync.reset(seed=4)[0], MountainCarContinuousVectorEnv(num_envs=2).reset(seed=4)[0])


def test_rendering_shows_the_flag_at_the_continuous_goal() -> None:
    env = MountainCarContinuousEnv(render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame is not None and frame.shape == (400, 600, 3) and frame.dtype == np.uint8
    yellow_columns = np.flatnonzero((frame == (204, 204, 0)).all(axis=2).any(axis=0))
    assert yellow_columns.min() == 550  # the flag pole at x = (0.45 + 1.2) / 1.8 * 600 (MountainCar-v0's: 566)
    envs = MountainCarContinuousVectorEnv(num_envs=2, render_mode="rgb_array")
    envs.reset(seed=0)
    frames = envs.render()
    assert frames is not None and len(frames) == 2 and all(f.shape == (400, 600, 3) for f in frames)
