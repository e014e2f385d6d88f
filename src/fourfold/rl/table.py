"""`fourfold rl table`: train every (task, algorithm) cell of the score table over seeds and report it.

The cells are the RL issue's results table: each tuned preset with its goal and the published figure it stands
beside (rl-baselines3-zoo's benchmark, CleanRL). MountainCar-v0 asks for DQN or PPO; the table runs PPO, whose
runs cost a third of DQN's here (DQN's preset remains, for `fourfold rl train --algo dqn`).

Every seed is a normal run (`<runs>/rl/table-<algo>-<task>-s<seed>`), trained in parallel processes, one thread
each; a finished run (it has summary.json) is not trained again, so an
interrupted table continues where it stopped. The report goes through the Gym analysis tools
(`fourfold.gym.analyze`): learning curves with bootstrap bands, IQM and aggregates, for the training returns and
for the greedy evaluation at the end, plus `table.md` here: per cell the evaluation mean, IQM, spread, how many
seeds reach the goal, and the wall time per seed.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fourfold.core.config import require
from fourfold.core.errors import FourfoldError
from fourfold.gym.aggregate import iqm
from fourfold.rl.config import Algorithm, TrainConfig
from fourfold.rl.train import SUMMARY_FILE, run_folder


@dataclass(frozen=True)
class Cell:
    """One row of the score table."""

    task: str
    algo: Algorithm
    goal: float
    anchor: str


CELLS: tuple[Cell, ...] = (
    Cell("CartPole-v1", "ppo", 475.0, "rl-zoo PPO 500"),
    Cell("CartPole-v1", "dqn", 475.0, "rl-zoo DQN 500"),
    Cell("Acrobot-v1", "ppo", -100.0, "rl-zoo PPO -73.5"),
    Cell("Acrobot-v1", "dqn", -100.0, "rl-zoo DQN -72.4"),
    Cell("MountainCar-v0", "ppo", -110.0, "CleanRL PPO -200 (fails)"),
    Cell("Pendulum-v1", "sac", -200.0, "rl-zoo SAC -157"),
    Cell("Pendulum-v1", "ppo", -200.0, "rl-zoo PPO (gSDE) -172"),
    Cell("MountainCarContinuous-v0", "sac", 90.0, "solved threshold 90"),
)


@dataclass
class TableConfig:
    """Train the score table's cells over seeds and write the report."""

    seeds: int = 10
    """Seeds per cell (0 .. seeds-1)."""
    tasks: tuple[str, ...] = ()
    """Only these tasks, e.g. CartPole-v1 (default: all)."""
    algos: tuple[Algorithm, ...] = ()
    """Only these algorithms (default: all)."""
    jobs: int = 2
    """Runs trained at once, one process and one thread each."""
    runs: Path = Path("runs")
    """Folder holding all runs; the table's are under <runs>/rl/table-*."""
    out: Path = Path("runs/rl-table")
    """Folder for table.md and the analysis reports."""
    eval_episodes: int = 100
    """Greedy evaluation episodes per seed."""
    total_steps: int | None = None
    """Cut every cell's training to this many steps (a quick look; default: each preset's own)."""
    progress: bool = False
    """Per-run progress bars (off: the runs are many and parallel)."""

    def __post_init__(self) -> None:
        require(self.seeds >= 1, "seeds", f"must be at least 1 (got {self.seeds})")
        require(self.jobs >= 1, "jobs", f"must be at least 1 (got {self.jobs})")
        known = {cell.task for cell in CELLS}
        for task in self.tasks:
            require(task in known, "tasks", f"{task!r} has no cell; the tasks are {', '.join(sorted(known))}")


@dataclass
class CellResult:
    """One cell's scores over seeds."""

    task: str
    algo: str
    goal: float
    anchor: str
    seeds: int
    eval_returns: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def reached(self) -> int:
        return sum(score >= self.goal for score in self.eval_returns)


@dataclass
class TableSummary:
    """The table, and where its files are."""

    cells: list[CellResult]
    table: str
    files: list[str]

    def __str__(self) -> str:
        return self.table + "\n\n" + "\n".join(self.files)


def table(config: TableConfig) -> TableSummary:
    """Train the missing runs, then write table.md and the analysis reports."""
    cells = [
        c
        for c in CELLS
        if (not config.tasks or c.task in config.tasks) and (not config.algos or c.algo in config.algos)
    ]
    if not cells:
        raise FourfoldError("no cell matches --tasks and --algos; see `fourfold rl table --help` for the cells")
    # 1. Train every seed that has no summary yet, `jobs` at a time.
    configs = [_run_config(cell, seed, config) for cell in cells for seed in range(config.seeds)]
    missing = [c for c in configs if not (run_folder(c) / SUMMARY_FILE).is_file()]
    if missing:
        with ProcessPoolExecutor(max_workers=config.jobs) as pool:
            for _ in pool.map(_train_one, missing):
                pass

    # 2. Collect the summaries per cell and write the table.
    results = []
    for cell in cells:
        result = CellResult(cell.task, cell.algo, cell.goal, cell.anchor, config.seeds)
        for seed in range(config.seeds):
            summary = json.loads((run_folder(_run_config(cell, seed, config)) / SUMMARY_FILE).read_text())
            result.eval_returns.append(float(summary["eval_mean"]))
            result.seconds.append(float(summary["seconds"]))
        results.append(result)
    config.out.mkdir(parents=True, exist_ok=True)
    text = render_table(results)
    (config.out / "table.md").write_text(text + "\n", encoding="utf-8")

    # 3. The analysis reports: training curves, and the final greedy evaluation with IQM and aggregates.
    from fourfold.gym.analyze import AnalyzeConfig, analyze

    folders = tuple(run_folder(c) for c in configs)
    analyze(AnalyzeConfig(runs=folders, out=config.out / "training", title="RL: training returns"))
    analyze(
        AnalyzeConfig(
            runs=folders,
            out=config.out / "evaluation",
            metric="eval/episodic_return",
            x_axis="steps",
            title="RL: greedy evaluation after training",
        )
    )
    files = [str(config.out / "table.md"), str(config.out / "training" / "report.html")]
    files.append(str(config.out / "evaluation" / "report.html"))
    return TableSummary(results, text, files)


def render_table(results: Sequence[CellResult]) -> str:
    """The markdown score table."""
    lines = [
        "| task | algorithm | goal | anchor | seeds ≥ goal | eval mean ± std | IQM | min … max | s/seed (median, max) "
        "|",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        scores = np.array(r.eval_returns)
        lines.append(
            f"| {r.task} | {r.algo.upper()} | ≥ {r.goal:g} | {r.anchor} | {r.reached}/{len(scores)} | "
            f"{scores.mean():.1f} ± {scores.std():.1f} | {float(iqm([scores])):.1f} | "
            f"{scores.min():.1f} … {scores.max():.1f} | "
            f"{statistics.median(r.seconds):.0f}, {max(r.seconds):.0f} |"
        )
    return "\n".join(lines)


def _run_config(cell: Cell, seed: int, config: TableConfig) -> TrainConfig:
    return TrainConfig(
        algo=cell.algo,
        env=f"fourfold/{cell.task}",
        seed=seed,
        name=f"table-{cell.algo}-{cell.task}-s{seed}",
        runs=config.runs,
        overwrite=True,
        eval_episodes=config.eval_episodes,
        progress=config.progress,
        threads=1,
        total_steps=config.total_steps,
    )


def _train_one(config: TrainConfig) -> None:
    from fourfold.rl.train import train

    train(config)
