"""Gym (Brockman et al. 2016, "OpenAI Gym"): the standard RL tasks on Gymnasium's interface, compiled and batched.

Importing this package registers every task of `registration.TASKS` with Gymnasium as `fourfold/<Name>-vN`, so
that `gymnasium.make("fourfold/CartPole-v1")` and `gymnasium.make_vec("fourfold/CartPole-v1", num_envs=1024)`
work. It stays cheap: entry points are strings, so no task module, numba kernel or torch is imported until an env
is made.

Modules: `registration` (the task table), `vector` (the batched `VectorEnv` base and the kernel pattern), `rng`
(numpy's PCG64 inside numba), `render` (a NumPy rasteriser for `rgb_array` frames), and one module per task
(`cartpole`, the pattern for the others).
"""

from fourfold.gym.registration import TASKS, Task, register_tasks

__all__ = ["TASKS", "Task", "register_tasks"]

register_tasks()
