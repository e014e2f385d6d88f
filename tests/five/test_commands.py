"""The `fourfold five` commands: help, `watch` writing its video, replay and score card, `bench --json`, bad flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fourfold.cli import main


def test_group_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["five", "--help"]) == 0
    out = capsys.readouterr().out
    for name in ("watch", "bench", "bots"):
        assert f"\n  {name} " in out


@pytest.mark.parametrize("command", ["watch", "bench", "bots"])
def test_command_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["five", command, "--help"])
    assert raised.value.code == 0
    assert f"fourfold five {command}" in capsys.readouterr().out


def test_watch_writes_video_replay_and_score_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "watch"
    flags = ["--out", str(out), "--time-cap-seconds", "8", "--frame-every", "6", "--width", "128", "--video", "gif"]
    assert main(["five", "watch", "--blue", "hard", "--red", "easy", *flags, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    names = {Path(f).name for f in summary["files"]}
    assert names == {"game.gif", "last-frame.png", "replay.npz", "scorecard.json", "scorecard.md", "scorecard.png"}
    assert all(Path(f).is_file() and Path(f).stat().st_size > 0 for f in summary["files"])
    assert summary["decisions"] == 60 and summary["frames"] == 11  # decisions 0, 6, ..., 60
    assert (summary["blue"], summary["red"]) == ("hard", "easy")
    card = json.loads((out / "scorecard.json").read_text())
    assert card["winner"] == summary["winner"] in ("blue", "red", "draw")
    assert [team["team"] for team in card["teams"]] == ["blue", "red"]
    for key in ("kills", "deaths", "last_hits", "gold", "towers"):
        assert all(key in team for team in card["teams"])
    assert len(card["heroes"]) == 10
    assert "| team | player | kills |" in (out / "scorecard.md").read_text()

    # The replay plays back to the same end (and is checked against its recorded final state).
    again = tmp_path / "again"
    flags = ["--replay", str(out / "replay.npz"), "--out", str(again), "--video", "none"]
    assert main(["five", "watch", *flags, "--json"]) == 0
    replayed = json.loads(capsys.readouterr().out)
    assert (replayed["winner"], replayed["decisions"]) == (summary["winner"], 60)
    assert json.loads((again / "scorecard.json").read_text()) == card
    assert not (again / "replay.npz").exists()


def test_bench_json_with_tiny_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["five", "bench", "--num-games", "2", "3", "--seconds", "0.05", "--reference-seconds", "0.01"]
    assert main([*args, "--warmup-decisions", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    rows = {(row["implementation"], row["num_games"]): row for row in summary["rows"]}
    assert set(rows) == {("compiled", 2), ("reference", 2), ("compiled", 3), ("reference", 3)}
    assert all(row["game_steps_per_second"] > 0 and row["steps"] >= row["num_games"] for row in rows.values())
    assert summary["memory_bytes_per_game"] == summary["state_bytes_per_game"] + summary["observation_bytes_per_game"]
    assert summary["state_bytes_per_game"] > 10_000
    assert set(summary["speedups"]) == {"2", "3"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["watch", "--blue", "grandmaster"], "error: --blue: unknown bot 'grandmaster'"),
        (["watch", "--heroes-per-team", "4"], "error: --heroes-per-team: must be 1, 3 or 5"),
        (["watch", "--frame-every", "0"], "error: --frame-every: must be at least 1"),
        (["watch", "--replay", "/nonexistent/replay.npz"], "error: no replay file at /nonexistent/replay.npz"),
        (["bench", "--num-games", "0"], "error: --num-games: every batch size must be at least 1"),
        (["bench", "--seconds", "-1"], "error: --seconds: must be positive"),
    ],
)
def test_bad_flags_give_one_sentence(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = ["--out", str(tmp_path / "out")] if args[0] == "watch" else []
    assert main(["five", *args, *out]) == 1
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1
