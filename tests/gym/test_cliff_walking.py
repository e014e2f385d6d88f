"""Tests of fourfold.gym.cliff_walking: exactness against Gymnasium's CliffWalking (single env and SyncVectorEnv,
slippery or not, every autoreset mode), the kernel against the NumPy reference, the env checker, errors, rendering."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)
from fourfold.gym.cliff_walking import AGENT, CLIFF, GOAL, CliffWalkingEnv, CliffWalkingVectorEnv
from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]


def _safe_path(observations: np.ndarray) -> np.ndarray:
    """Up to the top row, right along it, down the last column: the goal in 17 steps on a firm cliff, and (after some
    slips) mostly on a slippery one too."""
    rows, cols = np.divmod(observations, 12)
    moves: np.ndarray = np.where(cols == 11, 2, np.where(rows > 0, 0, 1))
    return moves


def _actions(observations: np.ndarray, generator: np.random.Generator) -> np.ndarray:
    """The safe path for even envs, random moves for odd ones (which fall off the cliff now and then)."""
    return np.where(
        np.arange(len(observations)) % 2 == 0, _safe_path(observations), generator.integers(0, 4, len(observations))
    )


def _run_against_sync(ours: Any, theirs: Any, steps: int, seed: int, mode: AutoresetMode) -> dict[str, int]:
    """Step fourfold and SyncVectorEnv side by side, asserting equal outputs; count cliff falls and episode ends."""
    observations, info = ours.reset(seed=seed)
    expected, expected_info = theirs.reset(seed=seed)
    assert np.array_equal(observations, expected) and np.array_equal(info["prob"], expected_info["prob"])
    generator = np.random.default_rng(seed)
    counts = {"falls": 0, "terminated": 0, "truncated": 0}
    for _ in range(steps):
        actions = _actions(observations, generator)
        observations, rewards, terminated, truncated, info = ours.step(actions)
        expected, expected_rewards, expected_terminated, expected_truncated, expected_info = theirs.step(actions)
        assert np.array_equal(observations, expected) and observations.dtype == expected.dtype == np.int64
        assert np.array_equal(rewards, expected_rewards) and rewards.dtype == np.float64
        assert np.array_equal(terminated, expected_terminated) and np.array_equal(truncated, expected_truncated)
        if expected_info["prob"].dtype == np.float64:  # SyncVectorEnv's dtype follows env 0, int after its reset
            np.testing.assert_allclose(info["prob"], expected_info["prob"], rtol=0, atol=1e-12)
        if "final_obs" in expected_info:
            ended = expected_info["_final_obs"]
            assert [int(o) for o in info["final_obs"][ended]] == list(expected_info["final_obs"][ended])
            np.testing.assert_allclose(info["final_info"]["prob"], expected_info["final_info"]["prob"], atol=1e-12)
        counts["falls"] += int((rewards == -100).sum())
        counts["terminated"] += int(terminated.sum())
        counts["truncated"] += int(truncated.sum())
        done = terminated | truncated
        if mode == AutoresetMode.DISABLED and done.any():
            observations, _ = ours.reset(options={"reset_mask": done})
            assert np.array_equal(observations, theirs.reset(options={"reset_mask": done.copy()})[0])
    for i in range(ours.num_envs):  # every env is at the same place of its own random stream
        assert ours.generator(i).bit_generator.state == theirs.np_random[i].bit_generator.state
    return counts


def test_gymnasium_env_checker_passes() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(gym.make("fourfold/CliffWalking-v1", render_mode="ansi").unwrapped)  # tries rgb_array as well
        check_env(gym.make("fourfold/CliffWalking-v1", is_slippery=True).unwrapped, skip_render_check=True)
    assert not caught, [str(w.message) for w in caught]


@pytest.mark.parametrize("is_slippery", [False, True], ids=["firm", "slippery"])
def test_single_env_matches_gymnasium_with_ansi_text(is_slippery: bool) -> None:
    ours = gym.make("fourfold/CliffWalking-v1", render_mode="ansi", is_slippery=is_slippery)
    theirs = gym.make("CliffWalking-v1", render_mode="ansi", is_slippery=is_slippery)
    assert ours.observation_space == theirs.observation_space and ours.action_space == theirs.action_space
    generator = np.random.default_rng(0)
    for episode in range(10):
        observation, info = ours.reset(seed=episode)
        assert (observation, info) == theirs.reset(seed=episode) and ours.render() == theirs.render()
        for _ in range(60):
            action = int(_actions(np.array([observation]), generator)[0]) if episode % 2 else int(generator.integers(4))
            observation, reward, terminated, truncated, info = ours.step(action)
            assert (observation, reward, terminated, truncated, info) == theirs.step(action)
            assert type(observation) is int and type(reward) is float and ours.render() == theirs.render()
            if terminated:
                break
    assert ours.unwrapped.np_random.bit_generator.state == theirs.unwrapped.np_random.bit_generator.state
    single = ours.unwrapped
    assert isinstance(single, CliffWalkingEnv)
    transitions = theirs.unwrapped.P  # type: ignore[attr-defined]
    ours_p = single.P
    assert ours_p == {
        s: {a: [(p, int(n), float(r), t) for p, n, r, t in row[a]] for a in row} for s, row in transitions.items()
    }


def test_vector_env_matches_sync_vector_env_over_20000_steps() -> None:
    ours = gym.make_vec("fourfold/CliffWalking-v1", num_envs=16)
    theirs = gym.make_vec("CliffWalking-v1", num_envs=16, vectorization_mode="sync")
    counts = _run_against_sync(ours, theirs, steps=1250, seed=123, mode=AutoresetMode.NEXT_STEP)
    assert counts["terminated"] > 500 and counts["falls"] > 200 and counts["truncated"] == 0  # no time limit


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_slippery_cliff_in_every_autoreset_mode_matches_sync_vector_env(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 6, "max_episode_steps": 60, "is_slippery": True}
    ours = gym.make_vec("fourfold/CliffWalking-v1", autoreset_mode=mode, **kwargs)
    theirs = gym.make_vec(
        "CliffWalking-v1", vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}, **kwargs
    )
    counts = _run_against_sync(ours, theirs, steps=400, seed=9, mode=mode)
    assert counts["terminated"] >= 5 and counts["truncated"] > 20 and counts["falls"] > 50


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_numba_kernel_equals_numpy_reference(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 4, "autoreset_mode": mode, "max_episode_steps": 20, "is_slippery": True}
    compiled, reference = CliffWalkingVectorEnv(**kwargs), CliffWalkingVectorEnv(**kwargs, backend="numpy")
    observations, _ = compiled.reset(seed=2)
    assert np.array_equal(observations, reference.reset(seed=2)[0])
    generator = np.random.default_rng(0)
    for _ in range(250):
        actions = _actions(observations, generator)
        observations, rewards, terminated, truncated, info = compiled.step(actions)
        expected = reference.step(actions)
        for ours, theirs in zip((observations, rewards, terminated, truncated), expected[:4], strict=True):
            assert np.array_equal(ours, theirs) and ours.dtype == theirs.dtype
        assert info.keys() == expected[4].keys() and np.array_equal(info["prob"], expected[4]["prob"])
        done = terminated | truncated
        if mode == AutoresetMode.DISABLED and done.any():
            observations, _ = compiled.reset(options={"reset_mask": done})
            assert np.array_equal(observations, reference.reset(options={"reset_mask": done})[0])
    assert np.array_equal(compiled._rng, reference._rng)


def test_errors() -> None:
    envs = CliffWalkingVectorEnv(num_envs=2)
    observations, _ = envs.reset(seed=0)
    with pytest.raises(InvalidActionError, match="action 4 of env 1"):
        envs.step(np.array([0, 4]))
    assert np.array_equal(envs.step(np.array([1, 1]))[0], observations)  # right from the start: into the cliff
    env = CliffWalkingEnv()
    with pytest.raises(ResetNeededError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match="outside the action space"):
        env.step(5)
    for action in [0] + [1] * 11 + [2]:
        terminated = env.step(action)[2]
    assert terminated
    with pytest.raises(ResetNeededError, match="terminated; call reset"):
        env.step(0)
    with pytest.raises(EnvArgumentError, match="render_mode"):
        CliffWalkingEnv(render_mode="human")


def test_registration_make_vec_and_rendering() -> None:
    spec = gym.spec("fourfold/CliffWalking-v1")
    assert spec.max_episode_steps is None and spec.reward_threshold is None
    envs = gym.make_vec("fourfold/CliffWalking-v1", num_envs=3, render_mode="rgb_array")
    assert isinstance(envs, CliffWalkingVectorEnv) and envs.observation_space == gym.spaces.MultiDiscrete([48] * 3)
    envs.reset(seed=0)
    frames = envs.render()
    assert frames is not None and len(frames) == 3
    frame = frames[0]
    assert isinstance(frame, np.ndarray) and frame.shape == (256, 768, 3) and frame.dtype == np.uint8
    assert (frame[224, 32] == AGENT).all() and (frame[224, 96] == CLIFF).all() and (frame[224, 736] == GOAL).all()
    texts = CliffWalkingVectorEnv(num_envs=2, render_mode="ansi")
    texts.reset(seed=0)
    theirs = gym.make("CliffWalking-v1", render_mode="ansi")
    theirs.reset(seed=0)
    assert texts.render() == (theirs.render(),) * 2
