"""The opponent pool of self-play: the latest policy, past snapshots with quality scores, and scripted bots.

OpenAI Five (Berner et al. 2019, "Dota 2 with Large Scale Deep Reinforcement Learning", Appendix, "Opponent
sampling") trained 80 % of its games against the latest parameters and 20 % against past versions, to avoid strategy
collapse. Each past version i has a quality score q_i; it is sampled with probability p_i = softmax(q)_i. When the
current agent beats version i, its score drops: q_i <- q_i - eta / (N p_i) (N past versions; eta = 0.01), so
versions that are easy to beat are met less and less. A new snapshot enters with the highest score in the pool.

Here a share of games (`bot_share`) goes to scripted bots (`bots.py`), the rest is split `latest_share` :
`1 - latest_share` between the latest policy and past snapshots (all latest while the pool is empty). The trainer
draws an opponent per game when the game starts, so opponents change only between games.

The bots are met uniformly, or (`bot_sampling="pfsp"`) by AlphaStar's prioritised fictitious self-play with its
"variance" weighting (Vinyals et al. 2019, "Grandmaster level in StarCraft II using multi-agent reinforcement
learning", Methods, "Prioritized fictitious self-play"): bot b is met with weight max(x_b (1 - x_b), floor), x_b the
learner's recent score against it (an average over about the last 1 / `bot_score_rate` games, 1/2 before the
first), so games go to the bots the learner beats about half the time, not to one it always beats or never does.

The pool holds versions and scores only; the snapshots' weights are kept by the trainer (in memory and on disk).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from fourfold.core.config import require
from fourfold.five.bots import BOT_NAMES

OpponentKind = Literal["latest", "past", "bot"]


class Opponent(NamedTuple):
    """Who plays the other side of a game."""

    kind: OpponentKind
    name: str
    """"latest", the bot's name, or "v<step>" for a past snapshot."""
    version: int
    """The snapshot's step for a past version, else -1."""


LATEST = Opponent("latest", "latest", -1)

UNSCORED = 0.5
"""The score against a bot before the first game against it."""


@dataclass(frozen=True)
class PoolConfig:
    """How opponents are drawn (see the module docstring)."""

    latest_share: float = 0.8
    """Share of self-play games (not against bots) played against the latest policy; the rest against past ones."""
    bot_share: float = 0.2
    """Share of all games played against scripted bots."""
    bots: tuple[str, ...] = ("random", "easy")
    """The bots met."""
    bot_sampling: Literal["uniform", "pfsp"] = "uniform"
    """How a bot game's bot is drawn: uniformly, or weighted by the learner's recent score (see the docstring)."""
    bot_score_rate: float = 0.02
    """Step size of the recent score against each bot (an exponential average over about 1 / rate games)."""
    pfsp_floor: float = 0.02
    """The least weight of a bot under pfsp, so a bot the learner always beats is still met now and then."""
    quality_learning_rate: float = 0.01
    """eta of the quality-score update (Five's 0.01)."""
    max_snapshots: int = 50
    """Past versions kept; the oldest is dropped beyond this."""

    def __post_init__(self) -> None:
        require(0.0 <= self.latest_share <= 1.0, "latest_share", f"must be in [0, 1] (got {self.latest_share})")
        require(0.0 <= self.bot_share <= 1.0, "bot_share", f"must be in [0, 1] (got {self.bot_share})")
        require(
            all(b in BOT_NAMES for b in self.bots),
            "bots",
            f"must name bots among {', '.join(BOT_NAMES)} (got {', '.join(self.bots)})",
        )
        require(self.bot_share == 0.0 or len(self.bots) > 0, "bots", "must name a bot when bot_share > 0")
        require(0.0 < self.bot_score_rate <= 1.0, "bot_score_rate", f"must be in (0, 1] (got {self.bot_score_rate})")
        require(self.pfsp_floor > 0.0, "pfsp_floor", f"must be positive (got {self.pfsp_floor})")
        require(self.quality_learning_rate >= 0.0, "quality_learning_rate", "must be 0 or more")
        require(self.max_snapshots >= 1, "max_snapshots", f"must be at least 1 (got {self.max_snapshots})")


@dataclass
class OpponentPool:
    """Past versions with quality scores, and the draw of each game's opponent."""

    config: PoolConfig = field(default_factory=PoolConfig)
    versions: list[int] = field(default_factory=list)
    """Steps of the past snapshots, oldest first."""
    quality: list[float] = field(default_factory=list)
    """q_i of each version."""
    bot_scores: dict[str, float] = field(default_factory=dict)
    """Bot -> the learner's recent score against it (wins + draws / 2, exponentially averaged)."""

    def add(self, version: int) -> list[int]:
        """Add a snapshot (entering with the highest score); returns the versions dropped to stay within the cap."""
        self.quality.append(max(self.quality) if self.quality else 0.0)
        self.versions.append(int(version))
        dropped = []
        while len(self.versions) > self.config.max_snapshots:
            dropped.append(self.versions.pop(0))
            self.quality.pop(0)
        return dropped

    def probabilities(self) -> NDArray[np.float64]:
        """(N,) p_i = softmax(q)_i of the past versions."""
        q = np.asarray(self.quality, dtype=np.float64)
        if q.size == 0:
            return q
        e = np.exp(q - q.max())
        probabilities: NDArray[np.float64] = e / e.sum()
        return probabilities

    def sample(self, rng: np.random.Generator) -> Opponent:
        """One game's opponent."""
        c = self.config
        if c.bot_share > 0.0 and rng.random() < c.bot_share:
            if c.bot_sampling == "uniform":
                name = c.bots[int(rng.integers(len(c.bots)))]
            else:
                name = c.bots[int(rng.choice(len(c.bots), p=self.bot_probabilities()))]
            return Opponent("bot", name, -1)
        if not self.versions or rng.random() < c.latest_share:
            return LATEST
        i = int(rng.choice(len(self.versions), p=self.probabilities()))
        return Opponent("past", f"v{self.versions[i]}", self.versions[i])

    def bot_probabilities(self) -> NDArray[np.float64]:
        """(len(bots),) pfsp's chance of each bot: max(x (1 - x), floor), normalised."""
        scores = np.array([self.bot_scores.get(name, UNSCORED) for name in self.config.bots], dtype=np.float64)
        weights = np.maximum(scores * (1.0 - scores), self.config.pfsp_floor)
        probabilities: NDArray[np.float64] = weights / weights.sum()
        return probabilities

    def record_result(self, opponent: Opponent, outcome: float) -> None:
        """A game against `opponent` ended with `outcome` (1 win, 0.5 draw, 0 loss): a win over a past version into
        its quality score, a bot game into the bot's recent score."""
        if opponent.kind == "past" and outcome == 1.0:
            self.record_win(opponent.version)
        if opponent.kind == "bot":
            self.record_bot_game(opponent.name, outcome)

    def record_bot_game(self, name: str, outcome: float) -> None:
        """A game against bot `name` ended with `outcome` (1 win, 0.5 draw, 0 loss): into its recent score."""
        score = self.bot_scores.get(name, UNSCORED)
        self.bot_scores[name] = score + self.config.bot_score_rate * (outcome - score)

    def record_win(self, version: int) -> None:
        """The current policy beat past `version`: q_i -= eta / (N p_i) (no change for an unknown version)."""
        if version not in self.versions:
            return
        i = self.versions.index(version)
        p = self.probabilities()
        self.quality[i] -= self.config.quality_learning_rate / (len(self.versions) * p[i])

    def state_dict(self) -> dict[str, Any]:
        return {"versions": list(self.versions), "quality": list(self.quality), "bot_scores": dict(self.bot_scores)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.versions = [int(v) for v in state["versions"]]
        self.quality = [float(q) for q in state["quality"]]
        self.bot_scores = {str(k): float(v) for k, v in state.get("bot_scores", {}).items()}
