"""Tests of fourfold.gym.mountain_car: exactness against Gymnasium's MountainCar-v0 (single env and SyncVectorEnv, in
every autoreset mode), numba against the reference, Gymnasium's env checker, errors, registration and rendering."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)
from fourfold.gym.mountain_car import MountainCarEnv, MountainCarVectorEnv, render_frame
from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]


def _actions(observations: np.ndarray, generator: np.random.Generator) -> np.ndarray:
    """Even envs pump energy (push along the velocity: they reach the flag), odd envs act at random (time limit)."""
    pump = np.where(observations[:, 1] > 0, 2, 0)
    actions: np.ndarray = np.where(np.arange(len(observations)) % 2 == 0, pump, generator.integers(0, 3, len(pump)))
    return actions


def _run_against_sync(
    mode: AutoresetMode, num_envs: int, steps: int, seed: int, **kwargs: Any
) -> tuple[dict[str, int], dict[str, int]]:
    """Step fourfold and SyncVectorEnv side by side, asserting equal outputs; return mismatch and event counts."""
    ours = gym.make_vec("fourfold/MountainCar-v0", num_envs=num_envs, autoreset_mode=mode, **kwargs)
    theirs = gym.make_vec(
        "MountainCar-v0", num_envs=num_envs, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}, **kwargs
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
        check_env(MountainCarEnv(), skip_render_check=True)
        check_env(gym.make("fourfold/MountainCar-v0", render_mode="rgb_array").unwrapped)
    assert not caught, [str(warning.message) for warning in caught]


@pytest.mark.parametrize("kwargs", [{}, {"goal_velocity": 0.02}])
def test_single_env_matches_gymnasiums_mountain_car(kwargs: dict[str, Any]) -> None:
    ours, theirs = gym.make("fourfold/MountainCar-v0", **kwargs), gym.make("MountainCar-v0", **kwargs)
    assert ours.observation_space == theirs.observation_space and ours.action_space == theirs.action_space
    generator = np.random.default_rng(0)
    outcomes = {"terminated": 0, "truncated": 0}
    for episode in range(12):
        observation, info = ours.reset(seed=episode)
        expected, expected_info = theirs.reset(seed=episode)
        assert np.array_equal(observation, expected) and info == expected_info == {}
        done = False
        while not done:
            action = int(_actions(observation[None], generator)[0]) if episode % 3 else int(generator.integers(0, 3))
            observation, reward, terminated, truncated, info = ours.step(action)
            expected, expected_reward, expected_terminated, expected_truncated, _ = theirs.step(action)
            np.testing.assert_allclose(observation, expected, rtol=0, atol=1e-6)
            assert (reward, terminated, truncated) == (expected_reward, expected_terminated, expected_truncated)
            assert type(reward) is float and type(terminated) is bool and info == {}
            done = terminated or truncated
            outcomes["terminated"] += terminated
            outcomes["truncated"] += truncated
    assert outcomes["terminated"] >= 4 and outcomes["truncated"] >= 2
    assert ours.unwrapped.np_random.bit_generator.state == theirs.unwrapped.np_random.bit_generator.state


def test_vector_env_matches_sync_vector_env_over_20000_steps() -> None:
    mismatches, events = _run_against_sync(AutoresetMode.NEXT_STEP, num_envs=8, steps=2500, seed=123)
    assert mismatches == {"reward": 0, "terminated": 0, "truncated": 0}
    assert events["terminated"] > 50 and events["truncated"] > 30 and events["wall"] > 5


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_every_autoreset_mode_matches_sync_vector_env(mode: AutoresetMode) -> None:
    mismatches, events = _run_against_sync(mode, num_envs=4, steps=450, seed=7, goal_velocity=0.01)
    assert mismatches == {"reward": 0, "terminated": 0, "truncated": 0}
    assert events["terminated"] >= 4 and events["truncated"] >= 2


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_numba_kernel_equals_numpy_reference(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 5, "autoreset_mode": mode, "episode_statistics": True}
    compiled, reference = MountainCarVectorEnv(**kwargs), MountainCarVectorEnv(**kwargs, backend="numpy")
    observations, _ = compiled.reset(seed=11)
    assert np.array_equal(observations, reference.reset(seed=11)[0])
    generator = np.random.default_rng(0)
    ended = 0
    for step in range(700):
        actions = _actions(observations, generator)
        observations, rewards, terminated, truncated, info = compiled.step(actions)
        expected = reference.step(actions)
        for ours, theirs in zip((observations, rewards, terminated, truncated), expected[:4], strict=True):
            assert np.array_equal(ours, theirs) and ours.dtype == theirs.dtype, step
        assert info.keys() == expected[4].keys()
        if "episode" in info:
            assert np.array_equal(info["episode"]["r"], expected[4]["episode"]["r"])
            assert np.array_equal(info["episode"]["l"], expected[4]["episode"]["l"])
        done = terminated | truncated
        ended += int(done.sum())
        if mode == AutoresetMode.DISABLED and done.any():
            observations, _ = compiled.reset(options={"reset_mask": done})
            assert np.array_equal(observations, reference.reset(options={"reset_mask": done})[0])
    assert ended > 10
    assert np.array_equal(compiled.state, reference.state) and np.array_equal(compiled._rng, reference._rng)


def test_reset_options_low_and_high_match_gymnasium() -> None:
    options = {"low": -1.1, "high": 0.4}
    ours, theirs = MountainCarEnv(), gym.make("MountainCar-v0").unwrapped
    assert np.array_equal(ours.reset(seed=3, options=options)[0], theirs.reset(seed=3, options=options)[0])
    expected = np.stack([MountainCarEnv().reset(seed=s, options=options)[0] for s in (3, 4)])
    for backend in ("numba", "numpy"):
        vector = MountainCarVectorEnv(num_envs=2, backend=backend)  # type: ignore[arg-type]
        assert np.array_equal(vector.reset(seed=3, options=options)[0], expected)
        with pytest.raises(EnvArgumentError, match="Lower bound"):
            vector.reset(options={"low": 1.0, "high": -1.0})
    with pytest.raises(EnvArgumentError, match="could not be converted"):
        ours.reset(options={"low": "left"})


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (np.array([0, 1]), r"shape \(3,\)"),
        (np.array([0.0, 1.0, 2.0]), "must be integers"),
        (np.array([0, 3, 1]), "action 3 of env 1 is outside"),
        (np.array([0, 1, -1]), "action -1 of env 2 is outside"),
    ],
)
def test_bad_vector_actions_are_clear_errors_and_change_nothing(actions: np.ndarray, message: str) -> None:
    for backend in ("numba", "numpy"):
        envs = MountainCarVectorEnv(num_envs=3, backend=backend)  # type: ignore[arg-type]
        envs.reset(seed=0)
        state = envs.state.copy()
        with pytest.raises(InvalidActionError, match=message):
            envs.step(actions)
        assert np.array_equal(envs.state, state)


def test_single_env_errors() -> None:
    env = MountainCarEnv()
    with pytest.raises(ResetNeededError, match="reset"):
        env.step(0)
    env.reset(seed=0, options={"low": 0.49, "high": 0.5})  # start just below the flag
    for bad in (3, -1, 1.0, "left"):
        with pytest.raises(InvalidActionError, match="outside the action space"):
            env.step(bad)  # type: ignore[arg-type]
    terminated = False
    while not terminated:
        _, _, terminated, _, _ = env.step(np.int64(2))  # numpy integers are actions too
    with pytest.raises(ResetNeededError, match="terminated; call reset"):
        env.step(1)
    with pytest.raises(EnvArgumentError, match="render_mode"):
        MountainCarEnv(render_mode="human")


def test_make_and_make_vec() -> None:
    spec, reference = gym.spec("fourfold/MountainCar-v0"), gym.spec("MountainCar-v0")
    assert spec.max_episode_steps == reference.max_episode_steps == 200
    assert spec.reward_threshold == reference.reward_threshold == -110.0
    env = gym.make("fourfold/MountainCar-v0", goal_velocity=0.01)
    assert isinstance(env.unwrapped, MountainCarEnv) and env.unwrapped.goal_velocity == 0.01
    envs = gym.make_vec("fourfold/MountainCar-v0", num_envs=16, autoreset_mode="SameStep")
    assert isinstance(envs, MountainCarVectorEnv) and envs.num_envs == 16 and envs.max_episode_steps == 200
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    sync = gym.make_vec("fourfold/MountainCar-v0", num_envs=2, vectorization_mode="sync")
    assert np.array_equal(sync.reset(seed=4)[0], MountainCarVectorEnv(num_envs=2).reset(seed=4)[0])


def test_rendering_draws_the_car_where_it_is() -> None:
    env = MountainCarEnv(render_mode="rgb_array")
    env.reset(seed=0)
    assert env.state is not None
    env.state[:] = [-0.5235987755982988, 0.0]  # the bottom of the valley (3x = -pi/2): height 0.1, flat
    frame = env.render()
    assert frame is not None and frame.shape == (400, 600, 3) and frame.dtype == np.uint8
    # The body spans x 225.5 +- 20 px and world y 43.3..63.3 px (image rows 337..357); wheels at its bottom corners.
    assert (frame[345, 208:244] == 0).all() and (frame[345, 200] == 255).all() and (frame[345, 250] == 255).all()
    assert (frame[330, 225] == 255).all() and (frame[360, 215] == 128).all()
    flag = render_frame(0.0)
    assert ((flag == (204, 204, 0)).all(axis=2)).sum() > 100  # the yellow flag
    envs = MountainCarVectorEnv(num_envs=3, render_mode="rgb_array", render_envs=2)
    envs.reset(seed=0)
    frames = envs.render()
    assert frames is not None and len(frames) == 2 and all(f.shape == (400, 600, 3) for f in frames)
    with pytest.warns(UserWarning, match="render_mode"):
        assert MountainCarEnv().render() is None
