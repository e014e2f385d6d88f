"""Ratings: TrueSkill update direction and anchoring, Elo, the Wilson interval against known figures, Spearman."""

from __future__ import annotations

import math

import pytest

from fourfold.five.match import MatchResult
from fourfold.five.ratings import (
    MU,
    SIGMA,
    GameRecord,
    Ladder,
    elo_ratings,
    interleave,
    spearman,
    trueskill_ratings,
    win_rate_interval,
)


def test_wilson_interval_matches_known_values() -> None:
    # Wilson (1927) 95 % interval of 8 successes in 10 trials: [0.4902, 0.9433] (e.g. Newcombe 1998, table I).
    low, high = win_rate_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    # 0 of 10: [0, 0.2775]; an even record is centred on 0.5.
    low, high = win_rate_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = win_rate_interval(50, 100)
    assert low == pytest.approx(1.0 - high) and low == pytest.approx(0.4038, abs=1e-4)


def test_one_win_moves_trueskill_apart_and_shrinks_sigma() -> None:
    ratings = trueskill_ratings([GameRecord("a", "b", 1.0)], ["a", "b"], anchor=None)
    (mu_a, sigma_a), (mu_b, sigma_b) = ratings["a"], ratings["b"]
    assert mu_a > 0.0 > mu_b  # relative to the prior 25
    assert mu_a == pytest.approx(-mu_b)
    assert sigma_a < SIGMA and sigma_b < SIGMA
    # No draws among the games rated: draw probability 0, and a first win between new players gives 29.205 and
    # 20.795, both sigma 7.195 (the `trueskill` package's figures for those settings).
    assert MU + mu_a == pytest.approx(29.205, abs=1e-3)
    assert sigma_a == pytest.approx(7.195, abs=1e-3)


def test_a_draw_between_equals_keeps_their_means() -> None:
    ratings = trueskill_ratings([GameRecord("a", "b", 0.5), GameRecord("a", "b", 1.0)], ["a", "b"], anchor=None)
    # After the draw both still stand at the prior, so the win then moves them symmetrically.
    assert ratings["a"][0] == pytest.approx(-ratings["b"][0]) and ratings["a"][0] > 0.0
    assert trueskill_ratings([GameRecord("a", "b", 0.5)], ["a", "b"], anchor=None)["a"][0] == pytest.approx(0.0)


def test_random_is_fixed_at_zero_and_stronger_agents_end_higher() -> None:
    # strong beats medium 80 %, medium beats random 80 %, strong beats random always.
    results = [
        MatchResult("strong", "medium", [1.0] * 8 + [0.0] * 2),
        MatchResult("medium", "random", [1.0] * 8 + [0.0] * 2),
        MatchResult("strong", "random", [1.0] * 10),
    ]
    ladder = Ladder(["random", "medium", "strong"])
    for result in results:
        ladder.add(result)
    rated = {r.name: r for r in ladder.ratings()}
    assert rated["random"].mu == 0.0 and rated["random"].elo == 0.0
    assert rated["random"].sigma == 0.0  # the anchor is exact, never updated
    # Against a fixed anchor, one win moves only the other player (as far as against a new player).
    alone = trueskill_ratings([GameRecord("a", "random", 1.0)], ["a", "random"])
    assert alone["random"] == (0.0, 0.0) and alone["a"][0] == pytest.approx(29.205 - MU, abs=1e-3)
    assert 0.0 < rated["medium"].mu < rated["strong"].mu
    assert 0.0 < rated["medium"].elo < rated["strong"].elo
    assert [r.name for r in ladder.ratings()] == ["strong", "medium", "random"]
    assert rated["strong"].games == 20 and rated["strong"].score == 18.0


def test_elo_update_is_k_times_surprise() -> None:
    elo = elo_ratings([GameRecord("a", "b", 1.0)], ["a", "b"], k=32.0, anchor=None)
    assert elo == {"a": 16.0, "b": -16.0}
    anchored = elo_ratings([GameRecord("a", "random", 1.0)], ["a", "random"], k=16.0)
    assert anchored == {"a": 8.0, "random": 0.0}


def test_interleave_alternates_the_pairs() -> None:
    records = interleave([MatchResult("a", "b", [1.0, 0.0]), MatchResult("c", "d", [0.5])])
    assert records == [GameRecord("a", "b", 1.0), GameRecord("c", "d", 0.5), GameRecord("a", "b", 0.0)]


def test_ladder_joins_both_orders_of_a_pair() -> None:
    ladder = Ladder(["a", "b"], anchor=None)
    ladder.add(MatchResult("a", "b", [1.0, 1.0]))
    ladder.add(MatchResult("b", "a", [1.0]))
    joined = ladder.result("a", "b")
    assert joined is not None and joined.scores == [1.0, 1.0, 0.0]
    assert joined.wins == 2 and joined.losses == 1 and joined.win_rate == pytest.approx(2 / 3)
    with pytest.raises(Exception, match="not on the ladder"):
        ladder.add(MatchResult("a", "z", [1.0]))


def test_spearman() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert spearman([1, 2, 3], [1, 1, 2]) == pytest.approx(math.sqrt(3) / 2)  # ties share ranks
    assert math.isnan(spearman([1], [2]))
