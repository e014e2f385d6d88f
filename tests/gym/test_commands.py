"""The gym commands as a user types them: list, watch, bench (--json), and their one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import pytest

from fourfold.cli import main
from fourfold.gym.registration import TASKS
from fourfold.gym.suite import ListConfig, list_tasks


def test_list_has_every_task_with_its_spaces() -> None:
    rows = list_tasks(ListConfig()).tasks
    assert [row.id for row in rows] == [task.id for task in TASKS]
    cartpole = next(row for row in rows if row.id == "fourfold/CartPole-v1")
    assert cartpole.observation_space == "Box(4,) float32"
    assert cartpole.action_space == "Discrete(2)"
    assert (cartpole.max_episode_steps, cartpole.reward_threshold) == (500, 475.0)


def test_watch_writes_a_gif_and_a_frame_sheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cartpole"
    args = ["gym", "watch", "--env", "fourfold/CartPole-v1", "--out", str(out), "--num-envs", "2"]
    assert main([*args, "--max-steps", "20", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert str(out.with_suffix(".gif")) in summary["files"]
    frames = iio.imread(out.with_suffix(".gif"), index=None)
    assert frames.shape[0] == summary["frames"] > 1
    assert (tmp_path / "cartpole-frames.png").is_file()
    assert len(summary["episode_returns"]) >= 1


def test_bench_json_reports_fourfold_and_its_peers(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["gym", "bench", "--tasks", "fourfold/CartPole-v1", "--num-envs", "8", "--seconds", "0.05", "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    implementations = {row["implementation"] for row in summary["rows"]}
    assert {"fourfold", "gymnasium-sync", "gymnasium-batched"} <= implementations
    assert all(row["steps_per_second"] > 0 and row["num_envs"] == 8 for row in summary["rows"])
    if "envpool" not in implementations:
        assert any(reason.startswith("envpool") for reason in summary["skipped"])


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["gym", "watch", "--env", "NoSuchEnv-v0"], "unknown env 'NoSuchEnv-v0'"),
        (["gym", "bench", "--tasks", "Nope-v1"], "no fourfold task 'Nope-v1'"),
        (["gym", "bench", "--peers", "stable-gym"], "--peers: unknown peer 'stable-gym'"),
    ],
)
def test_bad_input_is_one_line(args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert fragment in err
