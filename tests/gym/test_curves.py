"""Tests of fourfold.gym.curves: finding and grouping runs, grid interpolation, bootstrap bands, final scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fourfold.gym.curves import (
    AnalysisError,
    RunCurve,
    bootstrap_mean_band,
    final_score,
    find_runs,
    group_runs,
    interpolate,
    load_run,
    mean_curve,
    plot_curves,
    smooth,
)

METRIC = "charts/episodic_return"


def _write_run(directory: Path, config: dict[str, object], lines: list[dict[str, float]]) -> Path:
    directory.mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (directory / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return directory


def _linear_run(directory: Path, algo: str, env: str, seed: int, steps: list[int], slope: float = 1.0) -> Path:
    """A run whose return is slope * step + seed, logged at `steps`, at 10 steps a second."""
    lines = [{"step": s, "time": s / 10, METRIC: slope * s + seed} for s in steps]
    return _write_run(directory, {"algo": algo, "env": env, "seed": seed}, lines)


def _curve(values: list[float], steps: list[float] | None = None) -> RunCurve:
    steps = steps if steps is not None else [float(i) for i in range(len(values))]
    return RunCurve(Path("run"), "ppo", "task", "0", np.array(steps), np.array(steps) / 10, np.array(values))


def test_find_runs_finds_nested_runs_but_not_their_checkpoints(tmp_path: Path) -> None:
    first = _linear_run(tmp_path / "rl" / "a", "ppo", "CartPole-v1", 0, [0, 10])
    second = _linear_run(tmp_path / "rl" / "deeper" / "b", "dqn", "CartPole-v1", 0, [0, 10])
    # A checkpoint folder holds a config.json too; it must not be taken for a run.
    (first / "checkpoints" / "step-10").mkdir(parents=True)
    (first / "checkpoints" / "step-10" / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "rl" / "notes").mkdir()
    found = find_runs([tmp_path / "rl"])
    assert [p.resolve() for p in found] == sorted([first.resolve(), second.resolve()])
    # A run given both directly and through its parent counts once.
    assert len(find_runs([first, tmp_path / "rl"])) == 2


def test_find_runs_errors_name_the_path(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(AnalysisError, match=r"no runs found in .*empty"):
        find_runs([tmp_path / "empty"])
    with pytest.raises(AnalysisError, match="does not exist"):
        find_runs([tmp_path / "absent"])


def test_load_run_reads_config_keys_and_keeps_only_lines_with_the_metric(tmp_path: Path) -> None:
    lines = [
        {"step": 0, "time": 0.0, "losses/value_loss": 3.0},
        {"step": 20, "time": 2.0, METRIC: 9.0},
        {"step": 10, "time": 1.0, METRIC: 5.0},
        {"step": 30, "time": 3.0, METRIC: float("nan")},
    ]
    run = _write_run(tmp_path / "r", {"algorithm": "sac", "env_id": "Pendulum-v1", "seed": 3}, lines)
    curve = load_run(run, METRIC)
    assert curve is not None
    assert (curve.algorithm, curve.task, curve.seed) == ("sac", "Pendulum-v1", "3")
    assert curve.steps.tolist() == [10.0, 20.0]  # sorted by step, NaN dropped
    assert curve.values.tolist() == [5.0, 9.0]
    assert curve.times.tolist() == [1.0, 2.0]
    assert load_run(run, "eval/return") is None
    diverged = _write_run(
        tmp_path / "d", {"algo": "ppo", "env": "X-v0"}, [{"step": 1, "time": 0, METRIC: float("nan")}]
    )
    assert load_run(diverged, METRIC) is None


def test_dotted_keys_reach_nested_configs_and_global_step_wins(tmp_path: Path) -> None:
    lines = [{"step": 1, "global_step": 128, "time": 0.5, METRIC: 1.0}]
    run = _write_run(tmp_path / "r", {"agent": {"name": "ppo"}, "env": {"id": "Acrobot-v1"}}, lines)
    curve = load_run(run, METRIC, algorithm_keys=("agent.name",), task_keys=("env.id",))
    assert curve is not None
    assert (curve.algorithm, curve.task, curve.seed) == ("ppo", "Acrobot-v1", None)
    assert curve.steps.tolist() == [128.0]


def test_load_run_errors_are_one_clear_sentence(tmp_path: Path) -> None:
    no_algo = _write_run(tmp_path / "no-algo", {"env": "CartPole-v1"}, [{"step": 0, "time": 0, METRIC: 1}])
    with pytest.raises(AnalysisError, match=r"none of the algorithm keys 'algo', 'algorithm'.*--algorithm-keys"):
        load_run(no_algo, METRIC)
    no_metrics = tmp_path / "no-metrics"
    no_metrics.mkdir()
    (no_metrics / "config.json").write_text('{"algo": "ppo", "env": "x"}', encoding="utf-8")
    with pytest.raises(AnalysisError, match="no metrics file"):
        load_run(no_metrics, METRIC)
    (no_metrics / "metrics.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(AnalysisError, match=r"empty metrics\.jsonl"):
        load_run(no_metrics, METRIC)
    no_config = tmp_path / "no-config"
    no_config.mkdir()
    (no_config / "metrics.jsonl").write_text('{"step": 0}\n', encoding="utf-8")
    with pytest.raises(AnalysisError, match=r"has no config\.json"):
        load_run(no_config, METRIC)


def test_group_runs_makes_cells_with_seeds_as_replicates(tmp_path: Path) -> None:
    curves = []
    for algo in ("ppo", "dqn"):
        for env in ("CartPole-v1", "Acrobot-v1"):
            for seed in (10, 2, 1):
                run = _linear_run(tmp_path / f"{algo}-{env}-{seed}", algo, env, seed, [0, 10])
                curve = load_run(run, METRIC)
                assert curve is not None
                curves.append(curve)
    cells = group_runs(curves)
    assert list(cells) == [
        ("dqn", "Acrobot-v1"),
        ("ppo", "Acrobot-v1"),
        ("dqn", "CartPole-v1"),
        ("ppo", "CartPole-v1"),
    ]
    assert [run.seed for run in cells[("ppo", "CartPole-v1")]] == ["1", "2", "10"]  # numeric order


def test_interpolation_puts_runs_logged_at_different_steps_on_the_overlap_grid(tmp_path: Path) -> None:
    runs = [
        load_run(_linear_run(tmp_path / "a", "ppo", "t", 0, [0, 40, 100, 130], slope=2.0), METRIC),
        load_run(_linear_run(tmp_path / "b", "ppo", "t", 1, [10, 25, 70, 120], slope=2.0), METRIC),
    ]
    assert runs[0] is not None and runs[1] is not None
    x, values = interpolate([runs[0], runs[1]], "steps", num_points=11)
    assert x.tolist() == pytest.approx(np.linspace(10, 120, 11).tolist())  # latest start to earliest end
    assert values.shape == (2, 11)
    # Linear data is interpolated exactly: 2 * step + seed.
    assert values[0] == pytest.approx(2 * x)
    assert values[1] == pytest.approx(2 * x + 1)
    x_time, values_time = interpolate([runs[0], runs[1]], "time", num_points=5)
    assert x_time.tolist() == pytest.approx([1.0, 3.75, 6.5, 9.25, 12.0])
    assert values_time[1] == pytest.approx(20 * x_time + 1)


def test_lines_at_the_same_step_are_averaged() -> None:
    curve = _curve([1.0, 3.0, 10.0], steps=[0.0, 0.0, 10.0])
    _, values = interpolate([curve], "steps", num_points=3)
    assert values[0].tolist() == pytest.approx([2.0, 6.0, 10.0])


def test_runs_that_do_not_overlap_are_an_error() -> None:
    with pytest.raises(AnalysisError, match="do not overlap in steps"):
        interpolate([_curve([1, 2], steps=[0, 10]), _curve([1, 2], steps=[20, 30])], "steps", num_points=5)


def test_missing_time_column_is_an_error_for_the_time_axis() -> None:
    curve = RunCurve(Path("r"), "ppo", "t", None, np.array([0.0, 1.0]), np.array([np.nan] * 2), np.array([1.0, 2.0]))
    with pytest.raises(AnalysisError, match="lacks a finite 'time' column"):
        interpolate([curve], "time", num_points=3)


def test_smooth_is_a_trailing_moving_average() -> None:
    assert smooth(np.array([1.0, 2.0, 3.0, 4.0]), 2).tolist() == [1.0, 1.5, 2.5, 3.5]
    assert smooth(np.array([1.0, 5.0]), 1).tolist() == [1.0, 5.0]


def test_bootstrap_band_contains_the_mean_and_shrinks_with_more_seeds() -> None:
    rng = np.random.default_rng(0)
    few = rng.normal(0.0, 1.0, size=(3, 20))
    many = rng.normal(0.0, 1.0, size=(30, 20))
    widths = []
    for values in (few, many):
        mean, low, high = bootstrap_mean_band(values, resamples=500, confidence=0.9, seed=1)
        assert mean == pytest.approx(values.mean(axis=0))
        assert np.all(low <= mean) and np.all(mean <= high)
        assert np.all(high > low)
        widths.append(float(np.mean(high - low)))
    assert widths[1] < 0.7 * widths[0]  # in expectation about 2.6 times narrower
    again = bootstrap_mean_band(few, resamples=500, confidence=0.9, seed=1)
    assert np.array_equal(again[1], bootstrap_mean_band(few, resamples=500, confidence=0.9, seed=1)[1])


def test_one_seed_has_a_band_of_zero_width() -> None:
    mean, low, high = bootstrap_mean_band(np.array([[1.0, 2.0, 4.0]]), resamples=50, confidence=0.95, seed=0)
    assert low.tolist() == mean.tolist() == high.tolist() == [1.0, 2.0, 4.0]


def test_final_score_averages_the_last_fraction_of_steps() -> None:
    curve = _curve([0.0, 10.0, 20.0, 30.0, 40.0], steps=[0, 25, 50, 75, 100])
    assert final_score(curve, 0.1) == 40.0  # only the last point is in the last 10 steps
    assert final_score(curve, 0.3) == 35.0  # steps 75 and 100
    assert final_score(curve, 1.0) == 20.0


def test_mean_curve_and_its_plot(tmp_path: Path) -> None:
    curves = [_curve([s, s + 1.0, s + 2.0]) for s in (0.0, 1.0, 2.0)]
    mean = mean_curve(curves, "steps", num_points=3, resamples=100)
    assert mean.mean.tolist() == pytest.approx([1.0, 2.0, 3.0])
    assert mean.num_runs == 3
    path = plot_curves([mean], tmp_path / "plots" / "curve.png", title="task", ylabel=METRIC)
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
