"""Tests of fourfold.gym.cliff_walking: exactness against Gymnasium's CliffWalking (single env and SyncVectorEnv,
slippery or not, every autoreset mode), the kernel against the NumPy reference, the env checker, errors, rendering."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from tests.gym import toy_text_conformance as conformance

import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)
from fourfold.gym.cliff_walking import AGENT, CLIFF, GOAL, CliffWalkingEnv, CliffWalkingVectorEnv
from fourfold.gym.vector import InvalidActionError, ResetNeededError


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


def _counts(ours: Any, theirs: Any, steps: int, seed: int) -> dict[str, int]:
    """Step `ours` beside `theirs` (SyncVectorEnv, or the NumPy reference), asserting equal outputs (see
    `conformance.lockstep`); count cliff falls and episode ends."""
    counts = {"falls": 0, "terminated": 0, "truncated": 0}
    for _, (_, rewards, terminated, truncated, _) in conformance.lockstep(
        ours, theirs, steps=steps, seed=seed, policy=_actions
    ):
        counts["falls"] += int((rewards == -100).sum())
        counts["terminated"] += int(terminated.sum())
        counts["truncated"] += int(truncated.sum())
    return counts


def test_gymnasium_env_checker_passes() -> None:
    with conformance.no_warnings():
        check_env(gym.make("fourfold/CliffWalking-v1", render_mode="ansi").unwrapped)  # tries rgb_array as well
        check_env(gym.make("fourfold/CliffWalking-v1", is_slippery=True).unwrapped, skip_render_check=True)


def _single_action(observation: int, generator: np.random.Generator, episode: int) -> int:
    """The safe path in odd episodes, random moves in even ones."""
    return int(_actions(np.array([observation]), generator)[0]) if episode % 2 else int(generator.integers(4))


@pytest.mark.parametrize("is_slippery", [False, True], ids=["firm", "slippery"])
def test_single_env_matches_gymnasium_with_ansi_text(is_slippery: bool) -> None:
    ours = gym.make("fourfold/CliffWalking-v1", render_mode="ansi", is_slippery=is_slippery)
    theirs = gym.make("CliffWalking-v1", render_mode="ansi", is_slippery=is_slippery)
    outcomes = set()
    for _, (_, reward, terminated, _, _) in conformance.single_lockstep(
        ours, theirs, episodes=10, policy=_single_action, max_steps=60
    ):
        outcomes.add((reward, terminated))
    assert (-100.0, False) in outcomes and ((-1.0, True) in outcomes or is_slippery)  # a fall; a goal when firm
    assert isinstance(ours.unwrapped, CliffWalkingEnv)
    conformance.assert_same_transitions(ours, theirs)


def test_vector_env_matches_sync_vector_env_over_20000_steps() -> None:
    ours, theirs = conformance.vector_pair("fourfold/CliffWalking-v1", "CliffWalking-v1", num_envs=16)
    counts = _counts(ours, theirs, steps=1250, seed=123)
    assert counts["terminated"] > 500 and counts["falls"] > 200 and counts["truncated"] == 0  # no time limit


@pytest.mark.parametrize("mode", conformance.MODES, ids=lambda mode: mode.value)
def test_slippery_cliff_in_every_autoreset_mode_matches_sync_vector_env(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 6, "max_episode_steps": 60, "is_slippery": True}
    ours, theirs = conformance.vector_pair("fourfold/CliffWalking-v1", "CliffWalking-v1", mode, **kwargs)
    counts = _counts(ours, theirs, steps=400, seed=9)
    assert counts["terminated"] >= 5 and counts["truncated"] > 20 and counts["falls"] > 50


@pytest.mark.parametrize("mode", conformance.MODES, ids=lambda mode: mode.value)
def test_numba_kernel_equals_numpy_reference(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 4, "autoreset_mode": mode, "max_episode_steps": 20, "is_slippery": True}
    compiled, reference = CliffWalkingVectorEnv(**kwargs), CliffWalkingVectorEnv(**kwargs, backend="numpy")
    counts = _counts(compiled, reference, steps=250, seed=2)
    assert counts["falls"] > 10 and counts["terminated"] + counts["truncated"] > 10
    assert np.array_equal(compiled._rng, reference._rng)


def test_errors() -> None:
    envs = CliffWalkingVectorEnv(num_envs=2)
    observations, _ = envs.reset(seed=0)
    with pytest.raises(InvalidActionError, match="action 4 of env 1"):
        envs.step(np.array([0, 4]))
    assert np.array_equal(envs.step(np.array([1, 1]))[0], observations)  # right from the start: into the cliff
    env, _ = conformance.assert_single_env_guards(CliffWalkingEnv, [5])
    for action in [0] + [1] * 11 + [2]:
        terminated = env.step(action)[2]
    assert terminated
    with pytest.raises(ResetNeededError, match="terminated; call reset"):
        env.step(0)


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
