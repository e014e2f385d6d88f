"""`fourfold demo`, the main job: every system's demo step in turn, within a time budget, into one HTML report.

The steps are registered in `DEMO_STEPS` by module name and imported only when they run; a system that is not built
yet gets a section saying so. Each step gets a share of the time still left, so time a quick step saves goes to the
later ones. A step that raises `FourfoldError` (missing data, say) is reported as skipped with its reason, and any
other failure as failed with its message (the traceback goes to `<out>/<system>/error.log`); either way the
remaining steps run. The report is rewritten after every step, so a partial run still leaves one.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fourfold.core.config import require
from fourfold.core.demo import DemoContext
from fourfold.core.errors import FourfoldError
from fourfold.core.machine import describe_machine
from fourfold.core.report import Report, Status

System = Literal["gym", "rl", "gpt", "deepmoji", "five"]


@dataclass(frozen=True)
class DemoStep:
    """One system's demo step: the module holding its `run_demo(context)`, and its share of the budget."""

    system: str
    title: str
    module: str
    share: float


DEMO_STEPS: tuple[DemoStep, ...] = (
    DemoStep("gym", "Gym: the standard tasks, fast", "fourfold.gym.demo", 0.10),
    DemoStep("rl", "RL: PPO learns CartPole", "fourfold.rl.demo", 0.15),
    DemoStep("gpt", "GPT: train, evaluate and generate", "fourfold.gpt.demo", 0.30),
    DemoStep("deepmoji", "DeepMoji: emotion from emoji", "fourfold.deepmoji.demo", 0.20),
    DemoStep("five", "Five: a 5v5 game and self-play", "fourfold.five.demo", 0.25),
)


@dataclass
class DemoConfig:
    """Run each system's demo step and write one self-contained HTML report."""

    out: Path = Path("runs/demo")
    """Folder for the report (`report.html`) and each step's files (`<out>/<system>/`)."""
    budget_minutes: float = 10.0
    """Wall-clock budget for all steps together, shared out by each step's weight."""
    systems: tuple[System, ...] = ("gym", "rl", "gpt", "deepmoji", "five")
    """Which systems' steps to run, in this order."""
    seed: int = 0
    """Seed for every step."""

    def __post_init__(self) -> None:
        require(self.budget_minutes > 0, "budget_minutes", f"must be positive (got {self.budget_minutes})")
        require(len(self.systems) > 0, "systems", "must name at least one system")


@dataclass
class StepResult:
    """How one demo step ended."""

    system: str
    status: Status
    """ok, skipped (a FourfoldError, e.g. missing data), failed (a bug), or not built."""
    seconds: float
    note: str = ""


@dataclass
class DemoSummary:
    """Where the report is and how each step ended."""

    report: str
    steps: list[StepResult] = field(default_factory=list)


def run_demo(config: DemoConfig, steps: tuple[DemoStep, ...] = DEMO_STEPS) -> DemoSummary:
    """Run the selected demo steps within the budget and write `<out>/report.html`."""
    by_system = {step.system: step for step in steps}
    chosen = [by_system[system] for system in config.systems if system in by_system]
    report = Report("fourfold demo")
    _machine_section(report, config)
    report_path = config.out / "report.html"
    summary = DemoSummary(report=str(report_path))
    deadline = time.monotonic() + config.budget_minutes * 60
    for index, step in enumerate(chosen):
        remaining_share = sum(s.share for s in chosen[index:])
        budget = max(0.0, deadline - time.monotonic()) * step.share / remaining_share
        print(f"[{index + 1}/{len(chosen)}] {step.title} (budget {budget:.0f} s)", file=sys.stderr, flush=True)
        result = _run_step(step, report, config, budget)
        print(f"  {result.status} in {result.seconds:.1f} s {result.note}".rstrip(), file=sys.stderr, flush=True)
        summary.steps.append(result)
        report.write(report_path)
    report.write(report_path)
    return summary


def _run_step(step: DemoStep, report: Report, config: DemoConfig, budget: float) -> StepResult:
    started = time.monotonic()
    if not _is_built(step.module):
        note = f"The {step.system} system is not built in this version of fourfold yet."
        report.add_section(step.title, status="not built", note=note)
        return StepResult(step.system, "not built", 0.0, note)
    section = report.add_section(step.title)
    out_dir = config.out / step.system
    out_dir.mkdir(parents=True, exist_ok=True)
    context = DemoContext(out_dir=out_dir, budget_seconds=budget, seed=config.seed, section=section)
    status: Status = "ok"
    note = ""
    try:
        importlib.import_module(step.module).run_demo(context)
    except FourfoldError as error:
        status, note = "skipped", str(error)
    except Exception as error:  # a bug in one step must not cost the user the other steps' results
        (out_dir / "error.log").write_text(traceback.format_exc(), encoding="utf-8")
        status, note = "failed", f"{type(error).__name__}: {error} (traceback in {out_dir / 'error.log'})"
    section.status, section.note = status, note
    return StepResult(step.system, status, time.monotonic() - started, note)


def _is_built(module: str) -> bool:
    """Whether `module` exists, without importing it (its parent package is imported to look)."""
    parent = module.rsplit(".", 1)[0]
    return importlib.util.find_spec(parent) is not None and importlib.util.find_spec(module) is not None


def _machine_section(report: Report, config: DemoConfig) -> None:
    machine = describe_machine()
    section = report.add_section("Machine")
    section.text(f"Budget {config.budget_minutes:g} minutes, seed {config.seed}, systems: {', '.join(config.systems)}.")
    section.table(
        ["CPU", "cores", "memory", "system", "Python", "torch"],
        [
            [
                machine.cpu,
                machine.cores,
                f"{machine.memory_gib:.0f} GiB",
                machine.system,
                machine.python,
                machine.torch,
            ]
        ],
    )
