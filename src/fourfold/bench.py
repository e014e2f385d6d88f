"""The benchmark runner: `fourfold bench` / `make bench` runs `benchmarks/*.py` and rewrites BENCHMARKS.md.

A benchmark is a script in `benchmarks/` that measures fourfold and a named peer in the same process, with the same
threads and the same data, and returns rows (`BenchRow`). Absolute seconds are not comparable between runs on these
noisy machines; the ratio of the two figures, measured side by side, is. Each script defines

    def run(threads: int, quick: bool) -> list[BenchRow]

and ends with `if __name__ == "__main__": print_rows(run(threads=2, quick=False))` so it also runs alone. The runner
keeps each benchmark's latest rows in `benchmarks/results/<name>.json` (with machine, date and command) and renders
all of them into BENCHMARKS.md, so `--only NAME` refreshes one section and keeps the others.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from fourfold.core.config import from_jsonable, require, to_jsonable
from fourfold.core.errors import FourfoldError
from fourfold.core.machine import MachineInfo, describe_machine


@dataclass(frozen=True)
class BenchRow:
    """One measurement: fourfold and its peer on the same task, same run, same threads."""

    what: str
    """What was measured, e.g. "save 256 MB state dict"."""
    fourfold: float
    """fourfold's figure, in `unit`."""
    peer: str
    """The peer measured beside it, e.g. "torch.save"."""
    peer_value: float
    """The peer's figure, in `unit`."""
    unit: str
    """Unit of both figures, e.g. "MB/s" or "s"."""
    threads: int
    """Torch/numba threads both sides ran with."""
    higher_is_better: bool = True
    """True for rates (steps/s), False for times and sizes."""

    @property
    def ratio(self) -> float:
        """How many times better fourfold is than the peer (above 1: fourfold wins), whatever the unit's direction."""
        if self.fourfold <= 0 or self.peer_value <= 0:
            return float("nan")
        return self.fourfold / self.peer_value if self.higher_is_better else self.peer_value / self.fourfold


class RunFunction(Protocol):
    """The type of a benchmark script's `run`."""

    def __call__(self, *, threads: int, quick: bool) -> list[BenchRow]: ...


@dataclass(frozen=True)
class BenchResult:
    """One benchmark script's rows and where they were measured."""

    name: str
    rows: tuple[BenchRow, ...]
    machine: MachineInfo
    date: str
    command: str
    seconds: float


@dataclass
class BenchConfig:
    """Run the benchmarks in `benchmarks/` and rewrite BENCHMARKS.md."""

    directory: Path = Path("benchmarks")
    """Folder holding the benchmark scripts (`*.py`, each with `run(threads, quick)`)."""
    only: tuple[str, ...] = ()
    """Run only these benchmarks (script names without `.py`); the others keep their last results."""
    threads: int = 2
    """Threads for fourfold and the peer alike."""
    quick: bool = False
    """Smaller sizes and fewer repeats: a smoke run, not figures to publish."""
    output: Path = Path("BENCHMARKS.md")
    """The markdown file rendered from all results."""
    write: bool = True
    """Save results and rewrite `output`; with --no-write only print."""

    def __post_init__(self) -> None:
        require(self.threads >= 1, "threads", f"must be at least 1 (got {self.threads})")


@dataclass
class BenchSummary:
    """What `fourfold bench` ran and where it wrote."""

    ran: list[str] = field(default_factory=list)
    rows: list[dict[str, object]] = field(default_factory=list)
    output: str = ""

    def __str__(self) -> str:
        # The rows were printed as they were measured; say what ran and where they went.
        written = f"; wrote {self.output}" if self.output else ""
        return f"ran {', '.join(self.ran)} ({len(self.rows)} rows){written}"


def discover(directory: Path) -> dict[str, Path]:
    """Benchmark scripts in `directory` by name (`checkpoint_io` for `checkpoint_io.py`), sorted."""
    if not directory.is_dir():
        raise FourfoldError(
            f"no benchmarks folder at {directory}: run `fourfold bench` from a fourfold checkout or pass --directory"
        )
    return {p.stem: p for p in sorted(directory.glob("*.py")) if not p.name.startswith("_")}


def run_benchmarks(config: BenchConfig) -> BenchSummary:
    """Run the selected benchmarks, store their results and re-render BENCHMARKS.md."""
    scripts = discover(config.directory)
    unknown = [name for name in config.only if name not in scripts]
    if unknown:
        raise FourfoldError(f"no benchmark named {unknown[0]!r} in {config.directory} (have: {', '.join(scripts)})")
    selected = [name for name in scripts if not config.only or name in config.only]
    machine = describe_machine()
    command = "fourfold bench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else "fourfold bench"
    summary = BenchSummary()
    for name in selected:
        print(f"benchmark {name} …", file=sys.stderr, flush=True)
        start = time.perf_counter()
        rows = _load_run(scripts[name])(threads=config.threads, quick=config.quick)
        result = BenchResult(
            name=name,
            rows=tuple(rows),
            machine=machine,
            date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            command=command.strip(),
            seconds=time.perf_counter() - start,
        )
        print_rows(rows)
        summary.ran.append(name)
        summary.rows.extend({"benchmark": name, **to_jsonable(r), "ratio": r.ratio} for r in rows)
        if config.write:
            _save_result(config.directory / "results" / f"{name}.json", result)
    if config.write:
        results = [_load_result(p) for p in sorted((config.directory / "results").glob("*.json"))]
        config.output.write_text(render_markdown(results), encoding="utf-8")
        summary.output = str(config.output)
    return summary


def print_rows(rows: list[BenchRow]) -> None:
    """Print rows as an aligned table on stderr (stdout stays free for --json)."""
    for row in rows:
        print(
            f"  {row.what}: fourfold {row.fourfold:.4g} {row.unit} | {row.peer} {row.peer_value:.4g} {row.unit}"
            f" | ratio {row.ratio:.2f}x ({row.threads} threads)",
            file=sys.stderr,
        )


def render_markdown(results: list[BenchResult]) -> str:
    """BENCHMARKS.md: one section per benchmark with its machine, date, command and rows."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`fourfold bench`); do not edit by hand. Each benchmark measures fourfold and a named",
        "peer in the same run with the same threads. **ratio** is how many times better fourfold is (above 1: fourfold",
        "wins), whichever way the unit points. Absolute figures move between runs on shared machines; ratios less so.",
        "",
    ]
    for result in results:
        m = result.machine
        lines += [
            f"## {result.name}",
            "",
            f"- machine: {m.cpu} ({m.cores} cores, {m.memory_gib:.0f} GiB), {m.system}",
            f"- software: Python {m.python}, torch {m.torch}",
            f"- date: {result.date}; took {result.seconds:.0f} s",
            f"- command: `{result.command}`",
            "",
            "| what | fourfold | peer | peer figure | unit | ratio | threads |",
            "| --- | ---: | --- | ---: | --- | ---: | ---: |",
        ]
        for r in result.rows:
            cells = [r.what, f"{r.fourfold:.4g}", r.peer, f"{r.peer_value:.4g}", r.unit, f"{r.ratio:.2f}x", r.threads]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _load_run(path: Path) -> RunFunction:
    spec = importlib.util.spec_from_file_location(f"fourfold_benchmark_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise FourfoldError(f"cannot load benchmark script {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = getattr(module, "run", None)
    if not callable(run):
        raise FourfoldError(f"benchmark script {path} has no run(threads, quick) function")
    return run  # type: ignore[no-any-return]


def _save_result(path: Path, result: BenchResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_jsonable(result), indent=2) + "\n", encoding="utf-8")


def _load_result(path: Path) -> BenchResult:
    return from_jsonable(BenchResult, json.loads(path.read_text(encoding="utf-8")))
