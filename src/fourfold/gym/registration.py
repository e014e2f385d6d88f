"""The table of fourfold's tasks and their registration with Gymnasium under `fourfold/<Name>-vN`.

Each task is one `Task` row of `TASKS`: a new task appends a row (nothing else here changes). `register_tasks`
registers every row with `gymnasium.register`, so that after `import fourfold.gym`

    gymnasium.make("fourfold/CartPole-v1")                    # the single env, wrapped by Gymnasium (TimeLimit...)
    gymnasium.make_vec("fourfold/CartPole-v1", num_envs=1024)  # the batched env, via its vector entry point

work. Entry points are "module:Class" strings, so registering imports neither the task modules nor numba.

How `gymnasium.make_vec` reaches the vector entry point (Gymnasium 1.x): with the default
`vectorization_mode=None` it calls `vector_entry_point(num_envs=N, max_episode_steps=<the row's value>, **kwargs)`,
where kwargs are `make_vec`'s extra keyword arguments (e.g. `autoreset_mode=`, `episode_statistics=`,
`render_mode=`); `vector_kwargs` and `wrappers` are refused in that mode. `vectorization_mode="sync"` builds
Gymnasium's `SyncVectorEnv` over `gymnasium.make(id)` single envs instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium


@dataclass(frozen=True)
class Task:
    """One registered task.

    Attributes:
        id: fourfold's id, "fourfold/<Name>-vN".
        reference_id: Gymnasium's own id of the same task (what exactness tests and benchmarks compare against).
        entry_point: "module:Class" of the single `gymnasium.Env`.
        vector_entry_point: "module:Class" of the batched `gymnasium.vector.VectorEnv`.
        max_episode_steps: the time limit, as Gymnasium registers it (None: none).
        reward_threshold: the return at which the task counts as solved, as Gymnasium registers it (None: none).
        kwargs: default keyword arguments of both constructors (e.g. a FrozenLake map).
    """

    id: str
    reference_id: str
    entry_point: str
    vector_entry_point: str
    max_episode_steps: int | None
    reward_threshold: float | None
    kwargs: dict[str, Any] = field(default_factory=dict)


TASKS: tuple[Task, ...] = (
    Task(
        id="fourfold/CartPole-v1",
        reference_id="CartPole-v1",
        entry_point="fourfold.gym.cartpole:CartPoleEnv",
        vector_entry_point="fourfold.gym.cartpole:CartPoleVectorEnv",
        max_episode_steps=500,
        reward_threshold=475.0,
    ),
    Task(
        id="fourfold/MountainCar-v0",
        reference_id="MountainCar-v0",
        entry_point="fourfold.gym.mountain_car:MountainCarEnv",
        vector_entry_point="fourfold.gym.mountain_car:MountainCarVectorEnv",
        max_episode_steps=200,
        reward_threshold=-110.0,
    ),
    Task(
        id="fourfold/MountainCarContinuous-v0",
        reference_id="MountainCarContinuous-v0",
        entry_point="fourfold.gym.mountain_car_continuous:MountainCarContinuousEnv",
        vector_entry_point="fourfold.gym.mountain_car_continuous:MountainCarContinuousVectorEnv",
        max_episode_steps=999,
        reward_threshold=90.0,
    ),
    Task(
        id="fourfold/Acrobot-v1",
        reference_id="Acrobot-v1",
        entry_point="fourfold.gym.acrobot:AcrobotEnv",
        vector_entry_point="fourfold.gym.acrobot:AcrobotVectorEnv",
        max_episode_steps=500,
        reward_threshold=-100.0,
    ),
    Task(
        id="fourfold/Pendulum-v1",
        reference_id="Pendulum-v1",
        entry_point="fourfold.gym.pendulum:PendulumEnv",
        vector_entry_point="fourfold.gym.pendulum:PendulumVectorEnv",
        max_episode_steps=200,
        reward_threshold=None,
    ),
    Task(
        id="fourfold/FrozenLake-v1",
        reference_id="FrozenLake-v1",
        entry_point="fourfold.gym.frozen_lake:FrozenLakeEnv",
        vector_entry_point="fourfold.gym.frozen_lake:FrozenLakeVectorEnv",
        max_episode_steps=100,
        reward_threshold=0.70,
        kwargs={"map_name": "4x4"},
    ),
    Task(
        id="fourfold/FrozenLake8x8-v1",
        reference_id="FrozenLake8x8-v1",
        entry_point="fourfold.gym.frozen_lake:FrozenLakeEnv",
        vector_entry_point="fourfold.gym.frozen_lake:FrozenLakeVectorEnv",
        max_episode_steps=200,
        reward_threshold=0.85,
        kwargs={"map_name": "8x8"},
    ),
    Task(
        id="fourfold/Taxi-v3",
        reference_id="Taxi-v4",  # Gymnasium 1.4's id of the same task (it deprecated Taxi-v3)
        entry_point="fourfold.gym.taxi:TaxiEnv",
        vector_entry_point="fourfold.gym.taxi:TaxiVectorEnv",
        max_episode_steps=200,
        reward_threshold=8.0,
    ),
    Task(
        id="fourfold/CliffWalking-v1",
        reference_id="CliffWalking-v1",
        entry_point="fourfold.gym.cliff_walking:CliffWalkingEnv",
        vector_entry_point="fourfold.gym.cliff_walking:CliffWalkingVectorEnv",
        max_episode_steps=None,
        reward_threshold=None,
    ),
    Task(
        id="fourfold/Blackjack-v1",
        reference_id="Blackjack-v1",
        entry_point="fourfold.gym.blackjack:BlackjackEnv",
        vector_entry_point="fourfold.gym.blackjack:BlackjackVectorEnv",
        max_episode_steps=None,
        reward_threshold=None,
        kwargs={"sab": True, "natural": False},
    ),
)
"""Every fourfold task, one row each; add a row to add a task."""


def task(env_id: str) -> Task:
    """The row of `TASKS` with id `env_id` (fourfold's id, or Gymnasium's reference id).

    Raises:
        KeyError: no such task (the message lists the known ids).
    """
    for row in TASKS:
        if env_id in (row.id, row.reference_id):
            return row
    known = ", ".join(row.id for row in TASKS)
    raise KeyError(f"no fourfold task {env_id!r}; known tasks: {known}")


def register_tasks() -> None:
    """Register every row of `TASKS` with Gymnasium (rows already registered are left as they are)."""
    for row in TASKS:
        if row.id in gymnasium.registry:
            continue
        gymnasium.register(
            id=row.id,
            entry_point=row.entry_point,
            vector_entry_point=row.vector_entry_point,
            max_episode_steps=row.max_episode_steps,
            reward_threshold=row.reward_threshold,
            kwargs=dict(row.kwargs),
        )
