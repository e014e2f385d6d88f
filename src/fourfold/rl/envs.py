"""The envs a trainer steps: a vector env in same-step autoreset mode, with episode statistics and flat observations.

Training needs, from every step, the observation each env ended on: where an episode was truncated (a time limit),
its last observation is bootstrapped from — the task did not end, only our patience did — while a terminated
episode's value is zero (Pardo et al. 2018, "Time Limits in Reinforcement Learning"). Gymnasium 1.x's SAME_STEP
autoreset mode gives that observation in `info["final_obs"]` and the next episode's first observation in place,
so `TrainEnv.step` returns both `observations` (to act on) and `next_observations` (what each step led to).

fourfold's tasks (`fourfold/<Name>-vN`) come batched (one compiled kernel, their own episode statistics); any
other Gymnasium id is vectorised with `SyncVectorEnv` and `RecordEpisodeStatistics`. Observations become flat
float32 vectors: Box as is, Discrete one-hot, Tuple of Discrete (Blackjack) as concatenated one-hots.

Shape legend: N num_envs, D the flat observation size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from numpy.typing import NDArray

from fourfold.core.errors import FourfoldError

FloatArray = NDArray[np.float32]


class EnvError(FourfoldError):
    """A task cannot be trained on as asked (unknown id, unsupported spaces, or the wrong algorithm for it)."""


@dataclass(frozen=True)
class StepResult:
    """One vector step, with the observation each env ended on.

    Attributes:
        observations: (N, D) what to act on next (the next episode's first observation where one ended).
        next_observations: (N, D) what this step led to (the final observation where an episode ended).
        rewards: (N,) float32.
        terminated: (N,) the episode reached a terminal state: its value is zero.
        truncated: (N,) the episode was cut (time limit): bootstrap from `next_observations`.
        episode_returns, episode_lengths: of the episodes that ended this step.
    """

    observations: FloatArray
    next_observations: FloatArray
    rewards: FloatArray
    terminated: NDArray[np.bool_]
    truncated: NDArray[np.bool_]
    episode_returns: list[float]
    episode_lengths: list[int]


class ObservationEncoder:
    """Observations of a space as (N, D) float32 rows (`flatten`), optionally with finite Box bounds mapped to
    [-1, 1]: MountainCar's velocity spans +-0.07 and its position 1.8, which a Q network learns poorly from."""

    def __init__(self, space: spaces.Space[Any], scale: bool = False) -> None:
        self.space = space
        self.size = flat_size(space)
        self.center: FloatArray | None = None
        self.half_range: FloatArray | None = None
        if scale and isinstance(space, spaces.Box) and np.all(np.isfinite(space.low) & np.isfinite(space.high)):
            low = space.low.astype(np.float64).reshape(-1)
            high = space.high.astype(np.float64).reshape(-1)
            self.center = ((high + low) / 2).astype(np.float32)  # (D,)
            self.half_range = np.maximum((high - low) / 2, 1e-8).astype(np.float32)  # (D,)

    def __call__(self, observations: Any) -> FloatArray:
        flat = flatten(self.space, observations)  # (N, D)
        if self.center is None or self.half_range is None:
            return flat
        return (flat - self.center) / self.half_range


class TrainEnv:
    """A vector env of `num_envs` copies of `env_id` in SAME_STEP mode, stepped with flat float32 observations."""

    def __init__(
        self, env_id: str, num_envs: int, *, scale_observations: bool = False, render_mode: str | None = None
    ) -> None:
        self.env_id = env_id
        self.num_envs = num_envs
        self.env: VectorEnv[Any, Any, Any] = make_vector_env(env_id, num_envs, render_mode=render_mode)
        self.observation_space = self.env.single_observation_space
        self.action_space = self.env.single_action_space
        self.encode = ObservationEncoder(self.observation_space, scale_observations)
        self.observation_size = self.encode.size
        self.discrete = isinstance(self.action_space, spaces.Discrete)

    def reset(self, seed: int) -> FloatArray:
        """Reset env i with seed `seed + i`; (N, D) observations."""
        observations, _ = self.env.reset(seed=seed)
        return self.encode(observations)

    def step(self, actions: NDArray[Any]) -> StepResult:
        """Step all envs; Box actions are clipped to the action space first (policies may sample outside it)."""
        if isinstance(self.action_space, spaces.Box):
            actions = np.clip(actions, self.action_space.low, self.action_space.high).astype(self.action_space.dtype)
        observations, rewards, terminated, truncated, info = self.env.step(actions)
        flat = self.encode(observations)  # (N, D)
        next_flat = flat
        returns: list[float] = []
        lengths: list[int] = []
        if "_final_obs" in info:
            ended = np.flatnonzero(info["_final_obs"])
            next_flat = flat.copy()
            next_flat[ended] = self.encode(_batch([info["final_obs"][i] for i in ended]))
        if "_episode" in info:
            for i in np.flatnonzero(info["_episode"]):
                returns.append(float(info["episode"]["r"][i]))
                lengths.append(int(info["episode"]["l"][i]))
        return StepResult(
            observations=flat,
            next_observations=next_flat,
            rewards=np.asarray(rewards, dtype=np.float32),
            terminated=np.asarray(terminated, dtype=np.bool_),
            truncated=np.asarray(truncated, dtype=np.bool_),
            episode_returns=returns,
            episode_lengths=lengths,
        )

    def get_state(self) -> dict[str, Any] | None:
        """The envs' state for a checkpoint, where the env can give one (fourfold's tasks); else None."""
        get_state = getattr(self.env.unwrapped, "get_state", None)
        return get_state() if get_state is not None else None

    def set_state(self, state: dict[str, Any] | None) -> bool:
        """Put back a `get_state` state; False where the env cannot (the caller then resets it)."""
        set_state = getattr(self.env.unwrapped, "set_state", None)
        if state is None or set_state is None:
            return False
        set_state(state)
        return True

    def close(self) -> None:
        self.env.close()


def make_vector_env(env_id: str, num_envs: int, *, render_mode: str | None = None) -> VectorEnv[Any, Any, Any]:
    """`num_envs` copies of `env_id` in SAME_STEP autoreset mode with `info["episode"]` statistics.

    Raises:
        EnvError: the id is not registered (after `import fourfold.gym`).
    """
    import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)

    if env_id not in gymnasium.registry:
        raise EnvError(
            f"unknown env {env_id!r}; use a fourfold/<Name>-vN id (`fourfold gym list`) or a registered Gymnasium id"
        )
    spec = gymnasium.spec(env_id)
    if env_id.startswith("fourfold/") and spec.vector_entry_point is not None:
        return gymnasium.make_vec(
            env_id,
            num_envs=num_envs,
            autoreset_mode=AutoresetMode.SAME_STEP,
            episode_statistics=True,
            render_mode=render_mode,
        )
    from gymnasium.wrappers.vector import RecordEpisodeStatistics

    extra: dict[str, Any] = {} if render_mode is None else {"render_mode": render_mode}
    env = gymnasium.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
        **extra,
    )
    return RecordEpisodeStatistics(env)


def task_spaces(env_id: str) -> tuple[spaces.Space[Any], spaces.Space[Any]]:
    """The observation and action space of one env of `env_id` (made once and closed).

    Raises:
        EnvError: the id is not registered, or its observation space is not supported.
    """
    probe = make_vector_env(env_id, 1)
    observation_space, action_space = probe.single_observation_space, probe.single_action_space
    probe.close()
    flat_size(observation_space)
    return observation_space, action_space


def check_algorithm(algo: str, action_space: spaces.Space[Any]) -> None:
    """Refuse an algorithm that cannot act in `action_space`: DQN needs Discrete, SAC needs Box, PPO takes either.

    Raises:
        EnvError: naming the algorithm to use instead.
    """
    if algo == "dqn" and not isinstance(action_space, spaces.Discrete):
        raise EnvError(f"DQN needs discrete actions, but the action space is {action_space}; use --algo sac or ppo")
    if algo == "sac" and not isinstance(action_space, spaces.Box):
        raise EnvError(f"SAC needs continuous (Box) actions, but the action space is {action_space}; use --algo ppo")
    if algo == "ppo" and not isinstance(action_space, spaces.Discrete | spaces.Box):
        raise EnvError(f"PPO needs Discrete or Box actions, but the action space is {action_space}")


def _batch(observations: list[Any]) -> Any:
    """Single observations as one batch: stacked arrays, or for tuples a tuple of stacked components."""
    if isinstance(observations[0], tuple):
        return tuple(np.asarray(part) for part in zip(*observations, strict=True))
    return np.stack(observations)


def flat_size(space: spaces.Space[Any]) -> int:
    """D, the length of `flatten`'s vectors for observations of `space`.

    Raises:
        EnvError: the space is not Box, Discrete or a Tuple of Discrete.
    """
    if isinstance(space, spaces.Box):
        return int(np.prod(space.shape))
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.Tuple) and all(isinstance(s, spaces.Discrete) for s in space.spaces):
        return sum(int(s.n) for s in space.spaces if isinstance(s, spaces.Discrete))
    raise EnvError(f"observation space {space} is not supported; use Box, Discrete or a Tuple of Discrete")


def flatten(space: spaces.Space[Any], observations: Any) -> FloatArray:
    """A batch of observations of `space` as (N, D) float32: Box reshaped, Discrete one-hot, Tuple concatenated."""
    if isinstance(space, spaces.Box):
        array = np.asarray(observations, dtype=np.float32)
        return array.reshape(array.shape[0], -1)
    if isinstance(space, spaces.Discrete):
        indices = np.asarray(observations, dtype=np.int64) - int(space.start)  # (N,)
        one_hot = np.zeros((indices.shape[0], int(space.n)), dtype=np.float32)  # (N, D)
        one_hot[np.arange(indices.shape[0]), indices] = 1.0
        return one_hot
    if isinstance(space, spaces.Tuple):
        parts = [flatten(sub, np.asarray(part)) for sub, part in zip(space.spaces, observations, strict=True)]
        return np.concatenate(parts, axis=1)
    raise EnvError(f"observation space {space} is not supported; use Box, Discrete or a Tuple of Discrete")
