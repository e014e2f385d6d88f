"""The base of fourfold's batched envs: a `gymnasium.vector.VectorEnv` whose step is one compiled kernel over all envs.

`BatchedVectorEnv` keeps the state of N envs in arrays and steps them all in one `numba.njit` kernel that a task
writes (actions in; observations, rewards, terminations, truncations out; autoreset, time limit and episode
statistics fused in), with a plain NumPy reference of the same task kept for tests (`backend="numpy"`). Semantics
are Gymnasium 1.x's, as its `SyncVectorEnv` over `gymnasium.make(id)` envs defines them, so the two agree step for
step given the same seed and actions:

- Autoreset (`metadata["autoreset_mode"]`, a `gymnasium.vector.AutoresetMode`): NEXT_STEP by default (the step after
  an episode ends resets that env: reward 0, not terminated, not truncated), SAME_STEP (the ending step resets at
  once and puts the last observation in `info["final_obs"]`) or DISABLED (the user resets ended envs with
  `reset(options={"reset_mask": mask})`; stepping an ended env is an error).
- Seeding: `reset(seed=s)` seeds env i with `s + i` (a list seeds each env); `reset()` continues each env's stream.
  Each env draws from its own numpy PCG64 stream, kept as a row of `self._rng` (see `rng.py`).
- Time limit: `max_episode_steps` truncates an episode after that many steps, as Gymnasium's `TimeLimit` does.
- `reset` options other than `reset_mask` (e.g. CartPole's `low`/`high`) apply to that reset only: autoresets use
  the defaults, as `SyncVectorEnv` does.
- `step` returns fresh arrays on every call (observations (N, *O), rewards (N,) float64 like `SyncVectorEnv`,
  terminated and truncated (N,) bool), never views of buffers that a later step overwrites: users keep what they
  are given, and the allocation costs about 2 µs at N=1024 (under a tenth of the kernel).
- `info` is `{}` unless an episode ended. `episode_statistics=True` makes the env fill `info["episode"] =
  {"r", "l", "t"}` and `info["_episode"]` itself, with the keys, dtypes and zeros-where-not-ended layout of
  `gymnasium.wrappers.vector.RecordEpisodeStatistics`, at kernel speed. It is off by default because that wrapper
  refuses an env whose info already has the key: wrap the env instead when you want the wrapper's queues.
- `render()` (with `render_mode="rgb_array"`) returns (H, W, 3) uint8 frames of the first `render_envs` envs (16 by
  default): all of them for small N, as Gymnasium does, but not 1024 frames at N=1024.
- `np_random_seed` is the tuple of per-env seeds (as `SyncVectorEnv`'s); `generator(i)` is a copy of env i's
  generator, where `SyncVectorEnv.np_random[i]` is the live one.

Errors users can cause: actions of the wrong shape, dtype or outside the action space (`InvalidActionError`),
stepping before reset or an ended env with autoreset disabled (`ResetNeededError`), bad constructor or reset
arguments (`EnvArgumentError`); each one sentence. (A task whose Gymnasium original clips Box actions instead may
override `_first_invalid_action` and its kernel's check alike.)

Writing a task (see `cartpole.py`, the pattern): subclass `BatchedVectorEnv`, keep the physical state in arrays
(N, ...), and implement the hooks `_compiled_step`, `_compiled_reset`, `_reference_dynamics`, `_reference_reset`,
`_observe` and `_render_env`. The per-env bookkeeping is one record array `episodes` (N,) of `EPISODE_DTYPE`, which
the helpers `autoreset`, `end_step` and `begin_episode` update. The compiled step kernel first returns `-1 - i` for
the first invalid action i (so a bad batch changes nothing), then for each env i does exactly this, and returns
`ended`, the number of episodes that ended:

    if episodes[i].pending:                        # NEXT_STEP: the last step ended env i's episode
        <reset env i's state from generators row i>
        autoreset(episodes, i, now)
        rewards[i], terminated[i], truncated[i] = 0.0, False, False
    else:
        <advance env i's state by actions[i]: reward, term>
        trunc = end_step(episodes, i, reward, term, max_episode_steps, now)
        rewards[i], terminated[i], truncated[i] = reward, term, trunc
        if term or trunc:
            ended += 1
            if mode == SAME_STEP:
                <write env i's observation into final_observations[i]>; <reset env i's state>
                begin_episode(episodes, i, now)
    <write env i's observation into observations[i]>

Keep the per-env advance in the kernel's body, calling helpers that take scalars (like `cartpole.dynamics`) or one
array and an index (like `rng.uniform(generators, i, ...)`): row views (`state[i]`), helpers taking many arrays, or
a helper taking the state array and returning a tuple each cost numba reference counting or a call per env: they
made the CartPole kernel 1.2 to 3.5 times slower when measured. Compile with `numba.njit(cache=True)`, never at
import; numba's disk cache does not notice edits of the functions a kernel calls in other files (`rng.py`, the
helpers here), so delete `__pycache__/*.nbi` and `*.nbc` after changing those.

Shape legend: N num_envs, O the observation shape of one env (CartPole: (4,)), A the action shape of one env
(() for Discrete), K `rng.STATE_WIDTH`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

import gymnasium
import numba
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import ArrayLike, NDArray

from fourfold.core.errors import FourfoldError
from fourfold.gym import rng

NEXT_STEP, SAME_STEP, DISABLED = 0, 1, 2
"""The autoreset modes as the integers kernels take (`mode`)."""

_MODE_CODES = {AutoresetMode.NEXT_STEP: NEXT_STEP, AutoresetMode.SAME_STEP: SAME_STEP, AutoresetMode.DISABLED: DISABLED}
_NO_TIME_LIMIT = np.iinfo(np.int64).max

Backend = Literal["numba", "numpy"]


class InvalidActionError(FourfoldError, ValueError):
    """Actions of the wrong shape or dtype, or outside the action space."""


class ResetNeededError(FourfoldError, gymnasium.error.ResetNeeded):
    """An env stepped before `reset()`, or after its episode ended where nothing resets it automatically."""


class EnvArgumentError(FourfoldError, ValueError):
    """A bad argument to an env's constructor or `reset()` (num_envs, seeds, reset_mask, options...)."""


EPISODE_DTYPE = np.dtype(
    [
        ("steps", np.int64),  # steps taken in the current episode
        ("reward_sum", np.float64),  # reward summed over the current episode
        ("start_time", np.float64),  # time.perf_counter() when the current episode started
        ("ended_return", np.float64),  # statistics of the episode that ended this step (0 where none did)
        ("ended_length", np.int64),
        ("ended_time", np.float64),
        ("pending", np.bool_),  # the last step ended the episode and nothing has reset the env yet
    ],
    align=True,
)
"""One env's episode bookkeeping; a task's kernels take the (N,) record array of it."""


@numba.njit(cache=True)
def begin_episode(episodes: NDArray[np.void], i: int, now: float) -> None:
    """Start env i's new episode (its state was just reset): zero its steps and reward sum, note its start time."""
    episode = episodes[i]
    episode.steps = 0
    episode.reward_sum = 0.0
    episode.start_time = now
    episode.pending = False


@numba.njit(cache=True)
def autoreset(episodes: NDArray[np.void], i: int, now: float) -> None:
    """The bookkeeping of a NEXT_STEP autoreset of env i: a new episode, and no statistics from this step."""
    begin_episode(episodes, i, now)
    episode = episodes[i]
    episode.ended_return = 0.0
    episode.ended_length = 0
    episode.ended_time = 0.0


@numba.njit(cache=True)
def end_step(
    episodes: NDArray[np.void], i: int, reward: float, terminated: bool, max_episode_steps: int, now: float
) -> bool:
    """Count one step of env i into its episode and return whether the time limit truncates it.

    When the episode ends (terminated or truncated) its return, length and duration go to `ended_*` and env i
    becomes pending (under NEXT_STEP its next step resets it); otherwise `ended_*` are zeroed.
    """
    episode = episodes[i]
    episode.steps += 1
    episode.reward_sum += reward
    truncated = episode.steps >= max_episode_steps
    if terminated or truncated:
        episode.ended_return = episode.reward_sum
        episode.ended_length = episode.steps
        episode.ended_time = now - episode.start_time
        episode.pending = True
    else:
        episode.ended_return = 0.0
        episode.ended_length = 0
        episode.ended_time = 0.0
    return bool(truncated)


class BatchedVectorEnv(VectorEnv[NDArray[Any], NDArray[Any], NDArray[Any]]):
    """N copies of one task stepped together by one compiled kernel, on Gymnasium's `VectorEnv` interface.

    Attributes:
        num_envs: N.
        max_episode_steps: the time limit in steps, or None for none.
        backend: "numba" (the compiled kernels) or "numpy" (the plain reference, for tests).
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (a class-level dict is Gymnasium's API)
        "render_modes": ["rgb_array"],
        "render_fps": 50,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        *,
        num_envs: int,
        single_observation_space: spaces.Box | spaces.Discrete,
        single_action_space: spaces.Box | spaces.Discrete,
        max_episode_steps: int | None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        render_envs: int = 16,
        episode_statistics: bool = False,
        backend: Backend = "numba",
    ) -> None:
        """Set up spaces, modes and the per-env bookkeeping; the task then allocates its state arrays.

        Args:
            num_envs: N, the number of envs stepped together (>= 1).
            single_observation_space: the observation space of one env.
            single_action_space: the action space of one env (Discrete or Box).
            max_episode_steps: truncate episodes after this many steps (None: never).
            autoreset_mode: an `AutoresetMode` or its value ("NextStep", "SameStep", "Disabled").
            render_mode: None or "rgb_array".
            render_envs: `render()` returns frames of the first `min(num_envs, render_envs)` envs.
            episode_statistics: fill `info["episode"]` as `RecordEpisodeStatistics` does (see the module docstring).
            backend: "numba" or "numpy".

        Raises:
            EnvArgumentError: an argument is out of range or unknown.
        """
        name = type(self).__name__
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise EnvArgumentError(f"{name}: num_envs must be a positive int, got {num_envs!r}")
        if max_episode_steps is not None and (
            not isinstance(max_episode_steps, int | np.integer) or max_episode_steps < 1
        ):
            raise EnvArgumentError(
                f"{name}: max_episode_steps must be a positive int or None, got {max_episode_steps!r}"
            )
        try:
            mode = autoreset_mode if isinstance(autoreset_mode, AutoresetMode) else AutoresetMode(autoreset_mode)
        except ValueError:
            valid = ", ".join(repr(m.value) for m in AutoresetMode)
            raise EnvArgumentError(f"{name}: autoreset_mode must be one of {valid}, got {autoreset_mode!r}") from None
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            modes = self.metadata["render_modes"]
            raise EnvArgumentError(f"{name}: render_mode must be None or one of {modes}, got {render_mode!r}")
        if backend not in ("numba", "numpy"):
            raise EnvArgumentError(f"{name}: backend must be 'numba' or 'numpy', got {backend!r}")
        if not isinstance(single_action_space, spaces.Discrete | spaces.Box):
            raise TypeError(f"{name}: BatchedVectorEnv supports Discrete and Box actions, got {single_action_space}")

        self.num_envs = int(num_envs)
        self.max_episode_steps = None if max_episode_steps is None else int(max_episode_steps)
        self.render_mode = render_mode
        self.backend: Backend = backend
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.single_observation_space = single_observation_space
        self.single_action_space = single_action_space
        self.observation_space = batch_space(single_observation_space, self.num_envs)
        self.action_space = batch_space(single_action_space, self.num_envs)

        n = self.num_envs
        self._mode = _MODE_CODES[mode]
        self._max_steps = _NO_TIME_LIMIT if self.max_episode_steps is None else self.max_episode_steps
        self._render_envs = max(1, int(render_envs))
        self._episode_statistics = bool(episode_statistics)
        self._observation_shape = (n, *(single_observation_space.shape or ()))
        self._observation_dtype = single_observation_space.dtype
        self._action_shape = (n, *(single_action_space.shape or ()))
        self._action_dtype = (
            np.dtype(np.int64) if isinstance(single_action_space, spaces.Discrete) else single_action_space.dtype
        )
        self._needs_reset = True
        self._seeds: list[int | None] = [None] * n

        self._rng = np.zeros((n, rng.STATE_WIDTH), dtype=np.uint64)  # (N, K) one PCG64 stream per env
        self._episodes = np.zeros(n, dtype=EPISODE_DTYPE)  # (N,) records
        self._final_observations: NDArray[Any] = np.zeros(self._observation_shape, self._observation_dtype)  # (N, *O)

    # ---- the hooks a task implements -------------------------------------------------------------------------

    def _compiled_step(
        self,
        actions: NDArray[Any],
        now: float,
        observations: NDArray[Any],
        rewards: NDArray[np.float64],
        terminated: NDArray[np.bool_],
        truncated: NDArray[np.bool_],
    ) -> int:
        """Run the task's fused step kernel (see the module docstring); return `ended` or `-1 - i` (bad action i)."""
        raise NotImplementedError

    def _compiled_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        """Draw new initial states of the envs in `mask` (N,) from their rows of `self._rng`, compiled."""
        raise NotImplementedError

    def _reference_dynamics(
        self, actions: NDArray[Any], mask: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """Advance the envs in `mask` (N,) by their actions in NumPy; return rewards and terminations (N,)."""
        raise NotImplementedError

    def _reference_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        """Draw new initial states of the envs in `mask` in NumPy, with `rng.generator_from_row` generators."""
        raise NotImplementedError

    def _observe(self) -> NDArray[Any]:
        """Fresh observations (N, *O) of all envs' current states."""
        raise NotImplementedError

    def _render_env(self, index: int) -> NDArray[np.uint8]:
        """An (H, W, 3) uint8 frame of env `index`."""
        raise NotImplementedError

    # ---- Gymnasium's VectorEnv interface ----------------------------------------------------------------------

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[NDArray[Any], dict[str, Any]]:
        """Reset all envs, or those of `options["reset_mask"]`, and return observations (N, *O) and `{}`.

        Args:
            seed: None (continue each env's stream; random seeds the first time), an int s (env i gets s + i) or a
                sequence of N seeds (None entries as for None).
            options: `reset_mask`, a (N,) bool array selecting the envs to reset; the rest go to the task.

        Raises:
            EnvArgumentError: a bad seed, reset_mask or option.
        """
        task_options = dict(options) if options else {}
        mask = self._reset_mask(task_options.pop("reset_mask", None))
        saved_rows, saved_seeds = self._rng.copy(), list(self._seeds)
        self._seed_rows(seed, mask)
        try:
            if self.backend == "numba":
                self._compiled_reset(mask, task_options)
            else:
                self._reference_reset(mask, task_options)
        except EnvArgumentError:
            self._rng[...], self._seeds = saved_rows, saved_seeds  # a failed reset (a bad option) changes nothing
            raise
        self._begin_episodes(mask, time.perf_counter())
        self._needs_reset = False
        return self._observe(), {}

    def step(
        self, actions: ArrayLike
    ) -> tuple[NDArray[Any], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """Step every env by its action; autoreset as `metadata["autoreset_mode"]` says.

        Args:
            actions: (N, *A) one action per env (int64 for Discrete; other integer dtypes are converted).

        Returns:
            observations (N, *O), rewards (N,) float64, terminated (N,) bool, truncated (N,) bool, info; all fresh.

        Raises:
            InvalidActionError: wrong shape or dtype, or an action outside the action space (nothing is stepped).
            ResetNeededError: before the first reset, or (autoreset disabled) an ended env not yet reset.
        """
        if self._needs_reset:
            raise ResetNeededError(f"{type(self).__name__}: call reset() before step()")
        if not (
            type(actions) is np.ndarray
            and actions.dtype == self._action_dtype
            and actions.shape == self._action_shape
            and actions.flags.c_contiguous
        ):
            actions = self._coerce_actions(actions)
        if self._mode == DISABLED and self._episodes["pending"].any():
            first = int(np.flatnonzero(self._episodes["pending"])[0])
            raise ResetNeededError(
                f"{type(self).__name__}: env {first} ended its episode and autoreset is disabled; reset it with "
                "reset(options={'reset_mask': mask}) before stepping"
            )
        now = time.perf_counter() if self._episode_statistics else 0.0
        observations = np.empty(self._observation_shape, dtype=self._observation_dtype)  # (N, *O)
        rewards = np.empty(self.num_envs, dtype=np.float64)  # (N,)
        terminated = np.empty(self.num_envs, dtype=np.bool_)  # (N,)
        truncated = np.empty(self.num_envs, dtype=np.bool_)  # (N,)
        if self.backend == "numba":
            ended = self._compiled_step(actions, now, observations, rewards, terminated, truncated)
        else:
            ended = self._reference_step(actions, now, observations, rewards, terminated, truncated)
        if ended < 0:
            raise self._action_error(actions, -1 - ended)
        if ended == 0:
            return observations, rewards, terminated, truncated, {}
        return observations, rewards, terminated, truncated, self._ended_info(terminated | truncated)

    def render(self) -> tuple[NDArray[np.uint8], ...] | None:
        """Frames (H, W, 3) uint8 of the first `min(num_envs, render_envs)` envs, or None without a render mode."""
        if self.render_mode is None:
            gymnasium.logger.warn(
                "You are calling render method without specifying any render mode: pass render_mode='rgb_array' to "
                "gymnasium.make_vec or the env's constructor."
            )
            return None
        if self._needs_reset:
            raise ResetNeededError(f"{type(self).__name__}: call reset() before render()")
        return tuple(self._render_env(index) for index in range(min(self.num_envs, self._render_envs)))

    # ---- fourfold additions -----------------------------------------------------------------------------------

    @property
    def np_random_seed(self) -> tuple[int | None, ...]:  # type: ignore[override]
        """The seed each env's stream was last seeded with, as `SyncVectorEnv` gives them (None before any reset)."""
        return tuple(self._seeds)

    def generator(self, index: int) -> np.random.Generator:
        """A copy of env `index`'s random generator at its current position (what Gymnasium's `np_random` holds)."""
        return rng.generator_from_row(self._rng, index)

    def get_state(self) -> dict[str, Any]:
        """Everything that decides what the envs do next, as plain values: for a checkpoint, so that training
        resumed after a kill steps on exactly as the uninterrupted run would have.

        The state is every NumPy array the env holds (the task's physical state, each env's generator row, the
        episode records, the final-observation buffer) plus the seeds and whether a reset is needed. The episode
        records' start times are `time.perf_counter()` values of this process; after `set_state` in another process
        the wall-clock lengths of episodes in progress are meaningless, as any clock's would be.
        """
        arrays = {name: value.copy() for name, value in vars(self).items() if isinstance(value, np.ndarray)}
        return {"arrays": arrays, "seeds": list(self._seeds), "needs_reset": self._needs_reset}

    def set_state(self, state: dict[str, Any]) -> None:
        """Put back a state from `get_state` of an env of the same task, num_envs and options.

        Raises:
            EnvArgumentError: the state is not one of such an env (a missing, extra or differently shaped array).
        """
        mine = {name: value for name, value in vars(self).items() if isinstance(value, np.ndarray)}
        arrays = state.get("arrays") if isinstance(state, dict) else None
        if not isinstance(arrays, dict) or set(arrays) != set(mine):
            raise EnvArgumentError(
                f"{type(self).__name__}: the saved env state is not one of this env's (another task?)"
            )
        for name, value in mine.items():
            saved = arrays[name]
            if not isinstance(saved, np.ndarray) or saved.shape != value.shape or saved.dtype != value.dtype:
                raise EnvArgumentError(
                    f"{type(self).__name__}: the saved env state's {name} does not fit this env (other num_envs?)"
                )
        for name, value in mine.items():
            value[...] = arrays[name]
        self._seeds = list(state["seeds"])
        self._needs_reset = bool(state["needs_reset"])

    # ---- internals ----------------------------------------------------------------------------------------------

    def _reference_step(
        self,
        actions: NDArray[Any],
        now: float,
        observations: NDArray[Any],
        rewards: NDArray[np.float64],
        terminated: NDArray[np.bool_],
        truncated: NDArray[np.bool_],
    ) -> int:
        """The plain NumPy step, with the compiled kernel's contract, written independently of it for tests."""
        bad = self._first_invalid_action(actions)
        if bad >= 0:
            return -1 - bad
        episodes = self._episodes
        resetting = episodes["pending"].copy()  # (N,) NEXT_STEP: these envs reset instead of stepping
        stepping = ~resetting
        step_rewards, step_terminated = self._reference_dynamics(actions, stepping)
        episodes["steps"][stepping] += 1
        episodes["reward_sum"][stepping] += step_rewards[stepping]
        step_terminated = stepping & step_terminated
        step_truncated = stepping & (episodes["steps"] >= self._max_steps)
        ended = step_terminated | step_truncated
        episodes["ended_return"] = np.where(ended, episodes["reward_sum"], 0.0)
        episodes["ended_length"] = np.where(ended, episodes["steps"], 0)
        episodes["ended_time"] = np.where(ended, now - episodes["start_time"], 0.0)
        episodes["pending"] = ended
        rewards[:] = np.where(stepping, step_rewards, 0.0)
        terminated[:] = step_terminated
        truncated[:] = step_truncated
        if resetting.any():
            self._reference_reset(resetting, {})
            self._begin_episodes(resetting, now)
        if self._mode == SAME_STEP and ended.any():
            self._final_observations[ended] = self._observe()[ended]
            self._reference_reset(ended, {})
            self._begin_episodes(ended, now)
        observations[...] = self._observe()
        return int(ended.sum())

    def _begin_episodes(self, mask: NDArray[np.bool_], now: float) -> None:
        episodes = self._episodes
        episodes["steps"][mask] = 0
        episodes["reward_sum"][mask] = 0.0
        episodes["start_time"][mask] = now
        episodes["pending"][mask] = False

    def _first_invalid_action(self, actions: NDArray[Any]) -> int:
        """The index of the first env whose action is outside `single_action_space`, or -1."""
        space = self.single_action_space
        if isinstance(space, spaces.Discrete):
            bad = (actions < space.start) | (actions >= space.start + space.n)
        elif isinstance(space, spaces.Box):
            inside = (actions >= space.low) & (actions <= space.high)  # NaN is outside
            bad = ~inside.reshape(self.num_envs, -1).all(axis=1)
        else:
            raise TypeError(f"{type(self).__name__}: no action check for {space}")
        indices = np.flatnonzero(bad)
        return int(indices[0]) if indices.size else -1

    def _coerce_actions(self, actions: Any) -> NDArray[Any]:
        """Actions as a C-contiguous array of the kernel's dtype, or InvalidActionError for a wrong shape or dtype."""
        array = np.asarray(actions)
        space = self.single_action_space
        if array.shape != self._action_shape:
            raise InvalidActionError(
                f"{type(self).__name__}: expected actions of shape {self._action_shape} (one per env for "
                f"{space}), got shape {array.shape}"
            )
        wanted = "iu" if self._action_dtype.kind in "iu" else "fiu"
        if array.dtype.kind not in wanted:
            kind = "integers" if wanted == "iu" else "numbers"
            raise InvalidActionError(
                f"{type(self).__name__}: actions for {space} must be {kind}, got dtype {array.dtype}"
            )
        return np.ascontiguousarray(array, dtype=self._action_dtype)

    def _action_error(self, actions: NDArray[Any], index: int) -> InvalidActionError:
        return InvalidActionError(
            f"{type(self).__name__}: action {actions[index].tolist()!r} of env {index} is outside the action space "
            f"{self.single_action_space}"
        )

    def _ended_info(self, ended: NDArray[np.bool_]) -> dict[str, Any]:
        """The info of a step in which the envs of `ended` (N,) finished an episode."""
        info: dict[str, Any] = {}
        if self._mode == SAME_STEP:
            final_observations = np.full(self.num_envs, None, dtype=object)  # (N,) of (*O,) arrays or None
            for index in np.flatnonzero(ended):
                final_observations[index] = self._final_observations[index].copy()
            info["final_obs"] = final_observations
            info["_final_obs"] = ended.copy()
            info["final_info"] = {}
            info["_final_info"] = ended.copy()
        if self._episode_statistics:
            info["episode"] = {
                "r": self._episodes["ended_return"].copy(),
                "l": self._episodes["ended_length"].copy(),
                "t": np.round(self._episodes["ended_time"], 6),
            }
            info["_episode"] = ended
        return info

    def _reset_mask(self, reset_mask: Any) -> NDArray[np.bool_]:
        """The (N,) bool mask of envs to reset: all of them, or a validated `options["reset_mask"]`."""
        name = type(self).__name__
        if reset_mask is None:
            return np.ones(self.num_envs, dtype=np.bool_)
        if not isinstance(reset_mask, np.ndarray) or reset_mask.dtype != np.bool_:
            raise EnvArgumentError(f"{name}: options['reset_mask'] must be a numpy bool array, got {reset_mask!r}")
        if reset_mask.shape != (self.num_envs,):
            raise EnvArgumentError(
                f"{name}: options['reset_mask'] must have shape ({self.num_envs},), got {reset_mask.shape}"
            )
        if not reset_mask.any():
            raise EnvArgumentError(f"{name}: options['reset_mask'] selects no env; set at least one True")
        if self._needs_reset and not reset_mask.all():
            raise EnvArgumentError(f"{name}: the first reset must reset every env; call reset() without reset_mask")
        return reset_mask.copy()

    def _seed_rows(self, seed: int | Sequence[int | None] | None, mask: NDArray[np.bool_]) -> None:
        """Reseed the generator rows of the envs in `mask` as `seed` asks (see `reset`)."""
        name = type(self).__name__
        seeds: list[int | None]
        if seed is None:
            seeds = [None] * self.num_envs
        elif isinstance(seed, int | np.integer) and not isinstance(seed, bool):
            seeds = [int(seed) + index for index in range(self.num_envs)]
        elif isinstance(seed, Sequence) and len(seed) == self.num_envs:
            seeds = list(seed)
        else:
            raise EnvArgumentError(f"{name}: seed must be None, an int or a sequence of {self.num_envs}, got {seed!r}")
        reseed: list[int] = []
        new_seeds: list[int] = []
        for index in np.flatnonzero(mask):
            wanted = seeds[index]
            if wanted is None:
                if self._seeds[index] is not None:
                    continue  # keep drawing from this env's stream, as gymnasium's Env.reset(seed=None) does
                wanted = rng.fresh_seed()
            if isinstance(wanted, bool) or not isinstance(wanted, int | np.integer) or wanted < 0:
                raise EnvArgumentError(f"{name}: seeds must be non-negative ints or None, got {wanted!r}")
            reseed.append(int(index))
            new_seeds.append(int(wanted))
        if reseed:
            self._rng[reseed] = rng.rows_from_seeds(new_seeds)
            for position, value in zip(reseed, new_seeds, strict=True):
                self._seeds[position] = value
