"""Tests of fourfold.gym.frozen_lake: exactness against Gymnasium's FrozenLake (single env and SyncVectorEnv, every
map option and autoreset mode), the kernel against the NumPy reference, Gymnasium's env checker, errors, rendering."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.toy_text.frozen_lake import is_valid
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)
from fourfold.gym.frozen_lake import AGENT, HOLE, FrozenLakeEnv, FrozenLakeVectorEnv
from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]
CONFIGS: list[dict[str, Any]] = [
    {},
    {"map_name": "8x8", "is_slippery": False},
    {"desc": ["SFFH", "FHFG", "SFFF"], "success_rate": 0.6, "reward_schedule": (2, -1, -0.5)},
]


def _actions(generator: np.random.Generator, num_envs: int) -> np.ndarray:
    """Random moves, except that every fourth env always pushes up: it never leaves the top row, even slipping
    (up slips left or right), so its episodes end by the time limit."""
    actions = generator.integers(0, 4, num_envs)
    actions[::4] = 3
    return actions


def _step_both(ours: Any, theirs: Any, actions: np.ndarray) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Step both vector envs and assert equal observations, rewards, terminations, truncations and `prob` infos."""
    mine, expected = ours.step(actions), theirs.step(actions)
    for got, want in zip(mine[:4], expected[:4], strict=True):
        assert np.array_equal(got, want) and got.dtype == want.dtype
    if expected[4]["prob"].dtype == np.float64:  # SyncVectorEnv's dtype follows env 0, int after its reset
        np.testing.assert_allclose(mine[4]["prob"], expected[4]["prob"], rtol=0, atol=1e-12)
    assert np.array_equal(mine[4]["_prob"], expected[4]["_prob"])
    if "final_obs" in expected[4]:
        ended = expected[4]["_final_obs"]
        assert np.array_equal(mine[4]["_final_obs"], ended)
        assert [int(o) for o in mine[4]["final_obs"][ended]] == list(expected[4]["final_obs"][ended])
        np.testing.assert_allclose(mine[4]["final_info"]["prob"], expected[4]["final_info"]["prob"], atol=1e-12)
    return mine, expected


def _run_against_sync(
    ours: Any, theirs: Any, steps: int, seed: int, mode: AutoresetMode = AutoresetMode.NEXT_STEP
) -> dict[str, int]:
    """Step fourfold and SyncVectorEnv side by side; return how many episodes ended by goal, hole and time limit."""
    observations, info = ours.reset(seed=seed)
    expected, expected_info = theirs.reset(seed=seed)
    assert np.array_equal(observations, expected) and np.array_equal(info["_prob"], expected_info["_prob"])
    generator = np.random.default_rng(seed)
    counts = {"rewarded": 0, "terminated": 0, "truncated": 0}
    for _ in range(steps):
        (_, rewards, terminated, truncated, _), _ = _step_both(ours, theirs, _actions(generator, ours.num_envs))
        counts["rewarded"] += int((rewards > 0).sum())
        counts["terminated"] += int(terminated.sum())
        counts["truncated"] += int(truncated.sum())
        if mode == AutoresetMode.DISABLED and (terminated | truncated).any():
            done = terminated | truncated
            assert np.array_equal(
                ours.reset(options={"reset_mask": done})[0], theirs.reset(options={"reset_mask": done.copy()})[0]
            )
    for i in range(ours.num_envs):  # every env is at the same place of its own random stream
        assert ours.generator(i).bit_generator.state == theirs.np_random[i].bit_generator.state
    return counts


def test_gymnasium_env_checker_passes() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(gym.make("fourfold/FrozenLake-v1", render_mode="ansi").unwrapped)  # tries rgb_array as well
        check_env(gym.make("fourfold/FrozenLake8x8-v1", render_mode="rgb_array").unwrapped)
        check_env(FrozenLakeEnv(map_name=None, is_slippery=False), skip_render_check=True)
    assert not caught, [str(w.message) for w in caught]


@pytest.mark.parametrize("kwargs", CONFIGS, ids=["4x4", "8x8-calm", "custom"])
def test_single_env_matches_gymnasium_with_ansi_text(kwargs: dict[str, Any]) -> None:
    ours = gym.make("fourfold/FrozenLake-v1", render_mode="ansi", **kwargs)
    theirs = gym.make("FrozenLake-v1", render_mode="ansi", **kwargs)
    assert ours.observation_space == theirs.observation_space and ours.action_space == theirs.action_space
    generator = np.random.default_rng(0)
    steps = ended = 0
    for episode in range(30):
        assert ours.reset(seed=episode) == theirs.reset(seed=episode)
        assert ours.render() == theirs.render()
        done = False
        while not done:
            action = int(generator.integers(0, 4))
            observation, reward, terminated, truncated, info = ours.step(action)
            assert (observation, reward, terminated, truncated, info) == theirs.step(action)
            assert type(observation) is int and type(reward) is float and type(info["prob"]) is float
            assert ours.render() == theirs.render()
            done, steps, ended = terminated or truncated, steps + 1, ended + (terminated or truncated)
    assert ended == 30 and steps > 150
    assert ours.unwrapped.np_random.bit_generator.state == theirs.unwrapped.np_random.bit_generator.state
    single = ours.unwrapped
    assert isinstance(single, FrozenLakeEnv)
    transitions = theirs.unwrapped.P  # type: ignore[attr-defined]
    ours_p = single.P
    assert ours_p == {
        s: {a: [(p, n, float(r), t) for p, n, r, t in row[a]] for a in row} for s, row in transitions.items()
    }


def test_vector_env_matches_sync_vector_env_over_20000_steps() -> None:
    ours = gym.make_vec("fourfold/FrozenLake-v1", num_envs=16)
    theirs = gym.make_vec("FrozenLake-v1", num_envs=16, vectorization_mode="sync")
    counts = _run_against_sync(ours, theirs, steps=1250, seed=123)
    assert counts["rewarded"] > 15 and counts["terminated"] > 1000 and counts["truncated"] > 20


@pytest.mark.parametrize("kwargs", CONFIGS[1:], ids=["8x8-calm", "custom"])
def test_vector_env_matches_sync_vector_env_for_map_options(kwargs: dict[str, Any]) -> None:
    ours = gym.make_vec("fourfold/FrozenLake-v1", num_envs=8, max_episode_steps=30, **kwargs)
    theirs = gym.make_vec("FrozenLake-v1", num_envs=8, vectorization_mode="sync", max_episode_steps=30, **kwargs)
    counts = _run_against_sync(ours, theirs, steps=400, seed=5)
    assert counts["terminated"] > 50 and counts["truncated"] > 10


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_every_autoreset_mode_matches_sync_vector_env(mode: AutoresetMode) -> None:
    ours = gym.make_vec("fourfold/FrozenLake-v1", num_envs=6, autoreset_mode=mode, max_episode_steps=12)
    theirs = gym.make_vec(
        "FrozenLake-v1", num_envs=6, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode},
        max_episode_steps=12,
    )  # fmt: skip
    assert ours.metadata["autoreset_mode"] == mode
    counts = _run_against_sync(ours, theirs, steps=300, seed=9, mode=mode)
    assert counts["terminated"] > 50 and counts["truncated"] > 20


def test_random_maps_are_one_per_env_and_match_gymnasium_on_them() -> None:
    ours = FrozenLakeVectorEnv(num_envs=4, map_name=None)
    assert ours.lakes.shape == (4, 8, 8) and len({lake.tobytes() for lake in ours.lakes}) == 4
    assert all(is_valid(lake.astype(str).tolist(), 8) for lake in ours.lakes)

    def maker(lake: np.ndarray) -> Any:
        return lambda: gym.make("FrozenLake-v1", desc=lake.astype(str).tolist())

    theirs = gym.vector.SyncVectorEnv([maker(lake) for lake in ours.lakes])
    counts = _run_against_sync(ours, theirs, steps=300, seed=1)
    assert counts["terminated"] > 20
    single = FrozenLakeEnv(map_name=None)
    assert single.desc.shape == (8, 8) and is_valid(single.desc.astype(str).tolist(), 8)


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_numba_kernel_equals_numpy_reference(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 5, "autoreset_mode": mode, "episode_statistics": True, "max_episode_steps": 9}
    compiled, reference = FrozenLakeVectorEnv(**kwargs), FrozenLakeVectorEnv(**kwargs, backend="numpy")
    assert np.array_equal(compiled.reset(seed=11)[0], reference.reset(seed=11)[0])
    generator = np.random.default_rng(0)
    for _ in range(300):
        actions = generator.integers(0, 4, 5)
        observations, rewards, terminated, truncated, info = compiled.step(actions)
        expected = reference.step(actions)
        for ours, theirs in zip((observations, rewards, terminated, truncated), expected[:4], strict=True):
            assert np.array_equal(ours, theirs) and ours.dtype == theirs.dtype
        assert info.keys() == expected[4].keys() and np.array_equal(info["prob"], expected[4]["prob"])
        if "episode" in info:
            assert np.array_equal(info["episode"]["l"], expected[4]["episode"]["l"])
        done = terminated | truncated
        if mode == AutoresetMode.DISABLED and done.any():
            observations, _ = compiled.reset(options={"reset_mask": done})
            assert np.array_equal(observations, reference.reset(options={"reset_mask": done})[0])
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
    env = FrozenLakeEnv()
    with pytest.raises(ResetNeededError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    for action in (4, -1, 1.0, "left"):
        with pytest.raises(InvalidActionError, match="outside the action space"):
            env.step(action)  # type: ignore[arg-type]


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
