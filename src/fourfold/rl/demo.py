"""RL's step of `fourfold demo`: PPO learns CartPole to 475+ inside the step's budget, with its learning curve,
the greedy evaluation and a video of the trained agent in the report."""

from __future__ import annotations

from pathlib import Path

from fourfold.core.demo import DemoContext
from fourfold.core.plot import line_plot
from fourfold.core.runlog import read_metrics
from fourfold.rl.config import TrainConfig
from fourfold.rl.evaluate import EvalConfig, evaluate
from fourfold.rl.train import train
from fourfold.rl.watch import WatchConfig, watch


def run_demo(context: DemoContext) -> None:
    """Train PPO on fourfold/CartPole-v1 with its tuned preset, evaluate it and record it."""
    section = context.section
    # 1. Train: the preset's 100k steps take seconds on the batched env; stop early only if time runs short.
    config = TrainConfig(
        algo="ppo",
        env="fourfold/CartPole-v1",
        seed=context.seed,
        name="ppo-cartpole",
        runs=context.out_dir,
        overwrite=True,
        eval_episodes=0,
        progress=False,
    )
    summary = train(config)
    section.text(
        f"PPO on fourfold/CartPole-v1 (16 batched envs, tuned preset): {summary.steps:,} steps in "
        f"{summary.seconds:.1f} s ({summary.steps_per_second:,.0f} steps/s); mean return of the last 100 training "
        f"episodes {summary.mean_return:.1f} (solved at 475)."
    )

    # 2. The learning curve against steps.
    run = context.out_dir / "rl" / "ppo-cartpole"
    metrics = [line for line in read_metrics(run / "metrics.jsonl") if "charts/episodic_return" in line]
    steps = [float(line["step"]) for line in metrics]
    returns = [float(line["charts/episodic_return"]) for line in metrics]
    plot = line_plot(
        {"PPO": (steps, returns)},
        context.out_dir / "ppo-cartpole-curve.png",
        title="PPO on CartPole-v1",
        xlabel="environment steps",
        ylabel="episodic return",
    )
    section.image(plot, "training returns (mean of the episodes ended in each rollout)")

    # 3. Greedy evaluation over 100 episodes, and a video of four of them.
    result = evaluate(EvalConfig(run=run, episodes=100))
    section.table(
        ["evaluation (greedy, 100 episodes)", "value"],
        [
            ["mean return", f"{result.mean_return:.1f} ± {result.std_return:.1f}"],
            ["min … max", f"{result.min_return:.0f} … {result.max_return:.0f}"],
        ],
    )
    video = watch(WatchConfig(run=run, num_envs=4, max_steps=250))
    for file in video.files:
        if file.endswith(".gif"):
            section.image(Path(file), "the trained agent, four episodes side by side (first 250 steps)")
