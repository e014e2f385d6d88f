"""Tests of fourfold.gym.taxi: exactness against Gymnasium 1.4's Taxi (single env and SyncVectorEnv, rainy and fickle
options, every autoreset mode, `prob` and `action_mask` infos), the kernel against the NumPy reference, the env
checker, errors, registration and rendering."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)
from fourfold.gym import registration
from fourfold.gym.taxi import TAXI, TaxiEnv, TaxiVectorEnv, build_tables, decode
from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]
OPTIONS: list[dict[str, Any]] = [
    {},
    {"is_rainy": True},
    {"fickle_passenger": True, "fickle_probability": 0.9},
    {"is_rainy": True, "fickle_passenger": True, "rainy_probability": 0.6},
]


def _greedy_policy() -> np.ndarray:
    """The optimal action of each state (S,) of the dry taxi, by value iteration over fourfold's own tables."""
    tables = build_tables(is_rainy=False, rainy_probability=0.8)
    next_state, reward, terminal = tables.next_state[0, :, :, 0], tables.reward[0, :, :, 0], tables.terminal[0, :, :, 0]
    values = np.zeros(500)
    for _ in range(100):
        values = (reward + 0.95 * np.where(terminal, 0.0, values[next_state])).max(axis=1)
    policy: np.ndarray = (reward + 0.95 * np.where(terminal, 0.0, values[next_state])).argmax(axis=1)
    return policy


POLICY = _greedy_policy()


def _actions(observations: np.ndarray, generator: np.random.Generator) -> np.ndarray:
    """The greedy policy for even envs (deliveries), random actions for odd ones (time limits, illegal actions)."""
    return np.where(
        np.arange(len(observations)) % 2 == 0, POLICY[observations], generator.integers(0, 6, len(observations))
    )


def _assert_same_info(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert ours.keys() == theirs.keys()
    for key in ("prob", "_prob", "action_mask", "_action_mask"):
        assert np.array_equal(ours[key], theirs[key]) and ours[key].dtype == theirs[key].dtype, key
    if "final_obs" in theirs:
        ended = theirs["_final_obs"]
        assert [int(o) for o in ours["final_obs"][ended]] == list(theirs["final_obs"][ended])
        assert ours["final_info"].keys() == theirs["final_info"].keys()
        for key, value in theirs["final_info"].items():
            assert np.array_equal(ours["final_info"][key], value), key


def _run_against_sync(ours: Any, theirs: Any, steps: int, seed: int, mode: AutoresetMode) -> dict[str, int]:
    """Step fourfold and SyncVectorEnv side by side with equal outputs and infos; count deliveries, time limits and
    destination changes within an episode (the fickle passenger)."""
    observations, info = ours.reset(seed=seed)
    expected, expected_info = theirs.reset(seed=seed)
    assert np.array_equal(observations, expected)
    _assert_same_info(info, expected_info)
    generator = np.random.default_rng(seed)
    counts = {"delivered": 0, "truncated": 0, "fickle": 0}
    resetting = np.zeros(ours.num_envs, dtype=np.bool_)  # NEXT_STEP: envs whose next step is a reset
    for _ in range(steps):
        actions = _actions(observations, generator)
        before = observations
        observations, rewards, terminated, truncated, info = ours.step(actions)
        expected, expected_rewards, expected_terminated, expected_truncated, expected_info = theirs.step(actions)
        assert np.array_equal(observations, expected) and observations.dtype == expected.dtype
        assert np.array_equal(rewards, expected_rewards) and rewards.dtype == expected_rewards.dtype
        assert np.array_equal(terminated, expected_terminated) and np.array_equal(truncated, expected_truncated)
        _assert_same_info(info, expected_info)
        counts["delivered"] += int((rewards == 20).sum())
        counts["truncated"] += int(truncated.sum())
        done = terminated | truncated
        counts["fickle"] += int((~resetting & ~done & (before % 4 != observations % 4)).sum())  # a new destination
        resetting = done if mode == AutoresetMode.NEXT_STEP else resetting
        if mode == AutoresetMode.DISABLED and done.any():
            observations, info = ours.reset(options={"reset_mask": done})
            expected, expected_info = theirs.reset(options={"reset_mask": done.copy()})
            assert np.array_equal(observations, expected)
            _assert_same_info(info, expected_info)
    for i in range(ours.num_envs):  # every env is at the same place of its own random stream
        assert ours.generator(i).bit_generator.state == theirs.np_random[i].bit_generator.state
    return counts


def test_gymnasium_env_checker_passes() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(gym.make("fourfold/Taxi-v3", render_mode="ansi").unwrapped)  # tries rgb_array as well
        check_env(gym.make("fourfold/Taxi-v3", is_rainy=True, fickle_passenger=True).unwrapped, skip_render_check=True)
    assert not caught, [str(w.message) for w in caught]


@pytest.mark.parametrize("kwargs", OPTIONS, ids=["dry", "rainy", "fickle", "rainy-fickle"])
def test_single_env_matches_gymnasium_with_infos_and_ansi_text(kwargs: dict[str, Any]) -> None:
    ours = gym.make("fourfold/Taxi-v3", render_mode="ansi", **kwargs)
    theirs = gym.make("Taxi-v4", render_mode="ansi", **kwargs)
    generator = np.random.default_rng(0)
    delivered = 0
    for episode in range(12):
        observation, info = ours.reset(seed=episode)
        expected, expected_info = theirs.reset(seed=episode)
        assert observation == expected and info["prob"] == expected_info["prob"] == 1.0
        assert np.array_equal(info["action_mask"], expected_info["action_mask"]) and ours.render() == theirs.render()
        truncated = terminated = False
        while not (terminated or truncated):
            action = int(POLICY[observation]) if episode % 3 else int(generator.integers(0, 6))
            observation, reward, terminated, truncated, info = ours.step(action)
            expected, expected_reward, expected_terminated, expected_truncated, expected_info = theirs.step(action)
            assert (observation, reward, terminated, truncated) == (
                expected,
                expected_reward,
                expected_terminated,
                expected_truncated,
            )
            assert info["prob"] == expected_info["prob"] and np.array_equal(
                info["action_mask"], expected_info["action_mask"]
            )
            assert info["action_mask"].dtype == np.int8 and ours.render() == theirs.render()
            delivered += reward == 20
    assert delivered >= 5
    assert ours.unwrapped.np_random.bit_generator.state == theirs.unwrapped.np_random.bit_generator.state
    single = ours.unwrapped
    assert isinstance(single, TaxiEnv)
    transitions = theirs.unwrapped.P  # type: ignore[attr-defined]
    ours_p = single.P
    assert ours_p == {
        s: {a: [(p, n, float(r), t) for p, n, r, t in row[a]] for a in row} for s, row in transitions.items()
    }
    assert single.decode(single.encode(3, 1, 4, 2)) == (3, 1, 4, 2) == decode(single.encode(3, 1, 4, 2))


def test_vector_env_matches_sync_vector_env_over_20000_steps() -> None:
    ours = gym.make_vec("fourfold/Taxi-v3", num_envs=16)
    theirs = gym.make_vec("Taxi-v4", num_envs=16, vectorization_mode="sync")
    counts = _run_against_sync(ours, theirs, steps=1250, seed=123, mode=AutoresetMode.NEXT_STEP)
    assert counts["delivered"] > 400 and counts["truncated"] > 40 and counts["fickle"] == 0


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_rainy_fickle_taxi_in_every_autoreset_mode_matches_sync_vector_env(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 6, "max_episode_steps": 40, "is_rainy": True, "fickle_passenger": True}
    ours = gym.make_vec("fourfold/Taxi-v3", autoreset_mode=mode, **kwargs)
    theirs = gym.make_vec("Taxi-v4", vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}, **kwargs)
    counts = _run_against_sync(ours, theirs, steps=300, seed=4, mode=mode)
    assert counts["delivered"] > 10 and counts["truncated"] > 10 and counts["fickle"] >= 2


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_numba_kernel_equals_numpy_reference(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 4, "autoreset_mode": mode, "max_episode_steps": 30}
    compiled = TaxiVectorEnv(**kwargs, is_rainy=True, fickle_passenger=True, fickle_probability=0.7)
    reference = TaxiVectorEnv(**kwargs, is_rainy=True, fickle_passenger=True, fickle_probability=0.7, backend="numpy")
    observations, _ = compiled.reset(seed=2)
    assert np.array_equal(observations, reference.reset(seed=2)[0])
    generator = np.random.default_rng(0)
    for _ in range(250):
        actions = _actions(observations, generator)
        observations, rewards, terminated, truncated, info = compiled.step(actions)
        expected = reference.step(actions)
        for ours, theirs in zip((observations, rewards, terminated, truncated), expected[:4], strict=True):
            assert np.array_equal(ours, theirs) and ours.dtype == theirs.dtype
        _assert_same_info(info, expected[4])
        done = terminated | truncated
        if mode == AutoresetMode.DISABLED and done.any():
            observations, _ = compiled.reset(options={"reset_mask": done})
            assert np.array_equal(observations, reference.reset(options={"reset_mask": done})[0])
    assert np.array_equal(compiled.fickle_step, reference.fickle_step)
    assert np.array_equal(compiled._rng, reference._rng)


def test_errors() -> None:
    envs = TaxiVectorEnv(num_envs=2)
    envs.reset(seed=0)
    with pytest.raises(InvalidActionError, match="action 6 of env 1"):
        envs.step(np.array([0, 6]))
    env = TaxiEnv()
    with pytest.raises(ResetNeededError, match="reset"):
        env.step(0)
    observation, _ = env.reset(seed=0)
    with pytest.raises(InvalidActionError, match="outside the action space"):
        env.step(-1)
    terminated = False
    while not terminated:
        observation, _, terminated, _, _ = env.step(int(POLICY[observation]))
    with pytest.raises(ResetNeededError, match="terminated; call reset"):
        env.step(0)
    for bad in ({"rainy_probability": 1.5}, {"fickle_probability": -0.1}, {"render_mode": "human"}):
        with pytest.raises(EnvArgumentError, match=next(iter(bad))):
            TaxiEnv(**bad)


def test_registration_make_vec_and_rendering() -> None:
    spec = gym.spec("fourfold/Taxi-v3")
    assert (spec.max_episode_steps, spec.reward_threshold) == (200, 8.0) == (gym.spec("Taxi-v4").max_episode_steps, 8)
    assert registration.task("Taxi-v4").id == "fourfold/Taxi-v3"
    envs = gym.make_vec("fourfold/Taxi-v3", num_envs=2, render_mode="rgb_array")
    assert isinstance(envs, TaxiVectorEnv) and envs.observation_space == gym.spaces.MultiDiscrete([500, 500])
    observations, _ = envs.reset(seed=0)
    frames = envs.render()
    assert frames is not None and len(frames) == 2
    frame = frames[0]
    assert isinstance(frame, np.ndarray) and frame.shape == (440, 440, 3) and frame.dtype == np.uint8
    row, col, _, _ = decode(int(observations[0]))
    assert (frame[20 + 80 * row + 40, 20 + 80 * col + 25] == TAXI).all()
    texts = TaxiVectorEnv(num_envs=2, render_mode="ansi")
    theirs = gym.make_vec("Taxi-v4", num_envs=2, vectorization_mode="sync", render_mode="ansi")
    texts.reset(seed=5)
    theirs.reset(seed=5)
    assert texts.render() == theirs.render()
    texts.step(np.array([4, 1]))
    theirs.step(np.array([4, 1]))
    assert texts.render() == theirs.render()
