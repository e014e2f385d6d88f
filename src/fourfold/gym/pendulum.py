"""Pendulum-v1 as a `gymnasium.Env` and as a batched vector env, exact to Gymnasium's.

The inverted-pendulum swing-up of classic control: a torque in [-2, 2] swings a pendulum from a random angle and
should hold it upright; the reward is -(theta**2 + 0.1 * theta_dot**2 + 0.001 * torque**2) with theta normalised
to [-pi, pi); episodes never terminate and end by the 200-step time limit (from registration). Dynamics, spaces,
reward, the `g` option and the reset options (`x_init`, `y_init`) are those of Gymnasium's
`gymnasium/envs/classic_control/pendulum.py`.

Torques outside [-2, 2] are clipped, not refused, as Gymnasium does; only NaN torques (which nothing can clip)
raise `InvalidActionError`. Torques are taken as float32, the action space's dtype: Gymnasium computes in whatever
dtype it is given, so float64 actions agree with it only once rounded to float32.

Exactness needs Gymnasium's scalar arithmetic reproduced. Its torque stays a float32 scalar, so `torque**2`,
`0.001 * torque**2` and `3.0 * torque` are float32 operations (NumPy's NEP 50 casts the Python floats to
float32). And `x ** 2` of a NumPy scalar calls libm's `pow`, which differs from `x * x` in the last bit for about
one value in a thousand; with a constant exponent numba (LLVM) rewrites `pow(x, 2.0)` as `x * x`, so `dynamics`
takes the exponent as an argument (`two`, `two32`: 2.0 as float64 and float32) that the kernel gets at run time.

- `PendulumEnv`: one env, drawing from its own `np_random` as Gymnasium's does.
- `PendulumVectorEnv`: N envs stepped by one compiled kernel with Gymnasium's vector semantics (see `vector.py`),
  step for step equal to `SyncVectorEnv` over `gymnasium.make("Pendulum-v1")` envs.

Shape legend: N num_envs; state (N, 2) float64 columns theta, theta_dot; observations (N, 3) float32 (cos theta,
sin theta, theta_dot); actions (N, 1) float32.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import gymnasium
import numba
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.utils import verify_number_and_cast
from gymnasium.vector import AutoresetMode
from numba.extending import register_jitable
from numpy.typing import ArrayLike, NDArray

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

# The constants of Gymnasium's PendulumEnv, and the float32 ones its float32 torque meets.
MAX_SPEED = 8.0
MAX_TORQUE = 2.0
DT = 0.05
MASS = 1.0
LENGTH = 1.0
DEFAULT_G = 10.0
DEFAULT_X_INIT, DEFAULT_Y_INIT = math.pi, 1.0  # the reset draws theta in [-x_init, x_init), theta_dot in ±y_init
MAX_TORQUE_32 = np.float32(MAX_TORQUE)
CONTROL_COST_32 = np.float32(0.001)
TORQUE_GAIN_32 = np.float32(3.0 / (MASS * LENGTH**2))
TWO, TWO_32 = 2.0, np.float32(2.0)
"""The exponents that callers of `dynamics` pass (at run time, for the kernel: see the module docstring)."""

SCREEN_SIZE = 500
ROD_COLOR: render.Color = (204, 77, 77)


@register_jitable
def angle_normalize(x: float) -> float:
    """The angle x mapped to [-pi, pi), as Gymnasium computes it (a floored remainder)."""
    return ((x + np.pi) % (2 * np.pi)) - np.pi


def dynamics(
    theta: float, theta_dot: float, torque: np.float32, g: float, two: float, two32: np.float32
) -> tuple[float, float, float]:
    """One step under the clipped float32 `torque`; returns the new theta, theta_dot and the reward.

    Gymnasium's expressions in its order; `two` and `two32` must be 2.0 and float32 2.0 (see the module docstring).
    """
    # NumPy float64 scalars, as Gymnasium's state gives them: a Python float meeting the float32 torque term would
    # be cast to float32 (NEP 50). (A no-op in numba.)
    theta, theta_dot = np.float64(theta), np.float64(theta_dot)
    costs = angle_normalize(theta) ** two + 0.1 * theta_dot**two + CONTROL_COST_32 * torque**two32
    new_theta_dot = theta_dot + (3 * g / (2 * LENGTH) * np.sin(theta) + TORQUE_GAIN_32 * torque) * DT
    new_theta_dot = min(max(new_theta_dot, -MAX_SPEED), MAX_SPEED)
    new_theta = theta + new_theta_dot * DT
    return new_theta, new_theta_dot, -costs


_compiled_dynamics = numba.njit(cache=True)(dynamics)


def observation_space() -> spaces.Box:
    """The observation space of one env: cos theta, sin theta, theta_dot as float32."""
    high = np.array([1.0, 1.0, MAX_SPEED], dtype=np.float32)
    return spaces.Box(-high, high, dtype=np.float32)


def action_space() -> spaces.Box:
    """The action space of one env: the torque, a float32 in [-2, 2] (larger ones are clipped)."""
    return spaces.Box(-MAX_TORQUE, MAX_TORQUE, shape=(1,), dtype=np.float32)


def reset_bounds(options: dict[str, Any] | None) -> tuple[float, float]:
    """The half-widths (x_init, y_init) of the initial theta and theta_dot draws: defaults or from `options`."""
    if options is None:
        return DEFAULT_X_INIT, DEFAULT_Y_INIT
    try:
        x_init = verify_number_and_cast(options.get("x_init", DEFAULT_X_INIT))
        y_init = verify_number_and_cast(options.get("y_init", DEFAULT_Y_INIT))
    except ValueError as error:
        raise EnvArgumentError(f"Pendulum reset options: {error}") from None
    if not (0 <= x_init < math.inf and 0 <= y_init < math.inf):
        raise EnvArgumentError(
            f"Pendulum reset options: x_init and y_init must be finite and non-negative, got {x_init} and {y_init}"
        )
    return x_init, y_init


def clipped_torque(action: ArrayLike, task: str) -> np.float32:
    """One env's action (shape (1,)) as its float32 torque clipped to [-2, 2]; InvalidActionError if it is bad."""
    array = np.asarray(action)
    if array.shape != (1,) or array.dtype.kind not in "fiu":
        raise InvalidActionError(
            f"{task}: an action is a number array of shape (1,), got {action!r} (shape {array.shape}, "
            f"dtype {array.dtype})"
        )
    torque = np.float32(array[0])
    if np.isnan(torque):
        raise InvalidActionError(f"{task}: action {action!r} is NaN; torques outside [-2, 2] are clipped, NaN not")
    return min(max(torque, -MAX_TORQUE_32), MAX_TORQUE_32)


def render_frame(theta: float, last_torque: float) -> render.Frame:
    """A 500 x 500 frame of the pendulum at `theta`, drawn as Gymnasium draws it (without anti-aliasing).

    Gymnasium shows the last torque with an arrow image; this draws an arc around the axle instead, its radius
    growing with |torque| and its arrowhead turning the way the torque does (none before the first step: NaN).
    """
    frame = render.new_frame(SCREEN_SIZE, SCREEN_SIZE)
    scale = SCREEN_SIZE / (2.2 * 2)
    offset = SCREEN_SIZE // 2
    rod_length, rod_width = 1 * scale, 0.2 * scale
    angle = theta + math.pi / 2
    cos_a, sin_a = math.cos(angle), math.sin(angle)

    def to_image(dx: float, dy: float) -> tuple[float, float]:
        return offset + dx * cos_a - dy * sin_a, SCREEN_SIZE - (offset + dx * sin_a + dy * cos_a)

    left, right, top, bottom = 0.0, rod_length, rod_width / 2, -rod_width / 2
    rod = [to_image(dx, dy) for dx, dy in ((left, bottom), (left, top), (right, top), (right, bottom))]
    render.fill_polygon(frame, rod, ROD_COLOR)
    render.fill_circle(frame, offset, SCREEN_SIZE - offset, int(rod_width / 2), ROD_COLOR)
    render.fill_circle(frame, *to_image(rod_length, 0.0), int(rod_width / 2), ROD_COLOR)
    if not math.isnan(last_torque) and last_torque != 0.0:
        radius = scale * abs(last_torque) / 4
        turn = math.copysign(1.0, last_torque)  # positive torque turns counterclockwise (theta grows)
        angles = [math.pi / 2 + turn * k * math.pi / 16 for k in range(25)]  # a three-quarter circle
        points = [(offset + radius * math.cos(a), SCREEN_SIZE - offset - radius * math.sin(a)) for a in angles]
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            render.draw_line(frame, x0, y0, x1, y1, render.BLACK, width=3)
        tip, before = points[-1], points[-2]
        dx, dy = tip[0] - before[0], tip[1] - before[1]
        norm = math.hypot(dx, dy) or 1.0
        ux, uy, head = dx / norm, dy / norm, 8.0
        arrowhead = [(tip[0] + ux * head, tip[1] + uy * head), (tip[0] - uy * head, tip[1] + ux * head)]
        render.fill_polygon(frame, [*arrowhead, (tip[0] + uy * head, tip[1] - ux * head)], render.BLACK)
    render.fill_circle(frame, offset, SCREEN_SIZE - offset, int(0.05 * scale), render.BLACK)
    return frame


class PendulumEnv(gymnasium.Env[NDArray[Any], NDArray[Any]]):
    """One pendulum: a torque in [-2, 2]; reward -(theta**2 + 0.1 theta_dot**2 + 0.001 torque**2), no termination."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}  # noqa: RUF012 (Gymnasium API)

    def __init__(self, render_mode: str | None = None, g: float = DEFAULT_G) -> None:
        """A pendulum that needs `reset()` before its first step.

        Args:
            render_mode: None or "rgb_array".
            g: the gravitational acceleration (Gymnasium's option).
        """
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise EnvArgumentError(f"PendulumEnv: render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self.g = float(g)
        self.action_space = action_space()
        self.observation_space = observation_space()
        self.state: NDArray[np.float64] | None = None  # (2,) theta, theta_dot
        self.last_u: float | None = None  # the last clipped torque, for rendering

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Draw theta from [-x_init, x_init) and theta_dot from [-y_init, y_init) (pi and 1 by default)."""
        super().reset(seed=seed)
        x_init, y_init = reset_bounds(options)
        high = np.array([x_init, y_init])
        self.state = self.np_random.uniform(low=-high, high=high)
        self.last_u = None
        return _observation(self.state), {}

    def step(self, action: ArrayLike) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        """Apply torque `action[0]` clipped to [-2, 2]; return observation, reward, False, False and `{}`.

        Raises:
            ResetNeededError: before reset.
            InvalidActionError: `action` is not a number array of shape (1,), or is NaN.
        """
        if self.state is None:
            raise ResetNeededError("PendulumEnv: call reset() before step()")
        torque = clipped_torque(action, "PendulumEnv")
        theta, theta_dot, reward = dynamics(float(self.state[0]), float(self.state[1]), torque, self.g, TWO, TWO_32)
        self.state = np.array((theta, theta_dot), dtype=np.float64)
        self.last_u = float(torque)
        return _observation(self.state), float(reward), False, False, {}

    def render(self) -> render.Frame | None:
        """A (500, 500, 3) uint8 frame, or None (with Gymnasium's warning) without a render mode."""
        if self.render_mode is None:
            gymnasium.logger.warn(
                "You are calling render method without specifying any render mode: pass render_mode='rgb_array' to "
                "gymnasium.make or PendulumEnv."
            )
            return None
        if self.state is None:
            raise ResetNeededError("PendulumEnv: call reset() before render()")
        return render_frame(float(self.state[0]), math.nan if self.last_u is None else self.last_u)


def _observation(state: NDArray[np.float64]) -> NDArray[np.float32]:
    """The observations (..., 3) float32 of states (..., 2): cos theta, sin theta, theta_dot."""
    return np.stack([np.cos(state[..., 0]), np.sin(state[..., 0]), state[..., 1]], axis=-1).astype(np.float32)


@numba.njit(cache=True)
def _reset_state(
    state: NDArray[np.float64], generators: NDArray[np.uint64], i: int, x_init: float, y_init: float
) -> None:
    """Draw env i's state as `np_random.uniform(low=-high, high=high)` does for high = [x_init, y_init]."""
    state[i, 0] = rng.uniform(generators, i, -x_init, x_init)
    state[i, 1] = rng.uniform(generators, i, -y_init, y_init)


@numba.njit(cache=True)
def _step_kernel(
    state: NDArray[np.float64],
    last_torques: NDArray[np.float64],
    generators: NDArray[np.uint64],
    actions: NDArray[np.float32],
    g: float,
    two: float,
    two32: np.float32,
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
    """Step all N envs (the pattern of `vector.py`); return the number of ended episodes, or -1 - i (NaN action i)."""
    num_envs = state.shape[0]
    for i in range(num_envs):  # validate first, so that a bad batch changes nothing; other values are clipped
        if np.isnan(actions[i, 0]):
            return -1 - i
    ended = 0
    for i in range(num_envs):
        if episodes[i].pending:  # NEXT_STEP: the last step ended env i's episode, this one resets it
            _reset_state(state, generators, i, DEFAULT_X_INIT, DEFAULT_Y_INIT)
            last_torques[i] = np.nan
            autoreset(episodes, i, now)
            rewards[i] = 0.0
            terminated[i] = False
            truncated[i] = False
        else:
            torque = min(max(actions[i, 0], -MAX_TORQUE_32), MAX_TORQUE_32)  # float32, as np.clip keeps it
            theta, theta_dot, reward = _compiled_dynamics(state[i, 0], state[i, 1], torque, g, two, two32)
            state[i, 0] = theta
            state[i, 1] = theta_dot
            last_torques[i] = torque
            trunc = end_step(episodes, i, reward, False, max_episode_steps, now)
            rewards[i] = reward
            terminated[i] = False
            truncated[i] = trunc
            if trunc:
                ended += 1
                if mode == SAME_STEP:
                    final_observations[i, 0] = np.cos(theta)
                    final_observations[i, 1] = np.sin(theta)
                    final_observations[i, 2] = theta_dot
                    _reset_state(state, generators, i, DEFAULT_X_INIT, DEFAULT_Y_INIT)
                    last_torques[i] = np.nan
                    begin_episode(episodes, i, now)
        observations[i, 0] = np.cos(state[i, 0])
        observations[i, 1] = np.sin(state[i, 0])
        observations[i, 2] = state[i, 1]
    return ended


@numba.njit(cache=True)
def _reset_kernel(
    state: NDArray[np.float64],
    last_torques: NDArray[np.float64],
    generators: NDArray[np.uint64],
    mask: NDArray[np.bool_],
    x_init: float,
    y_init: float,
) -> None:
    """Draw new states for the envs in `mask` (N,) from their own generator rows."""
    for i in range(state.shape[0]):
        if mask[i]:
            _reset_state(state, generators, i, x_init, y_init)
            last_torques[i] = np.nan


class PendulumVectorEnv(BatchedVectorEnv):
    """N pendulums stepped by one compiled kernel; `gymnasium.make_vec("fourfold/Pendulum-v1", num_envs=N)`.

    Actions (N, 1) are clipped to [-2, 2] as Gymnasium clips them; only NaN actions raise `InvalidActionError`.

    Attributes:
        state: (N, 2) float64, the physical state of every env (theta, theta_dot).
        last_torques: (N,) float64, each env's last clipped torque (NaN before its episode's first step), for render.
        g: as for `PendulumEnv`.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (a class-level dict is Gymnasium's API)
        "render_modes": ["rgb_array"],
        "render_fps": 30,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = 200,
        render_mode: str | None = None,
        g: float = DEFAULT_G,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_envs: int = 16,
        episode_statistics: bool = False,
        backend: Backend = "numba",
    ) -> None:
        """Args: as `BatchedVectorEnv`, plus `g` (see `PendulumEnv`)."""
        super().__init__(
            num_envs=num_envs,
            single_observation_space=observation_space(),
            single_action_space=action_space(),
            max_episode_steps=max_episode_steps,
            autoreset_mode=autoreset_mode,
            render_mode=render_mode,
            render_envs=render_envs,
            episode_statistics=episode_statistics,
            backend=backend,
        )
        self.g = float(g)
        self.state = np.zeros((self.num_envs, 2), dtype=np.float64)  # (N, 2)
        self.last_torques = np.full(self.num_envs, np.nan)  # (N,)

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
            self.state, self.last_torques, self._rng, actions, self.g, TWO, TWO_32, self._mode, self._max_steps,
            now, self._episodes, observations, rewards, terminated, truncated, self._final_observations,
        )  # fmt: skip
        return ended

    def _compiled_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        x_init, y_init = reset_bounds(options or None)
        _reset_kernel(self.state, self.last_torques, self._rng, mask, x_init, y_init)

    def _reference_dynamics(
        self, actions: NDArray[Any], mask: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        rewards = np.zeros(self.num_envs)  # (N,)
        for index in np.flatnonzero(mask):
            torque = clipped_torque(actions[index], type(self).__name__)
            theta, theta_dot, rewards[index] = dynamics(
                float(self.state[index, 0]), float(self.state[index, 1]), torque, self.g, TWO, TWO_32
            )
            self.state[index] = theta, theta_dot
            self.last_torques[index] = torque
        return rewards, np.zeros(self.num_envs, dtype=np.bool_)

    def _reference_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        x_init, y_init = reset_bounds(options or None)
        high = np.array([x_init, y_init])
        for index in np.flatnonzero(mask):
            generator = rng.generator_from_row(self._rng, int(index))
            self.state[index] = generator.uniform(low=-high, high=high)
            self._rng[index] = rng.row_from_generator(generator)
            self.last_torques[index] = np.nan

    def _first_invalid_action(self, actions: NDArray[Any]) -> int:
        """The first env whose action is NaN, or -1: Gymnasium clips the others, so they are valid."""
        indices = np.flatnonzero(np.isnan(actions[:, 0]))
        return int(indices[0]) if indices.size else -1

    def _action_error(self, actions: NDArray[Any], index: int) -> InvalidActionError:
        return InvalidActionError(
            f"{type(self).__name__}: action {actions[index].tolist()!r} of env {index} is NaN; torques outside "
            f"[-{MAX_TORQUE}, {MAX_TORQUE}] are clipped, NaN not"
        )

    def _observe(self) -> NDArray[np.float32]:
        return _observation(self.state)  # (N, 3)

    def _render_env(self, index: int) -> render.Frame:
        return render_frame(float(self.state[index, 0]), float(self.last_torques[index]))
