"""Five's demo step: the bot game within a small budget, the self-play findings told from the numbers, the win-rate
table and plot, and the second process that plays evaluation matches."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fourfold.core.demo import DemoContext
from fourfold.core.report import ImageBlock, Section, TableBlock, TextBlock
from fourfold.five import demo
from fourfold.five.match import MatchResult
from fourfold.five.train import DEFAULT_CURRICULUM, TrainConfig


def _result(bot: str, wins: int, losses: int, draws: int) -> MatchResult:
    scores = [1.0] * wins + [0.0] * losses + [0.5] * draws
    n = len(scores)
    return MatchResult("policy", bot, scores, [True] * n, list(range(n)), [5.0] * n)


def _texts(section: Section) -> str:
    return "\n".join(block.text for block in section.blocks if isinstance(block, TextBlock))


def test_a_small_budget_plays_the_bot_game_and_says_self_play_was_left_out(tmp_path: Path) -> None:
    context = DemoContext(out_dir=tmp_path, budget_seconds=2.0, seed=0, section=Section("Five"))
    demo.run_demo(context)
    text = _texts(context.section)
    assert "hard (blue) against medium (red)" in text
    assert "Self-play training was left out" in text and "--budget-minutes" in text
    images = [block for block in context.section.blocks if isinstance(block, ImageBlock)]
    assert [image.path.name for image in images] == ["game.gif"] and images[0].path.is_file()
    assert (tmp_path / "watch" / "replay.npz").is_file()
    assert not (tmp_path / "selfplay").exists()


def test_findings_follow_the_numbers() -> None:
    untrained = demo._Evaluated("untrained", 0, None, {"easy": _result("easy", 2, 30, 0)})
    last = demo._Evaluated("last", 4096, Path("step_4096"), {"easy": _result("easy", 28, 4, 0)})
    text = demo._findings([untrained, last], [], ["last vs random"])
    assert "Against easy the win rate rose clearly" in text and "6% untrained, 88% after training" in text
    assert "Against random" not in text  # nothing is said of a match not played
    assert "Not played for lack of time: last vs random." in text
    assert "No training game against random or easy ended" in text

    flat = demo._Evaluated("last", 4096, Path("step_4096"), {"easy": _result("easy", 2, 30, 0)})
    assert "Against easy the win rate did not change" in demo._findings([untrained, flat], [], [])
    worse = demo._Evaluated("last", 4096, Path("step_4096"), {"easy": _result("easy", 0, 32, 0)})
    assert "Against easy the win rate did not rise: 6% untrained, 0% after" in demo._findings(
        [untrained, worse], [], []
    )
    noisy = demo._Evaluated("last", 4096, Path("step_4096"), {"easy": _result("easy", 4, 28, 0)})
    assert "rose, but within the noise" in demo._findings([untrained, noisy], [], [])

    drawn = {"random": _result("random", 0, 0, 32)}
    text = demo._findings(
        [dataclasses.replace(untrained, results=drawn), dataclasses.replace(last, results=drawn)],
        [{"step": 2048.0, "win_rate/easy": 0.25}, {"step": 4096.0, "win_rate/easy": 0.5}],
        [],
    )
    assert "Against random the win rate did not change: 50% untrained, 50% after training; 32 of 32" in text
    assert "ended at 50% against easy." in text


def test_the_table_and_the_plot_show_the_evaluations(tmp_path: Path) -> None:
    section = Section("Five")
    played = [
        demo._Evaluated("last", 4096, Path("step_4096"), {"easy": _result("easy", 20, 12, 0)}),
        demo._Evaluated(
            "untrained", 0, None, {"easy": _result("easy", 2, 30, 0), "random": _result("random", 0, 0, 32)}
        ),
    ]
    demo._evaluation_table(section, played)
    table = section.blocks[0]
    assert isinstance(table, TableBlock)
    assert table.header == ("agent-step", "win rate vs random [95 % interval]", "win rate vs easy [95 % interval]")
    assert [row[0] for row in table.rows] == ["0 (untrained)", "4,096 (last)"]  # by step
    assert table.rows[0][1] == "50% [34%, 66%] (0 W 0 L 32 D)"
    assert table.rows[1][1] == "not played (time)"
    metrics = [{"step": 2048.0, "win_rate/easy": 0.2}, {"step": 4096.0, "win_rate/easy": 0.4}]
    path = demo._plot(metrics, played, tmp_path / "curve.png", "1v1")
    assert path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_the_second_process_plays_the_untrained_policy_and_can_be_stopped(tmp_path: Path) -> None:
    from fourfold.five.policy import PolicyConfig

    config = TrainConfig(out=tmp_path, policy=PolicyConfig(unit_dim=8, global_dim=16, hidden_dim=16, pooled_dim=8))
    game = dataclasses.replace(DEFAULT_CURRICULUM[0].game, time_cap_seconds=2.0)
    evaluator = demo._Evaluator(config, game, seed=0)
    untrained = demo._Evaluated("untrained", 0, None)
    try:
        for bot in demo.EVAL_BOTS:
            evaluator.submit(untrained, bot)
        evaluator.collect(300.0)
        assert set(untrained.results) == set(demo.EVAL_BOTS)
        assert all(r.games == demo.EVAL_GAMES and r.agent == "untrained" for r in untrained.results.values())
        assert evaluator.cost() > 0.0
        # The same match played here gives the same result (both processes build the same untrained policy).
        here = demo._Evaluated("untrained", 0, None)
        evaluator.play_here(here, "easy", seed=0)
        assert here.results["easy"].scores == untrained.results["easy"].scores
        # A match nobody waits for is cut off at close.
        evaluator.submit(demo._Evaluated("long", 0, None), "easy")
    finally:
        evaluator.close()
    assert not evaluator._process.is_alive()
