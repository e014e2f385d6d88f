"""`fourfold demo`: steps run in turn within the budget; one step's failure never stops the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from fourfold.demo import DEMO_STEPS, DemoConfig, DemoStep, run_demo

STEPS = {
    "demo_step_ok": (
        "def run_demo(context):\n"
        "    assert context.budget_seconds > 0 and context.time_left() > 0\n"
        "    (context.out_dir / 'done.txt').write_text(str(context.seed))\n"
        "    context.section.text('all good')\n"
        "    context.section.table(['figure', 'value'], [['loss', 1.5]])\n"
    ),
    "demo_step_no_data": (
        "from fourfold.core.errors import FourfoldError\n"
        "def run_demo(context):\n"
        "    raise FourfoldError('tinyshakespeare not found: set FOURFOLD_DATA')\n"
    ),
    "demo_step_bug": "def run_demo(context):\n    raise ZeroDivisionError('oops')\n",
}


def _steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[DemoStep, ...]:
    package = tmp_path / "demo_steps_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module, source in STEPS.items():
        (package / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    return (
        DemoStep("gym", "Gym", "demo_steps_pkg.demo_step_no_data", 1.0),
        DemoStep("rl", "RL", "demo_steps_pkg.demo_step_bug", 1.0),
        DemoStep("gpt", "GPT", "demo_steps_pkg.demo_step_ok", 2.0),
        DemoStep("five", "Five", "demo_steps_pkg.not_written_yet", 1.0),
        DemoStep("deepmoji", "DeepMoji", "fourfold_no_such_package.demo", 1.0),
    )


def test_each_step_ends_in_its_own_status_and_the_report_shows_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = _steps(tmp_path, monkeypatch)
    out = tmp_path / "out"
    config = DemoConfig(out=out, budget_minutes=1.0, seed=7, systems=("gym", "rl", "gpt", "five", "deepmoji"))
    summary = run_demo(config, steps)
    status = {step.system: step.status for step in summary.steps}
    assert status == {
        "gym": "skipped",
        "rl": "failed",
        "gpt": "ok",
        "five": "not built",
        "deepmoji": "not built",
    }
    notes = {step.system: step.note for step in summary.steps}
    assert "tinyshakespeare not found" in notes["gym"]
    assert "ZeroDivisionError: oops" in notes["rl"]
    assert "ZeroDivisionError" in (out / "rl" / "error.log").read_text()
    assert (out / "gpt" / "done.txt").read_text() == "7"
    html = (out / "report.html").read_text()
    for fragment in [
        "tinyshakespeare not found",
        "ZeroDivisionError: oops",
        "all good",
        "not built",
        "Machine",
    ]:
        assert fragment in html


def test_systems_run_in_the_order_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = _steps(tmp_path, monkeypatch)
    summary = run_demo(DemoConfig(out=tmp_path / "o", systems=("gpt", "gym")), steps)
    assert [step.system for step in summary.steps] == ["gpt", "gym"]


@pytest.mark.slow
def test_the_real_demo_covers_every_system(tmp_path: Path) -> None:
    assert {step.system for step in DEMO_STEPS} == {"gym", "rl", "gpt", "deepmoji", "five"}
    summary = run_demo(DemoConfig(out=tmp_path, budget_minutes=0.5))
    assert [step.system for step in summary.steps] == ["gym", "rl", "gpt", "deepmoji", "five"]
    assert all(step.status in {"ok", "skipped", "not built"} for step in summary.steps), summary.steps
    assert (tmp_path / "report.html").stat().st_size > 0
