"""Tests of fourfold.gym.vector through CartPole: Gymnasium's vector semantics (autoreset modes, seeding, reset_mask,
time limit, episode statistics), checked step by step against Gymnasium's SyncVectorEnv; numba against NumPy; errors."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers.vector import RecordEpisodeStatistics

import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)
from fourfold.core.errors import FourfoldError
from fourfold.gym.cartpole import CartPoleVectorEnv
from fourfold.gym.vector import Backend, EnvArgumentError, InvalidActionError, ResetNeededError

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]


def _balance(observations: np.ndarray) -> np.ndarray:
    """A linear controller that keeps the pole up and the cart near the centre for thousands of steps."""
    pushes: np.ndarray = (observations @ np.array([0.05, 0.1, 1.0, 0.5]) > 0).astype(np.int64)
    return pushes


def _actions(observations: np.ndarray, step: int, generator: np.random.Generator) -> np.ndarray:
    """Random actions for even envs, `_balance` for odd ones, so that some episodes reach the time limit."""
    balance = _balance(observations)
    return np.where(np.arange(len(observations)) % 2 == 1, balance, generator.integers(0, 2, len(observations)))


def _reference(num_envs: int, mode: AutoresetMode, **kwargs: Any) -> gym.vector.VectorEnv:
    return gym.make_vec(
        "CartPole-v1", num_envs=num_envs, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}, **kwargs
    )


def _assert_same_info(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert ours.keys() == theirs.keys()
    if "final_obs" in ours:
        assert np.array_equal(ours["_final_obs"], theirs["_final_obs"])
        assert np.array_equal(ours["_final_info"], theirs["_final_info"])
        for i in np.flatnonzero(ours["_final_obs"]):
            assert np.array_equal(ours["final_obs"][i], theirs["final_obs"][i])
            assert ours["final_obs"][i].dtype == np.float32


def _run_against_sync(mode: AutoresetMode, num_envs: int, steps: int, seed: int, **kwargs: Any) -> tuple[int, int]:
    """Step fourfold and SyncVectorEnv side by side; assert equal outputs; return the ended and truncated counts."""
    ours = gym.make_vec("fourfold/CartPole-v1", num_envs=num_envs, autoreset_mode=mode, **kwargs)
    theirs = _reference(num_envs, mode, **kwargs)
    assert ours.metadata["autoreset_mode"] == theirs.metadata["autoreset_mode"] == mode
    observations, _ = ours.reset(seed=seed)
    expected, _ = theirs.reset(seed=seed)
    assert np.array_equal(observations, expected)
    generator = np.random.default_rng(seed)
    ended = truncations = 0
    for step in range(steps):
        actions = _actions(observations, step, generator)
        observations, rewards, terminated, truncated, info = ours.step(actions)
        expected, expected_rewards, expected_terminated, expected_truncated, expected_info = theirs.step(actions)
        assert np.array_equal(observations, expected), step
        assert np.array_equal(rewards, expected_rewards) and rewards.dtype == expected_rewards.dtype
        assert np.array_equal(terminated, expected_terminated)
        assert np.array_equal(truncated, expected_truncated)
        _assert_same_info(info, expected_info)
        done = terminated | truncated
        ended += int(done.sum())
        truncations += int(truncated.sum())
        if mode == AutoresetMode.DISABLED and done.any():
            observations, _ = ours.reset(options={"reset_mask": done})
            expected, _ = theirs.reset(options={"reset_mask": done.copy()})
            assert np.array_equal(observations, expected)
    assert isinstance(ours, CartPoleVectorEnv) and isinstance(theirs, gym.vector.SyncVectorEnv)
    assert ours.np_random_seed == theirs.np_random_seed == tuple(seed + i for i in range(num_envs))
    for i in range(num_envs):  # every env is at the same place of its own random stream
        assert ours.generator(i).bit_generator.state == theirs.np_random[i].bit_generator.state
    return ended, truncations


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_matches_sync_vector_env_in_every_autoreset_mode(mode: AutoresetMode) -> None:
    ended, truncations = _run_against_sync(mode, num_envs=6, steps=1500, seed=7)
    assert ended > 100 and truncations >= 6  # many autoresets, and time-limit truncations of the balanced envs


def test_time_limit_truncates_like_gymnasiums_time_limit() -> None:
    ended, truncations = _run_against_sync(AutoresetMode.NEXT_STEP, num_envs=4, steps=60, seed=3, max_episode_steps=5)
    assert ended == truncations >= 40


def test_no_time_limit_with_max_episode_steps_none() -> None:
    envs = CartPoleVectorEnv(num_envs=2, max_episode_steps=None)
    observations, _ = envs.reset(seed=0)
    for _ in range(1200):
        observations, _, terminated, truncated, _ = envs.step(_balance(observations))
        assert not truncated.any() and not terminated.any()


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_numba_kernel_equals_numpy_reference(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {
        "num_envs": 5,
        "autoreset_mode": mode,
        "episode_statistics": True,
        "max_episode_steps": 60,
    }
    compiled, reference = CartPoleVectorEnv(**kwargs), CartPoleVectorEnv(**kwargs, backend="numpy")
    observations, _ = compiled.reset(seed=11)
    assert np.array_equal(observations, reference.reset(seed=11)[0])
    generator = np.random.default_rng(0)
    for step in range(800):
        actions = _actions(observations, step, generator)
        observations, rewards, terminated, truncated, info = compiled.step(actions)
        expected = reference.step(actions)
        for ours, theirs in zip((observations, rewards, terminated, truncated), expected[:4], strict=True):
            assert np.array_equal(ours, theirs) and ours.dtype == theirs.dtype, step
        _assert_same_info(info, expected[4])
        if "episode" in info:
            assert np.array_equal(info["episode"]["r"], expected[4]["episode"]["r"])
            assert np.array_equal(info["episode"]["l"], expected[4]["episode"]["l"])
        done = terminated | truncated
        if mode == AutoresetMode.DISABLED and done.any():
            observations, _ = compiled.reset(options={"reset_mask": done})
            assert np.array_equal(observations, reference.reset(options={"reset_mask": done})[0])
    assert np.array_equal(compiled.state, reference.state)
    assert np.array_equal(compiled._rng, reference._rng)


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP], ids=lambda mode: mode.value)
def test_episode_statistics_match_record_episode_statistics(mode: AutoresetMode) -> None:
    ours = gym.make_vec("fourfold/CartPole-v1", num_envs=4, autoreset_mode=mode, episode_statistics=True)
    theirs = RecordEpisodeStatistics(_reference(4, mode))
    observations, _ = ours.reset(seed=5)
    theirs.reset(seed=5)
    generator = np.random.default_rng(5)
    episodes = 0
    for step in range(1200):
        actions = _actions(observations, step, generator)
        observations, _, terminated, truncated, info = ours.step(actions)
        expected_info = theirs.step(actions)[4]
        assert ("episode" in info) == ("episode" in expected_info) == bool((terminated | truncated).any())
        if "episode" in info:
            episodes += int(info["_episode"].sum())
            assert np.array_equal(info["_episode"], expected_info["_episode"])
            for key in ("r", "l"):
                assert np.array_equal(info["episode"][key], expected_info["episode"][key])
                assert info["episode"][key].dtype == expected_info["episode"][key].dtype
            assert info["episode"]["t"].dtype == np.float64
            assert (info["episode"]["t"] >= 0).all() and (info["episode"]["t"][~info["_episode"]] == 0).all()
    assert episodes > 50


def test_record_episode_statistics_wrapper_works_on_the_env() -> None:
    envs = RecordEpisodeStatistics(gym.make_vec("fourfold/CartPole-v1", num_envs=3))
    envs.reset(seed=0)
    for _ in range(100):
        envs.step(np.zeros(3, dtype=np.int64))  # always left: every episode ends in about ten steps
    assert len(envs.return_queue) >= 3


def test_seeding_is_per_env_and_deterministic() -> None:
    envs = CartPoleVectorEnv(num_envs=3)
    first, _ = envs.reset(seed=10)
    assert envs.np_random_seed == (10, 11, 12)
    assert np.array_equal(first, envs.reset(seed=10)[0])
    single = CartPoleVectorEnv(num_envs=1)
    assert np.array_equal(first[2], single.reset(seed=12)[0][0])  # env i of seed s is env 0 of seed s + i
    listed, _ = envs.reset(seed=[12, 11, 10])
    assert np.array_equal(listed, first[::-1])
    again, _ = envs.reset()  # no seed: each env continues its own stream
    reference = _reference(3, AutoresetMode.NEXT_STEP)
    assert isinstance(reference, gym.vector.SyncVectorEnv)
    reference.reset(seed=[12, 11, 10])
    assert np.array_equal(again, reference.reset()[0])
    assert not np.array_equal(again, listed)


def test_unseeded_envs_get_random_distinct_seeds() -> None:
    a, b = CartPoleVectorEnv(num_envs=4), CartPoleVectorEnv(num_envs=4)
    observations_a, _ = a.reset()
    assert not np.array_equal(observations_a, b.reset()[0])
    assert len(set(a.np_random_seed)) == 4 and None not in a.np_random_seed


def test_reset_mask_resets_only_the_masked_envs() -> None:
    envs = CartPoleVectorEnv(num_envs=4, autoreset_mode=AutoresetMode.DISABLED)
    envs.reset(seed=0)
    observations, *_ = envs.step(np.array([0, 1, 0, 1]))
    mask = np.array([True, False, False, True])
    reset_observations, info = envs.reset(seed=100, options={"reset_mask": mask})
    assert info == {}
    assert np.array_equal(reset_observations[~mask], observations[~mask])
    assert np.array_equal(reset_observations[0], CartPoleVectorEnv(num_envs=1).reset(seed=100)[0][0])
    assert np.array_equal(reset_observations[3], CartPoleVectorEnv(num_envs=1).reset(seed=103)[0][0])
    assert envs.np_random_seed == (100, 1, 2, 103)


def test_reset_does_not_modify_the_callers_options() -> None:
    envs = CartPoleVectorEnv(num_envs=2)
    envs.reset(seed=0)
    options = {"reset_mask": np.array([True, False]), "low": -0.01, "high": 0.01}
    observations, _ = envs.reset(options=options)
    assert "reset_mask" in options
    assert np.abs(observations[0]).max() <= 0.01


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        ([True, False], "numpy bool array"),
        (np.array([1, 0]), "numpy bool array"),
        (np.array([True, False, True]), "shape"),
        (np.array([False, False]), "no env"),
    ],
)
def test_bad_reset_masks_are_clear_errors(mask: Any, message: str) -> None:
    envs = CartPoleVectorEnv(num_envs=2)
    envs.reset(seed=0)
    with pytest.raises(EnvArgumentError, match=message):
        envs.reset(options={"reset_mask": mask})


def test_first_reset_must_reset_every_env() -> None:
    with pytest.raises(EnvArgumentError, match="first reset"):
        CartPoleVectorEnv(num_envs=2).reset(options={"reset_mask": np.array([True, False])})


@pytest.mark.parametrize("seed", [-1, [1, 2], [0, "a", 2], 1.5])
def test_bad_seeds_are_clear_errors(seed: Any) -> None:
    with pytest.raises(EnvArgumentError, match="seed"):
        CartPoleVectorEnv(num_envs=3).reset(seed=seed)


def test_a_failed_reset_changes_nothing() -> None:
    envs = CartPoleVectorEnv(num_envs=2)
    envs.reset(seed=0)
    rows = envs._rng.copy()
    with pytest.raises(EnvArgumentError, match="Lower bound"):
        envs.reset(seed=5, options={"low": 1.0, "high": 0.0})
    assert np.array_equal(envs._rng, rows) and envs.np_random_seed == (0, 1)


def test_step_returns_fresh_arrays_every_call() -> None:
    envs = CartPoleVectorEnv(num_envs=3, autoreset_mode=AutoresetMode.SAME_STEP, episode_statistics=True)
    results: list[Any] = [envs.reset(seed=0)[0]]
    for _ in range(30):
        results.extend(envs.step(np.zeros(3, dtype=np.int64)))
    arrays = [a for a in results if isinstance(a, np.ndarray)]
    arrays += [v for info in results if isinstance(info, dict) for v in info.get("episode", {}).values()]
    for k, a in enumerate(arrays):
        for b in arrays[k + 1 :]:
            assert not np.shares_memory(a, b)


def test_spaces_dtypes_and_metadata() -> None:
    envs = gym.make_vec("fourfold/CartPole-v1", num_envs=8)
    reference = _reference(8, AutoresetMode.NEXT_STEP)
    assert isinstance(envs, CartPoleVectorEnv) and envs.num_envs == 8
    assert envs.single_observation_space == reference.single_observation_space
    assert envs.single_action_space == reference.single_action_space
    assert envs.observation_space == reference.observation_space
    assert envs.action_space == reference.action_space
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert envs.max_episode_steps == 500
    observations, info = envs.reset(seed=0)
    assert observations.dtype == np.float32 and observations.shape == (8, 4) and info == {}
    assert observations in envs.observation_space
    observations, rewards, terminated, truncated, info = envs.step(envs.action_space.sample())
    assert observations.dtype == np.float32 and rewards.dtype == np.float64
    assert terminated.dtype == np.bool_ and truncated.dtype == np.bool_ and terminated.shape == (8,)
    assert info == {}


def test_autoreset_mode_from_its_string_value() -> None:
    envs = CartPoleVectorEnv(num_envs=2, autoreset_mode="SameStep")
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert CartPoleVectorEnv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP  # the class keeps its default


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (np.array([0, 1]), r"shape \(3,\)"),
        (np.zeros((3, 1), dtype=np.int64), r"shape \(3,\)"),
        (np.array([0.0, 1.0, 0.0]), "must be integers"),
        (np.array([True, False, True]), "must be integers"),
        (np.array([0, 2, 1]), "action 2 of env 1 is outside"),
        (np.array([0, 1, -1]), "action -1 of env 2 is outside"),
        (np.array([0, 1, 2**40]), "of env 2 is outside"),
    ],
)
def test_bad_actions_are_clear_errors_and_change_nothing(actions: np.ndarray, message: str) -> None:
    backends: tuple[Backend, ...] = ("numba", "numpy")
    for backend in backends:
        envs = CartPoleVectorEnv(num_envs=3, backend=backend)
        envs.reset(seed=0)
        state = envs.state.copy()
        with pytest.raises(InvalidActionError, match=message) as raised:
            envs.step(actions)
        assert isinstance(raised.value, FourfoldError) and isinstance(raised.value, ValueError)
        assert np.array_equal(envs.state, state)


def test_actions_of_other_integer_dtypes_and_lists_are_accepted() -> None:
    a, b, c = (CartPoleVectorEnv(num_envs=3) for _ in range(3))
    for envs in (a, b, c):
        envs.reset(seed=1)
    expected = a.step(np.array([0, 1, 1], dtype=np.int64))[0]
    assert np.array_equal(b.step(np.array([0, 1, 1], dtype=np.uint8))[0], expected)
    assert np.array_equal(c.step([0, 1, 1])[0], expected)


def test_step_before_reset_raises() -> None:
    with pytest.raises(ResetNeededError, match="reset"):
        CartPoleVectorEnv(num_envs=2).step(np.zeros(2, dtype=np.int64))


def test_stepping_an_ended_env_with_autoreset_disabled_raises() -> None:
    envs = CartPoleVectorEnv(num_envs=2, autoreset_mode=AutoresetMode.DISABLED)
    envs.reset(seed=0)
    done = np.zeros(2, dtype=np.bool_)
    while not done.any():
        _, _, terminated, truncated, _ = envs.step(np.zeros(2, dtype=np.int64))
        done = terminated | truncated
    with pytest.raises(ResetNeededError, match=f"env {int(np.flatnonzero(done)[0])} ended its episode"):
        envs.step(np.zeros(2, dtype=np.int64))
    envs.reset(options={"reset_mask": done})
    envs.step(np.zeros(2, dtype=np.int64))  # fine again


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_envs": 0}, "num_envs"),
        ({"num_envs": 2, "max_episode_steps": 0}, "max_episode_steps"),
        ({"num_envs": 2, "autoreset_mode": "sometimes"}, "autoreset_mode"),
        ({"num_envs": 2, "render_mode": "human"}, "render_mode"),
        ({"num_envs": 2, "backend": "jax"}, "backend"),
    ],
)
def test_bad_constructor_arguments_are_clear_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(EnvArgumentError, match=message):
        CartPoleVectorEnv(**kwargs)


def test_render_frames_of_the_first_envs() -> None:
    envs = CartPoleVectorEnv(num_envs=5, render_mode="rgb_array", render_envs=3)
    envs.reset(seed=0)
    frames = envs.render()
    assert frames is not None and len(frames) == 3
    assert all(frame.shape == (400, 600, 3) and frame.dtype == np.uint8 for frame in frames)
    assert not np.array_equal(frames[0], frames[1])  # different states, different pictures
    assert CartPoleVectorEnv(num_envs=2, render_mode="rgb_array").reset(seed=0) is not None
    quiet = CartPoleVectorEnv(num_envs=2)
    quiet.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert quiet.render() is None
