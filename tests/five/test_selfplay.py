"""Self-play rollouts: recurrent state resets at game ends, advantages and values of the right shapes, opponents, and a
match saved and restored through the env's and the bots' public state (exact resume)."""

from __future__ import annotations

import numpy as np
import torch

from fourfold.five.bots import ScriptedBot, make_bot
from fourfold.five.game.config import GameConfig
from fourfold.five.match import policy_vs_bot
from fourfold.five.policy import FivePolicy
from fourfold.five.pool import LATEST, Opponent
from fourfold.five.rollout import Match, allocate_storage, match_state, new_match, play_step, restore_match
from fourfold.five.train import Stage
from fourfold.rl.advantages import gae

SHORT = Stage("short", GameConfig(map="one_lane", heroes_per_team=3, time_cap_seconds=2.0))
"""Games of 15 decisions, so a few end within a test."""


def test_rollout_resets_states_at_game_ends_and_advantages_have_hero_shape() -> None:
    torch.manual_seed(0)
    policy = FivePolicy()
    games, steps = 4, 40
    opponents = [LATEST, Opponent("bot", "easy", -1), LATEST, Opponent("bot", "random", -1)]
    match = new_match(SHORT, games, 5, 0.3, opponents, policy.config.state_size)
    bots = {"easy": make_bot("easy"), "random": make_bot("random")}
    storage = allocate_storage(steps, 8, match)
    generator = torch.Generator().manual_seed(0)
    ended = np.zeros((steps, games), dtype=bool)
    for t in range(steps):
        before = match.learner_state.clone()
        result = play_step(match, policy, {}, bots, generator)
        if t > 0:
            assert np.array_equal(result.starts, ended[t - 1])  # a step after a game end starts the next game
        ended[t] = result.terminated
        assert not torch.equal(match.learner_state, before) or result.terminated.all()
        assert torch.all(match.learner_state[torch.from_numpy(result.terminated)] == 0)
        assert torch.all(match.opponent_state[torch.from_numpy(result.terminated)] == 0)
        assert np.isnan(result.outcome[~result.terminated]).all()
        assert set(result.outcome[result.terminated]) <= {0.0, 0.5, 1.0}
        storage.rewards[t] = torch.from_numpy(result.reward)
        storage.values[t] = torch.from_numpy(result.value)
        storage.ended[t] = torch.from_numpy(result.terminated.astype(np.float32))
    assert ended[14].all() and ended[29].all() and ended.sum() == 2 * games  # 15-decision games, all in step
    k = SHORT.game.heroes_per_team
    done = storage.ended.unsqueeze(-1).expand(-1, -1, k)  # (T, G, K)
    following = torch.cat([storage.values[1:], torch.zeros(1, games, k)])
    advantages, returns = gae(storage.rewards, storage.values, following * (1 - done), done, 0.99, 0.95)
    assert advantages.shape == returns.shape == (steps, games, k)
    # At a game's last step nothing is bootstrapped from the next game: A = r - V.
    torch.testing.assert_close(advantages[14], storage.rewards[14] - storage.values[14])


def test_a_policy_against_a_bot_plays_each_game_once_and_leaves_the_policy_alone() -> None:
    policy = FivePolicy()
    result = policy_vs_bot(policy, "random", 4, SHORT.game, seed=0)
    assert result.games == 4 and sum(result.agent_blue) == 2  # sides swapped half the time
    assert 0.0 <= result.win_rate <= 1.0
    assert policy.training  # the games played a copy


def test_a_restored_match_continues_exactly() -> None:
    torch.manual_seed(0)
    policy = FivePolicy()
    opponents = [LATEST, Opponent("bot", "easy", -1), Opponent("bot", "medium", -1), LATEST]
    bots = {name: make_bot(name) for name in ("easy", "medium")}
    match = new_match(SHORT, 4, 7, 0.3, opponents, policy.config.state_size)
    generator = torch.Generator().manual_seed(1)
    for _ in range(9):
        play_step(match, policy, {}, bots, generator)
    saved, saved_generator = match_state(match, bots), generator.get_state()

    def play_on(m: Match, b: dict[str, ScriptedBot]) -> list[np.ndarray]:
        """12 decisions (the games end at decision 15 and restart: the env's seed counters matter too)."""
        steps = [play_step(m, policy, {}, b, generator) for _ in range(12)]
        return [x for step in steps for x in (step.primary, step.obs["globals"], step.outcome)] + [m.env.state.x]

    first = play_on(match, bots)
    other_bots = {name: make_bot(name) for name in ("easy", "medium")}
    other = new_match(SHORT, 4, 99, 1.0, [LATEST] * 4, policy.config.state_size)
    restore_match(other, saved, other_bots)
    generator.set_state(saved_generator)
    second = play_on(other, other_bots)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(first, second, strict=True))
    assert not np.array_equal(saved["env"]["game_state"]["x"], match.env.state.x)  # the heroes moved meanwhile
