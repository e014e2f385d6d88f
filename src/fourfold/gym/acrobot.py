"""Acrobot-v1 as a `gymnasium.Env` and as a batched vector env, exact to Gymnasium's.

The acrobot of Sutton (1996), "Generalization in Reinforcement Learning: Successful Examples Using Sparse Coarse
Coding", and Sutton & Barto's book: two links hang from a pivot, a torque of -1, 0 or +1 at the joint between them
must swing the free end above the bar (-cos theta1 - cos(theta1 + theta2) > 1); -1 per step until then, 500 steps
at most (from registration). Dynamics (the book's equations by default, the NIPS paper's with
`book_or_nips="nips"`), fourth-order Runge-Kutta integration over `dt` = 0.2 s, the optional uniform torque noise
(`torque_noise_max`), spaces, rewards and reset options (`low`, `high`) are those of Gymnasium's
`gymnasium/envs/classic_control/acrobot.py`, in its arithmetic order. Gymnasium sets `dt`, `book_or_nips` and
`torque_noise_max` as attributes of the unwrapped env; here they are also constructor arguments.

Two details of Gymnasium's arithmetic matter at the last bit, and `dynamics` and the envs reproduce them: `x ** 2`
of a NumPy scalar calls libm's `pow`, which differs from `x * x` for about one value in a thousand (numba, like
LLVM, turns `pow(x, 2.0)` with a constant exponent into `x * x`, so the exponent `two` is passed at run time); and
the reset state is float32, so the first observation of an episode is the float32 cos and sin of NumPy (its own
SIMD algorithm, not libm's), which the envs compute with NumPy after the kernel (`_patch_reset_observations`).

- `AcrobotEnv`: one env, drawing from its own `np_random` as Gymnasium's does; stepping it after termination
  without reset raises `ResetNeededError`.
- `AcrobotVectorEnv`: N envs stepped by one compiled kernel with Gymnasium's vector semantics (see `vector.py`),
  step for step equal to `SyncVectorEnv` over `gymnasium.make("Acrobot-v1")` envs.

Shape legend: N num_envs; state (N, 4) float64 columns theta1, theta2, dtheta1, dtheta2; observations (N, 6)
float32 (cos theta1, sin theta1, cos theta2, sin theta2, dtheta1, dtheta2).
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
from numba.extending import register_jitable
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

# The constants of Gymnasium's AcrobotEnv.
DT = 0.2
LINK_LENGTH_1 = 1.0
LINK_LENGTH_2 = 1.0
LINK_MASS_1 = 1.0
LINK_MASS_2 = 1.0
LINK_COM_POS_1 = 0.5  # position of the centre of mass of link 1
LINK_COM_POS_2 = 0.5
LINK_MOI = 1.0  # moment of inertia of both links
GRAVITY = 9.8
MAX_VEL_1 = 4 * np.pi
MAX_VEL_2 = 9 * np.pi
RESET_LOW, RESET_HIGH = -0.1, 0.1
TWO = 2.0
"""The exponent that callers of `dynamics` pass (at run time, for the kernel: see the module docstring)."""

SCREEN_SIZE = 500
LINK_COLOR: render.Color = (0, 204, 204)
JOINT_COLOR: render.Color = (204, 204, 0)


@register_jitable
def derivatives(
    theta1: float, theta2: float, dtheta1: float, dtheta2: float, torque: float, nips: bool, two: float
) -> tuple[float, float, float, float]:
    """The time derivatives of (theta1, theta2, dtheta1, dtheta2) under `torque`: Gymnasium's `_dsdt`, verbatim."""
    m1, m2, l1, lc1, lc2 = LINK_MASS_1, LINK_MASS_2, LINK_LENGTH_1, LINK_COM_POS_1, LINK_COM_POS_2
    i1, i2, g = LINK_MOI, LINK_MOI, GRAVITY
    cos_theta2, sin_theta2 = np.cos(theta2), np.sin(theta2)
    d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * cos_theta2) + i1 + i2
    d2 = m2 * (lc2**2 + l1 * lc2 * cos_theta2) + i2
    phi2 = m2 * lc2 * g * np.cos(theta1 + theta2 - np.pi / 2.0)
    phi1 = (
        -m2 * l1 * lc2 * dtheta2**two * sin_theta2
        - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin_theta2
        + (m1 * lc1 + m2 * l1) * g * np.cos(theta1 - np.pi / 2)
        + phi2
    )
    if nips:  # the equation of the NIPS paper
        ddtheta2 = (torque + d2 / d1 * phi1 - phi2) / (m2 * lc2**2 + i2 - d2**two / d1)
    else:  # the book's (and the Java implementation's)
        ddtheta2 = (torque + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**two * sin_theta2 - phi2) / (
            m2 * lc2**2 + i2 - d2**two / d1
        )
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return dtheta1, dtheta2, ddtheta1, ddtheta2


@register_jitable
def wrap(x: float, low: float, high: float) -> float:
    """x moved into [low, high] by whole turns of (high - low), as Gymnasium's `wrap`."""
    diff = high - low
    while x > high:
        x = x - diff
    while x < low:
        x = x + diff
    return x


def dynamics(
    theta1: float, theta2: float, dtheta1: float, dtheta2: float, torque: float, dt: float, nips: bool, two: float
) -> tuple[float, float, float, float, bool]:
    """One step: Gymnasium's `rk4` over [0, dt], angles wrapped, velocities bounded; returns the state and done.

    The torque is constant over the step (Gymnasium carries it as a fifth state variable with derivative 0).
    """
    dt2 = dt / 2.0
    a1, a2, a3, a4 = derivatives(theta1, theta2, dtheta1, dtheta2, torque, nips, two)
    b1, b2, b3, b4 = derivatives(
        theta1 + dt2 * a1, theta2 + dt2 * a2, dtheta1 + dt2 * a3, dtheta2 + dt2 * a4, torque, nips, two
    )
    c1, c2, c3, c4 = derivatives(
        theta1 + dt2 * b1, theta2 + dt2 * b2, dtheta1 + dt2 * b3, dtheta2 + dt2 * b4, torque, nips, two
    )
    e1, e2, e3, e4 = derivatives(
        theta1 + dt * c1, theta2 + dt * c2, dtheta1 + dt * c3, dtheta2 + dt * c4, torque, nips, two
    )
    sixth = dt / 6.0
    theta1 = wrap(theta1 + sixth * (a1 + 2 * b1 + 2 * c1 + e1), -np.pi, np.pi)
    theta2 = wrap(theta2 + sixth * (a2 + 2 * b2 + 2 * c2 + e2), -np.pi, np.pi)
    dtheta1 = min(max(dtheta1 + sixth * (a3 + 2 * b3 + 2 * c3 + e3), -MAX_VEL_1), MAX_VEL_1)
    dtheta2 = min(max(dtheta2 + sixth * (a4 + 2 * b4 + 2 * c4 + e4), -MAX_VEL_2), MAX_VEL_2)
    terminated = -np.cos(theta1) - np.cos(theta2 + theta1) > 1.0
    return theta1, theta2, dtheta1, dtheta2, terminated


_compiled_dynamics = numba.njit(cache=True)(dynamics)


def observation_space() -> spaces.Box:
    """The observation space of one env: cos and sin of both angles, and both angular velocities, as float32."""
    high = np.array([1.0, 1.0, 1.0, 1.0, MAX_VEL_1, MAX_VEL_2], dtype=np.float32)
    return spaces.Box(-high, high, dtype=np.float32)


def reset_bounds(options: dict[str, Any] | None) -> tuple[float, float]:
    """The (low, high) of the initial-state draw: the defaults (±0.1) or `options["low"]`, `options["high"]`."""
    try:
        return maybe_parse_reset_bounds(options or None, RESET_LOW, RESET_HIGH)
    except ValueError as error:
        raise EnvArgumentError(f"Acrobot reset options: {error}") from None


def observations(state: NDArray[np.floating[Any]]) -> NDArray[np.float32]:
    """Observations (..., 6) float32 of states (..., 4), computed in the state's dtype as Gymnasium's `_get_ob`."""
    columns = [np.cos(state[..., 0]), np.sin(state[..., 0]), np.cos(state[..., 1]), np.sin(state[..., 1])]
    return np.stack([*columns, state[..., 2], state[..., 3]], axis=-1).astype(np.float32)


def check_settings(name: str, dt: float, book_or_nips: str, torque_noise_max: float) -> None:
    """Raise EnvArgumentError unless dt > 0, book_or_nips is "book" or "nips" and torque_noise_max >= 0."""
    if not 0 < dt < math.inf:
        raise EnvArgumentError(f"{name}: dt must be a positive number of seconds, got {dt!r}")
    if book_or_nips not in ("book", "nips"):
        raise EnvArgumentError(f"{name}: book_or_nips must be 'book' or 'nips', got {book_or_nips!r}")
    if not 0 <= torque_noise_max < math.inf:
        raise EnvArgumentError(f"{name}: torque_noise_max must be finite and non-negative, got {torque_noise_max!r}")


def render_frame(state: NDArray[np.floating[Any]]) -> render.Frame:
    """A 500 x 500 frame of one acrobot state (4,), drawn as Gymnasium draws it (without anti-aliasing)."""
    frame = render.new_frame(SCREEN_SIZE, SCREEN_SIZE)
    scale = SCREEN_SIZE / ((LINK_LENGTH_1 + LINK_LENGTH_2 + 0.2) * 2)
    offset = SCREEN_SIZE / 2
    theta1, theta2 = float(state[0]), float(state[1])

    def to_image(x: float, y: float) -> tuple[float, float]:
        return x, SCREEN_SIZE - y  # world pixels (y up) to image pixels (y down)

    bar_y = scale + offset  # the height the free end must pass, one link above the pivot
    render.draw_line(
        frame, *to_image(-2.2 * scale + offset, bar_y), *to_image(2.2 * scale + offset, bar_y), render.BLACK
    )
    elbow = (offset + LINK_LENGTH_1 * math.sin(theta1) * scale, offset - LINK_LENGTH_1 * math.cos(theta1) * scale)
    joints = [(offset, offset), elbow]
    angles = [theta1 - math.pi / 2, theta1 + theta2 - math.pi / 2]
    lengths = [LINK_LENGTH_1 * scale, LINK_LENGTH_2 * scale]
    for (x, y), angle, length in zip(joints, angles, lengths, strict=True):
        cos_a, sin_a = math.cos(angle), math.sin(angle)
        left, right, top, bottom = 0.0, length, 0.1 * scale, -0.1 * scale
        corners = [(left, bottom), (left, top), (right, top), (right, bottom)]
        link = [to_image(x + dx * cos_a - dy * sin_a, y + dx * sin_a + dy * cos_a) for dx, dy in corners]
        render.fill_polygon(frame, link, LINK_COLOR)
        render.fill_circle(frame, *to_image(int(x), int(y)), int(0.1 * scale), JOINT_COLOR)
    return frame


class AcrobotEnv(gymnasium.Env[NDArray[Any], np.int64]):
    """One acrobot: torque -1 (0), 0 (1) or +1 (2) at the joint; -1 per step until the end is above the bar."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 15}  # noqa: RUF012 (Gymnasium API)

    def __init__(
        self, render_mode: str | None = None, dt: float = DT, book_or_nips: str = "book", torque_noise_max: float = 0.0
    ) -> None:
        """An acrobot that needs `reset()` before its first step.

        Args:
            render_mode: None or "rgb_array".
            dt: the step's duration in seconds (Gymnasium's attribute `dt`).
            book_or_nips: "book" (Gymnasium's default) or "nips", the equations of motion to use.
            torque_noise_max: each step adds a torque drawn uniformly from ±this (0: none, Gymnasium's default).
        """
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise EnvArgumentError(f"AcrobotEnv: render_mode must be None or 'rgb_array', got {render_mode!r}")
        check_settings("AcrobotEnv", dt, book_or_nips, torque_noise_max)
        self.render_mode = render_mode
        self.dt = float(dt)
        self.book_or_nips = book_or_nips
        self.torque_noise_max = float(torque_noise_max)
        self.action_space = spaces.Discrete(3)
        self.observation_space = observation_space()
        self.state: NDArray[np.floating[Any]] | None = None  # (4,) float32 after reset, float64 after a step
        self._terminated = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Draw each state variable uniformly from [low, high) (default ±0.1), as float32; return the observation."""
        super().reset(seed=seed)
        low, high = reset_bounds(options)
        self.state = self.np_random.uniform(low=low, high=high, size=(4,)).astype(np.float32)
        self._terminated = False
        return observations(self.state), {}

    def step(self, action: int | np.integer[Any]) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        """Apply the action's torque (plus noise, if any); return observation, reward, terminated, False and `{}`.

        Raises:
            ResetNeededError: before reset, or after the episode terminated.
            InvalidActionError: `action` is not 0, 1 or 2.
        """
        if self.state is None:
            raise ResetNeededError("AcrobotEnv: call reset() before step()")
        if self._terminated:
            raise ResetNeededError("AcrobotEnv: the episode terminated; call reset() before stepping again")
        if not self.action_space.contains(action):
            raise InvalidActionError(f"AcrobotEnv: action {action!r} is outside the action space Discrete(3)")
        torque = float(int(action) - 1)  # Gymnasium's AVAIL_TORQUE = [-1.0, 0.0, +1]
        if self.torque_noise_max > 0:
            torque += self.np_random.uniform(-self.torque_noise_max, self.torque_noise_max)
        state = self.state.tolist()
        theta1, theta2, dtheta1, dtheta2, terminated = dynamics(
            state[0], state[1], state[2], state[3], torque, self.dt, self.book_or_nips == "nips", TWO
        )
        self.state = np.array((theta1, theta2, dtheta1, dtheta2), dtype=np.float64)
        self._terminated = bool(terminated)
        return observations(self.state), 0.0 if self._terminated else -1.0, self._terminated, False, {}

    def render(self) -> render.Frame | None:
        """A (500, 500, 3) uint8 frame, or None (with Gymnasium's warning) without a render mode."""
        if self.render_mode is None:
            gymnasium.logger.warn(
                "You are calling render method without specifying any render mode: pass render_mode='rgb_array' to "
                "gymnasium.make or AcrobotEnv."
            )
            return None
        if self.state is None:
            raise ResetNeededError("AcrobotEnv: call reset() before render()")
        return render_frame(self.state)


@numba.njit(cache=True)
def _reset_state(state: NDArray[np.float64], generators: NDArray[np.uint64], i: int, low: float, high: float) -> None:
    """Draw env i's state as `np_random.uniform(low, high, size=(4,)).astype(np.float32)` does."""
    for k in range(4):
        state[i, k] = np.float64(np.float32(rng.uniform(generators, i, low, high)))


@numba.njit(cache=True)
def _step_kernel(
    state: NDArray[np.float64],
    generators: NDArray[np.uint64],
    actions: NDArray[np.int64],
    dt: float,
    nips: bool,
    torque_noise_max: float,
    two: float,
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
    """Step all N envs (the pattern of `vector.py`); return the number of ended episodes, or -1 - i (bad action i).

    The observations of envs reset in this step are written in float64 here and corrected by the caller.
    """
    num_envs = state.shape[0]
    for i in range(num_envs):  # validate first, so that a bad batch changes nothing
        if actions[i] < 0 or actions[i] > 2:
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
            torque = np.float64(actions[i] - 1)
            if torque_noise_max > 0:
                torque += rng.uniform(generators, i, -torque_noise_max, torque_noise_max)
            theta1, theta2, dtheta1, dtheta2, term = _compiled_dynamics(
                state[i, 0], state[i, 1], state[i, 2], state[i, 3], torque, dt, nips, two
            )
            state[i, 0] = theta1
            state[i, 1] = theta2
            state[i, 2] = dtheta1
            state[i, 3] = dtheta2
            reward = 0.0 if term else -1.0
            trunc = end_step(episodes, i, reward, term, max_episode_steps, now)
            rewards[i] = reward
            terminated[i] = term
            truncated[i] = trunc
            if term or trunc:
                ended += 1
                if mode == SAME_STEP:
                    final_observations[i, 0] = np.cos(theta1)
                    final_observations[i, 1] = np.sin(theta1)
                    final_observations[i, 2] = np.cos(theta2)
                    final_observations[i, 3] = np.sin(theta2)
                    final_observations[i, 4] = dtheta1
                    final_observations[i, 5] = dtheta2
                    _reset_state(state, generators, i, RESET_LOW, RESET_HIGH)
                    begin_episode(episodes, i, now)
        observations[i, 0] = np.cos(state[i, 0])
        observations[i, 1] = np.sin(state[i, 0])
        observations[i, 2] = np.cos(state[i, 1])
        observations[i, 3] = np.sin(state[i, 1])
        observations[i, 4] = state[i, 2]
        observations[i, 5] = state[i, 3]
    return ended


@numba.njit(cache=True)
def _reset_kernel(
    state: NDArray[np.float64], generators: NDArray[np.uint64], mask: NDArray[np.bool_], low: float, high: float
) -> None:
    """Draw new states for the envs in `mask` (N,) from their own generator rows."""
    for i in range(state.shape[0]):
        if mask[i]:
            _reset_state(state, generators, i, low, high)


class AcrobotVectorEnv(BatchedVectorEnv):
    """N acrobots stepped by one compiled kernel; `gymnasium.make_vec("fourfold/Acrobot-v1", num_envs=N)`.

    Attributes:
        state: (N, 4) float64, the physical state of every env (theta1, theta2, dtheta1, dtheta2); float32 values
            from a reset until the episode's first step.
        dt, book_or_nips, torque_noise_max: as for `AcrobotEnv`, for all envs.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (a class-level dict is Gymnasium's API)
        "render_modes": ["rgb_array"],
        "render_fps": 15,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = 500,
        render_mode: str | None = None,
        dt: float = DT,
        book_or_nips: str = "book",
        torque_noise_max: float = 0.0,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_envs: int = 16,
        episode_statistics: bool = False,
        backend: Backend = "numba",
    ) -> None:
        """Args: as `BatchedVectorEnv`, plus `dt`, `book_or_nips` and `torque_noise_max` (see `AcrobotEnv`)."""
        super().__init__(
            num_envs=num_envs,
            single_observation_space=observation_space(),
            single_action_space=spaces.Discrete(3),
            max_episode_steps=max_episode_steps,
            autoreset_mode=autoreset_mode,
            render_mode=render_mode,
            render_envs=render_envs,
            episode_statistics=episode_statistics,
            backend=backend,
        )
        check_settings(type(self).__name__, dt, book_or_nips, torque_noise_max)
        self.dt = float(dt)
        self.book_or_nips = book_or_nips
        self.torque_noise_max = float(torque_noise_max)
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
            self.state, self._rng, actions, self.dt, self.book_or_nips == "nips", self.torque_noise_max, TWO,
            self._mode, self._max_steps, now, self._episodes, observations, rewards, terminated, truncated,
            self._final_observations,
        )  # fmt: skip
        if ended >= 0:
            self._patch_reset_observations(observations)
        return ended

    def _compiled_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        low, high = reset_bounds(options)
        _reset_kernel(self.state, self._rng, mask, low, high)

    def _reference_dynamics(
        self, actions: NDArray[Any], mask: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        terminated = np.zeros(self.num_envs, dtype=np.bool_)  # (N,)
        for index in np.flatnonzero(mask):
            torque = float(actions[index] - 1)
            if self.torque_noise_max > 0:
                generator = rng.generator_from_row(self._rng, int(index))
                torque += generator.uniform(-self.torque_noise_max, self.torque_noise_max)
                self._rng[index] = rng.row_from_generator(generator)
            state = self.state[index].tolist()
            *stepped, terminated[index] = dynamics(
                state[0], state[1], state[2], state[3], torque, self.dt, self.book_or_nips == "nips", TWO
            )
            self.state[index] = stepped
        return np.where(terminated, 0.0, -1.0), terminated

    def _reference_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        low, high = reset_bounds(options)
        for index in np.flatnonzero(mask):
            generator = rng.generator_from_row(self._rng, int(index))
            self.state[index] = generator.uniform(low=low, high=high, size=(4,)).astype(np.float32)
            self._rng[index] = rng.row_from_generator(generator)

    def _observe(self) -> NDArray[np.float32]:
        result = observations(self.state)  # (N, 6)
        self._patch_reset_observations(result)
        return result

    def _patch_reset_observations(self, result: NDArray[np.float32]) -> None:
        """Rewrite the observations (N, 6) of envs at the start of an episode from their float32 state, with NumPy.

        Those states are float32 in Gymnasium, and NumPy's float32 cos and sin (a SIMD polynomial) differ from the
        float64 ones rounded to float32 in the last bit for some angles. An env is at the start of an episode after
        a reset until its first step (its episode has taken no step).
        """
        fresh = np.flatnonzero(self._episodes["steps"] == 0)
        if fresh.size:
            result[fresh] = observations(self.state[fresh].astype(np.float32))

    def _render_env(self, index: int) -> render.Frame:
        return render_frame(self.state[index])
