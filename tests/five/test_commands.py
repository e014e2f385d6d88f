"""The `fourfold five` commands: help, `watch` writing its video, replay and score card (bots and a trained run),
`bench --json`, bad flags."""

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


def _tiny_run(run: Path) -> Path:
    """A run folder with one training checkpoint of a fresh tiny policy, in the 1v1 curriculum stage."""
    import torch

    from fourfold.core.checkpoint import save_checkpoint
    from fourfold.five.policy import FivePolicy, PolicyConfig
    from fourfold.five.train import CHECKPOINT_KIND, TrainConfig

    config = TrainConfig(policy=PolicyConfig(unit_dim=8, global_dim=16, hidden_dim=16, pooled_dim=8))
    torch.manual_seed(0)
    return save_checkpoint(
        run / "checkpoints" / "step_00000005",
        model=FivePolicy(config.policy).state_dict(),
        config=config,
        state={"counters": {"stage": 0}},
        step=5,
        kind=CHECKPOINT_KIND,
    )


def test_watch_a_run_plays_its_policy_on_its_stage_and_replays_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fourfold.five.replay import load_replay, replay_game, state_digest
    from fourfold.five.train import DEFAULT_CURRICULUM

    run = tmp_path / "run"
    _tiny_run(run)
    out = tmp_path / "watch"
    flags = ["--out", str(out), "--max-decisions", "12", "--frame-every", "4", "--width", "128", "--video", "gif"]
    assert main(["five", "watch", str(run), *flags, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    # RUN plays blue (named by its checkpoint) against easy, on the game of its curriculum stage (1v1, one lane).
    assert (summary["blue"], summary["red"]) == ("run/step_00000005", "easy")
    stage = DEFAULT_CURRICULUM[0].game
    assert (summary["map"], summary["heroes_per_team"]) == (stage.map, stage.heroes_per_team) == ("one_lane", 1)
    assert summary["time_cap_seconds"] == stage.time_cap_seconds
    assert summary["decisions"] == 12 and summary["frames"] == 4  # decisions 0, 4, 8, 12
    replay = load_replay(out / "replay.npz")
    assert replay.config == stage and (replay.blue, replay.red) == ("run/step_00000005", "easy")
    assert replay.extra["agents"]["blue"] == str(run)
    assert (replay.primary[:, 0] != 0).any()  # the policy played its hero
    assert state_digest(replay_game(replay, verify=True)) == replay.digest  # the replay reproduces the game

    # Watching the same seed again plays the same game (the policy samples from a seeded stream); the game flags
    # override the checkpoint's stage, and the run may play red.
    assert main(["five", "watch", str(run), *flags, "--video", "none", "--out", str(tmp_path / "again")]) == 0
    assert load_replay(tmp_path / "again" / "replay.npz").digest == replay.digest
    capsys.readouterr()
    other = ["--blue", "medium", "--red", str(run / "checkpoints" / "step_00000005"), "--time-cap-seconds", "4"]
    assert main(["five", "watch", *other, "--out", str(tmp_path / "red"), "--video", "none", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["blue"], summary["red"], summary["heroes_per_team"]) == ("medium", "run/step_00000005", 1)
    assert summary["decisions"] == 30  # 4 game-seconds


def test_game_flags_override_single_settings_of_the_checkpoints_stage(tmp_path: Path) -> None:
    from fourfold.core.config import ConfigError
    from fourfold.five.game_choice import GameFlags, game_config_for
    from fourfold.five.train import DEFAULT_CURRICULUM

    run = tmp_path / "run"
    _tiny_run(run)
    stage = DEFAULT_CURRICULUM[0].game
    assert game_config_for([str(run), "easy"], GameFlags()) == stage  # the checkpoint's 1v1 game
    standard = game_config_for(
        ["easy", str(run)],
        GameFlags(map="three_lane", heroes_per_team=5, time_cap_seconds=600.0, kills_to_win=0, towers_to_win=0),
    )
    assert (standard.kills_to_win, standard.towers_to_win, standard.heroes_per_team) == (0, 0, 5)
    assert game_config_for(["easy", "hard"], GameFlags(kills_to_win=3)).kills_to_win == 3  # bots: the default game
    assert game_config_for([str(run)], GameFlags(stage="3v3")) == DEFAULT_CURRICULUM[1].game  # another stage's game
    with pytest.raises(ConfigError, match="no curriculum stage named '2v2'"):
        game_config_for([str(run)], GameFlags(stage="2v2"))


def test_eval_flags_reach_the_game(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    _tiny_run(run)
    flags = ["--vs", "random", "--games", "2", "--heroes-per-team", "3", "--time-cap-seconds", "4", "--json"]
    assert main(["five", "eval", str(run), *flags, "--kills-to-win", "0"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["map"], summary["heroes_per_team"], summary["games"]) == ("one_lane", 3, 2)


def test_watch_a_folder_without_checkpoints_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    assert main(["five", "watch", str(tmp_path / "run"), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: agent '{tmp_path / 'run'}' is neither a scripted bot") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_watch_run_help_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["five", "watch", "runs/five/some-run", "--help"])
    assert raised.value.code == 0
    out = capsys.readouterr().out
    assert "fourfold five watch" in out and "--blue" in out and "--deterministic" in out


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
        (["watch", "--blue", "grandmaster"], "error: agent 'grandmaster' is neither a scripted bot (random, easy"),
        (["watch", "/nonexistent/run"], "error: agent '/nonexistent/run' is neither a scripted bot (random, easy"),
        (["watch", "runs/a", "--blue", "hard"], "error: --blue: give the blue team once, as RUN or as --blue"),
        (["watch", "--heroes-per-team", "4"], "error: --heroes-per-team: must be 1, 3 or 5"),
        (["watch", "--frame-every", "0"], "error: --frame-every: must be at least 1"),
        (["watch", "--kills-to-win", "-1"], "error: --kills-to-win: must be 0 (off) or a positive count"),
        (["eval", "easy", "--vs", "random", "--towers-to-win", "-2"], "error: --towers-to-win: must be 0 (off)"),
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
