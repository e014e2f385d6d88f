"""`fourfold gym analyze RUNS…`: compare algorithms across tasks from run folders, as rl-zoo, rliable and Open RL
Benchmark show results.

From the runs' `metrics.jsonl` (see `fourfold.gym.curves` for how runs are found and grouped into algorithm × task
cells, seeds being replicates) it writes into the output folder:

    table.md             algorithm × task: final score mean [CI] and IQM over seeds; the aggregates per algorithm
    curves-<task>-steps.png, curves-<task>-time.png
                         learning curves per task, mean over seeds with a bootstrap band, against steps and time
    aggregates.png       IQM, mean, median and optimality gap of normalised scores with stratified-bootstrap CIs
    profiles.png         performance profiles (fraction of runs above τ)
    report.html          all of it in one self-contained page (`fourfold.core.report`); report.md the same

A run's final score is the mean of its metric over the last `final_fraction` of its steps. Aggregates (Agarwal et
al. 2021, see `fourfold.gym.aggregate`) need scores normalised by reference scores, so only tasks with a
(random, target) pair in `reference_scores` enter them; the defaults cover the classic-control tasks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import tyro

from fourfold.core.config import require
from fourfold.core.report import Report, TableBlock, format_cell
from fourfold.gym.aggregate import (
    GYM_REFERENCE_SCORES,
    AggregateScores,
    FloatArray,
    aggregate_scores,
    iqm,
    mean_score,
    normalize,
    performance_profile,
    plot_aggregates,
    plot_profiles,
    profile_taus,
    reference_for,
    stratified_bootstrap,
)
from fourfold.gym.curves import (
    DEFAULT_ALGORITHM_KEYS,
    DEFAULT_SEED_KEYS,
    DEFAULT_STEP_KEYS,
    DEFAULT_TASK_KEYS,
    AnalysisError,
    MeanCurve,
    RunCurve,
    XAxis,
    final_score,
    find_runs,
    group_runs,
    load_run,
    mean_curve,
    metric_names,
    plot_curves,
)


@dataclass
class AnalyzeConfig:
    """Compare algorithms across tasks from run folders: learning curves, aggregate scores and a report."""

    runs: tyro.conf.Positional[tuple[Path, ...]]
    """Run folders, or folders to search for runs (a run is a folder with config.json and metrics.jsonl)."""
    out: Path = Path("runs/gym/analysis")
    """Folder to write report.html, report.md, table.md and the PNG plots into."""
    metric: str = "charts/episodic_return"
    """The metric to compare, as named in metrics.jsonl."""
    x_axis: Literal["steps", "time", "both"] = "both"
    """Plot learning curves against environment steps, wall time, or both."""
    algorithm_keys: tuple[str, ...] = DEFAULT_ALGORITHM_KEYS
    """config.json fields that name the algorithm, first present wins ("a.b" reaches into nested configs)."""
    task_keys: tuple[str, ...] = DEFAULT_TASK_KEYS
    """config.json fields that name the task (environment id), first present wins."""
    seed_keys: tuple[str, ...] = DEFAULT_SEED_KEYS
    """config.json fields that hold the seed (runs of one algorithm and task are its replicates)."""
    step_keys: tuple[str, ...] = DEFAULT_STEP_KEYS
    """metrics.jsonl columns that count environment steps, first present wins."""
    reference_scores: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Reference scores as TASK RANDOM TARGET triples, which normalise a task's scores to 0 and 1 for the
    aggregates; a task without any is left out of them. A name without namespace (CartPole-v1) also matches
    namespaced ids (fourfold/CartPole-v1)."""
    builtin_references: bool = True
    """Also use the built-in reference scores of the classic-control tasks (random policy, solved threshold);
    entries of --reference-scores override them."""
    final_fraction: float = 0.1
    """A run's final score is its metric's mean over this last fraction of its steps."""
    num_points: int = 100
    """Points of the common grid that each seed's curve is interpolated onto."""
    smoothing: int = 1
    """Moving-average window, in logged points, applied to each run's curve before interpolation (1: none)."""
    optimality_threshold: float = 1.0
    """Normalised score at which the optimality gap stops counting (1.0: the target score)."""
    resamples: int = 2000
    """Bootstrap resamples for every confidence interval and band."""
    confidence: float = 0.95
    """Coverage of the confidence intervals."""
    seed: int = 0
    """Seed of the bootstrap, so a report is reproducible."""
    title: str = "Gym: algorithms × tasks"
    """Title of the report."""

    def __post_init__(self) -> None:
        require(len(self.runs) >= 1, "runs", "give at least one run folder (RUNS…) or a folder that holds runs")
        require(0 < self.final_fraction <= 1, "final_fraction", f"must be in (0, 1] (got {self.final_fraction})")
        require(self.num_points >= 2, "num_points", f"must be at least 2 (got {self.num_points})")
        require(self.smoothing >= 1, "smoothing", f"must be at least 1 (got {self.smoothing})")
        require(self.resamples >= 1, "resamples", f"must be at least 1 (got {self.resamples})")
        require(0 < self.confidence < 1, "confidence", f"must be in (0, 1) (got {self.confidence})")
        require(len(self.algorithm_keys) >= 1, "algorithm_keys", "give at least one config field")
        require(len(self.task_keys) >= 1, "task_keys", "give at least one config field")
        require(len(self.step_keys) >= 1, "step_keys", "give at least one metrics column")
        for task, (random, target) in self.reference_scores.items():
            require(random != target, "reference_scores", f"{task}: random and target must differ (both {random})")

    def references(self) -> dict[str, tuple[float, float]]:
        """The reference scores in use: the built-in ones (unless turned off) updated by `reference_scores`."""
        builtin = dict(GYM_REFERENCE_SCORES) if self.builtin_references else {}
        return {**builtin, **self.reference_scores}


@dataclass
class CellRow:
    """The final scores of one algorithm on one task, over its runs."""

    algorithm: str
    task: str
    runs: int
    mean: float
    ci_low: float
    ci_high: float
    iqm: float
    normalized_mean: float | None
    """The mean normalised by the task's reference scores; None without them."""


@dataclass
class AnalyzeSummary:
    """What `analyze` wrote, and the numbers of its tables."""

    out: Path
    html: Path
    markdown: Path
    table: Path
    plots: list[Path] = field(default_factory=list)
    runs: int = 0
    skipped: list[str] = field(default_factory=list)
    """Runs left out, with the reason (no finite value of the metric)."""
    cells: list[CellRow] = field(default_factory=list)
    aggregates: list[AggregateScores] = field(default_factory=list)
    """Per algorithm, over the tasks with reference scores."""
    table_markdown: str = ""

    def __str__(self) -> str:
        lines = [self.table_markdown.rstrip(), ""]
        lines += [f"skipped {s}" for s in self.skipped]
        lines.append(f"{self.runs} runs analysed; report: {self.html} (markdown: {self.markdown})")
        return "\n".join(lines)


def analyze(config: AnalyzeConfig) -> AnalyzeSummary:
    """Load the runs, compute curves, final scores and aggregates, and write the tables, plots and report.

    Raises:
        AnalysisError: no runs found, a run without config.json or metrics, or a metric that no run logs.
    """
    # 1. Find the runs and load the metric's curve of each; runs that do not log the metric are skipped.
    curves, skipped = _load_curves(config)
    cells = group_runs(curves)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    report = Report(config.title)
    score_note = (
        f"final score: mean of the last {config.final_fraction:.0%} of steps; mean [{config.confidence:.0%} CI]"
    )
    score_section = report.add_section("Final scores", note=score_note)
    aggregate_section = report.add_section("Aggregates")
    curve_section = report.add_section("Learning curves", note=f"{config.metric}, mean over seeds")
    runs_section = report.add_section("Runs", note=f"{len(curves)} runs in {len(cells)} cells")
    plots: list[Path] = []
    # One colour per algorithm in every plot.
    colors = {algorithm: f"C{i % 10}" for i, algorithm in enumerate(sorted({a for a, _ in cells}))}

    # 2. Final scores per cell: mean with a bootstrap interval over seeds, and IQM.
    finals = {key: np.array([final_score(run, config.final_fraction) for run in runs]) for key, runs in cells.items()}
    rows = [_cell_row(algorithm, task, scores, config) for (algorithm, task), scores in finals.items()]

    # 3. Aggregates over the tasks with reference scores, per algorithm.
    aggregates, aggregate_plots = _aggregates(finals, config, out, colors, aggregate_section.text)
    if not aggregates:
        aggregate_section.status = "skipped"

    # 4. Tables: algorithm × task, the cells in full, the aggregates.
    tables = _tables(rows, aggregates, config)
    table_markdown = "\n\n".join(block.to_markdown(None) for block in tables) + "\n"
    score_section.blocks.extend(tables[:2])
    aggregate_section.blocks.extend(tables[2:])
    for path, caption in aggregate_plots:
        aggregate_section.image(path, caption=caption)
        plots.append(path)

    # 5. Learning curves per task, against steps and/or time.
    axes: list[XAxis] = ["steps", "time"] if config.x_axis == "both" else [config.x_axis]
    for task in sorted({task for _, task in cells}):
        for x_axis in axes:
            curve_path = _plot_task(task, x_axis, cells, config, colors, curve_section.text)
            if curve_path is not None:
                plots.append(curve_path)
                curve_section.image(curve_path, caption=f"{task}: {config.metric} against {x_axis}")

    # 6. The runs behind it all, and the files.
    run_rows = [[c.algorithm, c.task, c.seed, str(c.directory)] for c in curves]
    runs_section.table(["algorithm", "task", "seed", "run"], run_rows)
    if skipped:
        runs_section.text("Skipped:\n\n" + "\n\n".join(skipped))
    table_path = out / "table.md"
    table_path.write_text(table_markdown, encoding="utf-8")
    markdown_path = out / "report.md"
    markdown_path.write_text(report.to_markdown(relative_to=out), encoding="utf-8")
    html_path = report.write(out / "report.html")
    return AnalyzeSummary(
        out=out,
        html=html_path,
        markdown=markdown_path,
        table=table_path,
        plots=plots,
        runs=len(curves),
        skipped=skipped,
        cells=rows,
        aggregates=aggregates,
        table_markdown=table_markdown,
    )


def _load_curves(config: AnalyzeConfig) -> tuple[list[RunCurve], list[str]]:
    curves: list[RunCurve] = []
    skipped: list[str] = []
    directories = find_runs(config.runs)
    for directory in directories:
        curve = load_run(
            directory,
            config.metric,
            algorithm_keys=config.algorithm_keys,
            task_keys=config.task_keys,
            seed_keys=config.seed_keys,
            step_keys=config.step_keys,
        )
        if curve is None:
            skipped.append(f"{directory}: logs no finite value of {config.metric!r}")
        else:
            curves.append(curve)
    if not curves:
        names = sorted(set().union(*(metric_names(d) for d in directories)))
        shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "") if names else "none"
        raise AnalysisError(
            f"no run logs the metric {config.metric!r} (metrics found: {shown}); pass --metric with one of them"
        )
    return curves, skipped


def _cell_row(algorithm: str, task: str, scores: FloatArray, config: AnalyzeConfig) -> CellRow:
    point, low, high = stratified_bootstrap(
        [scores], mean_score, resamples=config.resamples, confidence=config.confidence, seed=config.seed
    )
    reference = reference_for(task, config.references())
    normalized = None if reference is None else float(normalize(scores, reference, task).mean())
    return CellRow(
        algorithm, task, len(scores), float(point), float(low), float(high), float(iqm([scores])), normalized
    )


def _plot_task(
    task: str,
    x_axis: XAxis,
    cells: dict[tuple[str, str], list[RunCurve]],
    config: AnalyzeConfig,
    colors: dict[str, str],
    note: Callable[[str], object],
) -> Path | None:
    """Plot one task's mean curves against `x_axis`; None (with a note) when the runs cannot give that curve."""
    means: list[MeanCurve] = []
    for (algorithm, cell_task), runs in cells.items():
        if cell_task != task:
            continue
        try:
            means.append(
                mean_curve(
                    runs,
                    x_axis,
                    num_points=config.num_points,
                    window=config.smoothing,
                    resamples=config.resamples,
                    confidence=config.confidence,
                    seed=config.seed,
                )
            )
        except AnalysisError as error:
            if config.x_axis != "both":
                raise
            note(f"{algorithm} on {task} has no curve against {x_axis}: {error}")
    if not means:
        return None
    path = Path(config.out) / f"curves-{_slug(task)}-{x_axis}.png"
    return plot_curves(means, path, title=task, ylabel=config.metric, confidence=config.confidence, colors=colors)


def _aggregates(
    finals: dict[tuple[str, str], FloatArray],
    config: AnalyzeConfig,
    out: Path,
    colors: dict[str, str],
    note: Callable[[str], object],
) -> tuple[list[AggregateScores], list[tuple[Path, str]]]:
    """Aggregates and their plots over the tasks with reference scores; notes say what was left out."""
    normalized: dict[str, dict[str, FloatArray]] = {}
    missing: set[str] = set()
    references = config.references()
    for (algorithm, task), scores in finals.items():
        reference = reference_for(task, references)
        if reference is None:
            missing.add(task)
            continue
        normalized.setdefault(algorithm, {})[task] = normalize(scores, reference, task)
    if missing:
        note(f"Left out of the aggregates for want of reference scores: {', '.join(sorted(missing))}.")
    if not normalized:
        note("No task has reference scores, so there are no aggregates; give --reference-scores TASK RANDOM TARGET.")
        return [], []
    note(
        "Scores normalised per task as (score - random) / (target - random); IQM, mean, median and optimality gap "
        f"(threshold {config.optimality_threshold:g}) as in Agarwal et al. 2021, {config.confidence:.0%} "
        f"stratified-bootstrap CIs over {config.resamples} resamples."
    )
    task_sets = {tuple(sorted(tasks)) for tasks in normalized.values()}
    if len(task_sets) > 1:
        note("The algorithms cover different tasks, so their aggregates are not over the same tasks.")
    aggregates = [
        aggregate_scores(
            algorithm,
            scores,
            threshold=config.optimality_threshold,
            resamples=config.resamples,
            confidence=config.confidence,
            seed=config.seed,
        )
        for algorithm, scores in sorted(normalized.items())
    ]
    taus = profile_taus([s for scores in normalized.values() for s in scores.values()])
    profiles = [
        performance_profile(
            algorithm, scores, taus, resamples=config.resamples, confidence=config.confidence, seed=config.seed
        )
        for algorithm, scores in sorted(normalized.items())
    ]
    plots = [
        (
            plot_aggregates(aggregates, out / "aggregates.png", confidence=config.confidence, colors=colors),
            "normalised-score aggregates per algorithm: point estimate (tick) and confidence interval (bar)",
        ),
        (
            plot_profiles(profiles, out / "profiles.png", colors=colors),
            "performance profiles: fraction of runs above each score τ",
        ),
    ]
    return aggregates, plots


def _tables(rows: list[CellRow], aggregates: list[AggregateScores], config: AnalyzeConfig) -> list[TableBlock]:
    """The algorithm × task table, the long table of cells, and (with aggregates) the aggregates table."""
    algorithms = sorted({r.algorithm for r in rows})
    tasks = sorted({r.task for r in rows})
    by_cell = {(r.algorithm, r.task): r for r in rows}
    wide = []
    for algorithm in algorithms:
        cells = []
        for task in tasks:
            row = by_cell.get((algorithm, task))
            cells.append("–" if row is None else _score_text(row))
        wide.append((algorithm, *cells))
    long = [
        (r.algorithm, r.task, r.runs, r.mean, r.ci_low, r.ci_high, r.iqm, r.normalized_mean)
        for r in sorted(rows, key=lambda r: (r.task, r.algorithm))
    ]
    tables = [
        TableBlock(("algorithm", *tasks), tuple(wide)),
        TableBlock(("algorithm", "task", "runs", "mean", "CI low", "CI high", "IQM", "normalised mean"), tuple(long)),
    ]
    if aggregates:
        header = (
            "algorithm",
            "tasks",
            "runs",
            "IQM",
            "mean",
            "median",
            f"optimality gap (τ={config.optimality_threshold:g})",
        )
        body = tuple(
            (
                a.algorithm,
                len(a.tasks),
                a.num_runs,
                _estimate_text(a.iqm.value, a.iqm.low, a.iqm.high),
                _estimate_text(a.mean.value, a.mean.low, a.mean.high),
                _estimate_text(a.median.value, a.median.low, a.median.high),
                _estimate_text(a.optimality_gap.value, a.optimality_gap.low, a.optimality_gap.high),
            )
            for a in aggregates
        )
        tables.append(TableBlock(header, body))
    return tables


def _score_text(row: CellRow) -> str:
    return f"{_estimate_text(row.mean, row.ci_low, row.ci_high)} · IQM {format_cell(row.iqm)} (n={row.runs})"


def _estimate_text(value: float, low: float, high: float) -> str:
    return f"{format_cell(value)} [{format_cell(low)}, {format_cell(high)}]"


def _slug(text: str) -> str:
    """A file-name-safe form of a task id: "fourfold/CartPole-v1" -> "fourfold-CartPole-v1"."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "task"
