"""Tests of fourfold.core.runlog: run directory modes, resume truncation, metrics lines, TensorBoard fallback."""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import dataclass
from fractions import Fraction
from importlib.machinery import ModuleSpec
from pathlib import Path

import numpy as np
import pytest

from fourfold.core import runlog
from fourfold.core.config import load_config
from fourfold.core.errors import FourfoldError
from fourfold.core.runlog import RunError, open_run, read_metrics, run_directory


@dataclass
class TinyConfig:
    learning_rate: float = 0.1
    num_steps: int = 10


def _train(root: Path, steps: range, mode: runlog.RunMode = "new", resume_step: int | None = None) -> None:
    """A stand-in training loop that logs a deterministic loss every step."""
    with open_run("gpt", "x", TinyConfig(), root=root, mode=mode, resume_step=resume_step) as run:
        for step in steps:
            run.log(step, {"train/loss": 1.0 / (step + 1), "train/tokens": step * 64})


def _without_time(records: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in r.items() if k != "time"} for r in records]


def test_new_run_writes_config_metrics_and_checkpoints_folder(tmp_path: Path) -> None:
    run = open_run("gpt", "small", TinyConfig(learning_rate=0.5), root=tmp_path)
    run.log(100, {"train/loss": 2.5, "train/tokens": 6400})
    run.close()
    directory = tmp_path / "gpt" / "small"
    assert run.directory == directory
    assert run.checkpoints == directory / "checkpoints"
    assert run.checkpoints.is_dir()
    assert load_config(TinyConfig, directory / "config.json") == TinyConfig(learning_rate=0.5)
    lines = (directory / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert list(record) == ["step", "time", "train/loss", "train/tokens"]
    assert record["step"] == 100
    assert record["train/loss"] == 2.5
    assert record["train/tokens"] == 6400
    assert isinstance(record["time"], float) and record["time"] >= 0


def test_each_log_call_is_flushed_before_close(tmp_path: Path) -> None:
    run = open_run("gym", "a", TinyConfig(), root=tmp_path)
    run.log(1, {"eval/return": 10.0})
    assert read_metrics(run.metrics_path)[0]["eval/return"] == 10.0
    run.close()


def test_new_refuses_a_directory_that_holds_a_run(tmp_path: Path) -> None:
    _train(tmp_path, range(3))
    before = (tmp_path / "gpt" / "x" / "metrics.jsonl").read_text()
    with pytest.raises(RunError) as caught:
        open_run("gpt", "x", TinyConfig(), root=tmp_path)
    message = str(caught.value)
    assert f"run directory {tmp_path / 'gpt' / 'x'} already exists" in message
    assert "--resume" in message and "--name" in message
    assert isinstance(caught.value, FourfoldError)
    assert (tmp_path / "gpt" / "x" / "metrics.jsonl").read_text() == before  # nothing lost


def test_new_refuses_a_directory_with_checkpoints_only(tmp_path: Path) -> None:
    (tmp_path / "gpt" / "x" / "checkpoints" / "step-100").mkdir(parents=True)
    with pytest.raises(RunError, match="already exists"):
        open_run("gpt", "x", TinyConfig(), root=tmp_path)


def test_new_accepts_what_a_run_that_died_before_logging_leaves(tmp_path: Path) -> None:
    open_run("gpt", "x", TinyConfig(), root=tmp_path).close()  # config.json, empty metrics, empty checkpoints/
    with open_run("gpt", "x", TinyConfig(num_steps=5), root=tmp_path) as run:
        run.log(0, {"train/loss": 1.0})
    assert load_config(TinyConfig, run.directory / "config.json").num_steps == 5


def test_resume_after_a_kill_gives_the_metrics_of_an_uninterrupted_run(tmp_path: Path) -> None:
    _train(tmp_path / "whole", range(10))
    # Killed at step 7 after a checkpoint at step 4: steps 5..7 are logged again after the resume.
    _train(tmp_path / "killed", range(8))
    with (tmp_path / "killed" / "gpt" / "x" / "metrics.jsonl").open("a") as file:
        file.write('{"step": 8, "time": 1.0, "train/lo')  # the line the kill tore
    _train(tmp_path / "killed", range(5, 10), mode="resume", resume_step=4)
    whole = read_metrics(tmp_path / "whole" / "gpt" / "x" / "metrics.jsonl")
    resumed = read_metrics(tmp_path / "killed" / "gpt" / "x" / "metrics.jsonl")
    assert _without_time(resumed) == _without_time(whole)
    assert [r["step"] for r in resumed] == list(range(10))


def test_resume_keeps_time_counting_from_the_last_kept_line(tmp_path: Path) -> None:
    directory = tmp_path / "gpt" / "x"
    directory.mkdir(parents=True)
    lines = [{"step": 1, "time": 50.0, "a": 1.0}, {"step": 2, "time": 100.0, "a": 2.0}]
    (directory / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    with open_run("gpt", "x", TinyConfig(), root=tmp_path, mode="resume", resume_step=1) as run:
        run.log(2, {"a": 2.0})
    records = read_metrics(directory / "metrics.jsonl")
    assert [r["step"] for r in records] == [1, 2]
    assert 50.0 <= records[1]["time"] < 100.0


def test_resume_without_a_step_keeps_every_whole_line(tmp_path: Path) -> None:
    _train(tmp_path, range(3))
    path = tmp_path / "gpt" / "x" / "metrics.jsonl"
    with path.open("a") as file:
        file.write('{"step": 3, "ti')
    _train(tmp_path, range(3, 5), mode="resume")
    assert [r["step"] for r in read_metrics(path)] == [0, 1, 2, 3, 4]
    assert path.read_text().endswith("\n")


def test_resume_of_a_missing_run_says_there_is_nothing_to_resume(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="nothing to resume"):
        open_run("gpt", "ghost", TinyConfig(), root=tmp_path, mode="resume", resume_step=10)


def test_overwrite_deletes_the_old_run(tmp_path: Path) -> None:
    _train(tmp_path, range(5))
    stale = tmp_path / "gpt" / "x" / "checkpoints" / "step-4"
    stale.mkdir()
    _train(tmp_path, range(2), mode="overwrite")
    assert [r["step"] for r in read_metrics(tmp_path / "gpt" / "x" / "metrics.jsonl")] == [0, 1]
    assert not stale.exists()


@pytest.mark.parametrize("name", ["", "  ", "a/b", "a\\b", "..", ".", "../escape"])
def test_names_that_are_not_plain_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(RunError, match="name"):
        open_run("gpt", name, TinyConfig(), root=tmp_path)
    with pytest.raises(RunError, match="system name"):
        run_directory(name, "fine", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_file_in_the_way_is_reported(tmp_path: Path) -> None:
    (tmp_path / "gpt").mkdir()
    (tmp_path / "gpt" / "x").write_text("not a run")
    with pytest.raises(RunError, match="is a file"):
        open_run("gpt", "x", TinyConfig(), root=tmp_path)


class FakeTensor:
    """Looks like a 0-d tensor: has .item() but is not a number."""

    def item(self) -> float:
        return 1.0


@pytest.mark.parametrize("value", [FakeTensor(), np.array([1.0, 2.0]), "1.0", None, True])
def test_log_rejects_values_that_are_not_plain_numbers(tmp_path: Path, value: object) -> None:
    with (
        open_run("gpt", "x", TinyConfig(), root=tmp_path) as run,
        pytest.raises(TypeError, match=r"train/loss.*\.item\(\)"),
    ):
        run.log(1, {"train/loss": value})  # type: ignore[dict-item]
    assert read_metrics(run.metrics_path) == []  # a rejected call writes nothing


def test_log_accepts_numpy_scalars_and_keeps_nan(tmp_path: Path) -> None:
    with open_run("gpt", "x", TinyConfig(), root=tmp_path) as run:
        run.log(np.int64(3), {"a": np.float32(0.5), "b": np.int64(7), "c": math.nan, "d": Fraction(1, 4)})  # type: ignore[arg-type,dict-item]
    (record,) = read_metrics(run.metrics_path)
    assert record["step"] == 3 and record["a"] == 0.5 and record["b"] == 7 and record["d"] == 0.25
    assert math.isnan(record["c"])


def test_log_refuses_reserved_names_and_a_closed_run(tmp_path: Path) -> None:
    run = open_run("gpt", "x", TinyConfig(), root=tmp_path)
    with pytest.raises(ValueError, match="reserved"):
        run.log(1, {"step": 1.0})
    run.close()
    run.close()  # closing twice is harmless
    with pytest.raises(ValueError, match="closed"):
        run.log(2, {"a": 1.0})


def test_read_metrics_skips_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "a": 1.0}\n{"step": 2, "a": 2.0}\n{"step": 3, "a"')
    assert read_metrics(path) == [{"step": 1, "a": 1.0}, {"step": 2, "a": 2.0}]


def test_read_metrics_reports_a_corrupt_middle_line_and_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\ngarbage\n{"step": 3}\n')
    with pytest.raises(RunError, match="line 2"):
        read_metrics(path)
    with pytest.raises(RunError, match="no metrics file"):
        read_metrics(tmp_path / "absent.jsonl")


def test_tensorboard_without_the_package_warns_and_writes_no_event_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tensorboard is not installed here; hide it where it is, so the test checks the fallback everywhere.
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "tensorboard" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.warns(UserWarning, match="tensorboard package is not installed"):
        run = open_run("gpt", "x", TinyConfig(), root=tmp_path, tensorboard=True)
    with run:
        run.log(1, {"train/loss": 1.0})
    assert read_metrics(run.metrics_path)[0]["train/loss"] == 1.0
    assert not any(p.name.startswith("events.out.tfevents") for p in tmp_path.rglob("*"))


class FakeWriter:
    def __init__(self) -> None:
        self.scalars: list[tuple[str, float, int]] = []
        self.closed = False

    def add_scalar(self, tag: str, scalar_value: float, global_step: int) -> None:
        self.scalars.append((tag, scalar_value, global_step))

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_tensorboard_writer_gets_every_metric_and_resume_purges_later_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = FakeWriter()
    purge_steps: list[int | None] = []

    def fake_open(directory: Path, purge_step: int | None) -> FakeWriter:
        purge_steps.append(purge_step)
        return writer

    monkeypatch.setattr(runlog, "_open_summary_writer", fake_open)
    with open_run("gpt", "x", TinyConfig(), root=tmp_path, tensorboard=True) as run:
        run.log(5, {"train/loss": 2.0, "eval/loss": 3.0})
    with open_run("gpt", "x", TinyConfig(), root=tmp_path, mode="resume", resume_step=4, tensorboard=True):
        pass
    assert writer.scalars == [("train/loss", 2.0, 5), ("eval/loss", 3.0, 5)]
    assert writer.closed
    assert purge_steps == [None, 5]
