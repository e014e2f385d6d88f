"""Tests of fourfold.gym.acrobot: exactness against Gymnasium's Acrobot-v1 (single env and SyncVectorEnv, every
autoreset mode, the NIPS equations, torque noise, another dt, float32 reset observations), numba against the
reference, the env checker, errors, registration and rendering."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)
from fourfold.gym.acrobot import AcrobotEnv, AcrobotVectorEnv, observations, render_frame
from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]
LINK = (0, 204, 204)


def _actions(observation: np.ndarray, generator: np.random.Generator) -> np.ndarray:
    """Even envs torque along dtheta2 (they swing up in about 100 steps), odd envs at random (time limit)."""
    swing = np.where(observation[:, 5] > 0, 2, 0)
    actions: np.ndarray = np.where(np.arange(len(swing)) % 2 == 0, swing, generator.integers(0, 3, len(swing)))
    return actions


def _reference(num_envs: int, mode: AutoresetMode, settings: dict[str, Any]) -> gym.vector.SyncVectorEnv:
    """SyncVectorEnv over Gymnasium's Acrobot, with `settings` (dt, book_or_nips, ...) set as Gymnasium sets them."""
    envs = gym.make_vec(
        "Acrobot-v1", num_envs=num_envs, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}
    )
    assert isinstance(envs, gym.vector.SyncVectorEnv)
    for env in envs.envs:
        for name, value in settings.items():
            setattr(env.unwrapped, name, value)
    return envs


def _run_against_sync(
    mode: AutoresetMode, num_envs: int, steps: int, seed: int, **settings: Any
) -> tuple[dict[str, int], dict[str, int]]:
    """Step fourfold and SyncVectorEnv side by side, asserting equal outputs; return mismatch and event counts."""
    ours = gym.make_vec("fourfold/Acrobot-v1", num_envs=num_envs, autoreset_mode=mode, **settings)
    theirs = _reference(num_envs, mode, settings)
    observation, _ = ours.reset(seed=seed)
    expected, _ = theirs.reset(seed=seed)
    assert np.array_equal(observation, expected)  # identical initial observations
    generator = np.random.default_rng(seed)
    mismatches = {"reward": 0, "terminated": 0, "truncated": 0}
    events = {"terminated": 0, "truncated": 0}
    for _ in range(steps):
        actions = _actions(observation, generator)
        observation, rewards, terminated, truncated, info = ours.step(actions)
        expected, expected_rewards, expected_terminated, expected_truncated, expected_info = theirs.step(actions)
        assert observation.dtype == np.float32
        np.testing.assert_allclose(observation, expected, rtol=0, atol=1e-6)
        mismatches["reward"] += int((rewards != expected_rewards).sum())
        mismatches["terminated"] += int((terminated != expected_terminated).sum())
        mismatches["truncated"] += int((truncated != expected_truncated).sum())
        assert info.keys() == expected_info.keys()
        for i in np.flatnonzero(info.get("_final_obs", [])):
            np.testing.assert_allclose(info["final_obs"][i], expected_info["final_obs"][i], rtol=0, atol=1e-6)
        events["terminated"] += int(terminated.sum())
        events["truncated"] += int(truncated.sum())
        done = terminated | truncated
        if mode == AutoresetMode.DISABLED and done.any():
            observation, _ = ours.reset(options={"reset_mask": done})
            assert np.array_equal(observation, theirs.reset(options={"reset_mask": done.copy()})[0])
    return mismatches, events


def test_gymnasium_env_checker_passes() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(AcrobotEnv(), skip_render_check=True)
        check_env(gym.make("fourfold/Acrobot-v1", render_mode="rgb_array").unwrapped)
    assert not caught, [str(warning.message) for warning in caught]


def test_single_env_matches_gymnasiums_acrobot() -> None:
    ours, theirs = gym.make("fourfold/Acrobot-v1"), gym.make("Acrobot-v1")
    assert ours.observation_space == theirs.observation_space and ours.action_space == theirs.action_space
    generator = np.random.default_rng(0)
    outcomes = {"terminated": 0, "truncated": 0}
    for episode in range(6):
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
    assert outcomes["terminated"] >= 3 and outcomes["truncated"] >= 1


def test_vector_env_matches_sync_vector_env_over_20000_steps() -> None:
    mismatches, events = _run_against_sync(AutoresetMode.NEXT_STEP, num_envs=8, steps=2500, seed=123)
    assert mismatches == {"reward": 0, "terminated": 0, "truncated": 0}
    assert events["terminated"] > 50 and events["truncated"] >= 8


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_every_autoreset_mode_matches_sync_vector_env(mode: AutoresetMode) -> None:
    mismatches, events = _run_against_sync(mode, num_envs=4, steps=520, seed=7)
    assert mismatches == {"reward": 0, "terminated": 0, "truncated": 0}
    assert events["terminated"] >= 4 and events["truncated"] >= 2


@pytest.mark.parametrize(
    "settings",
    [{"book_or_nips": "nips"}, {"torque_noise_max": 0.3}, {"dt": 0.05}],
    ids=["nips", "torque-noise", "dt"],
)
def test_gymnasiums_settings_match(settings: dict[str, Any]) -> None:
    mismatches, events = _run_against_sync(AutoresetMode.NEXT_STEP, num_envs=4, steps=400, seed=1, **settings)
    assert mismatches == {"reward": 0, "terminated": 0, "truncated": 0}
    assert events["terminated"] >= 1
    single, theirs = AcrobotEnv(**settings), gym.make("Acrobot-v1").unwrapped
    for name, value in settings.items():
        setattr(theirs, name, value)
    single.reset(seed=2)
    theirs.reset(seed=2)
    for action in [0, 2, 2, 1, 0, 0, 2, 1] * 10:
        np.testing.assert_allclose(single.step(action)[0], theirs.step(action)[0], rtol=0, atol=1e-6)
    assert single.np_random.bit_generator.state == theirs.np_random.bit_generator.state  # the same noise draws


def test_reset_observations_use_numpys_float32_cos_and_sin() -> None:
    options = {"low": -3.0, "high": 3.0}  # wide angles, where float32 and float64 cos differ most often
    expected, _ = _reference(64, AutoresetMode.NEXT_STEP, {}).reset(seed=0, options=options)
    for backend in ("numba", "numpy"):
        envs = AcrobotVectorEnv(num_envs=64, backend=backend)  # type: ignore[arg-type]
        observation, _ = envs.reset(seed=0, options=options)
        assert np.array_equal(observation, expected)
        assert not np.array_equal(observations(envs.state), expected)  # float64 cos rounded would not match
    single, theirs = AcrobotEnv(), gym.make("Acrobot-v1").unwrapped
    for seed in range(20):
        assert np.array_equal(single.reset(seed=seed, options=options)[0], theirs.reset(seed=seed, options=options)[0])


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_numba_kernel_equals_numpy_reference(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {
        "num_envs": 5,
        "autoreset_mode": mode,
        "episode_statistics": True,
        "max_episode_steps": 80,
        "torque_noise_max": 0.1,
    }
    compiled, reference = AcrobotVectorEnv(**kwargs), AcrobotVectorEnv(**kwargs, backend="numpy")
    observation, _ = compiled.reset(seed=11)
    assert np.array_equal(observation, reference.reset(seed=11)[0])
    generator = np.random.default_rng(0)
    ended = 0
    for step in range(300):
        actions = _actions(observation, generator)
        observation, rewards, terminated, truncated, info = compiled.step(actions)
        expected = reference.step(actions)
        for ours, theirs in zip((observation, rewards, terminated, truncated), expected[:4], strict=True):
            assert np.array_equal(ours, theirs) and ours.dtype == theirs.dtype, step
        assert info.keys() == expected[4].keys()
        if "episode" in info:
            assert np.array_equal(info["episode"]["r"], expected[4]["episode"]["r"])
        done = terminated | truncated
        ended += int(done.sum())
        if mode == AutoresetMode.DISABLED and done.any():
            observation, _ = compiled.reset(options={"reset_mask": done})
            assert np.array_equal(observation, reference.reset(options={"reset_mask": done})[0])
    assert ended > 10
    assert np.array_equal(compiled.state, reference.state) and np.array_equal(compiled._rng, reference._rng)


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (np.array([0, 1]), r"shape \(3,\)"),
        (np.array([0.0, 1.0, 2.0]), "must be integers"),
        (np.array([0, 3, 1]), "action 3 of env 1 is outside"),
    ],
)
def test_bad_vector_actions_are_clear_errors_and_change_nothing(actions: np.ndarray, message: str) -> None:
    for backend in ("numba", "numpy"):
        envs = AcrobotVectorEnv(num_envs=3, backend=backend)  # type: ignore[arg-type]
        envs.reset(seed=0)
        state = envs.state.copy()
        with pytest.raises(InvalidActionError, match=message):
            envs.step(actions)
        assert np.array_equal(envs.state, state)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"dt": 0.0}, "dt"), ({"book_or_nips": "paper"}, "book_or_nips"), ({"torque_noise_max": -1.0}, "noise")],
)
def test_bad_settings_are_clear_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(EnvArgumentError, match=message):
        AcrobotEnv(**kwargs)
    with pytest.raises(EnvArgumentError, match=message):
        AcrobotVectorEnv(num_envs=2, **kwargs)


def test_single_env_errors() -> None:
    env = AcrobotEnv()
    with pytest.raises(ResetNeededError, match="reset"):
        env.step(0)
    observation, _ = env.reset(seed=0)
    for bad in (3, -1, 1.0, "left"):
        with pytest.raises(InvalidActionError, match="outside the action space"):
            env.step(bad)  # type: ignore[arg-type]
    terminated = False
    while not terminated:
        observation, _, terminated, _, _ = env.step(np.int64(2 if observation[5] > 0 else 0))  # numpy ints too
    with pytest.raises(ResetNeededError, match="terminated; call reset"):
        env.step(1)


def test_make_and_make_vec() -> None:
    spec, reference = gym.spec("fourfold/Acrobot-v1"), gym.spec("Acrobot-v1")
    assert spec.max_episode_steps == reference.max_episode_steps == 500
    assert spec.reward_threshold == reference.reward_threshold == -100.0
    env = gym.make("fourfold/Acrobot-v1", book_or_nips="nips")
    assert isinstance(env.unwrapped, AcrobotEnv) and env.unwrapped.book_or_nips == "nips"
    envs = gym.make_vec("fourfold/Acrobot-v1", num_envs=16, dt=0.1, autoreset_mode="SameStep")
    assert isinstance(envs, AcrobotVectorEnv) and envs.num_envs == 16 and envs.dt == 0.1
    assert envs.max_episode_steps == 500 and envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    sync = gym.make_vec("fourfold/Acrobot-v1", num_envs=2, vectorization_mode="sync")
    assert np.array_equal(sync.reset(seed=4)[0], AcrobotVectorEnv(num_envs=2).reset(seed=4)[0])


def test_rendering_draws_the_links_where_they_are() -> None:
    hanging = render_frame(np.zeros(4))
    assert hanging.shape == (500, 500, 3) and hanging.dtype == np.uint8
    # Scale 500 / 4.4 px per metre: the links hang from (250, 250) down to row 477; the bar is at row 136.
    assert (hanging[300, 250] == LINK).all() and (hanging[450, 250] == LINK).all() and (hanging[200, 250] == 255).all()
    assert (hanging[136, 10] == 0).all() and (hanging[136, 490] == 0).all()
    assert (hanging[250, 250] == (204, 204, 0)).all()  # the pivot's joint
    up = render_frame(np.array([np.pi, 0.0, 0.0, 0.0]))
    assert (up[200, 250] == LINK).all() and (up[300, 250] == 255).all()
    envs = AcrobotVectorEnv(num_envs=2, render_mode="rgb_array")
    envs.reset(seed=0)
    frames = envs.render()
    assert frames is not None and len(frames) == 2 and all(f.shape == (500, 500, 3) for f in frames)
    env = AcrobotEnv(render_mode="rgb_array")
    env.reset(seed=0)
    assert env.render() is not None
