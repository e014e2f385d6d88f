"""Aggregate scores across tasks with stratified-bootstrap confidence intervals, as rliable defines them.

Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the Statistical Precipice" (NeurIPS): with few
runs per task, report interval estimates of robust aggregates rather than point means. Scores are first normalised
per task, `(score - random) / (target - random)`, so 0 is a random policy and 1 the task's target. Then, over the
runs of all tasks of one algorithm:

    IQM              the interquartile mean: the mean of the middle 50% of all runs × tasks (a 25% trimmed mean,
                     `scipy.stats.trim_mean(scores, 0.25)`: n // 4 scores cut from each end)
    mean, median     the mean and the median of the per-task mean scores
    optimality gap   threshold - mean(min(score, threshold)) over all runs × tasks: how far below the target the
                     runs fall, with nothing gained by exceeding it
    profile          for each τ, the fraction of runs × tasks whose score is above τ (the run-score distribution)

Confidence intervals come from the stratified percentile bootstrap: each resample draws, for every task on its
own, as many runs as the task has, with replacement, and recomputes the statistic. Tasks may have different
numbers of runs (rliable needs equal numbers; where they are equal, point estimates are rliable's and intervals
follow its procedure, with NumPy's seeded generator instead of its global one).

rliable itself is not a dependency: it pulls in arch, statsmodels, pandas, seaborn, scipy and absl, and seeds
through NumPy's global generator; the statistics are a few lines of NumPy, checked against hand computations.

Shapes: R bootstrap resamples, n_m runs of task m, N runs of all tasks, T thresholds τ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fourfold.core.errors import FourfoldError

FloatArray = npt.NDArray[np.float64]
Statistic = Callable[[Sequence[FloatArray]], FloatArray]
"""A statistic of the scores of several tasks: arrays (..., n_m), one per task -> (...) or (..., T)."""

ReferenceScores = Mapping[str, tuple[float, float]]
"""Task -> (random score, target score), the two points that normalisation maps to 0 and 1."""

GYM_REFERENCE_SCORES: dict[str, tuple[float, float]] = {
    # Random: the mean return of uniformly random actions over 200 episodes of Gymnasium 1.4's own env (episode
    # seeds 0-199, action space seeded 0); standard errors 0.8, 1.3, 0, 0.07 and 21. Target: Gymnasium's
    # `reward_threshold` ("solved"), and for Pendulum-v1, which has none, the RL issue's goal of -200.
    "CartPole-v1": (22.7, 475.0),
    "Acrobot-v1": (-497.4, -100.0),
    "MountainCar-v0": (-200.0, -110.0),
    "MountainCarContinuous-v0": (-33.2, 90.0),
    "Pendulum-v1": (-1255.6, -200.0),
}
"""Reference scores of the classic-control tasks; they also serve the `fourfold/` ids of the same tasks."""

# Resamples are processed in chunks so that performance profiles (R × N × T booleans) stay small.
_CHUNK = 256


class ReferenceScoreError(FourfoldError):
    """A task's reference scores cannot normalise it (random equals target)."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class AggregateScores:
    """The rliable aggregates of one algorithm over its tasks.

    Attributes:
        algorithm: the algorithm's name.
        tasks: the tasks aggregated over.
        num_runs: N, runs over all tasks.
        iqm, mean, median, optimality_gap: each with its stratified-bootstrap interval.
    """

    algorithm: str
    tasks: tuple[str, ...]
    num_runs: int
    iqm: Estimate
    mean: Estimate
    median: Estimate
    optimality_gap: Estimate


@dataclass(frozen=True)
class PerformanceProfile:
    """The fraction of runs scoring above each threshold τ, with a pointwise bootstrap band.

    Attributes:
        algorithm: the algorithm's name.
        taus, fraction, low, high: (T,) arrays.
    """

    algorithm: str
    taus: FloatArray
    fraction: FloatArray
    low: FloatArray
    high: FloatArray


def reference_for(task: str, references: ReferenceScores) -> tuple[float, float] | None:
    """The (random, target) scores of `task`: by its exact name, else by its name without a namespace
    ("fourfold/CartPole-v1" uses "CartPole-v1"); None when there are none."""
    if task in references:
        return references[task]
    bare = task.rsplit("/", 1)[-1]
    return references.get(bare)


def normalize(scores: FloatArray, reference: tuple[float, float], task: str = "") -> FloatArray:
    """`(scores - random) / (target - random)`: 0 at the random policy's score, 1 at the target.

    Raises:
        ReferenceScoreError: random equals target.
    """
    random, target = reference
    if target == random:
        raise ReferenceScoreError(
            f"the reference scores of task {task!r} have random == target ({random}); they must differ"
        )
    result: FloatArray = (np.asarray(scores, dtype=np.float64) - random) / (target - random)
    return result


def iqm(scores: Sequence[FloatArray]) -> FloatArray:
    """Interquartile mean over all runs of all tasks: sort, cut n // 4 from each end, average the rest."""
    runs = np.sort(np.concatenate(scores, axis=-1), axis=-1)  # (..., N)
    cut = runs.shape[-1] // 4
    result: FloatArray = runs[..., cut : runs.shape[-1] - cut].mean(axis=-1)
    return result


def mean_score(scores: Sequence[FloatArray]) -> FloatArray:
    """Mean over tasks of each task's mean score."""
    result: FloatArray = _task_means(scores).mean(axis=-1)
    return result


def median_score(scores: Sequence[FloatArray]) -> FloatArray:
    """Median over tasks of each task's mean score."""
    result: FloatArray = np.median(_task_means(scores), axis=-1)
    return result


def optimality_gap(scores: Sequence[FloatArray], threshold: float = 1.0) -> FloatArray:
    """`threshold - mean(min(score, threshold))` over all runs of all tasks."""
    runs = np.concatenate(scores, axis=-1)  # (..., N)
    result: FloatArray = threshold - np.minimum(runs, threshold).mean(axis=-1)
    return result


def run_score_profile(scores: Sequence[FloatArray], taus: FloatArray) -> FloatArray:
    """For each τ, the fraction of all runs of all tasks with a score strictly above τ: (..., T)."""
    runs = np.concatenate(scores, axis=-1)  # (..., N)
    result: FloatArray = (runs[..., None] > taus).mean(axis=-2)  # (..., N, T) -> (..., T)
    return result


def stratified_bootstrap(
    scores: Sequence[FloatArray],
    statistic: Statistic,
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A statistic of per-task scores with its stratified percentile-bootstrap interval.

    Args:
        scores: one (n_m,) array of run scores per task.
        statistic: a function such as `iqm` that takes the per-task arrays with any leading batch shape.
        resamples: R, the number of resamples.
        confidence: the interval's coverage, e.g. 0.95.
        seed: seeds the resampling, so a report is reproducible.

    Returns:
        (point, low, high): the statistic of `scores` and the interval bounds, each of the statistic's shape.
    """
    tasks = [np.asarray(s, dtype=np.float64) for s in scores]
    if not tasks or any(t.ndim != 1 or t.size == 0 for t in tasks):
        raise ValueError("scores must be one non-empty 1-D array per task")
    rng = np.random.default_rng(seed)
    chunks = []
    for start in range(0, resamples, _CHUNK):
        size = min(_CHUNK, resamples - start)
        # Stratified: every task resamples its own runs, keeping its number of runs.
        resampled = [t[rng.integers(0, t.size, size=(size, t.size))] for t in tasks]  # (R_chunk, n_m) each
        chunks.append(statistic(resampled))
    samples = np.concatenate(chunks, axis=0)  # (R, ...)
    tail = (1.0 - confidence) / 2.0
    point: FloatArray = np.asarray(statistic(tasks), dtype=np.float64)
    low: FloatArray = np.quantile(samples, tail, axis=0)
    high: FloatArray = np.quantile(samples, 1.0 - tail, axis=0)
    return point, low, high


def aggregate_scores(
    algorithm: str,
    scores_by_task: Mapping[str, FloatArray],
    *,
    threshold: float = 1.0,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> AggregateScores:
    """IQM, mean, median and optimality gap of one algorithm's (normalised) scores, with intervals.

    Args:
        algorithm: the algorithm's name, carried into the result.
        scores_by_task: task -> (n_m,) final scores of its runs.
        threshold: the optimality gap's threshold (1.0: the target score, once normalised).
        resamples, confidence, seed: see `stratified_bootstrap`.
    """
    scores = list(scores_by_task.values())

    def estimate(statistic: Statistic) -> Estimate:
        point, low, high = stratified_bootstrap(
            scores, statistic, resamples=resamples, confidence=confidence, seed=seed
        )
        return Estimate(float(point), float(low), float(high))

    return AggregateScores(
        algorithm=algorithm,
        tasks=tuple(scores_by_task),
        num_runs=sum(len(s) for s in scores),
        iqm=estimate(iqm),
        mean=estimate(mean_score),
        median=estimate(median_score),
        optimality_gap=estimate(lambda s: optimality_gap(s, threshold)),
    )


def profile_taus(all_scores: Sequence[FloatArray], num: int = 101) -> FloatArray:
    """Thresholds for performance profiles: evenly from min(0, lowest score) to max(1, highest score)."""
    runs = np.concatenate([np.ravel(s) for s in all_scores])
    taus: FloatArray = np.linspace(min(0.0, float(runs.min())), max(1.0, float(runs.max())), num)
    return taus


def performance_profile(
    algorithm: str,
    scores_by_task: Mapping[str, FloatArray],
    taus: FloatArray,
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PerformanceProfile:
    """The run-score distribution of one algorithm at thresholds `taus`, with a stratified-bootstrap band."""
    point, low, high = stratified_bootstrap(
        list(scores_by_task.values()),
        lambda s: run_score_profile(s, taus),
        resamples=resamples,
        confidence=confidence,
        seed=seed,
    )
    return PerformanceProfile(algorithm, taus, point, low, high)


def plot_aggregates(
    aggregates: Sequence[AggregateScores],
    path: Path,
    *,
    confidence: float = 0.95,
    colors: Mapping[str, str] | None = None,
) -> Path:
    """rliable's interval plot: one panel per aggregate (median, IQM, mean, optimality gap), one bar per
    algorithm spanning its interval, a tick at the point estimate; saved as a PNG at `path`.

    `colors` maps algorithms to matplotlib colours (default: the colour cycle in order).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    panels = ("median", "IQM", "mean", "optimality gap")
    height = 1.2 + 0.45 * len(aggregates)
    figure, axes = plt.subplots(1, len(panels), figsize=(10.0, height), dpi=110, sharey=True)
    try:
        for axis, name in zip(axes, panels, strict=True):
            for row, aggregate in enumerate(aggregates):
                estimate = _panel_estimate(aggregate, name)
                color = colors.get(aggregate.algorithm) if colors is not None else None
                color = color or f"C{row % 10}"
                axis.barh(row, estimate.high - estimate.low, left=estimate.low, height=0.6, color=color, alpha=0.6)
                axis.vlines(estimate.value, row - 0.3, row + 0.3, color="black", linewidth=1.5)
            axis.set_title(name)
            axis.grid(axis="x", alpha=0.3)
            axis.set_xlabel("normalised score")
        axes[0].set_yticks(range(len(aggregates)), [a.algorithm for a in aggregates])
        axes[0].invert_yaxis()
        figure.suptitle(f"aggregates with {confidence:.0%} stratified-bootstrap CIs", fontsize="medium")
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path


def plot_profiles(
    profiles: Sequence[PerformanceProfile], path: Path, *, colors: Mapping[str, str] | None = None
) -> Path:
    """Performance profiles, one line per algorithm with its band, saved as a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(6.4, 3.8), dpi=110)
    try:
        for profile in profiles:
            color = None if colors is None else colors.get(profile.algorithm)
            (line,) = axes.plot(profile.taus, profile.fraction, label=profile.algorithm, linewidth=1.6, color=color)
            axes.fill_between(profile.taus, profile.low, profile.high, color=line.get_color(), alpha=0.2, linewidth=0)
        axes.set_xlabel("normalised score τ")
        axes.set_ylabel("fraction of runs with score > τ")
        axes.set_ylim(-0.02, 1.02)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path


def _task_means(scores: Sequence[FloatArray]) -> FloatArray:
    return np.stack([np.mean(s, axis=-1) for s in scores], axis=-1)  # (..., M)


def _panel_estimate(aggregate: AggregateScores, name: str) -> Estimate:
    if name == "median":
        return aggregate.median
    if name == "IQM":
        return aggregate.iqm
    if name == "mean":
        return aggregate.mean
    return aggregate.optimality_gap
