"""CartPole-v1 as a `gymnasium.Env` and as a batched vector env, exact to Gymnasium's.

The cart-pole balancing task of Barto, Sutton & Anderson (1983), "Neuronlike adaptive elements that can solve
difficult learning control problems", with the dynamics, spaces, rewards, termination and options of Gymnasium's
`gymnasium/envs/classic_control/cartpole.py` (Euler integration, `sutton_barto_reward`, reset options `low` and
`high`), expression for expression so that states agree to the last bit. The 500-step time limit comes from
registration: Gymnasium's `TimeLimit` wraps the single env; the vector env takes `max_episode_steps`.

- `CartPoleEnv`: one env. Draws from its own `np_random` (numpy's PCG64, exactly as Gymnasium's). Unlike Gymnasium,
  which only warns, stepping it after termination without reset raises `ResetNeededError`.
- `CartPoleVectorEnv`: N envs stepped by one compiled kernel (`_step_kernel`), with Gymnasium's vector semantics
  (see `vector.py`): step for step equal to `SyncVectorEnv` over `gymnasium.make("CartPole-v1")` envs with the
  same seeds and actions. (Gymnasium's own `CartPoleVectorEnv` draws every env's resets from one shared generator
  and so cannot be exact to `SyncVectorEnv`; the dynamics are the same.) `backend="numpy"` runs the plain NumPy
  reference instead, for tests.

`dynamics` is the one definition of the physics: the single env calls it on floats, the NumPy reference on (N,)
arrays, and the kernel a compiled copy of it.

Shape legend: N num_envs; state (N, 4) float64 columns x, x_dot, theta, theta_dot; observations (N, 4) float32.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium
import numba
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.utils import maybe_parse_reset_bounds
from gymnasium.vector import AutoresetMode
from numpy.typing import NDArray

from fourfold.gym import render, rng
from fourfold.gym.vector import (
    SAME_STEP,
    Backend,
    BatchedVectorEnv,
    EnvArgumentError,
    InvalidActionError,
    ResetNeededError,
    autoreset,
    begin_episode,
    end_step,
)

# The constants of Gymnasium's CartPoleEnv, computed as it computes them.
GRAVITY = 9.8
MASSCART = 1.0
MASSPOLE = 0.1
TOTAL_MASS = MASSPOLE + MASSCART
LENGTH = 0.5  # half the pole's length
POLEMASS_LENGTH = MASSPOLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02  # seconds between state updates
THETA_THRESHOLD_RADIANS = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4
RESET_LOW, RESET_HIGH = -0.05, 0.05
OBSERVATION_HIGH = np.array([X_THRESHOLD * 2, np.inf, THETA_THRESHOLD_RADIANS * 2, np.inf], dtype=np.float32)

SCREEN_WIDTH, SCREEN_HEIGHT = 600, 400
POLE_COLOR: render.Color = (202, 152, 101)
AXLE_COLOR: render.Color = (129, 132, 203)

Values = Any
"""A float, or an (N,) float64 array: `dynamics` and `is_terminal` work on both, and in numba."""


def dynamics(x: Values, x_dot: Values, theta: Values, theta_dot: Values, force: Values) -> tuple[Values, ...]:
    """One Euler step of the cart-pole under `force`; returns the new (x, x_dot, theta, theta_dot).

    Gymnasium's expressions in Gymnasium's order (`a * a` is `np.square(a)` bit for bit); see
    https://coneural.org/florian/papers/05_cart_pole.pdf for the derivation.
    """
    costheta = np.cos(theta)
    sintheta = np.sin(theta)
    temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (
        LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS)
    )
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    x = x + TAU * x_dot
    x_dot = x_dot + TAU * xacc
    theta = theta + TAU * theta_dot
    theta_dot = theta_dot + TAU * thetaacc
    return x, x_dot, theta, theta_dot


def is_terminal(x: Values, theta: Values) -> Values:
    """Whether the cart left the track (|x| > 2.4) or the pole fell (|theta| > 12 degrees)."""
    return (
        (x < -X_THRESHOLD) | (x > X_THRESHOLD) | (theta < -THETA_THRESHOLD_RADIANS) | (theta > THETA_THRESHOLD_RADIANS)
    )


_compiled_dynamics = numba.njit(cache=True)(dynamics)
_compiled_is_terminal = numba.njit(cache=True)(is_terminal)


def observation_space() -> spaces.Box:
    """The observation space of one env: x, x_dot, theta, theta_dot as float32."""
    return spaces.Box(-OBSERVATION_HIGH, OBSERVATION_HIGH, dtype=np.float32)


def reset_bounds(options: dict[str, Any] | None) -> tuple[float, float]:
    """The (low, high) of the initial-state draw: the defaults or `options["low"]`, `options["high"]`."""
    try:
        return maybe_parse_reset_bounds(options or None, RESET_LOW, RESET_HIGH)
    except ValueError as error:
        raise EnvArgumentError(f"CartPole reset options: {error}") from None


def render_frame(state: NDArray[np.float64]) -> render.Frame:
    """A 600 x 400 frame of one cart-pole state (4,), drawn as Gymnasium draws it (without anti-aliasing)."""
    frame = render.new_frame(SCREEN_WIDTH, SCREEN_HEIGHT)
    scale = SCREEN_WIDTH / (X_THRESHOLD * 2)
    pole_width = 10.0
    pole_length = scale * (2 * LENGTH)
    cart_width, cart_height = 50.0, 30.0
    axle_offset = cart_height / 4.0
    cart_x = float(state[0]) * scale + SCREEN_WIDTH / 2.0  # middle of the cart
    cart_y = 100.0  # the height of the cart's middle (Gymnasium's `carty`), in world pixels (y up)
    angle = -float(state[2])

    def to_image(x: float, y: float) -> tuple[float, float]:
        return x, SCREEN_HEIGHT - y  # world pixels (y up) to image pixels (y down)

    left, right, top, bottom = -cart_width / 2, cart_width / 2, cart_height / 2, -cart_height / 2
    cart = [
        to_image(cart_x + dx, cart_y + dy) for dx, dy in ((left, bottom), (left, top), (right, top), (right, bottom))
    ]
    render.fill_polygon(frame, cart, render.BLACK)
    left, right, top, bottom = -pole_width / 2, pole_width / 2, pole_length - pole_width / 2, -pole_width / 2
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    pole = [
        to_image(cart_x + dx * cos_a - dy * sin_a, cart_y + axle_offset + dx * sin_a + dy * cos_a)
        for dx, dy in ((left, bottom), (left, top), (right, top), (right, bottom))
    ]
    render.fill_polygon(frame, pole, POLE_COLOR)
    render.fill_circle(frame, *to_image(cart_x, cart_y + axle_offset), pole_width / 2, AXLE_COLOR)
    render.draw_line(frame, *to_image(0.0, cart_y), *to_image(float(SCREEN_WIDTH), cart_y), render.BLACK)
    return frame


class CartPoleEnv(gymnasium.Env[NDArray[Any], np.int64]):
    """One cart-pole: push the cart left (0) or right (1) and keep the pole up; +1 per step, 500 steps at most."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 50}  # noqa: RUF012 (Gymnasium API)

    def __init__(self, sutton_barto_reward: bool = False, render_mode: str | None = None) -> None:
        """A cart-pole that needs `reset()` before its first step.

        Args:
            sutton_barto_reward: reward 0 per step and -1 at termination instead of +1 per step (Gymnasium's option).
            render_mode: None or "rgb_array".
        """
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise EnvArgumentError(f"CartPoleEnv: render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.sutton_barto_reward = bool(sutton_barto_reward)
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(2)
        self.observation_space = observation_space()
        self.state: NDArray[np.float64] | None = None  # (4,) x, x_dot, theta, theta_dot
        self._terminated = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Draw each state variable uniformly from [low, high) (default ±0.05); return the observation and `{}`."""
        super().reset(seed=seed)
        low, high = reset_bounds(options)
        self.state = self.np_random.uniform(low=low, high=high, size=(4,))
        self._terminated = False
        return self.state.astype(np.float32), {}

    def step(self, action: int | np.integer[Any]) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        """Push the cart; return observation, reward, terminated, truncated (always False here) and `{}`.

        Raises:
            ResetNeededError: before reset, or after the episode terminated.
            InvalidActionError: `action` is not 0 or 1.
        """
        if self.state is None:
            raise ResetNeededError("CartPoleEnv: call reset() before step()")
        if self._terminated:
            raise ResetNeededError("CartPoleEnv: the episode terminated; call reset() before stepping again")
        if not self.action_space.contains(action):
            raise InvalidActionError(f"CartPoleEnv: action {action!r} is outside the action space Discrete(2)")
        x, x_dot, theta, theta_dot = self.state
        force = FORCE_MAG if action == 1 else -FORCE_MAG
        x, x_dot, theta, theta_dot = dynamics(x, x_dot, theta, theta_dot, force)
        self.state = np.array((x, x_dot, theta, theta_dot), dtype=np.float64)
        terminated = bool(is_terminal(x, theta))
        reward = (-1.0 if terminated else 0.0) if self.sutton_barto_reward else 1.0
        self._terminated = terminated
        return self.state.astype(np.float32), reward, terminated, False, {}

    def render(self) -> render.Frame | None:
        """A (400, 600, 3) uint8 frame, or None (with Gymnasium's warning) without a render mode."""
        if self.render_mode is None:
            gymnasium.logger.warn(
                "You are calling render method without specifying any render mode: pass render_mode='rgb_array' to "
                "gymnasium.make or CartPoleEnv."
            )
            return None
        if self.state is None:
            raise ResetNeededError("CartPoleEnv: call reset() before render()")
        return render_frame(self.state)


@numba.njit(cache=True)
def _reset_state(state: NDArray[np.float64], generators: NDArray[np.uint64], i: int, low: float, high: float) -> None:
    """Draw env i's state as `np_random.uniform(low, high, size=(4,))` does, from its generator row."""
    for k in range(4):
        state[i, k] = rng.uniform(generators, i, low, high)


@numba.njit(cache=True)
def _step_kernel(
    state: NDArray[np.float64],
    generators: NDArray[np.uint64],
    actions: NDArray[np.int64],
    sutton_barto_reward: bool,
    mode: int,
    max_episode_steps: int,
    now: float,
    episodes: NDArray[np.void],
    observations: NDArray[np.float32],
    rewards: NDArray[np.float64],
    terminated: NDArray[np.bool_],
    truncated: NDArray[np.bool_],
    final_observations: NDArray[np.float32],
) -> int:
    """Step all N envs (the pattern of `vector.py`); return the number of ended episodes, or -1 - i (bad action i)."""
    num_envs = state.shape[0]
    for i in range(num_envs):  # validate first, so that a bad batch changes nothing
        if actions[i] != 0 and actions[i] != 1:
            return -1 - i
    ended = 0
    for i in range(num_envs):
        if episodes[i].pending:  # NEXT_STEP: the last step ended env i's episode, this one resets it
            _reset_state(state, generators, i, RESET_LOW, RESET_HIGH)
            autoreset(episodes, i, now)
            rewards[i] = 0.0
            terminated[i] = False
            truncated[i] = False
        else:
            force = FORCE_MAG if actions[i] == 1 else -FORCE_MAG
            x, x_dot, theta, theta_dot = _compiled_dynamics(state[i, 0], state[i, 1], state[i, 2], state[i, 3], force)
            state[i, 0] = x
            state[i, 1] = x_dot
            state[i, 2] = theta
            state[i, 3] = theta_dot
            term = _compiled_is_terminal(x, theta)
            reward = (-1.0 if term else 0.0) if sutton_barto_reward else 1.0
            trunc = end_step(episodes, i, reward, term, max_episode_steps, now)
            rewards[i] = reward
            terminated[i] = term
            truncated[i] = trunc
            if term or trunc:
                ended += 1
                if mode == SAME_STEP:
                    for k in range(4):
                        final_observations[i, k] = state[i, k]
                    _reset_state(state, generators, i, RESET_LOW, RESET_HIGH)
                    begin_episode(episodes, i, now)
        for k in range(4):
            observations[i, k] = state[i, k]
    return ended


@numba.njit(cache=True)
def _reset_kernel(
    state: NDArray[np.float64], generators: NDArray[np.uint64], mask: NDArray[np.bool_], low: float, high: float
) -> None:
    """Draw new states for the envs in `mask` (N,) from their own generator rows."""
    for i in range(state.shape[0]):
        if mask[i]:
            _reset_state(state, generators, i, low, high)


class CartPoleVectorEnv(BatchedVectorEnv):
    """N cart-poles stepped by one compiled kernel; `gymnasium.make_vec("fourfold/CartPole-v1", num_envs=N)`.

    Attributes:
        state: (N, 4) float64, the physical state of every env (x, x_dot, theta, theta_dot).
        sutton_barto_reward: as for `CartPoleEnv`.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (a class-level dict is Gymnasium's API)
        "render_modes": ["rgb_array"],
        "render_fps": 50,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = 500,
        render_mode: str | None = None,
        sutton_barto_reward: bool = False,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_envs: int = 16,
        episode_statistics: bool = False,
        backend: Backend = "numba",
    ) -> None:
        """Args: as `BatchedVectorEnv`, plus `sutton_barto_reward` (see `CartPoleEnv`)."""
        super().__init__(
            num_envs=num_envs,
            single_observation_space=observation_space(),
            single_action_space=spaces.Discrete(2),
            max_episode_steps=max_episode_steps,
            autoreset_mode=autoreset_mode,
            render_mode=render_mode,
            render_envs=render_envs,
            episode_statistics=episode_statistics,
            backend=backend,
        )
        self.sutton_barto_reward = bool(sutton_barto_reward)
        self.state = np.zeros((self.num_envs, 4), dtype=np.float64)  # (N, 4)

    def _compiled_step(
        self,
        actions: NDArray[Any],
        now: float,
        observations: NDArray[Any],
        rewards: NDArray[np.float64],
        terminated: NDArray[np.bool_],
        truncated: NDArray[np.bool_],
    ) -> int:
        ended: int = _step_kernel(
            self.state, self._rng, actions, self.sutton_barto_reward, self._mode, self._max_steps, now,
            self._episodes, observations, rewards, terminated, truncated, self._final_observations,
        )  # fmt: skip
        return ended

    def _compiled_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        low, high = reset_bounds(options)
        _reset_kernel(self.state, self._rng, mask, low, high)

    def _reference_dynamics(
        self, actions: NDArray[Any], mask: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        force = np.where(actions == 1, FORCE_MAG, -FORCE_MAG)  # (N,)
        state = self.state
        stepped = np.stack(dynamics(state[:, 0], state[:, 1], state[:, 2], state[:, 3], force), axis=1)  # (N, 4)
        self.state[mask] = stepped[mask]
        terminated = is_terminal(stepped[:, 0], stepped[:, 2])  # (N,)
        rewards = np.where(terminated, -1.0, 0.0) if self.sutton_barto_reward else np.ones(self.num_envs)
        return rewards, terminated

    def _reference_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        low, high = reset_bounds(options)
        for index in np.flatnonzero(mask):
            generator = rng.generator_from_row(self._rng, int(index))
            self.state[index] = generator.uniform(low=low, high=high, size=(4,))
            self._rng[index] = rng.row_from_generator(generator)

    def _observe(self) -> NDArray[np.float32]:
        return self.state.astype(np.float32)  # (N, 4)

    def _render_env(self, index: int) -> render.Frame:
        return render_frame(self.state[index])
