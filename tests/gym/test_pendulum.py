"""Tests of fourfold.gym.pendulum: exactness against Gymnasium's Pendulum-v1 (single env and SyncVectorEnv, every
autoreset mode, the `g` option, clipped torques, reset options), numba against the reference, the env checker,
errors, registration and rendering."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)
from fourfold.gym.pendulum import PendulumEnv, PendulumVectorEnv, render_frame
from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]
ROD = (204, 77, 77)


def _actions(num_envs: int, generator: np.random.Generator) -> np.ndarray:
    """(N, 1) float32 torques in [-3, 3]: a third of them outside [-2, 2], clipped."""
    actions: np.ndarray = generator.uniform(-3.0, 3.0, (num_envs, 1)).astype(np.float32)
    return actions


def _run_against_sync(mode: AutoresetMode, num_envs: int, steps: int, seed: int, **kwargs: Any) -> dict[str, int]:
    """Step fourfold and SyncVectorEnv side by side, asserting equal outputs; return mismatches and truncations."""
    ours = gym.make_vec("fourfold/Pendulum-v1", num_envs=num_envs, autoreset_mode=mode, **kwargs)
    theirs = gym.make_vec(
        "Pendulum-v1", num_envs=num_envs, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}, **kwargs
    )
    observations, _ = ours.reset(seed=seed)
    expected, _ = theirs.reset(seed=seed)
    assert np.array_equal(observations, expected)  # identical initial observations
    generator = np.random.default_rng(seed)
    counts = {"reward": 0, "terminated": 0, "truncated": 0, "truncations": 0}
    for _ in range(steps):
        actions = _actions(num_envs, generator)
        observations, rewards, terminated, truncated, info = ours.step(actions)
        expected, expected_rewards, expected_terminated, expected_truncated, expected_info = theirs.step(actions)
        assert observations.dtype == np.float32
        np.testing.assert_allclose(observations, expected, rtol=0, atol=1e-6)
        counts["reward"] += int((rewards != expected_rewards).sum())
        counts["terminated"] += int((terminated != expected_terminated).sum())
        counts["truncated"] += int((truncated != expected_truncated).sum())
        counts["truncations"] += int(truncated.sum())
        assert info.keys() == expected_info.keys()
        for i in np.flatnonzero(info.get("_final_obs", [])):
            np.testing.assert_allclose(info["final_obs"][i], expected_info["final_obs"][i], rtol=0, atol=1e-6)
        if mode == AutoresetMode.DISABLED and truncated.any():
            observations, _ = ours.reset(options={"reset_mask": truncated})
            assert np.array_equal(observations, theirs.reset(options={"reset_mask": truncated.copy()})[0])
    return counts


def test_gymnasium_env_checker_passes() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(PendulumEnv(), skip_render_check=True)
        check_env(gym.make("fourfold/Pendulum-v1", render_mode="rgb_array").unwrapped)
    # The only warning is about the [-2, 2] action space, which Gymnasium's own Pendulum has too.
    assert all("symmetric and normalized" in str(warning.message) for warning in caught), caught


@pytest.mark.parametrize("kwargs", [{}, {"g": 9.81}])
def test_single_env_matches_gymnasiums_pendulum(kwargs: dict[str, Any]) -> None:
    ours, theirs = gym.make("fourfold/Pendulum-v1", **kwargs), gym.make("Pendulum-v1", **kwargs)
    assert ours.observation_space == theirs.observation_space and ours.action_space == theirs.action_space
    generator = np.random.default_rng(0)
    for episode in range(4):
        observation, info = ours.reset(seed=episode)
        expected, expected_info = theirs.reset(seed=episode)
        assert np.array_equal(observation, expected) and info == expected_info == {}
        done = False
        while not done:
            action = _actions(1, generator)[0]
            observation, reward, terminated, truncated, info = ours.step(action)
            expected, expected_reward, expected_terminated, expected_truncated, _ = theirs.step(action)
            np.testing.assert_allclose(observation, expected, rtol=0, atol=1e-6)
            assert (reward, terminated, truncated) == (expected_reward, expected_terminated, expected_truncated)
            assert type(reward) is float and info == {}
            done = terminated or truncated
        assert truncated and ours.unwrapped.last_u is not None
    assert ours.unwrapped.np_random.bit_generator.state == theirs.unwrapped.np_random.bit_generator.state


def test_vector_env_matches_sync_vector_env_over_20000_steps() -> None:
    counts = _run_against_sync(AutoresetMode.NEXT_STEP, num_envs=8, steps=2500, seed=123)
    assert counts == {"reward": 0, "terminated": 0, "truncated": 0, "truncations": 8 * 12}


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_every_autoreset_mode_matches_sync_vector_env(mode: AutoresetMode) -> None:
    counts = _run_against_sync(mode, num_envs=3, steps=450, seed=7, g=9.81)
    assert counts == {"reward": 0, "terminated": 0, "truncated": 0, "truncations": 3 * 2}


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_numba_kernel_equals_numpy_reference(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {
        "num_envs": 5,
        "autoreset_mode": mode,
        "episode_statistics": True,
        "max_episode_steps": 60,
    }
    compiled, reference = PendulumVectorEnv(**kwargs), PendulumVectorEnv(**kwargs, backend="numpy")
    observations, _ = compiled.reset(seed=11)
    assert np.array_equal(observations, reference.reset(seed=11)[0])
    generator = np.random.default_rng(0)
    for step in range(250):
        actions = _actions(5, generator)
        observations, rewards, terminated, truncated, info = compiled.step(actions)
        expected = reference.step(actions)
        for ours, theirs in zip((observations, rewards, terminated, truncated), expected[:4], strict=True):
            assert np.array_equal(ours, theirs) and ours.dtype == theirs.dtype, step
        assert info.keys() == expected[4].keys()
        if "episode" in info:
            assert np.array_equal(info["episode"]["r"], expected[4]["episode"]["r"])
        if mode == AutoresetMode.DISABLED and truncated.any():
            observations, _ = compiled.reset(options={"reset_mask": truncated})
            assert np.array_equal(observations, reference.reset(options={"reset_mask": truncated})[0])
    assert np.array_equal(compiled.state, reference.state) and np.array_equal(compiled._rng, reference._rng)
    assert np.array_equal(compiled.last_torques, reference.last_torques, equal_nan=True)


def test_out_of_range_torques_are_clipped_as_gymnasium_clips_them() -> None:
    torques = np.array([[5.0], [2.0], [-np.inf], [-2.0]], dtype=np.float32)
    envs = PendulumVectorEnv(num_envs=4)
    envs.reset(seed=[0, 0, 1, 1])
    observations, rewards, *_ = envs.step(torques)
    assert np.array_equal(observations[0], observations[1]) and np.array_equal(observations[2], observations[3])
    assert rewards[0] == rewards[1] and rewards[2] == rewards[3]  # the cost of the clipped torque
    assert np.array_equal(envs.last_torques, [2.0, 2.0, -2.0, -2.0])
    theirs = gym.make_vec("Pendulum-v1", num_envs=4, vectorization_mode="sync")
    theirs.reset(seed=[0, 0, 1, 1])
    expected, expected_rewards, *_ = theirs.step(torques)
    assert np.array_equal(observations, expected) and np.array_equal(rewards, expected_rewards)


def test_reset_options_x_init_and_y_init_match_gymnasium() -> None:
    options = {"x_init": 0.5, "y_init": 0.25}
    ours, theirs = PendulumEnv(), gym.make("Pendulum-v1").unwrapped
    observation = ours.reset(seed=3, options=options)[0]
    assert np.array_equal(observation, theirs.reset(seed=3, options=options)[0])
    assert observation[0] >= np.cos(0.5) and abs(observation[2]) <= 0.25
    expected = np.stack([PendulumEnv().reset(seed=s, options=options)[0] for s in (3, 4)])
    for backend in ("numba", "numpy"):
        vector = PendulumVectorEnv(num_envs=2, backend=backend)  # type: ignore[arg-type]
        assert np.array_equal(vector.reset(seed=3, options=options)[0], expected)
        with pytest.raises(EnvArgumentError, match="non-negative"):
            vector.reset(options={"x_init": -1.0})
        with pytest.raises(EnvArgumentError, match="could not be converted"):
            vector.reset(options={"y_init": "fast"})


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (np.zeros(3, dtype=np.float32), r"shape \(3, 1\)"),
        (np.array([[True], [False], [True]]), "must be numbers"),
        (np.array([[0.5], [0.0], [np.nan]], dtype=np.float32), r"action \[nan\] of env 2 is NaN"),
    ],
)
def test_bad_vector_actions_are_clear_errors_and_change_nothing(actions: np.ndarray, message: str) -> None:
    for backend in ("numba", "numpy"):
        envs = PendulumVectorEnv(num_envs=3, backend=backend)  # type: ignore[arg-type]
        envs.reset(seed=0)
        state = envs.state.copy()
        with pytest.raises(InvalidActionError, match=message):
            envs.step(actions)
        assert np.array_equal(envs.state, state)


def test_single_env_errors() -> None:
    env = PendulumEnv()
    with pytest.raises(ResetNeededError, match="reset"):
        env.step(np.zeros(1, dtype=np.float32))
    env.reset(seed=0)
    for bad, message in [(0.5, "shape"), (np.zeros((1, 1)), "shape"), (np.array(["a"]), "number"), ([np.nan], "NaN")]:
        with pytest.raises(InvalidActionError, match=message):
            env.step(bad)  # type: ignore[arg-type]
    env.step([3])  # lists of ints are actions too; clipped to 2
    assert env.last_u == 2.0
    with pytest.raises(EnvArgumentError, match="render_mode"):
        PendulumEnv(render_mode="human")


def test_make_and_make_vec() -> None:
    spec, reference = gym.spec("fourfold/Pendulum-v1"), gym.spec("Pendulum-v1")
    assert spec.max_episode_steps == reference.max_episode_steps == 200
    assert spec.reward_threshold is reference.reward_threshold is None
    env = gym.make("fourfold/Pendulum-v1", g=9.81)
    assert isinstance(env.unwrapped, PendulumEnv) and env.unwrapped.g == 9.81
    envs = gym.make_vec("fourfold/Pendulum-v1", num_envs=16, g=3.7)
    assert isinstance(envs, PendulumVectorEnv) and envs.num_envs == 16 and envs.g == 3.7
    assert envs.max_episode_steps == 200
    sync = gym.make_vec("fourfold/Pendulum-v1", num_envs=2, vectorization_mode="sync")
    assert np.array_equal(sync.reset(seed=4)[0], PendulumVectorEnv(num_envs=2).reset(seed=4)[0])


def test_rendering_draws_the_rod_and_the_torque() -> None:
    up, down = render_frame(0.0, np.nan), render_frame(np.pi, np.nan)
    assert up.shape == (500, 500, 3) and up.dtype == np.uint8
    assert (up[150, 250] == ROD).all() and (up[350, 250] == 255).all()  # upright: the rod above the axle
    assert (down[350, 250] == ROD).all() and (down[150, 250] == 255).all()
    assert (up[250, 250] == 0).all()  # the axle
    pushed = render_frame(0.0, 2.0)
    assert (pushed == 0).all(axis=2).sum() > (up == 0).all(axis=2).sum() + 100  # the torque arc
    env = PendulumEnv(render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    env.step(np.array([1.0], dtype=np.float32))
    assert first is not None and not np.array_equal(first, env.render())
    envs = PendulumVectorEnv(num_envs=2, render_mode="rgb_array")
    envs.reset(seed=0)
    frames = envs.render()
    assert frames is not None and len(frames) == 2 and all(f.shape == (500, 500, 3) for f in frames)
