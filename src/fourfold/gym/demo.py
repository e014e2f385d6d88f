"""Gym's step of `fourfold demo`: the suite, a recorded CartPole grid under random actions, and the throughput row.

Trained agents join the report through the RL step.
"""

from __future__ import annotations

import gymnasium

from fourfold.core.demo import DemoContext
from fourfold.gym.record import record
from fourfold.gym.suite import ListConfig, list_tasks
from fourfold.gym.throughput import ThroughputConfig, bench


def run_demo(context: DemoContext) -> None:
    """Fill the Gym section: the task table, a video and frame sheet of CartPole, and CartPole's steps/s."""
    section = context.section
    # 1. The suite.
    suite = list_tasks(ListConfig())
    section.text(f"{len(suite.tasks)} tasks on Gymnasium's interface, each a single env and a batched vector env.")
    section.table(
        ["id", "observation space", "action space", "time limit", "solved at"],
        [[t.id, t.observation_space, t.action_space, t.max_episode_steps, t.reward_threshold] for t in suite.tasks],
    )

    # 2. Four CartPoles under random actions, as a GIF and a frame sheet.
    envs = [gymnasium.make("fourfold/CartPole-v1", render_mode="rgb_array") for _ in range(4)]
    try:
        recording = record(envs, context.out_dir / "cartpole-random", max_steps=120, seed=context.seed, formats=["gif"])
    finally:
        for env in envs:
            env.close()
    returns = ", ".join(f"{r:.0f}" for r in recording.episode_returns)
    if recording.gif is not None:
        section.image(recording.gif, f"four CartPoles under uniformly random actions (episode returns {returns})")
    if recording.sheet is not None:
        section.image(recording.sheet, "the same episodes, every few frames")

    # 3. Throughput: CartPole at 1024 envs, one thread, fourfold beside Gymnasium's own vector envs.
    seconds = max(0.2, min(1.0, context.time_left() / 6))
    throughput = bench(ThroughputConfig(tasks=("fourfold/CartPole-v1",), num_envs=(1024,), seconds=seconds))
    section.table(
        ["implementation (CartPole-v1, 1024 envs, 1 thread)", "steps/s", "fourfold is"],
        [
            [
                row.implementation,
                f"{row.steps_per_second:,.0f}",
                ""
                if row.implementation == "fourfold"
                else f"{throughput.ratio(row.task, 1024, row.implementation):.1f}x",
            ]
            for row in throughput.rows
        ],
    )
