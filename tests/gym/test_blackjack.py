"""Tests of fourfold.gym.blackjack: exactness against Gymnasium's Blackjack (single env and SyncVectorEnv, `sab` and
`natural` rules, every autoreset mode, tuple observations), the kernel against the NumPy reference, the env checker,
errors, registration and rendering."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from tests.gym import toy_text_conformance as conformance

import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)
from fourfold.gym.blackjack import CARD, CARD_BACK, FELT, BlackjackEnv, BlackjackVectorEnv, render_frame
from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError

RULES: list[dict[str, Any]] = [{"sab": True}, {"sab": False, "natural": True}, {"sab": False, "natural": False}]


def _actions(observations: tuple[np.ndarray, ...], generator: np.random.Generator) -> np.ndarray:
    """Hit below 17 for even envs, random for odd ones."""
    player_sums = observations[0]
    threshold: np.ndarray = (player_sums < 17).astype(np.int64)
    return np.where(np.arange(len(player_sums)) % 2 == 0, threshold, generator.integers(0, 2, len(player_sums)))


def _counts(ours: Any, theirs: Any, steps: int, seed: int) -> dict[float, int]:
    """Step `ours` beside `theirs` (SyncVectorEnv, or the NumPy reference), asserting equal outputs (tuple
    observations, `final_obs` tuples of ints; see `conformance.lockstep`); count the rewards of ended hands."""
    counts: dict[float, int] = {}
    for _, (observations, rewards, terminated, _, _) in conformance.lockstep(
        ours, theirs, steps=steps, seed=seed, policy=_actions
    ):
        assert all(column.dtype == np.int64 for column in observations)
        for reward in rewards[terminated]:
            counts[float(reward)] = counts.get(float(reward), 0) + 1
    return counts


def test_gymnasium_env_checker_passes() -> None:
    with conformance.no_warnings():
        check_env(gym.make("fourfold/Blackjack-v1", render_mode="rgb_array").unwrapped)


@pytest.mark.parametrize("rules", RULES, ids=["sab", "natural", "plain"])
def test_single_env_matches_gymnasium(rules: dict[str, Any]) -> None:
    ours, theirs = gym.make("fourfold/Blackjack-v1", **rules), gym.make("Blackjack-v1", **rules)
    single, reference = ours.unwrapped, theirs.unwrapped
    assert isinstance(single, BlackjackEnv)
    rewards: set[float] = set()
    for _, (_, reward, terminated, _, _) in conformance.single_lockstep(
        ours, theirs, episodes=1000, policy=lambda observation, generator, episode: int(generator.integers(0, 2))
    ):
        assert single.dealer_top_card_suit == reference.dealer_top_card_suit  # type: ignore[attr-defined]
        assert single.dealer_top_card_value_str == reference.dealer_top_card_value_str  # type: ignore[attr-defined]
        assert single.player == reference.player and single.dealer == reference.dealer  # type: ignore[attr-defined]
        if terminated:
            rewards.add(float(reward))
    assert rewards == ({-1.0, 0.0, 1.0, 1.5} if rules.get("natural") else {-1.0, 0.0, 1.0})


def test_vector_env_matches_sync_vector_env_over_20000_steps() -> None:
    ours, theirs = conformance.vector_pair("fourfold/Blackjack-v1", "Blackjack-v1", num_envs=16)
    counts = _counts(ours, theirs, steps=1250, seed=123)
    assert counts[1.0] > 1500 and counts[-1.0] > 3000 and counts[0.0] > 200


@pytest.mark.parametrize("mode", conformance.MODES, ids=lambda mode: mode.value)
def test_natural_rules_in_every_autoreset_mode_match_sync_vector_env(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 6, "sab": False, "natural": True}
    ours, theirs = conformance.vector_pair("fourfold/Blackjack-v1", "Blackjack-v1", mode, **kwargs)
    counts = _counts(ours, theirs, steps=800, seed=4)
    assert counts[1.5] > 5 and counts[1.0] > 100


@pytest.mark.parametrize("mode", conformance.MODES, ids=lambda mode: mode.value)
def test_numba_kernel_equals_numpy_reference(mode: AutoresetMode) -> None:
    kwargs: dict[str, Any] = {"num_envs": 5, "autoreset_mode": mode, "natural": True, "max_episode_steps": 2}
    compiled, reference = BlackjackVectorEnv(**kwargs), BlackjackVectorEnv(**kwargs, backend="numpy")
    counts = _counts(compiled, reference, steps=400, seed=2)
    assert counts[1.0] > 50 and counts[-1.0] > 50
    assert np.array_equal(compiled.hands, reference.hands) and np.array_equal(compiled._rng, reference._rng)


def test_errors() -> None:
    envs = BlackjackVectorEnv(num_envs=2)
    envs.reset(seed=0)
    hands = envs.hands.copy()
    with pytest.raises(InvalidActionError, match="action 2 of env 1"):
        envs.step(np.array([0, 2]))
    assert np.array_equal(envs.hands, hands)
    env, _ = conformance.assert_single_env_guards(BlackjackEnv, [3])
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
