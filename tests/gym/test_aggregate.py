"""Tests of fourfold.gym.aggregate against hand computations: IQM, mean, median, optimality gap, profiles,
normalisation, and the stratified bootstrap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fourfold.gym.aggregate import (
    GYM_REFERENCE_SCORES,
    ReferenceScoreError,
    aggregate_scores,
    iqm,
    mean_score,
    median_score,
    normalize,
    optimality_gap,
    performance_profile,
    plot_aggregates,
    plot_profiles,
    profile_taus,
    reference_for,
    run_score_profile,
    stratified_bootstrap,
)


def _tasks(*scores: list[float]) -> list[np.ndarray]:
    return [np.array(s, dtype=np.float64) for s in scores]


def test_iqm_is_the_mean_of_the_middle_half_of_all_runs() -> None:
    # All 8 runs sorted: 1 2 3 4 5 6 7 100; 8 // 4 = 2 cut from each end: mean(3, 4, 5, 6) = 4.5.
    assert iqm(_tasks([4, 1, 3, 2], [100, 5, 7, 6])) == pytest.approx(4.5)
    # 5 runs: 5 // 4 = 1 cut from each end (scipy.stats.trim_mean(x, 0.25)): mean(2, 3, 4) = 3.
    assert iqm(_tasks([1, 2, 3, 4, 50])) == pytest.approx(3.0)
    # 3 runs: nothing is cut.
    assert iqm(_tasks([1, 2, 9])) == pytest.approx(4.0)


def test_mean_and_median_are_over_task_means() -> None:
    scores = _tasks([0, 1], [2, 4], [10, 20, 30])  # task means 0.5, 3, 20
    assert mean_score(scores) == pytest.approx((0.5 + 3 + 20) / 3)
    assert median_score(scores) == pytest.approx(3.0)


def test_optimality_gap_clips_at_the_threshold() -> None:
    scores = _tasks([0.5, 1.5], [0.2, 1.0])  # clipped: 0.5 1 0.2 1, mean 0.675
    assert optimality_gap(scores) == pytest.approx(1 - 0.675)
    assert optimality_gap(scores, threshold=0.5) == pytest.approx(0.5 - (0.5 + 0.5 + 0.2 + 0.5) / 4)


def test_run_score_profile_counts_runs_strictly_above_tau() -> None:
    scores = _tasks([0.0, 0.5], [1.0, 2.0])
    profile = run_score_profile(scores, np.array([-1.0, 0.0, 0.5, 1.0, 3.0]))
    assert profile.tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]


def test_statistics_take_a_leading_batch_axis() -> None:
    batch = [np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[0.0, 0.0], [1.0, 1.0]])]  # two resamples
    assert mean_score(batch).tolist() == pytest.approx([0.75, 2.5])
    assert run_score_profile(batch, np.array([0.5, 2.5])).tolist() == [[0.5, 0.0], [1.0, 0.5]]


def test_normalize_and_reference_lookup() -> None:
    assert normalize(np.array([22.7, 475.0, 248.85]), GYM_REFERENCE_SCORES["CartPole-v1"]).tolist() == pytest.approx(
        [0.0, 1.0, 0.5]
    )
    assert reference_for("fourfold/CartPole-v1", GYM_REFERENCE_SCORES) == GYM_REFERENCE_SCORES["CartPole-v1"]
    assert reference_for("fourfold/CartPole-v1", {"fourfold/CartPole-v1": (0.0, 1.0)}) == (0.0, 1.0)
    assert reference_for("LunarLander-v3", GYM_REFERENCE_SCORES) is None
    with pytest.raises(ReferenceScoreError, match="random == target"):
        normalize(np.array([1.0]), (5.0, 5.0), "X-v0")


def test_stratified_bootstrap_resamples_within_each_task() -> None:
    # Task A is all 0, task B all 1: any resample that keeps each task's runs in that task has mean 0.5 exactly;
    # resampling across tasks would not.
    scores = _tasks([0, 0, 0, 0], [1, 1, 1, 1])
    point, low, high = stratified_bootstrap(scores, mean_score, resamples=300, confidence=0.95, seed=0)
    assert float(point) == float(low) == float(high) == 0.5


def test_stratified_bootstrap_interval_is_seeded_and_about_normal_theory() -> None:
    rng = np.random.default_rng(3)
    scores = [rng.normal(10.0, 2.0, size=50)]
    point, low, high = stratified_bootstrap(scores, mean_score, resamples=2000, confidence=0.95, seed=7)
    assert float(point) == pytest.approx(scores[0].mean())
    assert low < point < high
    # The percentile interval of a mean is close to ±1.96 standard errors.
    standard_error = scores[0].std() / np.sqrt(50)
    assert float(high - low) == pytest.approx(2 * 1.96 * standard_error, rel=0.15)
    again = stratified_bootstrap(scores, mean_score, resamples=2000, confidence=0.95, seed=7)
    assert (float(again[1]), float(again[2])) == (float(low), float(high))
    # Resamples are drawn in chunks; a count that is not a multiple of the chunk size works the same way.
    _, low_odd, high_odd = stratified_bootstrap(scores, iqm, resamples=301, confidence=0.9, seed=7)
    assert low_odd < high_odd


def test_aggregate_scores_point_estimates_match_the_statistics() -> None:
    by_task = {"a": np.array([0.0, 0.4, 0.8, 1.2]), "b": np.array([0.9, 1.1, 1.3, 2.0])}
    result = aggregate_scores("ppo", by_task, resamples=200, seed=0)
    scores = list(by_task.values())
    assert result.algorithm == "ppo" and result.tasks == ("a", "b") and result.num_runs == 8
    assert result.iqm.value == pytest.approx(
        float(iqm(scores))
    )  # sorted 0 .4 .8 .9 1.1 1.2 1.3 2 -> mean(.8 .9 1.1 1.2)
    assert result.iqm.value == pytest.approx(1.0)
    assert result.mean.value == pytest.approx((0.6 + 1.325) / 2)
    assert result.median.value == pytest.approx((0.6 + 1.325) / 2)  # median of two task means
    assert result.optimality_gap.value == pytest.approx(1 - (0 + 0.4 + 0.8 + 1 + 0.9 + 1 + 1 + 1) / 8)
    for estimate in (result.iqm, result.mean, result.median, result.optimality_gap):
        assert estimate.low <= estimate.high


def test_performance_profile_falls_with_tau_and_plots(tmp_path: Path) -> None:
    by_task = {"a": np.array([0.1, 0.5, 0.9]), "b": np.array([0.3, 1.0, 1.4])}
    taus = profile_taus(list(by_task.values()), num=11)
    assert taus[0] == 0.0 and taus[-1] == pytest.approx(1.4)
    profile = performance_profile("ppo", by_task, taus, resamples=100)
    assert profile.fraction[0] == 1.0 and profile.fraction[-1] == 0.0
    assert np.all(np.diff(profile.fraction) <= 0)
    assert np.all(profile.low <= profile.high)
    aggregates = [aggregate_scores(name, by_task, resamples=50) for name in ("ppo", "dqn")]
    for path in (plot_aggregates(aggregates, tmp_path / "agg.png"), plot_profiles([profile], tmp_path / "prof.png")):
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
