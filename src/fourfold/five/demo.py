"""Five's step of `fourfold demo`: a game of the hard bot against the medium one, watched, with its score card.

The game is played and recorded by `fourfold five watch` (`five/watch.py`): a GIF of the game top-down (small frames,
a frame every couple of game-seconds, so the report stays a few megabytes), the replay file, and the score card,
which the report shows as tables. The game runs to its end (an ancient falls, or the time cap), which takes seconds
on the compiled core; when the step's budget is small the game is cut at the time the budget allows.
"""

from __future__ import annotations

from pathlib import Path

from fourfold.core.demo import DemoContext
from fourfold.five.game.constants import TICKS_PER_DECISION, TICKS_PER_SECOND
from fourfold.five.watch import WatchConfig, watch

BLUE_BOT = "hard"
RED_BOT = "medium"
DECISIONS_PER_SECOND_OF_BUDGET = 150
"""A cautious rate of play + render + GIF encoding on a busy laptop core (decisions per second of budget), used to
cut the game short when the budget is small; the compiled game alone runs thousands of decisions a second."""


def run_demo(context: DemoContext) -> None:
    """Play hard vs medium to the end, write the GIF, replay and score card, and fill the report section."""
    section = context.section
    # 1. Play, record and render the game within the budget (game-time 10 minutes at most: 4,500 decisions).
    affordable = int(max(10.0, context.time_left() * 0.8) * DECISIONS_PER_SECOND_OF_BUDGET)
    config = WatchConfig(
        blue=BLUE_BOT,
        red=RED_BOT,
        out=context.out_dir / "watch",
        seed=context.seed,
        max_decisions=affordable if affordable < 4500 else 0,
        frame_every=16,
        fps=12.0,
        width=320,
        video="gif",
    )
    summary = watch(config)
    seconds = summary.decisions * TICKS_PER_DECISION / TICKS_PER_SECOND
    at_cap = summary.decisions * TICKS_PER_DECISION >= config.game_config().time_cap_ticks
    how = " on score at the time cap" if at_cap else " (the enemy ancient fell)"
    ended = {"blue": f"{BLUE_BOT} (blue) won{how}", "red": f"{RED_BOT} (red) won{how}", "draw": "a draw on score"}
    verdict = ended.get(summary.winner, "cut short by the demo's time budget")

    # 2. The report: the video, the score card, where the files are.
    section.text(
        f"A game of Five's scripted bots, {BLUE_BOT} (blue) against {RED_BOT} (red), 5 heroes a side on the three-lane "
        f"map, seed {context.seed}: {verdict} after {seconds / 60:.1f} game-minutes ({summary.decisions:,} decisions "
        f"of 10 heroes). `fourfold five watch --blue {BLUE_BOT} --red {RED_BOT}` plays it again (and writes an MP4)."
    )
    gif = next((f for f in summary.files if f.endswith(".gif")), None)
    if gif is not None:
        section.image(
            Path(gif),
            f"{BLUE_BOT} (blue, bottom left) vs {RED_BOT} (red, top right): heroes are the large discs, creeps the "
            f"small ones, towers and ancients the squares, each with its hit-point bar",
        )
    section.table(
        ["team", "bot", "kills", "deaths", "last hits", "denies", "gold", "towers destroyed", "own ancient hp"],
        [
            [t.team, t.player, t.kills, t.deaths, t.last_hits, t.denies, t.gold, t.towers, f"{t.ancient_hp:.0%}"]
            for t in summary.teams
        ],
    )
    replay = next((f for f in summary.files if f.endswith("replay.npz")), "")
    section.text(
        f"The replay file ({replay}) holds the seed and every decision's actions; "
        f"`fourfold five watch --replay {replay}` plays the same game again, exactly."
    )
