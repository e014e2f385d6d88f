"""Stable-Baselines3 on fourfold's batched envs: `SB3VecEnv` adapts a Gymnasium 1.x `VectorEnv` to SB3's `VecEnv`.

SB3 has its own vector API (Raffin et al. 2021): `reset()` returns observations only, `step_wait()` returns
`dones` (terminated or truncated) and one info dict per env, with the final observation under
`"terminal_observation"`, `"TimeLimit.truncated"` where a time limit cut the episode, and Monitor's `"episode"`
statistics; ended envs are reset at once (Gymnasium's SAME_STEP autoreset). This adapter builds exactly that
from a fourfold task in SAME_STEP mode, so SB3's algorithms step all envs in one compiled call:

    from stable_baselines3 import PPO
    from fourfold.rl.sb3 import make_sb3_env
    model = PPO("MlpPolicy", make_sb3_env("fourfold/CartPole-v1", num_envs=8, seed=0)).learn(100_000)

It needs the `stable-baselines3` package (`pip install fourfold[sb3]`).

Shape legend: N num_envs, O the observation shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from numpy.typing import NDArray
from stable_baselines3.common.vec_env import VecEnv

from fourfold.core.errors import FourfoldError


class SB3VecEnv(VecEnv):
    """A Gymnasium vector env in SAME_STEP autoreset mode with episode statistics, seen as an SB3 `VecEnv`."""

    def __init__(self, env: VectorEnv[Any, Any, Any]) -> None:
        if env.metadata.get("autoreset_mode") != AutoresetMode.SAME_STEP:
            raise FourfoldError(
                "SB3VecEnv needs a vector env in SAME_STEP autoreset mode; make it with "
                "autoreset_mode=AutoresetMode.SAME_STEP (or use make_sb3_env)"
            )
        self.env = env
        self._actions: NDArray[Any] | None = None
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)

    def reset(self) -> NDArray[Any]:
        """Reset all envs, with the seeds `seed()` set (env i: seed + i), else continuing their streams."""
        seed = self._seeds[0] if self._seeds[0] is not None else None
        observations, _ = self.env.reset(seed=seed)
        self._seeds = [None] * self.num_envs
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return np.asarray(observations)

    def step_async(self, actions: NDArray[Any]) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[NDArray[Any], NDArray[np.float32], NDArray[np.bool_], list[dict[str, Any]]]:
        """Step every env; ended envs come back reset, with their final observation in their info."""
        assert self._actions is not None, "step_async must come before step_wait"
        actions = self._actions
        if isinstance(self.env.single_action_space, gymnasium.spaces.Discrete):
            actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)
        observations, rewards, terminated, truncated, info = self.env.step(actions)
        dones = np.asarray(terminated) | np.asarray(truncated)  # (N,)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            infos[i]["terminal_observation"] = info["final_obs"][i]
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            if "episode" in info:
                statistics = info["episode"]
                infos[i]["episode"] = {
                    "r": float(statistics["r"][i]),
                    "l": int(statistics["l"][i]),
                    "t": float(statistics["t"][i]),
                }
        return np.asarray(observations), np.asarray(rewards, dtype=np.float32), dones, infos

    def close(self) -> None:
        self.env.close()

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        """The vector env's attribute, once per selected env (SB3 asks for e.g. `render_mode`)."""
        value = getattr(self.env, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self.env, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any) -> list[Any]:
        result = getattr(self.env, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[Any], indices: Any = None) -> list[bool]:
        """fourfold's batched envs are not made of wrapped single envs; they report their own statistics."""
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[NDArray[np.uint8] | None]:
        frames = self.env.render()
        if frames is None:
            return [None] * self.num_envs
        return [np.asarray(frame, dtype=np.uint8) for frame in frames]


def make_sb3_env(env_id: str, num_envs: int, seed: int | None = None, **kwargs: Any) -> SB3VecEnv:
    """`num_envs` copies of a fourfold task as an SB3 `VecEnv` (seeded `seed + i` at the first reset).

    Raises:
        FourfoldError: `env_id` is not one of fourfold's batched tasks.
    """
    import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)

    if env_id not in gymnasium.registry or gymnasium.spec(env_id).vector_entry_point is None:
        raise FourfoldError(f"{env_id!r} is not a fourfold task with a batched env; see `fourfold gym list`")
    env = gymnasium.make_vec(
        env_id, num_envs=num_envs, autoreset_mode=AutoresetMode.SAME_STEP, episode_statistics=True, **kwargs
    )
    adapter = SB3VecEnv(env)
    if seed is not None:
        adapter.seed(seed)
    return adapter
