"""Tests of fourfold.gym.cartpole and registration: exactness against Gymnasium's CartPole (single env, SyncVectorEnv
and its own batched env), Gymnasium's env checker, errors, rendering, and a cheap `import fourfold.gym`."""

from __future__ import annotations

import subprocess
import sys
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv as GymnasiumCartPoleVectorEnv
from gymnasium.utils.env_checker import check_env

import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)
from fourfold.gym import registration
from fourfold.gym.cartpole import CartPoleEnv, CartPoleVectorEnv, render_frame
from fourfold.gym.vector import EnvArgumentError, InvalidActionError, ResetNeededError


def _balance(observation: np.ndarray) -> np.ndarray:
    """A linear controller that keeps the pole up for thousands of steps (so episodes reach the time limit)."""
    pushes: np.ndarray = (observation @ np.array([0.05, 0.1, 1.0, 0.5]) > 0).astype(np.int64)
    return pushes


def _assert_observations_match(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.dtype == theirs.dtype == np.float32 and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


def test_gymnasium_env_checker_passes() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(CartPoleEnv(), skip_render_check=True)
        check_env(gym.make("fourfold/CartPole-v1", render_mode="rgb_array").unwrapped)
    # The only warnings are about the unbounded velocities, which Gymnasium's own CartPole space has too.
    assert all("infinity" in str(warning.message) for warning in caught), [str(w.message) for w in caught]


@pytest.mark.parametrize("kwargs", [{}, {"sutton_barto_reward": True}])
def test_single_env_matches_gymnasiums_cartpole(kwargs: dict[str, Any]) -> None:
    ours, theirs = gym.make("fourfold/CartPole-v1", **kwargs), gym.make("CartPole-v1", **kwargs)
    assert ours.spec is not None and theirs.spec is not None
    assert ours.spec.max_episode_steps == theirs.spec.max_episode_steps == 500
    assert ours.observation_space == theirs.observation_space and ours.action_space == theirs.action_space
    generator = np.random.default_rng(0)
    steps = truncations = 0
    for episode in range(40):
        observation, info = ours.reset(seed=episode)
        expected, expected_info = theirs.reset(seed=episode)
        assert np.array_equal(observation, expected) and info == expected_info == {}
        balanced = episode % 10 == 0  # a few long episodes that end by the time limit
        done = False
        while not done:
            action = int(_balance(observation)) if balanced else int(generator.integers(0, 2))
            observation, reward, terminated, truncated, info = ours.step(action)
            expected, expected_reward, expected_terminated, expected_truncated, _ = theirs.step(action)
            _assert_observations_match(observation, expected)
            assert (reward, terminated, truncated) == (expected_reward, expected_terminated, expected_truncated)
            assert info == {}
            assert type(reward) is float and type(terminated) is bool
            done = terminated or truncated
            steps += 1
            truncations += truncated
    assert steps > 2000 and truncations >= 3
    assert ours.unwrapped.np_random.bit_generator.state == theirs.unwrapped.np_random.bit_generator.state


def test_reset_options_low_and_high_match_gymnasium() -> None:
    ours, theirs = CartPoleEnv(), gym.make("CartPole-v1").unwrapped
    options = {"low": -0.2, "high": 0.1}
    assert np.array_equal(ours.reset(seed=3, options=options)[0], theirs.reset(seed=3, options=options)[0])
    with pytest.raises(EnvArgumentError, match="Lower bound"):
        ours.reset(options={"low": 1.0, "high": -1.0})
    vector = CartPoleVectorEnv(num_envs=2)
    expected = np.stack([CartPoleEnv().reset(seed=s, options=options)[0] for s in (3, 4)])
    assert np.array_equal(vector.reset(seed=3, options=options)[0], expected)


def test_stepping_a_terminated_single_env_raises() -> None:
    env = CartPoleEnv()
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, reward, terminated, _, _ = env.step(0)
        assert reward == 1.0
    with pytest.raises(ResetNeededError, match="terminated; call reset"):
        env.step(0)
    env.reset()
    env.step(1)  # fine after reset


def test_single_env_errors() -> None:
    env = CartPoleEnv()
    with pytest.raises(ResetNeededError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    for bad in (2, -1, 1.0, np.array([1]), "left"):
        with pytest.raises(InvalidActionError, match="outside the action space"):
            env.step(bad)  # type: ignore[arg-type]
    env.step(np.int64(1))  # numpy integers are actions too
    with pytest.raises(EnvArgumentError, match="render_mode"):
        CartPoleEnv(render_mode="human")


def test_vector_env_matches_sync_vector_env_over_20000_steps() -> None:
    num_envs, steps = 8, 2500
    ours = gym.make_vec("fourfold/CartPole-v1", num_envs=num_envs)
    theirs = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="sync")
    observations, _ = ours.reset(seed=123)
    expected, _ = theirs.reset(seed=123)
    assert np.array_equal(observations, expected)  # identical initial observations
    generator = np.random.default_rng(123)
    balanced = np.arange(num_envs) % 4 == 0
    mismatches = {"reward": 0, "terminated": 0, "truncated": 0}
    ended = truncations = 0
    for _ in range(steps):
        actions = np.where(balanced, _balance(observations), generator.integers(0, 2, num_envs))
        observations, rewards, terminated, truncated, _ = ours.step(actions)
        expected, expected_rewards, expected_terminated, expected_truncated, _ = theirs.step(actions)
        _assert_observations_match(observations, expected)
        mismatches["reward"] += int((rewards != expected_rewards).sum())
        mismatches["terminated"] += int((terminated != expected_terminated).sum())
        mismatches["truncated"] += int((truncated != expected_truncated).sum())
        ended += int((terminated | truncated).sum())
        truncations += int(truncated.sum())
    assert mismatches == {"reward": 0, "terminated": 0, "truncated": 0}
    assert ended > 500 and truncations >= 4


def test_dynamics_match_gymnasiums_own_batched_cartpole() -> None:
    # Gymnasium's batched env draws all resets from one shared generator, so compare the dynamics from its states.
    theirs = GymnasiumCartPoleVectorEnv(num_envs=64)
    ours = CartPoleVectorEnv(num_envs=64)
    theirs.reset(seed=0)
    ours.reset(seed=0)
    assert theirs.state is not None
    ours.state[:] = theirs.state.T
    generator = np.random.default_rng(0)
    for _ in range(8):  # CartPole cannot end within 8 steps from ±0.05
        actions = generator.integers(0, 2, 64)
        observations, rewards, terminated, truncated, _ = ours.step(actions)
        expected, expected_rewards, expected_terminated, expected_truncated, _ = theirs.step(actions)
        _assert_observations_match(observations, expected)
        assert np.array_equal(rewards, expected_rewards)
        assert np.array_equal(terminated, expected_terminated) and np.array_equal(truncated, expected_truncated)


def test_sutton_barto_reward_in_the_vector_env() -> None:
    ours = gym.make_vec("fourfold/CartPole-v1", num_envs=3, sutton_barto_reward=True)
    theirs = gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode="sync", sutton_barto_reward=True)
    ours.reset(seed=1)
    theirs.reset(seed=1)
    total = 0.0
    for _ in range(100):
        actions = np.zeros(3, dtype=np.int64)
        rewards, terminated = ours.step(actions)[1:3]
        expected_rewards, expected_terminated = theirs.step(actions)[1:3]
        assert np.array_equal(rewards, expected_rewards) and np.array_equal(terminated, expected_terminated)
        total += float(rewards.sum())
    assert total < 0  # -1 at each termination, 0 otherwise


def test_registration_table_and_specs() -> None:
    spec = gym.spec("fourfold/CartPole-v1")
    assert spec.max_episode_steps == 500 and spec.reward_threshold == 475.0
    assert spec.entry_point == "fourfold.gym.cartpole:CartPoleEnv"
    assert spec.vector_entry_point == "fourfold.gym.cartpole:CartPoleVectorEnv"
    assert registration.task("CartPole-v1").id == "fourfold/CartPole-v1"
    with pytest.raises(KeyError, match="known tasks: fourfold/CartPole-v1"):
        registration.task("Pong-v5")
    registration.register_tasks()  # registering again is harmless
    assert all(row.id.startswith("fourfold/") for row in registration.TASKS)


def test_make_vec_modes_and_kwargs() -> None:
    envs = gym.make_vec("fourfold/CartPole-v1", num_envs=4, autoreset_mode="SameStep", episode_statistics=True)
    assert isinstance(envs, CartPoleVectorEnv) and envs.max_episode_steps == 500
    assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    limited = gym.make_vec("fourfold/CartPole-v1", num_envs=2, max_episode_steps=20)
    assert isinstance(limited, CartPoleVectorEnv) and limited.max_episode_steps == 20
    sync = gym.make_vec("fourfold/CartPole-v1", num_envs=2, vectorization_mode="sync")
    assert isinstance(sync, gym.vector.SyncVectorEnv)
    assert isinstance(sync.envs[0].unwrapped, CartPoleEnv)
    assert np.array_equal(sync.reset(seed=4)[0], CartPoleVectorEnv(num_envs=2).reset(seed=4)[0])


def test_importing_fourfold_gym_is_cheap_and_compiles_nothing() -> None:
    code = (
        "import sys\n"
        "import fourfold.gym\n"
        "assert 'numba' not in sys.modules and 'torch' not in sys.modules, 'import fourfold.gym imported too much'\n"
        "import fourfold.gym.cartpole as cartpole\n"
        "assert not cartpole._step_kernel.signatures, 'a kernel was compiled at import'\n"
        "assert 'torch' not in sys.modules\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr


def test_rendering_single_env_draws_the_cart_where_it_is() -> None:
    env = CartPoleEnv(render_mode="rgb_array")
    env.reset(seed=0)
    assert env.state is not None
    env.state[:] = [0.0, 0.0, 0.0, 0.0]
    frame = env.render()
    assert frame is not None and frame.shape == (400, 600, 3) and frame.dtype == np.uint8
    assert (frame[310, 276:325] == 0).all()  # the black cart: world y 85..115 -> rows 285..315, x 275..325
    assert (frame[310, 270] == 255).all() and (frame[310, 330] == 255).all()  # white beside it
    assert (frame[300, 0] == 0).all() and (frame[300, 599] == 0).all()  # the track line across the frame
    assert (frame[200, 300] == (202, 152, 101)).all()  # the upright pole above the axle
    env.state[:] = [1.2, 0.0, 0.2, 0.0]
    moved = env.render()
    assert moved is not None and (moved[310, 426:475] == 0).all()  # x = 1.2 -> 150 pixels to the right
    assert not (moved[200, 450] == (202, 152, 101)).all() and (moved[200, 472] == (202, 152, 101)).all()  # leans


def test_render_without_a_mode_warns_like_gymnasium() -> None:
    env = CartPoleEnv()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None
    with pytest.raises(ResetNeededError):
        CartPoleEnv(render_mode="rgb_array").render()
    assert render_frame(np.zeros(4)).shape == (400, 600, 3)
