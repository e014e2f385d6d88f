"""Tests of `fourfold gym analyze`: a folder of fake runs becomes tables, plots and a report; clear errors."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from fourfold.cli import Command, run_command
from fourfold.core.config import ConfigError, to_jsonable
from fourfold.gym.analyze import AnalyzeConfig, analyze
from fourfold.gym.curves import AnalysisError

METRIC = "charts/episodic_return"
TASKS = {"fourfold/CartPole-v1": (22.7, 475.0), "Acrobot-v1": (-497.4, -100.0)}
COMMAND = Command("analyze", "compare algorithms across tasks", "fourfold.gym.analyze:analyze")


def _write_run(directory: Path, config: dict[str, object], lines: list[dict[str, float]]) -> Path:
    directory.mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (directory / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return directory


def _final(algo: str, task: str, seed: int) -> float:
    """The known final return of a fake run: ppo reaches the target, dqn half way, seeds spread by 1."""
    random, target = TASKS[task]
    fraction = 1.0 if algo == "ppo" else 0.5
    return random + fraction * (target - random) + seed


def _runs(root: Path, seeds: int = 3) -> Path:
    """Fake CleanRL-style runs: 2 algorithms × 2 tasks × `seeds` seeds; returns rise linearly to `_final`."""
    for algo in ("ppo", "dqn"):
        for task in TASKS:
            random, _ = TASKS[task]
            for seed in range(seeds):
                final = _final(algo, task, seed)
                lines: list[dict[str, float]] = []
                for step in range(0, 10_001, 500):
                    lines.append({"step": step, "time": step / (1000 + 100 * seed), "losses/value_loss": 1.0})
                    lines.append(
                        {
                            "step": step,
                            "time": step / (1000 + 100 * seed),
                            METRIC: (final - random) * step / 10_000 + random,
                        }
                    )
                name = f"{algo}-{task.replace('/', '-')}-{seed}"
                _write_run(root / "rl" / name, {"algo": algo, "env": task, "seed": seed}, lines)
    return root / "rl"


def _config(runs: Path, out: Path, **overrides: object) -> AnalyzeConfig:
    options: dict[str, object] = {"out": out, "resamples": 200, "num_points": 20, "reference_scores": dict(TASKS)}
    options.update(overrides)
    return AnalyzeConfig(runs=(runs,), **options)  # type: ignore[arg-type]


def test_report_tables_and_plots_from_a_folder_of_runs(tmp_path: Path) -> None:
    summary = analyze(_config(_runs(tmp_path), tmp_path / "out"))
    assert summary.runs == 12 and summary.skipped == []
    # Final score: the mean over the last 10% of steps (steps 9000, 9500, 10000) of a linear rise.
    cells = {(c.algorithm, c.task): c for c in summary.cells}
    assert len(cells) == 4
    ppo = cells[("ppo", "fourfold/CartPole-v1")]
    slope_part = (475.0 - 22.7) * (1 - 0.95)  # mean of the last three points lies 5% of the rise below the end
    expected = np.mean([_final("ppo", "fourfold/CartPole-v1", s) for s in range(3)]) - slope_part
    assert ppo.runs == 3
    assert ppo.mean == pytest.approx(expected, rel=1e-3)
    assert ppo.ci_low <= ppo.mean <= ppo.ci_high
    assert ppo.iqm == pytest.approx(ppo.mean)  # 3 runs: nothing trimmed
    assert cells[("dqn", "Acrobot-v1")].normalized_mean == pytest.approx(0.5, abs=0.05)
    # Aggregates: ppo is near 1 (the target), dqn near 0.5, over both tasks.
    aggregates = {a.algorithm: a for a in summary.aggregates}
    assert aggregates["ppo"].tasks == ("Acrobot-v1", "fourfold/CartPole-v1") and aggregates["ppo"].num_runs == 6
    assert aggregates["ppo"].iqm.value == pytest.approx(1.0, abs=0.06)
    assert aggregates["dqn"].iqm.value == pytest.approx(0.5, abs=0.06)
    assert aggregates["dqn"].optimality_gap.value == pytest.approx(0.5, abs=0.06)
    assert aggregates["dqn"].iqm.low <= aggregates["dqn"].iqm.value <= aggregates["dqn"].iqm.high
    # Files: curves per task against steps and time, aggregates and profiles; the HTML embeds every plot.
    names = sorted(p.name for p in summary.plots)
    assert names == [
        "aggregates.png",
        "curves-Acrobot-v1-steps.png",
        "curves-Acrobot-v1-time.png",
        "curves-fourfold-CartPole-v1-steps.png",
        "curves-fourfold-CartPole-v1-time.png",
        "profiles.png",
    ]
    html = summary.html.read_text(encoding="utf-8")
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(embedded) == 6
    assert {base64.b64decode(data) for data in embedded} == {p.read_bytes() for p in summary.plots}
    table = summary.table.read_text(encoding="utf-8")
    assert "| algorithm | Acrobot-v1 | fourfold/CartPole-v1 |" in table
    assert re.search(r"\| dqn \| .*\[.*\] · IQM .* \(n=3\) \|", table)
    assert "optimality gap" in table
    assert "curves-Acrobot-v1-steps.png" in summary.markdown.read_text(encoding="utf-8")


def test_summary_is_one_json_object_through_the_command_line(tmp_path: Path) -> None:
    runs = _runs(tmp_path, seeds=2)
    stdout = io.StringIO()
    args = [str(runs), "--out", str(tmp_path / "out"), "--resamples", "50", "--x-axis", "steps"]
    # CartPole-v1 takes the built-in reference scores, Acrobot-v1 the one given here.
    args += ["--reference-scores", "Acrobot-v1", "-497.4", "-100", "--json"]
    with contextlib.redirect_stdout(stdout):
        status = run_command(COMMAND, "fourfold gym analyze", args)
    assert status == 0
    result = json.loads(stdout.getvalue())
    assert result["runs"] == 8
    assert len(result["cells"]) == 4
    assert [len(a["tasks"]) for a in result["aggregates"]] == [2, 2]
    assert set(result["aggregates"][0]["iqm"]) == {"value", "low", "high"}
    assert Path(result["html"]).is_file()
    assert not any(name.endswith("-time.png") for name in result["plots"])


def test_tasks_without_reference_scores_are_left_out_of_the_aggregates(tmp_path: Path) -> None:
    runs = _runs(tmp_path, seeds=2)
    only_acrobot = {"Acrobot-v1": (-497.4, -100.0)}
    summary = analyze(_config(runs, tmp_path / "some", builtin_references=False, reference_scores=only_acrobot))
    assert [a.tasks for a in summary.aggregates] == [("Acrobot-v1",), ("Acrobot-v1",)]
    assert "Left out of the aggregates for want of reference scores: fourfold/CartPole-v1." in summary.html.read_text(
        encoding="utf-8"
    )
    none = analyze(_config(runs, tmp_path / "none", builtin_references=False, reference_scores={}, x_axis="steps"))
    assert none.aggregates == []
    assert all(c.normalized_mean is None for c in none.cells)
    assert "give --reference-scores TASK RANDOM TARGET" in none.html.read_text(encoding="utf-8")
    assert not (tmp_path / "none" / "aggregates.png").exists()


def test_runs_without_the_metric_are_skipped_and_listed(tmp_path: Path) -> None:
    runs = _runs(tmp_path, seeds=2)
    _write_run(runs / "gpt-run", {"algo": "gpt", "env": "text"}, [{"step": 1, "time": 0.1, "train/loss": 3.0}])
    summary = analyze(_config(runs, tmp_path / "out", x_axis="steps"))
    assert summary.runs == 8
    assert (
        len(summary.skipped) == 1 and "gpt-run: logs no finite value of 'charts/episodic_return'" in summary.skipped[0]
    )


def test_missing_time_column_is_a_note_with_both_axes_and_an_error_with_time(tmp_path: Path) -> None:
    lines = [{"global_step": s, METRIC: float(s)} for s in (0, 100, 200)]
    _write_run(tmp_path / "runs" / "a", {"algo": "ppo", "env": "X-v0", "seed": 0}, lines)
    summary = analyze(_config(tmp_path / "runs", tmp_path / "out"))
    assert [p.name for p in summary.plots] == ["curves-X-v0-steps.png"]
    assert "has no curve against time" in summary.html.read_text(encoding="utf-8")
    with pytest.raises(AnalysisError, match="lacks a finite 'time' column"):
        analyze(_config(tmp_path / "runs", tmp_path / "out2", x_axis="time"))


def test_errors_no_runs_no_metrics_unknown_metric(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(AnalysisError, match="no runs found"):
        analyze(_config(tmp_path / "empty", tmp_path / "out"))
    bare = tmp_path / "bare" / "run"
    bare.mkdir(parents=True)
    (bare / "config.json").write_text('{"algo": "ppo", "env": "X-v0"}', encoding="utf-8")
    with pytest.raises(AnalysisError, match="no metrics file"):
        analyze(_config(tmp_path / "bare", tmp_path / "out"))
    runs = _runs(tmp_path / "some", seeds=1)
    with pytest.raises(AnalysisError, match=r"no run logs the metric 'eval/return' \(metrics found: charts/"):
        analyze(_config(runs, tmp_path / "out", metric="eval/return"))
    with pytest.raises(ConfigError, match="final_fraction"):
        _config(runs, tmp_path / "out", final_fraction=0.0)
    with pytest.raises(ConfigError, match="runs"):
        AnalyzeConfig(runs=())


def test_summary_converts_to_json(tmp_path: Path) -> None:
    summary = analyze(_config(_runs(tmp_path, seeds=2), tmp_path / "out", x_axis="steps"))
    text = json.dumps(to_jsonable(summary), allow_nan=False)
    assert '"algorithm": "ppo"' in text
    assert "| ppo |" in str(summary)
