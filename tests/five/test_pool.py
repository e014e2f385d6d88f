"""The opponent pool: the 80/20 split and the bots' share, sampling by quality, Five's quality-score update, the
bots' prioritised draw."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fourfold.core.config import ConfigError
from fourfold.five.pool import LATEST, OpponentPool, PoolConfig


def test_an_empty_pool_plays_the_latest_policy_and_bots() -> None:
    pool = OpponentPool(PoolConfig(bot_share=0.25, bots=("random", "easy")))
    rng = np.random.default_rng(0)
    draws = [pool.sample(rng) for _ in range(4000)]
    kinds = [d.kind for d in draws]
    assert "past" not in kinds
    assert abs(kinds.count("bot") / 4000 - 0.25) < 0.03
    names = [d.name for d in draws if d.kind == "bot"]
    assert abs(names.count("random") / len(names) - 0.5) < 0.05


def test_shares_and_past_versions_follow_the_softmax_of_quality() -> None:
    pool = OpponentPool(PoolConfig(latest_share=0.8, bot_share=0.2, bots=("easy",)))
    for version in (100, 200, 300):
        pool.add(version)
    pool.quality = [0.0, math.log(2.0), math.log(5.0)]  # probabilities 1/8, 2/8, 5/8
    rng = np.random.default_rng(1)
    n = 40_000
    draws = [pool.sample(rng) for _ in range(n)]
    share = {kind: sum(d.kind == kind for d in draws) / n for kind in ("latest", "past", "bot")}
    assert abs(share["bot"] - 0.2) < 0.01
    assert abs(share["latest"] - 0.8 * 0.8) < 0.01
    assert abs(share["past"] - 0.8 * 0.2) < 0.01
    past = [d.version for d in draws if d.kind == "past"]
    for version, p in zip((100, 200, 300), (1 / 8, 2 / 8, 5 / 8), strict=True):
        assert abs(past.count(version) / len(past) - p) < 0.02
    assert all(d == LATEST for d in draws if d.kind == "latest")


def test_quality_drops_by_eta_over_n_p_when_the_current_policy_wins() -> None:
    pool = OpponentPool(PoolConfig(quality_learning_rate=0.01))
    for version in (1, 2, 3, 4):
        pool.add(version)
    pool.quality = [0.0, 0.5, 1.0, 0.2]
    p = pool.probabilities()
    before = list(pool.quality)
    pool.record_win(3)
    assert pool.quality[2] == pytest.approx(before[2] - 0.01 / (4 * p[2]))
    assert [q for i, q in enumerate(pool.quality) if i != 2] == [q for i, q in enumerate(before) if i != 2]
    pool.record_win(99)  # not in the pool: nothing changes
    assert pool.quality[2] == pytest.approx(before[2] - 0.01 / (4 * p[2]))
    # Beating a version again and again makes it rarer.
    for _ in range(200):
        pool.record_win(3)
    assert pool.probabilities()[2] < p[2] / 2


def test_new_snapshots_enter_with_the_best_score_and_the_oldest_leave() -> None:
    pool = OpponentPool(PoolConfig(max_snapshots=3))
    pool.add(10)
    pool.add(20)
    pool.quality = [0.3, -1.0]
    pool.add(30)
    assert pool.quality[-1] == 0.3
    assert pool.add(40) == [10]
    assert pool.versions == [20, 30, 40]
    restored = OpponentPool(PoolConfig(max_snapshots=3))
    restored.load_state_dict(pool.state_dict())
    assert restored.versions == pool.versions and restored.quality == pool.quality


def test_a_bot_score_follows_its_games_and_survives_a_round_trip() -> None:
    pool = OpponentPool(PoolConfig(bot_score_rate=0.1))
    pool.record_bot_game("easy", 1.0)
    assert pool.bot_scores["easy"] == pytest.approx(0.5 + 0.1 * 0.5)
    pool.record_bot_game("easy", 0.0)
    assert pool.bot_scores["easy"] == pytest.approx(0.55 - 0.1 * 0.55)
    for _ in range(200):
        pool.record_bot_game("random", 1.0)
    assert pool.bot_scores["random"] > 0.99
    restored = OpponentPool()
    restored.load_state_dict(pool.state_dict())
    assert restored.bot_scores == pool.bot_scores
    old = pool.state_dict()
    del old["bot_scores"]  # a checkpoint from before the scores: every bot starts again at 1/2
    restored.load_state_dict(old)
    assert restored.bot_scores == {}


def test_pfsp_meets_the_bot_beaten_half_the_time_most() -> None:
    config = PoolConfig(bot_share=1.0, bots=("random", "easy", "medium"), bot_sampling="pfsp", pfsp_floor=0.02)
    pool = OpponentPool(config)
    rng = np.random.default_rng(2)
    before = [pool.sample(rng).name for _ in range(3000)]  # no games yet: every score 1/2, so uniform
    for name in config.bots:
        assert abs(before.count(name) / 3000 - 1 / 3) < 0.04
    pool.bot_scores = {"random": 1.0, "easy": 0.5, "medium": 0.1}  # weights floor 0.02, 0.25, 0.09
    expected = {"random": 0.02 / 0.36, "easy": 0.25 / 0.36, "medium": 0.09 / 0.36}
    assert pool.bot_probabilities() == pytest.approx([expected[name] for name in config.bots])
    draws = [pool.sample(rng).name for _ in range(20_000)]
    for name, p in expected.items():
        assert abs(draws.count(name) / 20_000 - p) < 0.015
    uniform = OpponentPool(PoolConfig(bot_share=1.0, bots=config.bots))
    uniform.bot_scores = dict(pool.bot_scores)  # uniform sampling ignores the scores
    names = [uniform.sample(rng).name for _ in range(3000)]
    assert abs(names.count("random") / 3000 - 1 / 3) < 0.04


def test_bad_pool_config_names_the_field() -> None:
    with pytest.raises(ConfigError, match="bots"):
        PoolConfig(bots=("nobody",))
    with pytest.raises(ConfigError, match="latest_share"):
        PoolConfig(latest_share=1.5)
    with pytest.raises(ConfigError, match="bot_score_rate"):
        PoolConfig(bot_score_rate=0.0)
