"""MountainCar-v0 as a `gymnasium.Env` and as a batched vector env, exact to Gymnasium's.

The mountain-car task of Moore (1990), "Efficient Memory-based Learning for Robot Control" (as in Sutton & Barto's
book): an underpowered car in a valley must rock back and forth to reach the flag on the right hill. Dynamics,
spaces, rewards (-1 per step), termination (position >= 0.5 and velocity >= `goal_velocity`) and reset options
(`low`, `high`) are those of Gymnasium's `gymnasium/envs/classic_control/mountain_car.py`, expression for
expression; the 200-step time limit comes from registration.

- `MountainCarEnv`: one env, drawing from its own `np_random` exactly as Gymnasium's does. Unlike Gymnasium, which
  only warns, stepping it after termination without reset raises `ResetNeededError`.
- `MountainCarVectorEnv`: N envs stepped by one compiled kernel (`_step_kernel`) with Gymnasium's vector semantics
  (see `vector.py`): step for step equal to `SyncVectorEnv` over `gymnasium.make("MountainCar-v0")` envs with the
  same seeds and actions. `backend="numpy"` runs the plain reference instead, for tests.

`dynamics` is the one definition of the physics: the single env and the reference call it on floats, the kernel a
compiled copy of it. `render_frame` draws both mountain-car tasks (`mountain_car_continuous` uses it too).

Shape legend: N num_envs; state (N, 2) float64 columns position, velocity; observations (N, 2) float32.
"""

from __future__ import annotations

import itertools
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

# The constants of Gymnasium's MountainCarEnv.
MIN_POSITION = -1.2
MAX_POSITION = 0.6
MAX_SPEED = 0.07
GOAL_POSITION = 0.5
FORCE = 0.001
GRAVITY = 0.0025
RESET_LOW, RESET_HIGH = -0.6, -0.4

SCREEN_WIDTH, SCREEN_HEIGHT = 600, 400
FLAG_COLOR: render.Color = (204, 204, 0)
WHEEL_COLOR: render.Color = (128, 128, 128)


def dynamics(position: float, velocity: float, action: int, goal_velocity: float) -> tuple[float, float, bool]:
    """One step of the car under action 0 (push left), 1 (none) or 2 (push right); returns position, velocity, done.

    Gymnasium's expressions in its order, on float64: `np.clip` is min/max (no NaN can occur), and hitting the left
    wall while moving left stops the car.
    """
    velocity = velocity + ((action - 1) * FORCE + math.cos(3 * position) * (-GRAVITY))
    velocity = min(max(velocity, -MAX_SPEED), MAX_SPEED)
    position = position + velocity
    position = min(max(position, MIN_POSITION), MAX_POSITION)
    if position == MIN_POSITION and velocity < 0:
        velocity = 0.0
    terminated = position >= GOAL_POSITION and velocity >= goal_velocity
    return position, velocity, terminated


_compiled_dynamics = numba.njit(cache=True)(dynamics)


def observation_space() -> spaces.Box:
    """The observation space of one env: position and velocity as float32."""
    low = np.array([MIN_POSITION, -MAX_SPEED], dtype=np.float32)
    high = np.array([MAX_POSITION, MAX_SPEED], dtype=np.float32)
    return spaces.Box(low, high, dtype=np.float32)


def reset_bounds(options: dict[str, Any] | None, task: str = "MountainCar") -> tuple[float, float]:
    """The (low, high) of the initial position's draw: the defaults or `options["low"]`, `options["high"]`."""
    try:
        return maybe_parse_reset_bounds(options or None, RESET_LOW, RESET_HIGH)
    except ValueError as error:
        raise EnvArgumentError(f"{task} reset options: {error}") from None


def _height(position: float) -> float:
    return math.sin(3 * position) * 0.45 + 0.55


def render_frame(position: float, goal_position: float = GOAL_POSITION) -> render.Frame:
    """A 600 x 400 frame of the car at `position`, drawn as Gymnasium draws it (without anti-aliasing)."""
    frame = render.new_frame(SCREEN_WIDTH, SCREEN_HEIGHT)
    scale = SCREEN_WIDTH / (MAX_POSITION - MIN_POSITION)

    def to_image(x: float, y: float) -> tuple[float, float]:
        return x, SCREEN_HEIGHT - y  # world pixels (y up) to image pixels (y down)

    xs = np.linspace(MIN_POSITION, MAX_POSITION, 100)
    hill = [to_image((x - MIN_POSITION) * scale, _height(x) * scale) for x in xs.tolist()]
    for (x0, y0), (x1, y1) in itertools.pairwise(hill):
        render.draw_line(frame, x0, y0, x1, y1, render.BLACK)

    clearance = 10.0
    car_width, car_height = 40.0, 20.0
    angle = math.cos(3 * position)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    base_x, base_y = (position - MIN_POSITION) * scale, clearance + _height(position) * scale

    def car_point(dx: float, dy: float) -> tuple[float, float]:
        return to_image(base_x + dx * cos_a - dy * sin_a, base_y + dx * sin_a + dy * cos_a)

    left, right, top, bottom = -car_width / 2, car_width / 2, car_height, 0.0
    corners = [car_point(dx, dy) for dx, dy in ((left, bottom), (left, top), (right, top), (right, bottom))]
    render.fill_polygon(frame, corners, render.BLACK)
    for dx in (car_width / 4, -car_width / 4):
        render.fill_circle(frame, *car_point(dx, 0.0), int(car_height / 2.5), WHEEL_COLOR)

    flag_x = int((goal_position - MIN_POSITION) * scale)
    flag_y1 = int(_height(goal_position) * scale)
    flag_y2 = flag_y1 + 50
    render.draw_line(frame, *to_image(flag_x, flag_y1), *to_image(flag_x, flag_y2), render.BLACK)
    flag = [to_image(flag_x, flag_y2), to_image(flag_x, flag_y2 - 10), to_image(flag_x + 25, flag_y2 - 5)]
    render.fill_polygon(frame, flag, FLAG_COLOR)
    return frame


class MountainCarEnv(gymnasium.Env[NDArray[Any], np.int64]):
    """One mountain car: push left (0), not at all (1) or right (2); -1 per step until the flag, 200 steps at most."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}  # noqa: RUF012 (Gymnasium API)

    def __init__(self, render_mode: str | None = None, goal_velocity: float = 0) -> None:
        """A mountain car that needs `reset()` before its first step.

        Args:
            render_mode: None or "rgb_array".
            goal_velocity: the least velocity at the flag that ends the episode (Gymnasium's option).
        """
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise EnvArgumentError(f"MountainCarEnv: render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self.goal_velocity = float(goal_velocity)
        self.action_space = spaces.Discrete(3)
        self.observation_space = observation_space()
        self.state: NDArray[np.float64] | None = None  # (2,) position, velocity
        self._terminated = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Draw the position uniformly from [low, high) (default [-0.6, -0.4)), velocity 0; return it and `{}`."""
        super().reset(seed=seed)
        low, high = reset_bounds(options)
        self.state = np.array([self.np_random.uniform(low=low, high=high), 0.0])
        self._terminated = False
        return self.state.astype(np.float32), {}

    def step(self, action: int | np.integer[Any]) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        """Push the car; return observation, reward (-1.0), terminated, truncated (always False here) and `{}`.

        Raises:
            ResetNeededError: before reset, or after the episode terminated.
            InvalidActionError: `action` is not 0, 1 or 2.
        """
        if self.state is None:
            raise ResetNeededError("MountainCarEnv: call reset() before step()")
        if self._terminated:
            raise ResetNeededError("MountainCarEnv: the episode terminated; call reset() before stepping again")
        if not self.action_space.contains(action):
            raise InvalidActionError(f"MountainCarEnv: action {action!r} is outside the action space Discrete(3)")
        position, velocity, terminated = dynamics(
            float(self.state[0]), float(self.state[1]), int(action), self.goal_velocity
        )
        self.state = np.array((position, velocity), dtype=np.float64)
        self._terminated = bool(terminated)
        return self.state.astype(np.float32), -1.0, self._terminated, False, {}

    def render(self) -> render.Frame | None:
        """A (400, 600, 3) uint8 frame, or None (with Gymnasium's warning) without a render mode."""
        if self.render_mode is None:
            gymnasium.logger.warn(
                "You are calling render method without specifying any render mode: pass render_mode='rgb_array' to "
                "gymnasium.make or MountainCarEnv."
            )
            return None
        if self.state is None:
            raise ResetNeededError("MountainCarEnv: call reset() before render()")
        return render_frame(float(self.state[0]))


@numba.njit(cache=True)
def _reset_state(state: NDArray[np.float64], generators: NDArray[np.uint64], i: int, low: float, high: float) -> None:
    """Draw env i's state as Gymnasium's reset does (`[np_random.uniform(low, high), 0]`) from its generator row."""
    state[i, 0] = rng.uniform(generators, i, low, high)
    state[i, 1] = 0.0


@numba.njit(cache=True)
def _step_kernel(
    state: NDArray[np.float64],
    generators: NDArray[np.uint64],
    actions: NDArray[np.int64],
    goal_velocity: float,
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
            position, velocity, term = _compiled_dynamics(state[i, 0], state[i, 1], actions[i], goal_velocity)
            state[i, 0] = position
            state[i, 1] = velocity
            trunc = end_step(episodes, i, -1.0, term, max_episode_steps, now)
            rewards[i] = -1.0
            terminated[i] = term
            truncated[i] = trunc
            if term or trunc:
                ended += 1
                if mode == SAME_STEP:
                    final_observations[i, 0] = position
                    final_observations[i, 1] = velocity
                    _reset_state(state, generators, i, RESET_LOW, RESET_HIGH)
                    begin_episode(episodes, i, now)
        observations[i, 0] = state[i, 0]
        observations[i, 1] = state[i, 1]
    return ended


@numba.njit(cache=True)
def _reset_kernel(
    state: NDArray[np.float64], generators: NDArray[np.uint64], mask: NDArray[np.bool_], low: float, high: float
) -> None:
    """Draw new states for the envs in `mask` (N,) from their own generator rows."""
    for i in range(state.shape[0]):
        if mask[i]:
            _reset_state(state, generators, i, low, high)


class MountainCarVectorEnv(BatchedVectorEnv):
    """N mountain cars stepped by one compiled kernel; `gymnasium.make_vec("fourfold/MountainCar-v0", num_envs=N)`.

    Attributes:
        state: (N, 2) float64, the physical state of every env (position, velocity).
        goal_velocity: as for `MountainCarEnv`.
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
        goal_velocity: float = 0,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_envs: int = 16,
        episode_statistics: bool = False,
        backend: Backend = "numba",
    ) -> None:
        """Args: as `BatchedVectorEnv`, plus `goal_velocity` (see `MountainCarEnv`)."""
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
        self.goal_velocity = float(goal_velocity)
        self.state = np.zeros((self.num_envs, 2), dtype=np.float64)  # (N, 2)

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
            self.state, self._rng, actions, self.goal_velocity, self._mode, self._max_steps, now,
            self._episodes, observations, rewards, terminated, truncated, self._final_observations,
        )  # fmt: skip
        return ended

    def _compiled_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        low, high = reset_bounds(options)
        _reset_kernel(self.state, self._rng, mask, low, high)

    def _reference_dynamics(
        self, actions: NDArray[Any], mask: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        terminated = np.zeros(self.num_envs, dtype=np.bool_)  # (N,)
        for index in np.flatnonzero(mask):
            position, velocity, terminated[index] = dynamics(
                float(self.state[index, 0]), float(self.state[index, 1]), int(actions[index]), self.goal_velocity
            )
            self.state[index] = position, velocity
        return np.full(self.num_envs, -1.0), terminated

    def _reference_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        low, high = reset_bounds(options)
        for index in np.flatnonzero(mask):
            generator = rng.generator_from_row(self._rng, int(index))
            self.state[index] = generator.uniform(low=low, high=high), 0.0
            self._rng[index] = rng.row_from_generator(generator)

    def _observe(self) -> NDArray[np.float32]:
        return self.state.astype(np.float32)  # (N, 2)

    def _render_env(self, index: int) -> render.Frame:
        return render_frame(float(self.state[index, 0]))
