"""Matches: fixed seeds reproduce a match exactly, sides are swapped half the time, each game counts once."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from fourfold.five.agents import Actions, Agent, BotAgent, PolicyAgent
from fourfold.five.env import FiveVecEnv
from fourfold.five.game.config import GameConfig
from fourfold.five.match import batch_seed, head_to_head, play_match

SMALL = GameConfig(map="one_lane", heroes_per_team=3, time_cap_seconds=60.0)
"""A small, quick game that hard wins against easy (by kills at the time cap) from either side."""


class Recorder:
    """An agent that plays as `inner` and hashes every action it gives."""

    def __init__(self, inner: Agent) -> None:
        self.inner = inner
        self.name = inner.name
        self.digest = hashlib.sha256()
        self.calls = 0

    def reset(self, num_games: int) -> None:
        self.inner.reset(num_games)

    def act(self, env: FiveVecEnv, team: int) -> Actions:
        actions = self.inner.act(env, team)
        for array in actions:
            self.digest.update(np.ascontiguousarray(array).tobytes())
        self.calls += 1
        return actions

    def observe_done(self, done: np.ndarray) -> None:
        self.inner.observe_done(done)


def _policy_agent(seed: int) -> PolicyAgent:
    import torch

    from fourfold.five.policy import FivePolicy, PolicyConfig

    torch.manual_seed(0)
    return PolicyAgent(FivePolicy(PolicyConfig(unit_dim=8, global_dim=16, hidden_dim=16, pooled_dim=8)), seed=seed)


def test_fixed_seeds_reproduce_a_match_exactly() -> None:
    config = GameConfig(map="one_lane", heroes_per_team=1, time_cap_seconds=8.0)
    digests, results = [], []
    for _ in range(2):
        blue, red = Recorder(_policy_agent(seed=5)), Recorder(BotAgent("random", seed=3))
        results.append(play_match(blue, red, 3, config, seed=11, num_parallel=2))
        digests.append((blue.digest.hexdigest(), red.digest.hexdigest()))
        assert blue.calls == red.calls > 0
    assert digests[0] == digests[1]
    assert results[0] == results[1]
    # Another match seed plays other games; another agent seed samples other actions.
    moved = play_match(_policy_agent(seed=5), BotAgent("random", seed=3), 3, config, seed=12, num_parallel=2)
    assert moved.seeds != results[0].seeds
    other = Recorder(_policy_agent(seed=6))
    play_match(other, BotAgent("random", seed=3), 3, config, seed=11, num_parallel=2)
    assert other.digest.hexdigest() != digests[0][0]


def test_batches_never_share_a_game_seed() -> None:
    result = play_match(
        BotAgent("easy"),
        BotAgent("easy"),
        5,
        GameConfig(map="one_lane", heroes_per_team=1, time_cap_seconds=4.0),
        seed=0,
        num_parallel=2,
    )
    assert len(result.seeds) == len(set(result.seeds)) == 5
    assert batch_seed(0, 0) != batch_seed(0, 1) != batch_seed(1, 0)


def test_head_to_head_swaps_sides_on_the_same_seeds() -> None:
    result = head_to_head(BotAgent("hard"), BotAgent("easy"), 4, SMALL, seed=1, num_parallel=4)
    assert (result.agent, result.opponent) == ("hard", "easy")
    assert result.agent_blue == [True, True, False, False]
    assert result.seeds[:2] == result.seeds[2:]
    # hard beats easy from either side: red wins are counted for red, each game once.
    assert result.scores == [1.0, 1.0, 1.0, 1.0]
    assert (result.wins, result.losses, result.draws, result.games) == (4, 0, 0, 4)
    low, high = result.interval
    assert 0.5 < low < high == 1.0
    reverse = play_match(BotAgent("easy"), BotAgent("hard"), 2, SMALL, seed=1, num_parallel=2)
    assert reverse.scores == [0.0, 0.0] and reverse.swapped().scores == [1.0, 1.0]
    assert all(m == pytest.approx(1.0) for m in result.minutes)  # decided by kills at the 60 s cap


def test_games_must_be_positive() -> None:
    with pytest.raises(Exception, match="games"):
        play_match(BotAgent("easy"), BotAgent("easy"), 0, SMALL)
    with pytest.raises(Exception, match="both sides"):
        head_to_head(BotAgent("easy"), BotAgent("easy"), 1, SMALL)
