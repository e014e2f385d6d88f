"""Ratings of Five agents: TrueSkill with OpenAI Five's setup, Elo beside it, win rates with 95 % Wilson intervals.

OpenAI Five measured progress in TrueSkill (Herbrich et al. 2006) against a reference pool of agents (Berner et al.
2019, "Dota 2 with Large Scale Deep Reinforcement Learning", section 4.1 and Appendix J), with the usual prior
mu = 25, sigma = 25 / 3, performance spread beta = 25 / 6 and dynamics tau = sigma / 100, and anchored the scale so
that the random agent stands at 0. Here each agent is one TrueSkill player (a team of five is one player: all its
heroes share one policy), the draw probability is the share of drawn games among the games rated, and the anchor
(`random`) is held at its prior: its rating is never updated, and every reported mu is relative to its mu, so
`random` is exactly 0 and a rating reads as "TrueSkill above random".

Elo (K = 16 by default, 400-point logistic scale) is computed from the same games beside it, the anchor also held
at 0. Both are sequential: the games of all pairs are rated interleaved (game 0 of every pair, then game 1, ...), so
no pair's games all come last.

`Ladder` collects match results (`match.MatchResult`) and rates every agent from them; `spearman` measures whether
ratings rise with checkpoint order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from fourfold.core.config import require
from fourfold.five.tournament import Z_95, wilson_interval

if TYPE_CHECKING:
    from fourfold.five.match import MatchResult

MU = 25.0
"""TrueSkill prior mean (OpenAI Five's, the package's default)."""
SIGMA = MU / 3.0
"""TrueSkill prior standard deviation."""
BETA = SIGMA / 2.0
"""TrueSkill performance spread: a beta of rating difference is about a 76 % win chance."""
TAU = SIGMA / 100.0
"""TrueSkill dynamics: the standard deviation added before each game, so ratings can still move."""
ANCHOR = "random"
"""The agent held at rating 0."""
ELO_K = 16.0
"""Elo update step."""
ELO_SCALE = 400.0
"""Elo points of rating difference for 10:1 odds."""
MAX_DRAW_PROBABILITY = 0.9
"""TrueSkill needs a draw probability below 1; a pool of all-drawn games is rated as if 90 % were."""


def win_rate_interval(score: float, games: int, z: float = Z_95) -> tuple[float, float]:
    """The 95 % Wilson score interval (Wilson 1927) of a win rate: `score` points (draws half) of `games` games."""
    return wilson_interval(score, games, z)


class GameRecord(NamedTuple):
    """One game between two agents: `score` is 1 when `first` won, 0 when it lost, 0.5 for a draw."""

    first: str
    second: str
    score: float


@dataclass
class Rating:
    """One agent's ratings and record."""

    name: str
    mu: float
    """TrueSkill mean relative to the anchor's (the anchor is 0)."""
    sigma: float
    """TrueSkill standard deviation."""
    elo: float
    """Elo, the anchor at 0."""
    games: int
    score: float
    """Points (wins + draws / 2) over all its games."""

    @property
    def conservative(self) -> float:
        """mu - 3 sigma: TrueSkill's conservative estimate."""
        return self.mu - 3.0 * self.sigma


def interleave(results: Sequence[MatchResult]) -> list[GameRecord]:
    """The games of `results` in rating order: game 0 of every match, then game 1, and so on."""
    records = []
    longest = max((r.games for r in results), default=0)
    for k in range(longest):
        for result in results:
            if k < result.games:
                records.append(GameRecord(result.agent, result.opponent, result.scores[k]))
    return records


def draw_probability(records: Sequence[GameRecord]) -> float:
    """The share of drawn games in `records` (capped at `MAX_DRAW_PROBABILITY`)."""
    if not records:
        return 0.0
    draws = sum(1 for r in records if r.score == 0.5)
    return min(draws / len(records), MAX_DRAW_PROBABILITY)


def trueskill_ratings(
    records: Sequence[GameRecord], names: Iterable[str], anchor: str | None = ANCHOR
) -> dict[str, tuple[float, float]]:
    """(mu, sigma) of each agent after rating `records` in order; mu relative to the anchor's, which stays fixed
    (and is reported as (0, 0)).

    Without the anchor among the agents, mu is relative to the prior (25).
    """
    import trueskill

    env = trueskill.TrueSkill(mu=MU, sigma=SIGMA, beta=BETA, tau=TAU, draw_probability=draw_probability(records))
    ratings = {name: env.create_rating() for name in names}
    for first, second, score in records:
        if score < 0.5:
            winner, loser = second, first
        else:
            winner, loser = first, second
        ranks = [0, 0] if score == 0.5 else [0, 1]
        (new_winner,), (new_loser,) = env.rate([(ratings[winner],), (ratings[loser],)], ranks=ranks)
        if winner != anchor:
            ratings[winner] = new_winner
        if loser != anchor:
            ratings[loser] = new_loser
    zero = ratings[anchor].mu if anchor is not None and anchor in ratings else MU
    # The anchor defines the scale's zero: its rating is exact (sigma 0), not an estimate.
    return {name: (float(r.mu - zero), 0.0 if name == anchor else float(r.sigma)) for name, r in ratings.items()}


def elo_ratings(
    records: Sequence[GameRecord], names: Iterable[str], k: float = ELO_K, anchor: str | None = ANCHOR
) -> dict[str, float]:
    """Elo of each agent after rating `records` in order, every agent starting at 0 and the anchor held there."""
    require(k > 0, "elo_k", f"must be positive (got {k})")
    ratings = dict.fromkeys(names, 0.0)
    for first, second, score in records:
        expected = 1.0 / (1.0 + 10.0 ** ((ratings[second] - ratings[first]) / ELO_SCALE))
        change = k * (score - expected)
        if first != anchor:
            ratings[first] += change
        if second != anchor:
            ratings[second] -= change
    return ratings


class Ladder:
    """Agents rated from the matches played between them (TrueSkill and Elo, the anchor at 0)."""

    def __init__(self, names: Sequence[str], anchor: str | None = ANCHOR, elo_k: float = ELO_K) -> None:
        require(len(set(names)) == len(names), "agents", "every agent of a ladder needs its own name")
        self.names = list(names)
        self.anchor = anchor
        self.elo_k = elo_k
        self.results: list[MatchResult] = []

    def add(self, result: MatchResult) -> None:
        """Add a match's games (both agents must be on the ladder)."""
        for name in (result.agent, result.opponent):
            require(name in self.names, "agents", f"{name!r} is not on the ladder ({', '.join(self.names)})")
        self.results.append(result)

    def ratings(self) -> list[Rating]:
        """Every agent's ratings, highest TrueSkill mu first."""
        records = interleave(self.results)
        trueskill = trueskill_ratings(records, self.names, self.anchor)
        elo = elo_ratings(records, self.names, self.elo_k, self.anchor)
        games = dict.fromkeys(self.names, 0)
        points = dict.fromkeys(self.names, 0.0)
        for first, second, score in records:
            games[first] += 1
            games[second] += 1
            points[first] += score
            points[second] += 1.0 - score
        rated = [
            Rating(name, trueskill[name][0], trueskill[name][1], elo[name], games[name], points[name])
            for name in self.names
        ]
        return sorted(rated, key=lambda r: -r.mu)

    def result(self, agent: str, opponent: str) -> MatchResult | None:
        """All games of `agent` against `opponent` from `agent`'s side (None if they never met)."""
        from fourfold.five.match import MatchResult

        joined = MatchResult(agent, opponent)
        for r in self.results:
            if (r.agent, r.opponent) == (agent, opponent):
                part = r
            elif (r.agent, r.opponent) == (opponent, agent):
                part = r.swapped()
            else:
                continue
            joined.scores += part.scores
            joined.agent_blue += part.agent_blue
            joined.seeds += part.seeds
            joined.minutes += part.minutes
        return joined if joined.games else None


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks of `values`, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for m in range(i, j + 1):
            result[order[m]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return result


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation of `x` and `y` (NaN with fewer than 2 points or a constant side)."""
    require(len(x) == len(y), "spearman", f"needs two sequences of one length (got {len(x)} and {len(y)})")
    if len(x) < 2:
        return math.nan
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0.0 or vy == 0.0:
        return math.nan
    return cov / math.sqrt(vx * vy)
