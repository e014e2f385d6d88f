"""MountainCarContinuous-v0 as a `gymnasium.Env` and as a batched vector env, exact to Gymnasium's.

The mountain car with a continuous force in [-1, 1] (Moore 1990, "Efficient Memory-based Learning for Robot
Control"; the continuous version after Arnaud de Broissia): reward 100 at the flag (position >= 0.45 and velocity
>= `goal_velocity`) minus 0.1 times the squared action each step; 999 steps at most (from registration). Dynamics,
spaces, rewards and reset options (`low`, `high`) are those of Gymnasium's
`gymnasium/envs/classic_control/continuous_mountain_car.py`.

Actions outside [-1, 1] are clipped, not refused, as Gymnasium does: the force is clipped, the reward's action
cost uses the unclipped action. Only NaN actions (which nothing can clip) raise `InvalidActionError`. Actions are
taken as float32, the action space's dtype: Gymnasium computes in whatever dtype it is given, so float64 actions
agree with it only once rounded to float32.

Exactness needs Gymnasium's mixed precision reproduced, and `dynamics` does: the reset state is float64, but every
step stores the state as float32, so from the second step of an episode on, NumPy computes `3 * position`, the
force term and the velocity and position updates in float32 (Python floats meeting float32 scalars are cast to
float32, NumPy's NEP 50), while a clipped force is a Python float and keeps the force term in float64. `dynamics`
computes in float64 and rounds to float32 wherever NumPy does (float32 sums and products of float32 operands,
computed in float64 and rounded once, are NumPy's float32 results exactly).

- `MountainCarContinuousEnv`: one env, drawing from its own `np_random` as Gymnasium's does; stepping it after
  termination without reset raises `ResetNeededError`.
- `MountainCarContinuousVectorEnv`: N envs stepped by one compiled kernel with Gymnasium's vector semantics (see
  `vector.py`), step for step equal to `SyncVectorEnv` over `gymnasium.make("MountainCarContinuous-v0")` envs.

Shape legend: N num_envs; state (N, 2) float64 columns position, velocity; observations (N, 2) float32; actions
(N, 1) float32.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium
import numba
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from numba.extending import register_jitable
from numpy.typing import ArrayLike, NDArray

from fourfold.gym import render, rng
from fourfold.gym.mountain_car import MAX_POSITION, MAX_SPEED, MIN_POSITION, render_frame, reset_bounds
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

# The constants of Gymnasium's Continuous_MountainCarEnv, and the float32 values NumPy compares float32 scalars with.
MIN_ACTION, MAX_ACTION = -1.0, 1.0
GOAL_POSITION = 0.45
POWER = 0.0015
GRAVITY = 0.0025
RESET_LOW, RESET_HIGH = -0.6, -0.4
POWER_32 = float(np.float32(POWER))
MAX_SPEED_32 = float(np.float32(MAX_SPEED))
MIN_POSITION_32 = float(np.float32(MIN_POSITION))
MAX_POSITION_32 = float(np.float32(MAX_POSITION))
GOAL_POSITION_32 = float(np.float32(GOAL_POSITION))


@register_jitable
def _float32(x: float) -> float:
    """x rounded to the nearest float32 (returned as a float64)."""
    return np.float64(np.float32(x))  # (numba's float() of a float32 stays a float32)


def dynamics(
    position: float, velocity: float, action: float, fresh: bool, goal_velocity: float
) -> tuple[float, float, bool, float]:
    """One step under the (float32) `action`; returns the new position and velocity (float32 values), done, reward.

    `fresh` says that the state is the float64 one of a reset (the episode's first step): then Gymnasium's update is
    in float64, and in float32 afterwards. Clamped values are Python floats in Gymnasium; they are kept here as
    their float32 values, which changes no comparison below (they only meet the float32 bounds they were clamped to
    and `goal_velocity`, where only a goal velocity within float32 rounding of 0.07 could tell).
    """
    clipped = action < MIN_ACTION or action > MAX_ACTION
    if action < MIN_ACTION:  # `min(max(action, -1.0), 1.0)` returns the Python float bound: a float64 force term
        push = MIN_ACTION * POWER
    elif action > MAX_ACTION:
        push = MAX_ACTION * POWER
    else:
        push = _float32(action * POWER_32)
    slope = GRAVITY * math.cos(3 * position if fresh else _float32(3 * position))
    change = push - slope if clipped else _float32(push - _float32(slope))
    if fresh:
        velocity = velocity + change
        if velocity > MAX_SPEED:
            velocity = MAX_SPEED
        if velocity < -MAX_SPEED:
            velocity = -MAX_SPEED
        position = position + velocity
        if position > MAX_POSITION:
            position = MAX_POSITION
        if position < MIN_POSITION:
            position = MIN_POSITION
        if position == MIN_POSITION and velocity < 0:
            velocity = 0.0
        terminated = position >= GOAL_POSITION and velocity >= goal_velocity
    else:
        velocity = _float32(velocity + _float32(change))
        if velocity > MAX_SPEED_32:
            velocity = MAX_SPEED_32
        if velocity < -MAX_SPEED_32:
            velocity = -MAX_SPEED_32
        position = _float32(position + velocity)
        if position > MAX_POSITION_32:
            position = MAX_POSITION_32
        if position < MIN_POSITION_32:
            position = MIN_POSITION_32
        if position == MIN_POSITION_32 and velocity < 0:
            velocity = 0.0
        terminated = position >= GOAL_POSITION_32 and velocity >= _float32(goal_velocity)
    reward = (100.0 if terminated else 0.0) - action * action * 0.1  # `math.pow(a, 2)`: exact for a float32 a
    return _float32(position), _float32(velocity), terminated, reward


_compiled_dynamics = numba.njit(cache=True)(dynamics)


def observation_space() -> spaces.Box:
    """The observation space of one env: position and velocity as float32."""
    low = np.array([MIN_POSITION, -MAX_SPEED], dtype=np.float32)
    high = np.array([MAX_POSITION, MAX_SPEED], dtype=np.float32)
    return spaces.Box(low, high, dtype=np.float32)


def action_space() -> spaces.Box:
    """The action space of one env: the force, a float32 in [-1, 1] (larger ones are clipped)."""
    return spaces.Box(MIN_ACTION, MAX_ACTION, shape=(1,), dtype=np.float32)


def action_value(action: ArrayLike, task: str) -> float:
    """The float32 value of one env's action (shape (1,)), or InvalidActionError for a bad shape, dtype or NaN."""
    array = np.asarray(action)
    if array.shape != (1,) or array.dtype.kind not in "fiu":
        raise InvalidActionError(
            f"{task}: an action is a number array of shape (1,), got {action!r} (shape {array.shape}, "
            f"dtype {array.dtype})"
        )
    value = float(np.float32(array[0]))
    if math.isnan(value):
        raise InvalidActionError(f"{task}: action {action!r} is NaN; actions outside the bounds are clipped, NaN not")
    return value


class MountainCarContinuousEnv(gymnasium.Env[NDArray[Any], NDArray[Any]]):
    """One continuous mountain car: a force in [-1, 1]; +100 at the flag, -0.1 * action**2 per step."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}  # noqa: RUF012 (Gymnasium API)

    def __init__(self, render_mode: str | None = None, goal_velocity: float = 0) -> None:
        """A continuous mountain car that needs `reset()` before its first step.

        Args:
            render_mode: None or "rgb_array".
            goal_velocity: the least velocity at the flag that ends the episode (Gymnasium's option).
        """
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise EnvArgumentError(
                f"MountainCarContinuousEnv: render_mode must be None or 'rgb_array', got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.goal_velocity = float(goal_velocity)
        self.action_space = action_space()
        self.observation_space = observation_space()
        self.state: NDArray[np.float64] | None = None  # (2,) position, velocity
        self._fresh = True  # the state is the float64 one of a reset
        self._terminated = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Draw the position uniformly from [low, high) (default [-0.6, -0.4)), velocity 0; return it and `{}`."""
        super().reset(seed=seed)
        low, high = reset_bounds(options, "MountainCarContinuous")
        self.state = np.array([self.np_random.uniform(low=low, high=high), 0.0])
        self._fresh = True
        self._terminated = False
        return self.state.astype(np.float32), {}

    def step(self, action: ArrayLike) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        """Push with force `action[0]` clipped to [-1, 1]; return observation, reward, terminated, False and `{}`.

        Raises:
            ResetNeededError: before reset, or after the episode terminated.
            InvalidActionError: `action` is not a number array of shape (1,), or is NaN.
        """
        if self.state is None:
            raise ResetNeededError("MountainCarContinuousEnv: call reset() before step()")
        if self._terminated:
            raise ResetNeededError(
                "MountainCarContinuousEnv: the episode terminated; call reset() before stepping again"
            )
        value = action_value(action, "MountainCarContinuousEnv")
        position, velocity, terminated, reward = dynamics(
            float(self.state[0]), float(self.state[1]), value, self._fresh, self.goal_velocity
        )
        self.state = np.array((position, velocity), dtype=np.float64)
        self._fresh = False
        self._terminated = bool(terminated)
        return self.state.astype(np.float32), float(reward), self._terminated, False, {}

    def render(self) -> render.Frame | None:
        """A (400, 600, 3) uint8 frame, or None (with Gymnasium's warning) without a render mode."""
        if self.render_mode is None:
            gymnasium.logger.warn(
                "You are calling render method without specifying any render mode: pass render_mode='rgb_array' to "
                "gymnasium.make or MountainCarContinuousEnv."
            )
            return None
        if self.state is None:
            raise ResetNeededError("MountainCarContinuousEnv: call reset() before render()")
        return render_frame(float(self.state[0]), GOAL_POSITION)


@numba.njit(cache=True)
def _reset_state(state: NDArray[np.float64], generators: NDArray[np.uint64], i: int, low: float, high: float) -> None:
    """Draw env i's state as Gymnasium's reset does (`[np_random.uniform(low, high), 0]`) from its generator row."""
    state[i, 0] = rng.uniform(generators, i, low, high)
    state[i, 1] = 0.0


@numba.njit(cache=True)
def _step_kernel(
    state: NDArray[np.float64],
    generators: NDArray[np.uint64],
    actions: NDArray[np.float32],
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
    """Step all N envs (the pattern of `vector.py`); return the number of ended episodes, or -1 - i (NaN action i)."""
    num_envs = state.shape[0]
    for i in range(num_envs):  # validate first, so that a bad batch changes nothing; other values are clipped
        if np.isnan(actions[i, 0]):
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
            fresh = episodes[i].steps == 0  # the first step of an episode starts from the float64 reset state
            position, velocity, term, reward = _compiled_dynamics(
                state[i, 0], state[i, 1], np.float64(actions[i, 0]), fresh, goal_velocity
            )
            state[i, 0] = position
            state[i, 1] = velocity
            trunc = end_step(episodes, i, reward, term, max_episode_steps, now)
            rewards[i] = reward
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


class MountainCarContinuousVectorEnv(BatchedVectorEnv):
    """N continuous mountain cars stepped by one compiled kernel; `make_vec("fourfold/MountainCarContinuous-v0")`.

    Actions (N, 1) are clipped to [-1, 1] as Gymnasium clips them; only NaN actions raise `InvalidActionError`.

    Attributes:
        state: (N, 2) float64, the physical state of every env (position, velocity).
        goal_velocity: as for `MountainCarContinuousEnv`.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (a class-level dict is Gymnasium's API)
        "render_modes": ["rgb_array"],
        "render_fps": 30,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = 999,
        render_mode: str | None = None,
        goal_velocity: float = 0,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_envs: int = 16,
        episode_statistics: bool = False,
        backend: Backend = "numba",
    ) -> None:
        """Args: as `BatchedVectorEnv`, plus `goal_velocity` (see `MountainCarContinuousEnv`)."""
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
        low, high = reset_bounds(options, "MountainCarContinuous")
        _reset_kernel(self.state, self._rng, mask, low, high)

    def _reference_dynamics(
        self, actions: NDArray[Any], mask: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        rewards = np.zeros(self.num_envs)  # (N,)
        terminated = np.zeros(self.num_envs, dtype=np.bool_)  # (N,)
        for index in np.flatnonzero(mask):
            position, velocity, terminated[index], rewards[index] = dynamics(
                float(self.state[index, 0]),
                float(self.state[index, 1]),
                float(actions[index, 0]),
                bool(self._episodes["steps"][index] == 0),
                self.goal_velocity,
            )
            self.state[index] = position, velocity
        return rewards, terminated

    def _reference_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        low, high = reset_bounds(options, "MountainCarContinuous")
        for index in np.flatnonzero(mask):
            generator = rng.generator_from_row(self._rng, int(index))
            self.state[index] = generator.uniform(low=low, high=high), 0.0
            self._rng[index] = rng.row_from_generator(generator)

    def _first_invalid_action(self, actions: NDArray[Any]) -> int:
        """The first env whose action is NaN, or -1: Gymnasium clips the others, so they are valid."""
        indices = np.flatnonzero(np.isnan(actions[:, 0]))
        return int(indices[0]) if indices.size else -1

    def _action_error(self, actions: NDArray[Any], index: int) -> InvalidActionError:
        return InvalidActionError(
            f"{type(self).__name__}: action {actions[index].tolist()!r} of env {index} is NaN; actions outside "
            f"[{MIN_ACTION}, {MAX_ACTION}] are clipped, NaN not"
        )

    def _observe(self) -> NDArray[np.float32]:
        return self.state.astype(np.float32)  # (N, 2)

    def _render_env(self, index: int) -> render.Frame:
        return render_frame(float(self.state[index, 0]), GOAL_POSITION)
