"""Tests of fourfold.gym.taxi and taxi_dynamics: exactness against Gymnasium 1.4's Taxi (single env and
SyncVectorEnv, rainy and fickle options, every autoreset mode, `prob` and `action_mask` infos), the kernel against the
NumPy reference, the env checker, errors, registration and rendering."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from tests.gym import toy_text_conformance as conformance

import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)
from fourfold.gym import registration
from fourfold.gym.taxi import TAXI, TaxiEnv, TaxiVectorEnv
from fourfold.gym.taxi_dynamics import build_tables, decode
from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError

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


def _counts(ours: Any, theirs: Any, steps: int, seed: int) -> dict[str, int]:
    """Step `ours` beside `theirs` (SyncVectorEnv, or the NumPy reference), asserting equal outputs and infos (see
    `conformance.lockstep`); count deliveries, time limits and destination changes within an episode (the fickle
    passenger)."""
    counts = {"delivered": 0, "truncated": 0, "fickle": 0}
    resetting = np.zeros(ours.num_envs, dtype=np.bool_)  # NEXT_STEP: envs whose next step is a reset
    next_step = ours.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    for before, outputs in conformance.lockstep(ours, theirs, steps=steps, seed=seed, policy=_actions):
        observations, rewards, terminated, truncated, _ = outputs
        counts["delivered"] += int((rewards == 20).sum())
        counts["truncated"] += int(truncated.sum())
        done = terminated | truncated
        counts["fickle"] += int((~resetting & ~done & (before % 4 != observations % 4)).sum())  # a new destination
        resetting = done if next_step else resetting
    return counts


def test_gymnasium_env_checker_passes() -> None:
    with conformance.no_warnings():
        check_env(gym.make("fourfold/Taxi-v3", render_mode="ansi").unwrapped)  # tries rgb_array as well
        check_env(gym.make("fourfold/Taxi-v3", is_rainy=True, fickle_passenger=True).unwrapped, skip_render_check=True)


@pytest.mark.parametrize("kwargs", OPTIONS, ids=["dry", "rainy", "fickle", "rainy-fickle"])
def test_single_env_matches_gymnasium_with_infos_and_ansi_text(kwargs: dict[str, Any]) -> None:
    ours = gym.make("fourfold/Taxi-v3", render_mode="ansi", **kwargs)
    theirs = gym.make("Taxi-v4", render_mode="ansi", **kwargs)
    delivered = 0
    for _, (_, reward, _, _, info) in conformance.single_lockstep(
        ours,
        theirs,
        episodes=12,
        policy=lambda observation, generator, episode: (
            int(POLICY[observation]) if episode % 3 else int(generator.integers(0, 6))
        ),
    ):
        assert type(info["prob"]) is float and info["action_mask"].dtype == np.int8
        delivered += reward == 20
    assert delivered >= 5
    single = ours.unwrapped
    assert isinstance(single, TaxiEnv)
    conformance.assert_same_transitions(ours, theirs)
    assert single.decode(single.encode(3, 1, 4, 2)) == (3, 1, 4, 2) == decode(single.encode(3, 1, 4, 2))


def test_vector_env_matches_sync_vector_env_over_20000_steps() -> None:
    ours, theirs = conformance.vector_pair("fourfold/Taxi-v3", "Taxi-v4", num_envs=16)
    counts = _counts(ours, theirs, steps=1250, seed=123)
    assert counts["delivered"] > 400 and counts["truncated"] > 40 and counts["fickle"] == 0


@pytest.mark.parametrize("mode", conformance.MODES, ids=lambda mode: mode.value)
def test_rainy_fickle_taxi_in_every_autoreset_mode_matches_sync_vector_env(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 6, "max_episode_steps": 40, "is_rainy": True, "fickle_passenger": True}
    ours, theirs = conformance.vector_pair("fourfold/Taxi-v3", "Taxi-v4", mode, **kwargs)
    counts = _counts(ours, theirs, steps=300, seed=4)
    assert counts["delivered"] > 10 and counts["truncated"] > 10 and counts["fickle"] >= 2


@pytest.mark.parametrize("mode", conformance.MODES, ids=lambda mode: mode.value)
def test_numba_kernel_equals_numpy_reference(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 4, "autoreset_mode": mode, "max_episode_steps": 30}
    compiled = TaxiVectorEnv(**kwargs, is_rainy=True, fickle_passenger=True, fickle_probability=0.7)
    reference = TaxiVectorEnv(**kwargs, is_rainy=True, fickle_passenger=True, fickle_probability=0.7, backend="numpy")
    counts = _counts(compiled, reference, steps=250, seed=2)
    assert counts["delivered"] > 5 and counts["fickle"] >= 1
    assert np.array_equal(compiled.fickle_step, reference.fickle_step)
    assert np.array_equal(compiled._rng, reference._rng)


def test_errors() -> None:
    envs = TaxiVectorEnv(num_envs=2)
    envs.reset(seed=0)
    with pytest.raises(InvalidActionError, match="action 6 of env 1"):
        envs.step(np.array([0, 6]))
    env, observation = conformance.assert_single_env_guards(TaxiEnv, [-1])
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
