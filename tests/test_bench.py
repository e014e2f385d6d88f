"""The benchmark runner: discovery, ratios, results kept per benchmark, BENCHMARKS.md rendering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fourfold.bench import BenchConfig, BenchRow, discover, run_benchmarks
from fourfold.core.errors import FourfoldError

SCRIPT = """
from fourfold.bench import BenchRow

def run(threads: int, quick: bool) -> list[BenchRow]:
    return [
        BenchRow("rate {name}", {fast}, "peer", 50.0, "steps/s", threads),
        BenchRow("time {name}", 2.0, "peer", 8.0, "s", threads, higher_is_better=False),
    ]
"""


def _write(directory: Path, name: str, fast: float) -> None:
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.py").write_text(SCRIPT.format(name=name, fast=fast))


def test_ratio_is_how_many_times_better_fourfold_is() -> None:
    assert BenchRow("a", 200.0, "p", 50.0, "steps/s", 1).ratio == 4.0
    assert BenchRow("b", 2.0, "p", 8.0, "s", 1, higher_is_better=False).ratio == 4.0
    assert BenchRow("c", 10.0, "p", 20.0, "MB/s", 1).ratio == 0.5


def test_runs_scripts_keeps_results_and_renders_markdown(tmp_path: Path) -> None:
    benchmarks = tmp_path / "benchmarks"
    _write(benchmarks, "alpha", 100.0)
    _write(benchmarks, "beta", 25.0)
    (benchmarks / "_private.py").write_text("raise SystemExit('must not be imported')")
    output = tmp_path / "BENCHMARKS.md"
    summary = run_benchmarks(BenchConfig(directory=benchmarks, output=output, threads=3))
    assert summary.ran == ["alpha", "beta"]
    assert [row["ratio"] for row in summary.rows] == [2.0, 4.0, 0.5, 4.0]
    stored = json.loads((benchmarks / "results" / "alpha.json").read_text())
    assert stored["rows"][0]["threads"] == 3
    text = output.read_text()
    assert "## alpha" in text and "## beta" in text
    assert "| rate alpha | 100 | peer | 50 | steps/s | 2.00x | 3 |" in text
    assert "cores" in text and "torch" in text

    # --only refreshes one benchmark and keeps the other's section
    _write(benchmarks, "alpha", 150.0)
    run_benchmarks(BenchConfig(directory=benchmarks, output=output, only=("alpha",)))
    text = output.read_text()
    assert "| rate alpha | 150 | peer | 50 | steps/s | 3.00x |" in text
    assert "| rate beta | 25 | peer | 50 | steps/s | 0.50x |" in text


def test_unknown_benchmark_and_missing_folder_are_clear(tmp_path: Path) -> None:
    _write(tmp_path / "b", "alpha", 1.0)
    with pytest.raises(FourfoldError, match=r"no benchmark named 'gamma'.*have: alpha"):
        run_benchmarks(BenchConfig(directory=tmp_path / "b", only=("gamma",), write=False))
    with pytest.raises(FourfoldError, match="no benchmarks folder"):
        discover(tmp_path / "nowhere")


def test_the_repository_benchmarks_all_define_run() -> None:
    directory = Path(__file__).parents[1] / "benchmarks"
    scripts = discover(directory)
    assert scripts, "benchmarks/ holds no benchmark"
    for name, path in scripts.items():
        assert "def run(threads: int, quick: bool)" in path.read_text(), f"{name} lacks run(threads, quick)"
