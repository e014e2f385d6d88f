"""Tests of fourfold.gym.frozen_lake: exactness against Gymnasium's FrozenLake (single env and SyncVectorEnv, every
map option and autoreset mode), the kernel against the NumPy reference, Gymnasium's env checker, errors, rendering."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.toy_text.frozen_lake import is_valid
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from tests.gym import toy_text_conformance as conformance

import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)
from fourfold.gym.frozen_lake import AGENT, HOLE, FrozenLakeEnv, FrozenLakeVectorEnv
from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError

CONFIGS: list[dict[str, Any]] = [
    {},
    {"map_name": "8x8", "is_slippery": False},
    {"desc": ["SFFH", "FHFG", "SFFF"], "success_rate": 0.6, "reward_schedule": (2, -1, -0.5)},
]


def _actions(observations: np.ndarray, generator: np.random.Generator) -> np.ndarray:
    """Random moves, except that every fourth env always pushes up: it never leaves the top row, even slipping
    (up slips left or right), so its episodes end by the time limit."""
    actions = generator.integers(0, 4, len(observations))
    actions[::4] = 3
    return actions


def _counts(ours: Any, theirs: Any, steps: int, seed: int) -> dict[str, int]:
    """Step `ours` beside `theirs` (SyncVectorEnv, or the NumPy reference), asserting equal outputs (see
    `conformance.lockstep`); return how many episodes ended by the goal (rewarded), at all, and by the time limit."""
    counts = {"rewarded": 0, "terminated": 0, "truncated": 0}
    for _, (_, rewards, terminated, truncated, _) in conformance.lockstep(
        ours, theirs, steps=steps, seed=seed, policy=_actions
    ):
        counts["rewarded"] += int((rewards > 0).sum())
        counts["terminated"] += int(terminated.sum())
        counts["truncated"] += int(truncated.sum())
    return counts


def test_gymnasium_env_checker_passes() -> None:
    with conformance.no_warnings():
        check_env(gym.make("fourfold/FrozenLake-v1", render_mode="ansi").unwrapped)  # tries rgb_array as well
        check_env(gym.make("fourfold/FrozenLake8x8-v1", render_mode="rgb_array").unwrapped)
        check_env(FrozenLakeEnv(map_name=None, is_slippery=False), skip_render_check=True)


@pytest.mark.parametrize("kwargs", CONFIGS, ids=["4x4", "8x8-calm", "custom"])
def test_single_env_matches_gymnasium_with_ansi_text(kwargs: dict[str, Any]) -> None:
    ours = gym.make("fourfold/FrozenLake-v1", render_mode="ansi", **kwargs)
    theirs = gym.make("FrozenLake-v1", render_mode="ansi", **kwargs)
    steps = ended = 0
    for _, (_, _, terminated, truncated, info) in conformance.single_lockstep(
        ours, theirs, episodes=30, policy=lambda observation, generator, episode: int(generator.integers(0, 4))
    ):
        assert type(info["prob"]) is float
        steps, ended = steps + 1, ended + (terminated or truncated)
    assert ended == 30 and steps > 150
    assert isinstance(ours.unwrapped, FrozenLakeEnv)
    conformance.assert_same_transitions(ours, theirs)


def test_vector_env_matches_sync_vector_env_over_20000_steps() -> None:
    ours, theirs = conformance.vector_pair("fourfold/FrozenLake-v1", "FrozenLake-v1", num_envs=16)
    counts = _counts(ours, theirs, steps=1250, seed=123)
    assert counts["rewarded"] > 15 and counts["terminated"] > 1000 and counts["truncated"] > 20


@pytest.mark.parametrize("kwargs", CONFIGS[1:], ids=["8x8-calm", "custom"])
def test_vector_env_matches_sync_vector_env_for_map_options(kwargs: dict[str, Any]) -> None:
    ours, theirs = conformance.vector_pair(
        "fourfold/FrozenLake-v1", "FrozenLake-v1", num_envs=8, max_episode_steps=30, **kwargs
    )
    counts = _counts(ours, theirs, steps=400, seed=5)
    assert counts["terminated"] > 50 and counts["truncated"] > 10


@pytest.mark.parametrize("mode", conformance.MODES, ids=lambda mode: mode.value)
def test_every_autoreset_mode_matches_sync_vector_env(mode: AutoresetMode) -> None:
    ours, theirs = conformance.vector_pair(
        "fourfold/FrozenLake-v1", "FrozenLake-v1", mode, num_envs=6, max_episode_steps=12
    )
    counts = _counts(ours, theirs, steps=300, seed=9)
    assert counts["terminated"] > 50 and counts["truncated"] > 20


def test_random_maps_are_one_per_env_and_match_gymnasium_on_them() -> None:
    ours = FrozenLakeVectorEnv(num_envs=4, map_name=None)
    assert ours.lakes.shape == (4, 8, 8) and len({lake.tobytes() for lake in ours.lakes}) == 4
    assert all(is_valid(lake.astype(str).tolist(), 8) for lake in ours.lakes)

    def maker(lake: np.ndarray) -> Any:
        return lambda: gym.make("FrozenLake-v1", desc=lake.astype(str).tolist())

    theirs = gym.vector.SyncVectorEnv([maker(lake) for lake in ours.lakes])
    counts = _counts(ours, theirs, steps=300, seed=1)
    assert counts["terminated"] > 20
    single = FrozenLakeEnv(map_name=None)
    assert single.desc.shape == (8, 8) and is_valid(single.desc.astype(str).tolist(), 8)


@pytest.mark.parametrize("mode", conformance.MODES, ids=lambda mode: mode.value)
def test_numba_kernel_equals_numpy_reference(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 5, "autoreset_mode": mode, "episode_statistics": True, "max_episode_steps": 9}
    compiled, reference = FrozenLakeVectorEnv(**kwargs), FrozenLakeVectorEnv(**kwargs, backend="numpy")
    ended = sum(
        int(outputs[4]["_episode"].sum()) if "episode" in outputs[4] else 0
        for _, outputs in conformance.lockstep(
            compiled, reference, steps=300, seed=11, policy=_actions, skip=frozenset({"t"})
        )
    )  # the episodes' wall-clock durations ("t") differ
    assert ended > 50
    assert np.array_equal(compiled.last_action, reference.last_action)
    assert np.array_equal(compiled._rng, reference._rng)


def test_bad_actions_are_clear_errors_and_change_nothing() -> None:
    envs = FrozenLakeVectorEnv(num_envs=3)
    observations, _ = envs.reset(seed=0)
    rows = envs._rng.copy()
    for bad, message in (
        ([0, 4, 1], "action 4 of env 1"),
        ([-1, 0, 0], "action -1 of env 0"),
        ([0.5, 0, 0], "integers"),
    ):
        with pytest.raises(InvalidActionError, match=message):
            envs.step(np.array(bad))
    assert np.array_equal(envs._rng, rows) and np.array_equal(envs.position, observations)
    conformance.assert_single_env_guards(FrozenLakeEnv, [4, -1, 1.0, "left"])


def test_stepping_a_terminated_single_env_raises() -> None:
    env = FrozenLakeEnv(is_slippery=False)
    env.reset(seed=0)
    for action in (1, 1, 2, 2, 1, 2):  # down, down, right, right, down, right: to the goal
        observation, reward, terminated, _, _ = env.step(action)
    assert (observation, reward, terminated) == (15, 1.0, True)
    with pytest.raises(ResetNeededError, match="terminated; call reset"):
        env.step(0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"desc": ["SFF", "FG"]}, "equal length"),
        ({"desc": ["FFF", "FFG"]}, "at least one S"),
        ({"desc": ["SXF", "FFG"]}, "only S, F, H and G"),
        ({"map_name": "5x5"}, "map_name must be one of"),
        ({"success_rate": 1.5}, "success_rate"),
        ({"reward_schedule": (1, 0)}, "reward_schedule"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(EnvArgumentError, match=message):
        FrozenLakeEnv(**kwargs)
    with pytest.raises(EnvArgumentError, match=message):
        FrozenLakeVectorEnv(num_envs=2, **kwargs)


def test_registration_and_make_vec() -> None:
    spec, spec8 = gym.spec("fourfold/FrozenLake-v1"), gym.spec("fourfold/FrozenLake8x8-v1")
    assert (spec.max_episode_steps, spec.reward_threshold, spec.kwargs) == (100, 0.70, {"map_name": "4x4"})
    assert (spec8.max_episode_steps, spec8.reward_threshold, spec8.kwargs) == (200, 0.85, {"map_name": "8x8"})
    assert gym.make("fourfold/FrozenLake-v1", map_name="8x8").observation_space == gym.spaces.Discrete(64)
    envs = gym.make_vec("fourfold/FrozenLake8x8-v1", num_envs=3)
    assert isinstance(envs, FrozenLakeVectorEnv) and envs.max_episode_steps == 200
    assert envs.single_observation_space == gym.spaces.Discrete(64)
    assert envs.observation_space == gym.spaces.MultiDiscrete([64, 64, 64])
    sync = gym.make_vec("fourfold/FrozenLake-v1", num_envs=2, vectorization_mode="sync")
    assert isinstance(sync, gym.vector.SyncVectorEnv) and isinstance(sync.envs[0].unwrapped, FrozenLakeEnv)


def test_rendering_frames_and_vector_ansi_text() -> None:
    env = FrozenLakeEnv(render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert isinstance(frame, np.ndarray) and frame.shape == (256, 256, 3) and frame.dtype == np.uint8
    assert (frame[32, 32] == AGENT).all()  # the agent on the start tile
    assert (frame[96, 96] == HOLE).all() and not (frame[96, 32] == HOLE).all()  # tile (1, 1) is a hole, (1, 0) not
    envs = FrozenLakeVectorEnv(num_envs=3, render_mode="ansi")
    theirs = gym.make_vec("FrozenLake-v1", num_envs=3, vectorization_mode="sync", render_mode="ansi")
    envs.reset(seed=2)
    theirs.reset(seed=2)
    for actions in ([1, 2, 3], [2, 2, 0]):
        envs.step(np.array(actions))
        theirs.step(np.array(actions))
        assert envs.render() == theirs.render()
    frames = FrozenLakeVectorEnv(num_envs=2, render_mode="rgb_array", map_name="8x8")
    frames.reset(seed=0)
    rendered = frames.render()
    assert rendered is not None and len(rendered) == 2
    assert isinstance(rendered[0], np.ndarray) and rendered[0].shape == (512, 512, 3)
