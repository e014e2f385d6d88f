"""Run directories and their metrics log.

Every command that learns writes `runs/<system>/<name>/` (DESIGN.md, "Runs, checkpoints, data"):

    config.json      the run's config, written by `fourfold.core.config.save_config`
    metrics.jsonl    one JSON object per log call: {"step": 100, "time": 12.3, "train/loss": 2.1, ...}
    checkpoints/     where `fourfold.core.checkpoint` puts checkpoints (this module only names the folder)
    events.out.*     TensorBoard event files, with `tensorboard=True` and the tensorboard package installed

`open_run` never loses data by accident: a new run refuses a directory that already holds one, a resumed run
drops only the metrics logged after the checkpoint it resumes from (they will be logged again, so after a kill and
a resume the metrics file equals an uninterrupted run's), and only `mode="overwrite"` deletes anything.
"""

from __future__ import annotations

import importlib.util
import json
import numbers
import os
import shutil
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol

from fourfold.core.config import save_config
from fourfold.core.errors import FourfoldError

RunMode = Literal["new", "resume", "overwrite"]
"""How `open_run` treats an existing run directory: refuse it, continue it, or delete it first."""

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINTS_DIR = "checkpoints"

# Keys every metrics line has; a metric may not use them.
_RESERVED_KEYS = ("step", "time")


class RunError(FourfoldError):
    """A run directory or metrics file cannot be used as asked (it exists, is missing or is corrupt)."""


class _ScalarWriter(Protocol):
    """The part of `torch.utils.tensorboard.SummaryWriter` a run uses."""

    def add_scalar(self, tag: str, scalar_value: float, global_step: int) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class Run:
    """An open run directory: log metrics with `log`, save checkpoints under `checkpoints`, then `close`.

    Made by `open_run`; usable as a context manager.

    Attributes:
        directory: the run directory, `<root>/<system>/<name>`.
        checkpoints: the folder for checkpoints (created; filled by `fourfold.core.checkpoint`).
        metrics_path: the `metrics.jsonl` file.
    """

    def __init__(self, directory: Path, time_offset: float, writer: _ScalarWriter | None) -> None:
        self.directory = directory
        self.checkpoints = directory / CHECKPOINTS_DIR
        self.metrics_path = directory / METRICS_FILE
        self._time_offset = time_offset
        self._start = time.monotonic()
        self._writer = writer
        self._file = self.metrics_path.open("a", encoding="utf-8")

    def log(self, step: int, metrics: Mapping[str, float]) -> None:
        """Append one line `{"step": step, "time": seconds, **metrics}` to metrics.jsonl and flush it.

        `time` counts seconds since the run was first opened (a resumed run goes on from its last kept line).
        NaN and infinite values are kept (a diverged loss is worth seeing); they are written as JSON's common
        `NaN` / `Infinity` extension, which Python's json and `read_metrics` read back.

        Args:
            step: the global step the metrics belong to (optimizer steps, environment steps, ...).
            metrics: namespaced names such as "train/loss" or "eval/return" mapped to Python numbers. Convert
                tensors with `.item()` before logging; it is the one place a hot loop syncs with the device.

        Raises:
            TypeError: a value is not a real number (a tensor, an array, a bool, None) or a key is not a str.
            ValueError: a key is "step" or "time", or the run is closed.
        """
        if self._file.closed:
            raise ValueError(f"run {self.directory} is closed; cannot log step {step}")
        if isinstance(step, bool) or not isinstance(step, numbers.Integral):
            raise TypeError(f"step must be an int, got {type(step).__name__}")
        line: dict[str, Any] = {"step": int(step), "time": round(self._elapsed(), 3)}
        for key, value in metrics.items():
            if not isinstance(key, str):
                raise TypeError(f"metric names must be strings, got {key!r}")
            if key in _RESERVED_KEYS:
                raise ValueError(f"metric name {key!r} is reserved for the line's own {key}; use e.g. 'train/{key}'")
            line[key] = _number(key, value)
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()
        if self._writer is not None:
            for key, value in line.items():
                if key not in _RESERVED_KEYS:
                    self._writer.add_scalar(key, value, int(step))
            self._writer.flush()

    def close(self) -> None:
        """Close the metrics file and the TensorBoard writer; closing twice is harmless."""
        self._file.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _elapsed(self) -> float:
        return self._time_offset + time.monotonic() - self._start


def run_directory(system: str, name: str, root: Path = Path("runs")) -> Path:
    """The directory of run `name` of `system` under `root`, after checking both names.

    Useful before `open_run`, e.g. to find the checkpoint to resume from and so the `resume_step`.

    Raises:
        RunError: a name is empty, ".", "..", or contains a path separator.
    """
    _check_name(system, "system")
    _check_name(name, "run")
    return Path(root) / system / name


def open_run(
    system: str,
    name: str,
    config: object,
    *,
    root: Path = Path("runs"),
    mode: RunMode = "new",
    resume_step: int | None = None,
    tensorboard: bool = False,
    directory: Path | None = None,
) -> Run:
    """Create or reopen the run directory `<root>/<system>/<name>` (or `directory`) and write its config.json.

    Args:
        system: "gpt", "gym", "deepmoji" or "five" (any plain name works).
        name: the run's name, a plain file name such as "small-1".
        config: the run's config dataclass, saved as config.json (rewritten on resume: it shows the latest).
        root: the folder that holds all runs.
        mode: "new" refuses a directory that already holds a run; "resume" continues one; "overwrite" deletes
            the directory's contents first.
        resume_step: with "resume", the step of the checkpoint being resumed: metrics lines with a larger step
            are dropped, since the resumed run logs them again. None keeps every line.
        tensorboard: also write TensorBoard event files into the run directory, if the tensorboard package is
            installed (otherwise warn and write metrics.jsonl only).
        directory: the run's folder, where a command takes an explicit `--out DIR` instead of a name.

    Raises:
        RunError: a name is not a plain name; "new" and the directory holds a run; "resume" and it does not
            exist; or the metrics file to resume is corrupt before its last line.
    """
    directory = Path(directory) if directory is not None else run_directory(system, name, root)
    if directory.exists() and not directory.is_dir():
        raise RunError(f"run directory {directory} is a file, not a directory; move it or choose another --name")
    time_offset = 0.0
    if mode == "new":
        if _holds_run(directory):
            raise RunError(
                f"run directory {directory} already exists; pass --resume to continue it or choose another --name"
            )
    elif mode == "resume":
        if not directory.is_dir():
            raise RunError(
                f"run directory {directory} does not exist, so there is nothing to resume; drop --resume to start it"
            )
        time_offset = _truncate_metrics(directory / METRICS_FILE, resume_step)
    elif mode == "overwrite":
        if directory.is_dir():
            shutil.rmtree(directory)
    else:
        raise ValueError(f"mode must be 'new', 'resume' or 'overwrite', got {mode!r}")
    (directory / CHECKPOINTS_DIR).mkdir(parents=True, exist_ok=True)
    save_config(config, directory / CONFIG_FILE)
    writer = None
    if tensorboard:
        purge_step = resume_step + 1 if mode == "resume" and resume_step is not None else None
        writer = _open_summary_writer(directory, purge_step)
    return Run(directory, time_offset, writer)


def read_metrics(path: Path) -> list[dict[str, float]]:
    """Read a metrics.jsonl file into one dict per line, in order.

    A torn last line (the writer was killed mid-write) is skipped; a bad line anywhere else is an error.

    Raises:
        RunError: the file is missing, or a line before the last one is not a JSON object.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"no metrics file at {path}; check the run directory") from None
    return _parse_metrics(path, text)


def _parse_metrics(path: Path, text: str) -> list[dict[str, float]]:
    lines = text.splitlines()
    records: list[dict[str, float]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        elif number < len(lines):
            raise RunError(f"{path} line {number} is not a JSON object; the metrics file is corrupt")
    return records


def _truncate_metrics(path: Path, resume_step: int | None) -> float:
    """Keep the lines with step <= resume_step (all if None) minus a torn last line; return the last time."""
    if not path.exists():
        return 0.0
    records = _parse_metrics(path, path.read_text(encoding="utf-8"))
    if resume_step is not None:
        records = [r for r in records if r.get("step", 0) <= resume_step]
    # Rewritten atomically even with nothing dropped, so a torn last line is gone before appending.
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    os.replace(temporary, path)
    return float(records[-1].get("time", 0.0)) if records else 0.0


def _holds_run(directory: Path) -> bool:
    """Whether `directory` holds data a new run must not mix with: anything but config.json, an empty
    metrics.jsonl and an empty checkpoints/ (what a run that died before its first log leaves)."""
    if not directory.is_dir():
        return False
    for entry in directory.iterdir():
        if entry.name == CONFIG_FILE:
            continue
        if entry.name == METRICS_FILE and entry.is_file() and entry.stat().st_size == 0:
            continue
        if entry.name == CHECKPOINTS_DIR and entry.is_dir() and not any(entry.iterdir()):
            continue
        return True
    return False


def _check_name(name: str, what: str) -> None:
    if not name or not name.strip():
        raise RunError(f"the {what} name is empty; give a plain name such as 'small-1'")
    if name in (".", "..") or any(sep in name for sep in ("/", "\\", os.sep, "\0")):
        raise RunError(f"{what} name {name!r} is not a plain name; use one without '/' or '\\' such as 'small-1'")


def _number(key: str, value: object) -> float:
    """Check that `value` is a real number (Python or NumPy scalar) and return it as int or float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"metric {key!r} must be an int or float, got {type(value).__name__}; "
            "log plain numbers (call .item() on tensors at log time)"
        )
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)


def _open_summary_writer(directory: Path, purge_step: int | None) -> _ScalarWriter | None:
    """A TensorBoard SummaryWriter on `directory`; None, with a warning, without the tensorboard package."""
    if importlib.util.find_spec("tensorboard") is None:
        warnings.warn(
            "TensorBoard logging was asked for but the tensorboard package is not installed; "
            "writing metrics.jsonl only (pip install tensorboard for event files)",
            stacklevel=3,
        )
        return None
    # Imported here: it pulls in torch, which this module otherwise does not need.
    from torch.utils.tensorboard import SummaryWriter

    writer: _ScalarWriter = SummaryWriter(log_dir=str(directory), purge_step=purge_step)
    return writer
