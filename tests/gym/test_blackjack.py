"""Tests of fourfold.gym.blackjack: exactness against Gymnasium's Blackjack (single env and SyncVectorEnv, `sab` and
`natural` rules, every autoreset mode, tuple observations), the kernel against the NumPy reference, the env checker,
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
from fourfold.gym.blackjack import CARD, CARD_BACK, FELT, BlackjackEnv, BlackjackVectorEnv, render_frame
from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]
RULES: list[dict[str, Any]] = [{"sab": True}, {"sab": False, "natural": True}, {"sab": False, "natural": False}]


def _actions(player_sums: np.ndarray, generator: np.random.Generator) -> np.ndarray:
    """Hit below 17 for even envs, random for odd ones."""
    threshold: np.ndarray = (player_sums < 17).astype(np.int64)
    return np.where(np.arange(len(player_sums)) % 2 == 0, threshold, generator.integers(0, 2, len(player_sums)))


def _assert_same_observations(ours: tuple[np.ndarray, ...], theirs: tuple[np.ndarray, ...]) -> None:
    assert isinstance(ours, tuple) and len(ours) == len(theirs) == 3
    for got, want in zip(ours, theirs, strict=True):
        assert np.array_equal(got, want) and got.dtype == want.dtype == np.int64


def _run_against_sync(ours: Any, theirs: Any, steps: int, seed: int, mode: AutoresetMode) -> dict[float, int]:
    """Step fourfold and SyncVectorEnv side by side with equal outputs; count the rewards of ended hands."""
    observations, info = ours.reset(seed=seed)
    expected, expected_info = theirs.reset(seed=seed)
    _assert_same_observations(observations, expected)
    assert info == expected_info == {}
    generator = np.random.default_rng(seed)
    counts: dict[float, int] = {}
    for _ in range(steps):
        actions = _actions(observations[0], generator)
        observations, rewards, terminated, truncated, info = ours.step(actions)
        expected, expected_rewards, expected_terminated, expected_truncated, expected_info = theirs.step(actions)
        _assert_same_observations(observations, expected)
        assert np.array_equal(rewards, expected_rewards) and rewards.dtype == np.float64
        assert np.array_equal(terminated, expected_terminated) and np.array_equal(truncated, expected_truncated)
        assert info.keys() == expected_info.keys()
        if "final_obs" in expected_info:
            assert list(info["final_obs"]) == list(expected_info["final_obs"])  # tuples of ints, None elsewhere
        for reward in rewards[terminated]:
            counts[float(reward)] = counts.get(float(reward), 0) + 1
        if mode == AutoresetMode.DISABLED and terminated.any():
            observations, _ = ours.reset(options={"reset_mask": terminated})
            _assert_same_observations(observations, theirs.reset(options={"reset_mask": terminated.copy()})[0])
    for i in range(ours.num_envs):  # every env is at the same place of its own random stream
        assert ours.generator(i).bit_generator.state == theirs.np_random[i].bit_generator.state
    return counts


def test_gymnasium_env_checker_passes() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(gym.make("fourfold/Blackjack-v1", render_mode="rgb_array").unwrapped)
    assert not caught, [str(w.message) for w in caught]


@pytest.mark.parametrize("rules", RULES, ids=["sab", "natural", "plain"])
def test_single_env_matches_gymnasium(rules: dict[str, Any]) -> None:
    ours, theirs = gym.make("fourfold/Blackjack-v1", **rules), gym.make("Blackjack-v1", **rules)
    assert ours.observation_space == theirs.observation_space and ours.action_space == theirs.action_space
    single, reference = ours.unwrapped, theirs.unwrapped
    assert isinstance(single, BlackjackEnv)
    generator = np.random.default_rng(0)
    rewards: set[float] = set()
    for hand in range(1000):
        assert ours.reset(seed=hand) == theirs.reset(seed=hand)
        assert single.dealer_top_card_suit == reference.dealer_top_card_suit  # type: ignore[attr-defined]
        assert single.dealer_top_card_value_str == reference.dealer_top_card_value_str  # type: ignore[attr-defined]
        terminated = False
        while not terminated:
            action = int(generator.integers(0, 2))
            observation, reward, terminated, truncated, info = ours.step(action)
            assert (observation, reward, terminated, truncated, info) == theirs.step(action)
            assert single.player == reference.player and single.dealer == reference.dealer  # type: ignore[attr-defined]
        rewards.add(float(reward))
    assert rewards == ({-1.0, 0.0, 1.0, 1.5} if rules.get("natural") else {-1.0, 0.0, 1.0})
    assert single.np_random.bit_generator.state == reference.np_random.bit_generator.state


def test_vector_env_matches_sync_vector_env_over_20000_steps() -> None:
    ours = gym.make_vec("fourfold/Blackjack-v1", num_envs=16)
    theirs = gym.make_vec("Blackjack-v1", num_envs=16, vectorization_mode="sync")
    counts = _run_against_sync(ours, theirs, steps=1250, seed=123, mode=AutoresetMode.NEXT_STEP)
    assert counts[1.0] > 1500 and counts[-1.0] > 3000 and counts[0.0] > 200


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_natural_rules_in_every_autoreset_mode_match_sync_vector_env(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 6, "sab": False, "natural": True}
    ours = gym.make_vec("fourfold/Blackjack-v1", autoreset_mode=mode, **kwargs)
    theirs = gym.make_vec("Blackjack-v1", vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}, **kwargs)
    counts = _run_against_sync(ours, theirs, steps=800, seed=4, mode=mode)
    assert counts[1.5] > 5 and counts[1.0] > 100


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_numba_kernel_equals_numpy_reference(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 5, "autoreset_mode": mode, "natural": True, "max_episode_steps": 2}
    compiled, reference = BlackjackVectorEnv(**kwargs), BlackjackVectorEnv(**kwargs, backend="numpy")
    observations, _ = compiled.reset(seed=2)
    _assert_same_observations(observations, reference.reset(seed=2)[0])
    generator = np.random.default_rng(0)
    for _ in range(400):
        actions = _actions(observations[0], generator)
        observations, rewards, terminated, truncated, info = compiled.step(actions)
        expected = reference.step(actions)
        _assert_same_observations(observations, expected[0])
        for ours, theirs in zip((rewards, terminated, truncated), expected[1:4], strict=True):
            assert np.array_equal(ours, theirs) and ours.dtype == theirs.dtype
        assert info.keys() == expected[4].keys()
        if "final_obs" in info:
            assert list(info["final_obs"]) == list(expected[4]["final_obs"])
        done = terminated | truncated
        if mode == AutoresetMode.DISABLED and done.any():
            observations, _ = compiled.reset(options={"reset_mask": done})
            _assert_same_observations(observations, reference.reset(options={"reset_mask": done})[0])
    assert np.array_equal(compiled.hands, reference.hands) and np.array_equal(compiled._rng, reference._rng)


def test_errors() -> None:
    envs = BlackjackVectorEnv(num_envs=2)
    envs.reset(seed=0)
    hands = envs.hands.copy()
    with pytest.raises(InvalidActionError, match="action 2 of env 1"):
        envs.step(np.array([0, 2]))
    assert np.array_equal(envs.hands, hands)
    env = BlackjackEnv()
    with pytest.raises(ResetNeededError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match="outside the action space"):
        env.step(3)
    assert env.step(0)[2]  # sticking ends the hand
    with pytest.raises(ResetNeededError, match="hand ended; call reset"):
        env.step(1)
    with pytest.raises(EnvArgumentError, match="render_mode"):
        BlackjackEnv(render_mode="ansi")


def test_registration_make_vec_and_rendering() -> None:
    spec = gym.spec("fourfold/Blackjack-v1")
    assert spec.max_episode_steps is None and spec.kwargs == {"sab": True, "natural": False}
    envs = gym.make_vec("fourfold/Blackjack-v1", num_envs=3, render_mode="rgb_array")
    theirs = gym.make_vec("Blackjack-v1", num_envs=3, vectorization_mode="sync")
    assert isinstance(envs, BlackjackVectorEnv) and envs.sab and not envs.natural
    assert envs.observation_space == theirs.observation_space
    assert envs.single_observation_space == theirs.single_observation_space
    envs.reset(seed=0)
    frames = envs.render()
    assert frames is not None and len(frames) == 3 and frames[0].shape == (376, 384, 3)
    ace = render_frame(player_value=13, usable_ace=True, shown=10, suit=1, face=2)
    assert (ace[60, 100] == CARD).all() and (ace[100, 250] == CARD_BACK).all() and (ace[5, 5] == FELT).all()
    assert (ace[302, 162] == CARD).all() and not (render_frame(13, False, 10, 1, 2)[302, 162] == CARD).all()
    assert not np.array_equal(render_frame(5, False, 3, 0, -1), render_frame(6, False, 3, 0, -1))  # the gauge
