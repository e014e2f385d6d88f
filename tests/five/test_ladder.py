"""The ladder and evaluation commands' functions on tiny games: bots only, and a run of two checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fourfold.five.evaluate import EvalConfig, evaluate
from fourfold.five.game_choice import GameFlags
from fourfold.five.ladder import LadderConfig, ladder, sample_checkpoints, schedule_pairs

SMALL = GameFlags(map="one_lane", heroes_per_team=1, time_cap_seconds=6.0)


def _save(path: Path, seed: int) -> Path:
    import torch

    from fourfold.five.policy import FivePolicy, PolicyConfig, save_policy

    torch.manual_seed(seed)
    policy = FivePolicy(PolicyConfig(unit_dim=8, global_dim=16, hidden_dim=16, pooled_dim=8))
    return save_policy(path, policy, step=int(path.name.split("_")[-1]))


def test_ladder_of_the_bots_alone(tmp_path: Path) -> None:
    config = LadderConfig(
        bots=("random", "easy", "hard"),
        games=2,
        game=GameFlags(map="one_lane", heroes_per_team=3, time_cap_seconds=60.0),
        out=tmp_path,
    )
    summary = ladder(config)
    rows = {row.name: row for row in summary.rows}
    assert set(rows) == {"random", "easy", "hard"}
    assert rows["random"].mu == 0.0 and rows["random"].elo == 0.0
    assert rows["hard"].mu > rows["easy"].mu  # hard beats easy in this game (see test_match)
    assert rows["hard"].versus["easy"] == [1.0, pytest.approx(0.342, abs=1e-3), 1.0]  # 2 of 2: Wilson [0.342, 1]
    assert "hard" not in rows["hard"].versus and rows["hard"].games == 4
    assert summary.spearman is None  # no checkpoints to correlate
    assert Path(summary.plot or "").stat().st_size > 0
    saved = json.loads((tmp_path / "ladder.json").read_text())
    assert [row["name"] for row in saved["rows"]] == [row.name for row in summary.rows]
    assert "random = 0" in str(summary)


def test_ladder_of_a_run_and_evaluation(tmp_path: Path) -> None:
    run = tmp_path / "run"
    for step in (10, 20, 30):
        _save(run / "checkpoints" / f"step_{step:08d}", seed=step)
    config = LadderConfig(run=run, checkpoints=2, bots=("random",), games=2, schedule="reference", game=SMALL)
    summary = ladder(config)
    names = {row.name for row in summary.rows}
    assert names == {"run/step_00000010", "run/step_00000030", "random"}  # first and last of three
    assert (run / "ladder.png").is_file() and (run / "ladder.json").is_file()
    assert all(row.games == 4 for row in summary.rows)
    # Nobody dies in 6 game-seconds: every game is drawn, so the ratings are equal and rho is undefined.
    assert summary.spearman is None and {round(row.mu, 9) for row in summary.rows} == {0.0}

    result = evaluate(EvalConfig(run=str(run), vs="random", games=2, game=SMALL))
    assert (result.games, result.wins + result.losses + result.draws) == (2, 2)
    assert result.agent == "run/step_00000030" and result.vs == "random"
    low, high = result.interval
    assert 0.0 <= low <= result.win_rate <= high <= 1.0


def test_sampling_and_schedules() -> None:
    found = [(s, Path(f"step_{s}")) for s in range(10)]
    assert [s for s, _ in sample_checkpoints(found, 4)] == [0, 3, 6, 9]
    assert [s for s, _ in sample_checkpoints(found, 1)] == [9]
    assert sample_checkpoints(found[:3], 8) == found[:3]
    names = ["c1", "c2", "c3", "random", "easy"]
    assert len(schedule_pairs(names, ["c1", "c2", "c3"], "round_robin")) == 10
    reference = schedule_pairs(names, ["c1", "c2", "c3"], "reference")
    assert ("c1", "c3") not in reference and ("c1", "c2") in reference and ("random", "easy") in reference
    assert len(reference) == 9


def test_bad_configs_name_the_field() -> None:
    with pytest.raises(Exception, match="bots"):
        LadderConfig(bots=("random", "grandmaster"))
    with pytest.raises(Exception, match="games"):
        EvalConfig(run="hard", games=1)
