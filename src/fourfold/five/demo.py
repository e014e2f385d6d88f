"""Five's step of `fourfold demo`: a game of the hard bot against the medium one, then a short self-play training.

1. Bots: hard against medium, watched with `fourfold five watch` (`five/watch.py`): a GIF of the game top-down (small
   frames, a frame every couple of game-seconds, so the report stays a few megabytes), the replay file and the score
   card, which the report shows as tables. It gets a small part of the step's budget; the game is cut at the time
   that part allows.
2. Self-play: `fourfold five train` (`five/train.py`) on the first curriculum stage (1v1 on the one-lane map) for
   most of the remaining budget, with checkpoints along the way.
3. Evaluation: the untrained policy (a fresh one of the run's configuration and seed), a middle checkpoint when time
   allows and the last one, each against `random` and `easy` in `EVAL_GAMES` games (`match.head_to_head`: sides
   swapped, on the stage's game and evaluation seeds away from training's), as a table with 95 % intervals and a
   plot together with the training log's win rates (`win_rate/random`, `win_rate/easy` of `metrics.jsonl`, once
   training games against those bots have ended). A match that the time left cannot pay for is left out and the
   report says so. The untrained policy's matches run in a second process while training runs (training uses one
   core; a laptop has two), the last and middle checkpoints' matches against `random` there too while this process
   plays those against `easy`.
4. The last checkpoint (blue) against `easy`, watched (a GIF and its score card).

Every figure in the report comes from this run; the text says what happened, rising or not.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fourfold.core.demo import DemoContext
from fourfold.core.report import Section
from fourfold.five.agents import BotAgent, PolicyAgent, run_checkpoints
from fourfold.five.evaluate import EVAL_SEED
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import TICKS_PER_DECISION, TICKS_PER_SECOND
from fourfold.five.match import MatchResult
from fourfold.five.train import DEFAULT_CURRICULUM, TrainConfig
from fourfold.five.watch import WatchConfig, WatchSummary, watch

BLUE_BOT = "hard"
RED_BOT = "medium"
EVAL_BOTS = ("easy", "random")
"""The yardsticks of the self-play step, in the order they are evaluated (easy first: it is the informative one)."""
EVAL_GAMES = 32
"""Games per evaluation match (half with the policy on each side)."""
DECISIONS_PER_SECOND_OF_BUDGET = 150
"""A cautious rate of play + render + GIF encoding on a busy laptop core (decisions per second of budget), used to
cut a watched game short when its budget is small; the compiled game alone runs thousands of decisions a second."""
BOT_GAME_SHARE = 0.08
"""Part of the step's budget for the bot game."""
BOT_GAME_MAX_SECONDS = 20.0
WATCH_SHARE = 0.08
"""Part of what is left after the bot game kept for watching the trained policy (and writing the report)."""
EVAL_SHARE = 0.35
"""Part of what is left after the bot game kept for the evaluation matches."""
TRAIN_STARTUP_SECONDS = 20.0
"""What `train` spends outside its `minutes` (imports, the first compiled calls, the last iteration, the checkpoint),
taken off its time so that it ends inside its share."""
MIN_SELFPLAY_SECONDS = 45.0
"""Below this much time left after the bot game, self-play is not attempted."""
CHECKPOINT_EVERY = 4
"""Training iterations between checkpoints (a middle one for the evaluation)."""
EVAL_COST_FACTOR = 0.8
"""A match step of half the training's games costs about this fraction of a training rollout step (measured 0.5 to
0.7 on a busy 2-core machine); used to plan the first match before one has been timed."""


def run_demo(context: DemoContext) -> None:
    """The bot game, then self-play training, its evaluation and a game of the trained policy (module docstring)."""
    # 1. The bot game, in a small part of the budget.
    _bot_game(context, min(BOT_GAME_MAX_SECONDS, BOT_GAME_SHARE * context.time_left()))
    bot_game_seconds = context.budget_seconds - context.time_left()
    # 2-4. Self-play in the rest.
    left = context.time_left()
    if left < MIN_SELFPLAY_SECONDS:
        context.section.text(
            f"Self-play training was left out: {max(left, 0.0):.0f} s of the step's budget remained after the bot game "
            f"(it needs {MIN_SELFPLAY_SECONDS:.0f} s); give `fourfold demo` a larger --budget-minutes."
        )
        return
    _self_play(context, left, bot_game_seconds)


def _bot_game(context: DemoContext, seconds: float) -> None:
    """Play hard vs medium to the end (or as far as `seconds` allow), write the GIF, replay and score card."""
    section = context.section
    affordable = int(max(10.0, seconds) * DECISIONS_PER_SECOND_OF_BUDGET)
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
    verdict = _verdict(summary, BLUE_BOT, RED_BOT, "the enemy ancient fell")
    section.text(
        f"A game of Five's scripted bots, {BLUE_BOT} (blue) against {RED_BOT} (red), 5 heroes a side on the three-lane "
        f"map, seed {context.seed}: {verdict} after {_game_minutes(summary):.1f} game-minutes ({summary.decisions:,} "
        f"decisions of 10 heroes). `fourfold five watch --blue {BLUE_BOT} --red {RED_BOT}` plays it again (and writes "
        f"an MP4)."
    )
    _gif(
        section,
        summary,
        f"{BLUE_BOT} (blue, bottom left) vs {RED_BOT} (red, top right): heroes are the large discs, creeps the small "
        f"ones, towers and ancients the squares, each with its hit-point bar",
    )
    _score_table(section, summary)
    replay = next((f for f in summary.files if f.endswith("replay.npz")), "")
    section.text(
        f"The replay file ({replay}) holds the seed and every decision's actions; "
        f"`fourfold five watch --replay {replay}` plays the same game again, exactly."
    )


@dataclass
class _Evaluated:
    """One policy of the run (the untrained one, a middle or the last checkpoint) and its evaluation matches."""

    label: str
    step: int
    checkpoint: Path | None
    """None: the untrained policy."""
    results: dict[str, MatchResult] = field(default_factory=dict)


def _self_play(context: DemoContext, left: float, bot_game_seconds: float) -> None:
    """Train on the 1v1 stage, evaluate the untrained, the last and a middle policy, watch the last one."""
    from fourfold.five.train import train

    section = context.section
    stage = DEFAULT_CURRICULUM[0]
    game = stage.game
    run = context.out_dir / "selfplay"
    started = time.monotonic()
    # 2. Train for what the evaluation and the last game leave; meanwhile the second core evaluates the untrained
    # policy (training uses one core).
    watch_reserve = WATCH_SHARE * left
    train_seconds = max(10.0, left - EVAL_SHARE * left - watch_reserve - TRAIN_STARTUP_SECONDS)
    config = TrainConfig(
        out=run,
        minutes=train_seconds / 60.0,
        curriculum=(stage,),
        checkpoint_every=CHECKPOINT_EVERY,
        keep_checkpoints=10_000,
        overwrite=True,
        progress=False,
        seed=context.seed,
    )
    untrained = _Evaluated("untrained", 0, None)
    evaluator = _Evaluator(config, game, context.seed)
    try:
        for bot in EVAL_BOTS:
            evaluator.submit(untrained, bot)
        summary = train(config)
        trained_at = time.monotonic()
        metrics = _read_metrics(run / "metrics.jsonl")
        section.text(
            f"Self-play PPO (`fourfold five train`, its default settings) on the first curriculum stage, "
            f"{stage.name}: {game.heroes_per_team} hero a side on the {game.map} map, games of at most "
            f"{game.time_cap_seconds:.0f} game-seconds, won at once by {game.kills_to_win} kills or "
            f"{game.towers_to_win} tower. In {summary.seconds:.0f} s it trained {summary.steps:,} agent-steps "
            f"({summary.iterations} iterations of {config.num_games} games x {config.num_steps} decisions, "
            f"{summary.steps_per_second:,.0f} agent-steps/s); {summary.games} training games ended. The run folder "
            f"is {run}."
        )

        # 3. Evaluate the last checkpoint (and then a middle one) against easy here and random in the second process.
        checkpoints = run_checkpoints(run)
        rollout_step = _median([m["time/rollout_seconds"] for m in metrics if "time/rollout_seconds" in m])
        decisions = game.time_cap_ticks // TICKS_PER_DECISION
        evaluator.estimate = EVAL_COST_FACTOR * 2 * decisions * rollout_step / config.num_steps
        policies = [untrained, _Evaluated("last", *checkpoints[-1])]
        if len(checkpoints) > 1:
            policies.append(
                _Evaluated("middle", *min(checkpoints[:-1], key=lambda c: abs(c[0] - checkpoints[-1][0] / 2)))
            )
        for policy in policies[1:]:
            evaluator.collect(0.0)
            if context.time_left() - watch_reserve < evaluator.cost():
                break
            evaluator.submit(policy, "random")
            evaluator.play_here(policy, "easy", context.seed)
        # Wait for what the second process is still playing, as long as the time kept for the last game allows.
        evaluator.collect(max(0.0, context.time_left() - watch_reserve - 1.0))
    finally:
        evaluator.close()
    evaluated_at = time.monotonic()
    played = [p for p in policies if p.results]
    if played:
        _evaluation_table(section, played)
        plot = _plot(metrics, played, context.out_dir / "selfplay-win-rates.png", stage.name)
        section.image(
            plot,
            f"win rate against random and easy by agent-step: lines, the training games' (last 100 of each); "
            f"points, the evaluation matches ({EVAL_GAMES} games, 95 % intervals)",
        )
    skipped = [f"{p.label} vs {bot}" for p in policies for bot in EVAL_BOTS if bot not in p.results]
    section.text(_findings(played, metrics, skipped))

    # 4. The last checkpoint against easy, watched.
    last_step, last = checkpoints[-1]
    affordable = int(max(5.0, context.time_left() - 3.0) * DECISIONS_PER_SECOND_OF_BUDGET / 2)
    watched = watch(
        WatchConfig(
            run=str(last),
            red="easy",
            out=context.out_dir / "trained",
            seed=context.seed,
            max_decisions=affordable if affordable < decisions else 0,
            frame_every=8,
            fps=12.0,
            width=320,
            video="gif",
        )
    )
    verdict = _verdict(watched, "the policy", "easy", "two kills or the first tower")
    section.text(
        f"The last checkpoint (step {last_step:,}, blue) against easy (red), seed {context.seed}: {verdict} after "
        f"{_game_minutes(watched):.1f} game-minutes. `fourfold five watch {run}` plays it again."
    )
    _gif(section, watched, f"the trained policy (blue, bottom left) against easy (red, top right), {stage.name}")
    _score_table(section, watched)
    section.text(
        f"Time: the bot game {bot_game_seconds:.0f} s, training {trained_at - started:.0f} s (the untrained "
        f"policy's matches beside it in a second process), evaluation {evaluated_at - trained_at:.0f} s, the last "
        f"game {time.monotonic() - evaluated_at:.0f} s; the step's budget was {context.budget_seconds:.0f} s."
    )


class _Evaluator:
    """Evaluation matches here and in a second process: training uses one core, and a laptop has two.

    The second process takes matches from a queue, plays them as `_play` does here, and sends back each result and
    how long it took; it is stopped (terminated, if still playing) when the evaluation's time is up.
    """

    def __init__(self, config: TrainConfig, game: GameConfig, seed: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch and numba threads
        self._tasks: Any = context.Queue()
        self._results: Any = context.Queue()
        self._process = context.Process(
            target=_evaluation_worker, args=(config, game, seed, self._tasks, self._results), daemon=True
        )
        self._process.start()
        self._config, self._game = config, game
        self._pending: dict[tuple[str, str], _Evaluated] = {}
        self._timed: list[float] = []
        self.estimate = 0.0
        """Seconds a match takes before one has been timed."""

    def cost(self) -> float:
        """Seconds a match takes: the longest timed so far (a match lasts as long as its longest game, and the
        stage's games are alike), else `estimate`."""
        return max(self._timed) if self._timed else self.estimate

    def submit(self, policy: _Evaluated, bot: str) -> None:
        """Queue `policy` against `bot` for the second process."""
        self._pending[(policy.label, bot)] = policy
        self._tasks.put((policy.label, policy.checkpoint, bot))

    def play_here(self, policy: _Evaluated, bot: str, seed: int) -> None:
        """Play `policy` against `bot` in this process."""
        started = time.monotonic()
        policy.results[bot] = _play(self._config, self._game, seed, policy.checkpoint, bot)
        self._timed.append(time.monotonic() - started)

    def collect(self, seconds: float) -> None:
        """Take the second process's results, waiting up to `seconds` for all it was given."""
        import queue

        deadline = time.monotonic() + seconds
        while self._pending:
            try:
                label, bot, result, took = self._results.get(timeout=max(0.01, min(1.0, deadline - time.monotonic())))
            except queue.Empty:
                if time.monotonic() >= deadline or not self._process.is_alive():
                    return
                continue
            self._pending.pop((label, bot)).results[bot] = result
            self._timed.append(took)

    def close(self) -> None:
        """Stop the second process (at once if it is still playing a match nobody waits for)."""
        self._tasks.put(None)
        self._process.join(timeout=0.0 if self._pending else 5.0)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()


def _evaluation_worker(config: TrainConfig, game: GameConfig, seed: int, tasks: Any, results: Any) -> None:
    """The second process of `_Evaluator`: play each queued match, send back (label, bot, result, seconds)."""
    import torch

    torch.set_num_threads(1)
    while (task := tasks.get()) is not None:
        label, checkpoint, bot = task
        started = time.monotonic()
        result = _play(config, game, seed, checkpoint, bot)
        results.put((label, bot, result, time.monotonic() - started))


def _play(config: TrainConfig, game: GameConfig, seed: int, checkpoint: Path | None, bot: str) -> MatchResult:
    """`EVAL_GAMES` games of a checkpoint (None: the untrained policy) against `bot`, sides swapped."""
    import torch

    from fourfold.five.match import head_to_head
    from fourfold.five.policy import FivePolicy

    if checkpoint is None:
        torch.manual_seed(config.seed)  # as the run's learner starts: a fresh policy of its configuration and seed
        agent = PolicyAgent(FivePolicy(config.policy), seed=seed, name="untrained")
    else:
        agent = PolicyAgent(checkpoint, seed=seed, name=checkpoint.name)
    opponent = BotAgent(bot, seed=seed + 1)
    return head_to_head(agent, opponent, EVAL_GAMES, game, seed=EVAL_SEED, num_parallel=math.ceil(EVAL_GAMES / 2))


def _evaluation_table(section: Section, played: list[_Evaluated]) -> None:
    rows = []
    for policy in sorted(played, key=lambda p: p.step):
        cells: list[object] = [f"{policy.step:,} ({policy.label})"]
        for bot in reversed(EVAL_BOTS):
            result = policy.results.get(bot)
            if result is None:
                cells.append("not played (time)")
                continue
            low, high = result.interval
            cells.append(
                f"{result.win_rate:.0%} [{low:.0%}, {high:.0%}] ({result.wins} W {result.losses} L {result.draws} D)"
            )
        rows.append(cells)
    header = ["agent-step", *(f"win rate vs {bot} [95 % interval]" for bot in reversed(EVAL_BOTS))]
    section.table(header, rows)


def _findings(played: list[_Evaluated], metrics: list[dict[str, float]], skipped: list[str]) -> str:
    """What the evaluation shows, in words, from this run's numbers."""
    sentences = []
    by_label = {p.label: p for p in played}
    first, last = by_label.get("untrained"), by_label.get("last")
    for bot in EVAL_BOTS:
        before = first.results.get(bot) if first else None
        after = last.results.get(bot) if last else None
        if before is None or after is None:
            continue
        change = after.win_rate - before.win_rate
        if after.interval[0] > before.interval[1]:
            trend = "rose clearly (the 95 % intervals do not overlap)"
        elif change > 0:
            trend = "rose, but within the noise of these games (the intervals overlap)"
        elif change == 0:
            trend = "did not change"
        else:
            trend = "did not rise"
        draws = f"; {after.draws} of {after.games} games of the last policy were draws" if after.draws else ""
        sentences.append(
            f"Against {bot} the win rate {trend}: {before.win_rate:.0%} untrained, {after.win_rate:.0%} after "
            f"training{draws}."
        )
    logged = {name: [m[f"win_rate/{name}"] for m in metrics if f"win_rate/{name}" in m] for name in EVAL_BOTS}
    if any(logged.values()):
        sentences.append(
            "The training log's win rates (last 100 games of each kind) ended at "
            + ", ".join(f"{values[-1]:.0%} against {name}" for name, values in logged.items() if values)
            + "."
        )
    else:
        sentences.append("No training game against random or easy ended within this run, so the log has no win rate.")
    if skipped:
        sentences.append(f"Not played for lack of time: {', '.join(skipped)}.")
    sentences.append(
        "A short run on a laptop is the start of a curve: the issue's goals (90 % against easy) take minutes to hours "
        "of training (docs/five.md)."
    )
    return " ".join(sentences)


def _plot(metrics: list[dict[str, float]], played: list[_Evaluated], path: Path, stage: str) -> Path:
    """Win rate against each bot by agent-step: the training log's lines and the evaluations' points with intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"random": "tab:gray", "easy": "tab:green"}
    figure, axes = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    try:
        for bot in EVAL_BOTS:
            logged = [(m["step"], m[f"win_rate/{bot}"]) for m in metrics if f"win_rate/{bot}" in m]
            if logged:
                axes.plot(*zip(*logged, strict=True), color=colors[bot], linewidth=1.4, label=f"training vs {bot}")
            points = sorted((p.step, p.results[bot]) for p in played if bot in p.results)
            if points:
                steps = [step for step, _ in points]
                rates = [r.win_rate for _, r in points]
                below = [r.win_rate - r.interval[0] for _, r in points]
                above = [r.interval[1] - r.win_rate for _, r in points]
                axes.errorbar(
                    steps, rates, yerr=[below, above], fmt="o", color=colors[bot], capsize=4, label=f"eval vs {bot}"
                )
        axes.set_ylim(-0.05, 1.05)
        axes.set_title(f"Five self-play ({stage}): win rate against the bots")
        axes.set_xlabel("agent-steps")
        axes.set_ylabel("win rate (draws half)")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path


def _read_metrics(path: Path) -> list[dict[str, float]]:
    from fourfold.core.runlog import read_metrics

    return read_metrics(path) if path.is_file() else []


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2] if values else 1.0


def _game_minutes(summary: WatchSummary) -> float:
    return summary.decisions * TICKS_PER_DECISION / TICKS_PER_SECOND / 60.0


def _verdict(summary: WatchSummary, blue: str, red: str, early: str) -> str:
    """How the watched game ended, in words (`early`: what ends a game before its time cap)."""
    at_cap = summary.decisions * TICKS_PER_DECISION >= round(summary.time_cap_seconds * TICKS_PER_SECOND)
    how = " on score at the time cap" if at_cap else f" ({early})"
    ended = {"blue": f"{blue} (blue) won{how}", "red": f"{red} (red) won{how}", "draw": "a draw on score"}
    return ended.get(summary.winner, "cut short by the demo's time budget")


def _gif(section: Section, summary: WatchSummary, caption: str) -> None:
    gif = next((f for f in summary.files if f.endswith(".gif")), None)
    if gif is not None:
        section.image(Path(gif), caption)


def _score_table(section: Section, summary: WatchSummary) -> None:
    section.table(
        ["team", "player", "kills", "deaths", "last hits", "denies", "gold", "towers destroyed", "own ancient hp"],
        [
            [t.team, t.player, t.kills, t.deaths, t.last_hits, t.denies, t.gold, t.towers, f"{t.ancient_hp:.0%}"]
            for t in summary.teams
        ],
    )
