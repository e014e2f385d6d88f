"""`fourfold five eval RUN --vs hard --games 200 --json`: a trained agent's win rate against a bot or a checkpoint.

The agent is a run folder (its newest checkpoint), a checkpoint folder or a bot name (`agents.agent_from_spec`); so
is the opponent (`--vs`). They play `--games` games head to head (`match.head_to_head`: sides swapped half the time,
on the same game seeds), on the game the checkpoint was last training on (its curriculum stage) unless `--map`,
`--heroes-per-team`, `--time-cap-seconds`, `--kills-to-win` or `--towers-to-win` say otherwise (`game_choice.py`).
The summary is the agent's win rate (a draw counts half) with its 95 % Wilson interval, and its wins, losses and
draws; `--json` prints it as one object:
`{"win_rate": 0.93, "interval": [0.89, 0.96], "wins": 185, "losses": 13, "draws": 2, "games": 200, ...}`.

Evaluation seeds (default 1,000,000) lie apart from the training seeds, so the agent is scored on unseen games.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import tyro

from fourfold.core.config import require
from fourfold.five.agents import Agent, agent_from_spec
from fourfold.five.bots import BOT_NAMES
from fourfold.five.game_choice import GameFlags, game_config_for

EVAL_SEED = 1_000_000
"""Default seed of evaluation games, away from training's seeds."""


@dataclass
class EvalConfig:
    """Play a Five agent against a bot or another checkpoint; report its win rate with a 95 % interval."""

    run: tyro.conf.Positional[str]
    """The agent: a run folder (its newest checkpoint), a checkpoint folder, or a bot name."""
    vs: str = "hard"
    """The opponent: random, easy, medium, hard, or a checkpoint or run folder."""
    games: int = 200
    """Games to play, half with the agent on each side."""
    seed: int = EVAL_SEED
    """Seed of the games and of the agents' sampling."""
    num_parallel: int = 64
    """Games played at once."""
    deterministic: bool = False
    """Policies take their most likely action instead of sampling."""
    game: tyro.conf.OmitArgPrefixes[GameFlags] = field(default_factory=GameFlags)
    """The game (default: the checkpoint's curriculum stage; `game_choice.GameFlags`): --stage picks another stage,
    --map, --heroes-per-team, --time-cap-seconds, --kills-to-win and --towers-to-win replace single settings."""
    threads: int = 1
    """torch threads."""

    def __post_init__(self) -> None:
        require(self.games >= 2, "games", f"must be at least 2 so that both sides are played (got {self.games})")
        require(self.num_parallel >= 1, "num_parallel", f"must be at least 1 (got {self.num_parallel})")
        require(self.threads >= 1, "threads", f"must be at least 1 (got {self.threads})")


@dataclass
class EvalSummary:
    """The agent's results against the opponent."""

    win_rate: float
    """(wins + draws / 2) / games."""
    interval: tuple[float, float]
    """95 % Wilson interval of the win rate."""
    wins: int
    losses: int
    draws: int
    games: int
    agent: str = ""
    vs: str = ""
    map: str = ""
    heroes_per_team: int = 5
    seed: int = 0
    mean_minutes: float = 0.0
    """Mean game length in game-minutes."""
    seconds: float = 0.0
    """Wall-clock seconds the games took."""

    def __str__(self) -> str:
        low, high = self.interval
        return (
            f"{self.agent} vs {self.vs} ({self.heroes_per_team}v{self.heroes_per_team}, {self.map}): "
            f"win rate {self.win_rate:.1%} [95 % interval {low:.1%}, {high:.1%}] over {self.games} games "
            f"({self.wins} W {self.losses} L {self.draws} D, {self.mean_minutes:.1f} game-minutes each, "
            f"{self.seconds:.0f} s)"
        )


def evaluate(config: EvalConfig) -> EvalSummary:
    """`fourfold five eval`: play the agent against the opponent and score it (see the module docstring)."""
    from fourfold.five.match import head_to_head

    if config.run not in BOT_NAMES or config.vs not in BOT_NAMES:
        import torch

        torch.set_num_threads(config.threads)
    agent: Agent = agent_from_spec(config.run, seed=config.seed, deterministic=config.deterministic)
    opponent: Agent = agent_from_spec(config.vs, seed=config.seed + 1, deterministic=config.deterministic)
    if agent.name == opponent.name:
        opponent.name = f"{opponent.name} (opponent)"
    game = game_config_for([config.run, config.vs], config.game)
    start = time.perf_counter()
    result = head_to_head(agent, opponent, config.games, game, config.seed, config.num_parallel)
    return EvalSummary(
        win_rate=result.win_rate,
        interval=result.interval,
        wins=result.wins,
        losses=result.losses,
        draws=result.draws,
        games=result.games,
        agent=agent.name,
        vs=opponent.name,
        map=game.map,
        heroes_per_team=game.heroes_per_team,
        seed=config.seed,
        mean_minutes=sum(result.minutes) / result.games,
        seconds=time.perf_counter() - start,
    )
