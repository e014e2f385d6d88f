"""The command line: help texts, dispatch, one-line errors, --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fourfold.cli import COMMANDS, GROUPS, main


def test_top_help_lists_every_group_and_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ["gpt", "gym", "rl", "deepmoji", "five", "demo", "bench"]:
        assert f"\n  {name} " in out
    assert "--json" in out


def test_no_arguments_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: fourfold" in capsys.readouterr().out


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_every_group_explains_itself(group: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([group.name, "--help"]) == 0  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    assert out.startswith(f"fourfold {group.name}: ")  # type: ignore[attr-defined]
    assert group.description.splitlines()[0] in out  # type: ignore[attr-defined]


ALL_COMMANDS = [[c.name] for c in COMMANDS] + [[g.name, c.name] for g in GROUPS for c in g.commands]


@pytest.mark.parametrize("words", ALL_COMMANDS, ids=" ".join)
def test_every_command_help_works(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main([*words, "--help"])
    assert raised.value.code == 0
    out = capsys.readouterr().out
    assert f"fourfold {' '.join(words)}" in out
    assert "--json" in out


def test_unknown_command_is_one_line_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gtp"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "did you mean 'gpt'" in err


def test_bad_flag_value_names_the_flag_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--threads", "0"]) == 1
    err = capsys.readouterr().err
    assert err == "error: --threads: must be at least 1 (got 0)\n"


def test_demo_json_prints_one_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path), "--systems", "gym", "--budget-minutes", "0.1", "--json"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out)
    assert summary["report"] == str(tmp_path / "report.html")
    assert [step["system"] for step in summary["steps"]] == ["gym"]
    assert (tmp_path / "report.html").is_file()


def test_python_dash_m_and_version() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "fourfold", "--version"], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0
    assert completed.stdout.startswith("fourfold ")
