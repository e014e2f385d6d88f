"""The contract between `fourfold demo` and each system's demo step.

Each system has a module `fourfold.<system>.demo` with

    def run_demo(context: DemoContext) -> None

that does a small, real piece of the system's work within `context.budget_seconds` (checking `context.time_left()`
between phases), writes its files under `context.out_dir`, and fills `context.section` of the demo report with
figures, tables, plots and samples. A step that cannot run (missing data, say) raises a `FourfoldError` whose
sentence the report shows as the reason it was skipped; the other steps still run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from fourfold.core.report import Section


@dataclass
class DemoContext:
    """What a system's demo step gets: where to write, how long it may take, the seed, its report section."""

    out_dir: Path
    """Folder for this step's files (runs, checkpoints, plots, videos)."""
    budget_seconds: float
    """Wall-clock time this step may use; steps stop their loops when `time_left()` runs out."""
    seed: int
    """Seed for everything random in the step."""
    section: Section
    """The step's section of the demo report, to fill with text, tables and images."""
    started: float = field(default_factory=time.monotonic)
    """Monotonic clock reading when the step began."""

    def time_left(self) -> float:
        """Seconds of the budget still unused (negative when over)."""
        return self.budget_seconds - (time.monotonic() - self.started)
