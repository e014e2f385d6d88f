"""Learning curves from run folders: load, group into (algorithm, task) cells, interpolate seeds, bootstrap bands.

What rl-zoo and Open RL Benchmark plot: each run's metric (CleanRL's `charts/episodic_return` by default) against
environment steps and against wall time, the seeds of one algorithm on one task put onto a common grid and shown
as their mean with a percentile-bootstrap confidence band (Efron and Tibshirani 1993; the band resamples whole
seeds, so it says how much the mean curve would move with other seeds).

A run folder is what `fourfold.core.runlog` writes: `config.json` and `metrics.jsonl`, one JSON object per log
call with `step` and `time` columns. Runs are grouped by fields of their config.json:

    algorithm   the first of `algorithm_keys` present (default "algo", then "algorithm")
    task        the first of `task_keys` present (default "env_id", then "env", then "task")
    seed        the first of `seed_keys` present (default "seed"); runs of one cell are its replicates

A key may be dotted ("env.id") to reach into a nested config. The x axis in steps is the first of `step_keys`
present in the run's lines (default CleanRL's "global_step", then runlog's "step"); wall time is the "time" column.

Shapes: S seeds (runs of one cell), G grid points, R bootstrap resamples.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from fourfold.core.errors import FourfoldError
from fourfold.core.runlog import CONFIG_FILE, METRICS_FILE, RunError, read_metrics

FloatArray = npt.NDArray[np.float64]
XAxis = Literal["steps", "time"]
"""What a curve is plotted against: environment steps or wall-clock seconds since the run started."""

DEFAULT_ALGORITHM_KEYS = ("algo", "algorithm")
DEFAULT_TASK_KEYS = ("env_id", "env", "task")
DEFAULT_SEED_KEYS = ("seed",)
DEFAULT_STEP_KEYS = ("global_step", "step")
TIME_KEY = "time"


class AnalysisError(FourfoldError):
    """Runs cannot be analysed as asked: none found, one without metrics or config, a metric no run has."""


@dataclass(frozen=True)
class RunCurve:
    """One run's metric as logged, sorted by step, with lines that lack the metric (or hold NaN) left out.

    Attributes:
        directory: the run folder.
        algorithm, task, seed: read from its config.json (seed None when the config has none).
        steps, times, values: equal-length arrays, one entry per line that logged the metric.
    """

    directory: Path
    algorithm: str
    task: str
    seed: str | None
    steps: FloatArray
    times: FloatArray
    values: FloatArray


@dataclass(frozen=True)
class MeanCurve:
    """The mean over the seeds of one cell on a common grid, with a bootstrap confidence band.

    Attributes:
        algorithm, task: the cell.
        x_axis: "steps" or "time".
        x: (G,) the grid, from the latest first point to the earliest last point of the seeds (no extrapolation).
        mean, low, high: (G,) the mean over seeds and the band's bounds.
        num_runs: the number of seeds S.
    """

    algorithm: str
    task: str
    x_axis: XAxis
    x: FloatArray
    mean: FloatArray
    low: FloatArray
    high: FloatArray
    num_runs: int


def find_runs(paths: Iterable[Path]) -> list[Path]:
    """The run folders in `paths`: each path that is a run itself, or the runs found anywhere below it.

    A folder that holds `config.json` or `metrics.jsonl` is a run; the search does not go inside a run (so its
    checkpoints, which hold a config.json too, are not taken for runs).

    Raises:
        AnalysisError: a path does not exist, or no run is found in any of them.
    """
    found: list[Path] = []
    paths = list(paths)
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            raise AnalysisError(f"run folder {path} does not exist; give run folders or a folder that holds runs")
        if _is_run(path):
            found.append(path)
            continue
        for root, folders, _ in os.walk(path):
            folders.sort()
            for name in list(folders):
                candidate = Path(root) / name
                if _is_run(candidate):
                    found.append(candidate)
                    folders.remove(name)  # never look inside a run
    if not found:
        where = ", ".join(str(p) for p in paths) or "(no path given)"
        raise AnalysisError(f"no runs found in {where}; a run is a folder with config.json and metrics.jsonl")
    # The same run reached twice (a folder and its parent both given) counts once.
    unique = {p.resolve(): p for p in reversed(found)}
    return sorted(unique.values())


def load_run(
    directory: Path,
    metric: str,
    *,
    algorithm_keys: Sequence[str] = DEFAULT_ALGORITHM_KEYS,
    task_keys: Sequence[str] = DEFAULT_TASK_KEYS,
    seed_keys: Sequence[str] = DEFAULT_SEED_KEYS,
    step_keys: Sequence[str] = DEFAULT_STEP_KEYS,
) -> RunCurve | None:
    """Read one run's config and its `metric` curve; None when no line of the run logs a finite `metric`.

    Lines logged at the same step (several episodes ending at once in a vector env) are averaged into one point.

    Raises:
        AnalysisError: config.json or metrics.jsonl is missing, empty or corrupt, the config lacks the algorithm or
            task key, or the lines that log `metric` have no step column.
    """
    directory = Path(directory)
    config = _read_config(directory)
    algorithm = _config_value(config, algorithm_keys, directory, "algorithm", "--algorithm-keys")
    task = _config_value(config, task_keys, directory, "task", "--task-keys")
    seed = _optional_config_value(config, seed_keys)
    try:
        lines = read_metrics(directory / METRICS_FILE)
    except RunError as error:
        raise AnalysisError(f"run {directory} cannot be read: {error}") from None
    if not lines:
        raise AnalysisError(
            f"run {directory} has an empty {METRICS_FILE}; it logged nothing, so remove it from the runs"
        )
    # NaN or infinite values (a diverged run) carry no score; such lines are left out like lines without the metric.
    logged = [line for line in lines if _is_number(line.get(metric)) and math.isfinite(line[metric])]
    if not logged:
        return None
    step_key = next((key for key in step_keys if all(_is_number(line.get(key)) for line in logged)), None)
    if step_key is None:
        keys = ", ".join(step_keys)
        raise AnalysisError(f"run {directory}: the lines that log {metric!r} lack a step column ({keys})")
    steps = np.array([float(line[step_key]) for line in logged])
    times = np.array([float(line.get(TIME_KEY, math.nan)) for line in logged])
    values = np.array([float(line[metric]) for line in logged])
    order = np.argsort(steps, kind="stable")
    return RunCurve(directory, algorithm, task, seed, steps[order], times[order], values[order])


def metric_names(directory: Path) -> set[str]:
    """Every metric name logged in a run's metrics.jsonl (for error messages that list what there is)."""
    try:
        lines = read_metrics(Path(directory) / METRICS_FILE)
    except RunError:
        return set()
    return {key for line in lines for key in line} - {"step", TIME_KEY, "global_step"}


def group_runs(curves: Iterable[RunCurve]) -> dict[tuple[str, str], list[RunCurve]]:
    """The runs of each (algorithm, task) cell, cells sorted by task then algorithm, runs by seed then folder."""
    cells: dict[tuple[str, str], list[RunCurve]] = {}
    for curve in curves:
        cells.setdefault((curve.algorithm, curve.task), []).append(curve)
    ordered = sorted(cells.items(), key=lambda item: (item[0][1], item[0][0]))
    return {key: sorted(runs, key=lambda r: (_seed_order(r.seed), str(r.directory))) for key, runs in ordered}


def smooth(values: FloatArray, window: int) -> FloatArray:
    """Trailing moving average over `window` points (the first points average what there is); 1 is no smoothing."""
    if window <= 1 or len(values) == 0:
        return values
    sums = np.cumsum(np.concatenate(([0.0], values)))
    index = np.arange(1, len(values) + 1)
    start = np.maximum(index - window, 0)
    result: FloatArray = (sums[index] - sums[start]) / (index - start)
    return result


def interpolate(
    curves: Sequence[RunCurve], x_axis: XAxis, num_points: int, window: int = 1
) -> tuple[FloatArray, FloatArray]:
    """Put every run of a cell onto one grid by linear interpolation.

    The grid spans the range all runs cover (latest start to earliest end), so nothing is extrapolated; a run
    that stopped early shortens the cell's curve rather than leaving a gap.

    Args:
        curves: the S runs of one cell.
        x_axis: interpolate against "steps" or wall "time".
        num_points: G, the number of grid points.
        window: moving-average window over each run's logged points before interpolating (1: raw).

    Returns:
        (x, values): the grid (G,) and the runs on it (S, G).

    Raises:
        AnalysisError: a run has no time column (for "time"), or the runs' ranges do not overlap.
    """
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    for curve in curves:
        x = curve.steps if x_axis == "steps" else curve.times
        if not np.all(np.isfinite(x)):
            raise AnalysisError(f"run {curve.directory} lacks a finite {x_axis!r} column, so it has no curve over it")
        x_unique, y_mean = _merge_equal_x(x, smooth(curve.values, window))
        xs.append(x_unique)
        ys.append(y_mean)
    start = max(float(x[0]) for x in xs)
    end = min(float(x[-1]) for x in xs)
    if end < start:
        first = curves[0]
        raise AnalysisError(
            f"the runs of {first.algorithm} on {first.task} do not overlap in {x_axis} (one ends before another "
            "starts); analyse them separately or drop the short run"
        )
    grid = np.linspace(start, end, num_points) if end > start else np.array([start])
    values = np.stack([np.interp(grid, x, y) for x, y in zip(xs, ys, strict=True)])  # (S, G)
    return grid, values


def bootstrap_mean_band(
    values: FloatArray, *, resamples: int, confidence: float, seed: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean over seeds with a percentile-bootstrap band: seeds (whole curves) are resampled with replacement.

    Args:
        values: (S, G) the seeds' curves on a common grid.
        resamples: R, the number of bootstrap resamples.
        confidence: the band's coverage, e.g. 0.95.
        seed: seeds the resampling, so a report is reproducible.

    Returns:
        (mean, low, high), each (G,). With one seed the band is the curve itself.
    """
    num_seeds = values.shape[0]
    mean: FloatArray = values.mean(axis=0)
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, num_seeds, size=(resamples, num_seeds))  # (R, S)
    means = values[indices].mean(axis=1)  # (R, S, G) -> (R, G)
    tail = (1.0 - confidence) / 2.0
    low: FloatArray = np.quantile(means, tail, axis=0)
    high: FloatArray = np.quantile(means, 1.0 - tail, axis=0)
    return mean, low, high


def mean_curve(
    curves: Sequence[RunCurve],
    x_axis: XAxis,
    *,
    num_points: int = 100,
    window: int = 1,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MeanCurve:
    """The seeds of one cell as a mean curve with a bootstrap band (see `interpolate`, `bootstrap_mean_band`)."""
    x, values = interpolate(curves, x_axis, num_points, window)
    mean, low, high = bootstrap_mean_band(values, resamples=resamples, confidence=confidence, seed=seed)
    first = curves[0]
    return MeanCurve(first.algorithm, first.task, x_axis, x, mean, low, high, len(curves))


def final_score(curve: RunCurve, fraction: float = 0.1) -> float:
    """A run's final score: the mean of the values logged in the last `fraction` of its steps (the last one at
    least), as rl-zoo reports the mean of the last evaluations rather than one noisy point."""
    last = curve.steps[-1]
    cutoff = last - fraction * (last - curve.steps[0])
    return float(curve.values[curve.steps >= cutoff].mean())


def plot_curves(
    curves: Sequence[MeanCurve],
    path: Path,
    *,
    title: str = "",
    ylabel: str = "",
    confidence: float = 0.95,
    colors: Mapping[str, str] | None = None,
) -> Path:
    """Draw mean curves (one line per algorithm) with their bands as shaded areas, and save a PNG at `path`.

    `colors` maps algorithms to matplotlib colours, so that an algorithm keeps its colour across plots.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(6.4, 3.8), dpi=110)
    try:
        for curve in curves:
            label = f"{curve.algorithm} ({curve.num_runs} run{'s' if curve.num_runs != 1 else ''})"
            color = None if colors is None else colors.get(curve.algorithm)
            (line,) = axes.plot(curve.x, curve.mean, label=label, linewidth=1.6, color=color)
            axes.fill_between(curve.x, curve.low, curve.high, color=line.get_color(), alpha=0.2, linewidth=0)
        x_axis = curves[0].x_axis if curves else "steps"
        axes.set_xlabel("environment steps" if x_axis == "steps" else "wall time (s)")
        axes.set_ylabel(ylabel)
        axes.set_title(title)
        axes.grid(alpha=0.3)
        if curves:
            axes.legend(title=f"mean, {confidence:.0%} bootstrap CI", fontsize="small", title_fontsize="small")
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path


def _is_run(path: Path) -> bool:
    return (path / CONFIG_FILE).is_file() or (path / METRICS_FILE).is_file()


def _read_config(directory: Path) -> Mapping[str, Any]:
    path = directory / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnalysisError(
            f"run {directory} has no {CONFIG_FILE}, so its algorithm and task are unknown; remove it from the runs"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AnalysisError(f"run {directory}: {CONFIG_FILE} is not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise AnalysisError(f"run {directory}: {CONFIG_FILE} is not a JSON object")
    return config


_ABSENT = object()


def _lookup(config: Mapping[str, Any], dotted: str) -> Any:
    """`config["a"]["b"]` for "a.b"; `_ABSENT` where a part is missing."""
    value: Any = config
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _ABSENT
        value = value[part]
    return value


def _optional_config_value(config: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = _lookup(config, key)
        if value is not _ABSENT and value is not None:
            return str(value)
    return None


def _config_value(config: Mapping[str, Any], keys: Sequence[str], directory: Path, what: str, flag: str) -> str:
    value = _optional_config_value(config, keys)
    if value is None:
        tried = ", ".join(repr(k) for k in keys)
        raise AnalysisError(
            f"run {directory}: {CONFIG_FILE} has none of the {what} keys {tried}; "
            f"pass {flag} with the config field that names the {what}"
        )
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _merge_equal_x(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Sort by x and average the y of equal x, so np.interp sees strictly increasing points."""
    order = np.argsort(x, kind="stable")
    unique, inverse = np.unique(x[order], return_inverse=True)
    sums = np.bincount(inverse, weights=y[order])
    counts = np.bincount(inverse)
    return unique, sums / counts


def _seed_order(seed: str | None) -> tuple[int, float, str]:
    """Numeric seeds in numeric order, then other seeds as text, then runs without a seed."""
    if seed is None:
        return (2, 0.0, "")
    try:
        return (0, float(seed), "")
    except ValueError:
        return (1, 0.0, seed)
