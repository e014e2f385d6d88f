"""FivePolicy: masks are respected (no invalid action is ever sampled), shapes, recurrent resets, save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fourfold.core.checkpoint import CheckpointError
from fourfold.core.config import ConfigError
from fourfold.five.actions import NUM_OFFSETS, NUM_TARGETS
from fourfold.five.env import FiveVecEnv
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import ACTION_ATTACK, NUM_PRIMARY
from fourfold.five.game.observe import GLOBAL_HEROES, NUM_GLOBAL, NUM_UNIT_FEATURES
from fourfold.five.policy import (
    FORWARD_MOVE,
    FivePolicy,
    PolicyConfig,
    joint_log_prob,
    load_policy,
    parameter_count,
    save_policy,
    team_observation,
    to_tensors,
)


def random_obs(rng: np.random.Generator, n: int, k: int) -> dict[str, np.ndarray]:
    """Random features and random masks (each row keeps at least one allowed entry, as the env guarantees)."""

    def mask(*shape: int) -> np.ndarray:
        m = rng.random(shape) < rng.uniform(0.05, 0.6)
        empty = ~m.any(-1)
        pick = rng.integers(0, shape[-1], size=empty.shape)
        m[empty, pick[empty]] = True
        return m

    globals_ = rng.normal(size=(n, k, NUM_GLOBAL)).astype(np.float32)
    globals_[..., GLOBAL_HEROES + np.arange(k) * 4] = 1.0
    return {
        "globals": globals_,
        "units": rng.normal(size=(n, k, NUM_TARGETS, NUM_UNIT_FEATURES)).astype(np.float32),
        "unit_present": rng.random((n, k, NUM_TARGETS)) < 0.5,
        "mask_primary": mask(n, k, NUM_PRIMARY),
        "mask_target": mask(n, k, NUM_PRIMARY, NUM_TARGETS),
        "mask_offset": mask(n, k, NUM_PRIMARY, NUM_OFFSETS),
    }


@pytest.mark.parametrize("core", ["gru", "lstm", "ff"])
def test_no_invalid_action_is_sampled_under_random_masks(core: str) -> None:
    torch.manual_seed(0)
    policy = FivePolicy(PolicyConfig(core=core))  # type: ignore[arg-type]
    rng = np.random.default_rng(1)
    generator = torch.Generator().manual_seed(2)
    n, k = 64, 5
    for _ in range(12):
        obs = random_obs(rng, n, k)
        # Sharpen the logits so sampling would land on masked entries if the masks were not applied.
        with torch.no_grad():
            policy.primary_head.bias.normal_(0.0, 20.0)
        out = policy.act(obs, policy.initial_state(n, k), np.zeros(n, dtype=bool), False, generator)
        rows, heroes = np.indices((n, k))
        assert obs["mask_primary"][rows, heroes, out.primary].all()
        assert obs["mask_target"][rows, heroes, out.primary, out.target_index].all()
        assert obs["mask_offset"][rows, heroes, out.primary, out.offset_index].all()
        assert np.isfinite(out.log_prob).all() and np.isfinite(out.value).all()
        greedy = policy.act(obs, policy.initial_state(n, k), np.zeros(n, dtype=bool), True, generator)
        assert obs["mask_primary"][rows, heroes, greedy.primary].all()
        assert obs["mask_target"][rows, heroes, greedy.primary, greedy.target_index].all()


def test_policy_acts_on_env_observations_with_valid_actions() -> None:
    env = FiveVecEnv(4, GameConfig(), seed=3)
    obs, _ = env.reset()
    policy = FivePolicy()
    generator = torch.Generator().manual_seed(0)
    games = np.arange(4)
    state = [policy.initial_state(4), policy.initial_state(4)]
    starts = np.ones(4, dtype=bool)
    for _ in range(20):
        primary = np.zeros((4, 10), dtype=np.int64)
        target = np.zeros_like(primary)
        offset = np.zeros_like(primary)
        for team in (0, 1):
            out = policy.act(team_observation(obs, games, np.full(4, team), 5), state[team], starts, False, generator)
            state[team] = out.state
            span = slice(5 * team, 5 * team + 5)
            primary[:, span], target[:, span], offset[:, span] = out.primary, out.target_index, out.offset_index
        obs, _, terminated, _, _ = env.step(primary, target, offset)  # raises on any action the masks forbid
        starts = terminated


def test_sequence_forward_matches_steps_and_resets_state_at_episode_starts() -> None:
    torch.manual_seed(0)
    policy = FivePolicy()
    rng = np.random.default_rng(0)
    length, n, k = 6, 3, 2
    steps = [random_obs(rng, n, k) for _ in range(length)]
    seq = {key: torch.from_numpy(np.stack([s[key] for s in steps])) for key in steps[0]}
    starts = torch.zeros(length, n, dtype=torch.bool)
    starts[3, 1] = True
    state0 = torch.randn(n, k, policy.config.state_size)
    out = policy(seq, state0, starts)
    assert out.primary_logits.shape == (length, n, k, NUM_PRIMARY)
    assert out.target_logits.shape == (length, n, k, NUM_PRIMARY, NUM_TARGETS)
    assert out.offset_logits.shape == (length, n, k, NUM_PRIMARY, NUM_OFFSETS)
    assert out.value.shape == (length, n, k) and out.state.shape == (n, k, policy.config.state_size)
    state = state0
    for t in range(length):
        one = policy({key: value[t] for key, value in seq.items()}, state, starts[t])
        torch.testing.assert_close(one.value, out.value[t])
        state = one.state
    torch.testing.assert_close(state, out.state)
    # Game 1 restarts at step 3: from there on its outputs do not depend on the state it carried in.
    other = policy(seq, torch.randn(n, k, policy.config.state_size), starts)
    torch.testing.assert_close(other.value[3:, 1], out.value[3:, 1])
    assert not torch.allclose(other.value[:3, 1], out.value[:3, 1])


def test_joint_log_prob_is_finite_and_its_gradient_too() -> None:
    policy = FivePolicy()
    obs = {key: torch.from_numpy(v) for key, v in random_obs(np.random.default_rng(4), 8, 5).items()}
    out = policy(obs, policy.initial_state(8), torch.zeros(8, dtype=torch.bool))
    from fourfold.five.policy import sample_heads

    primary, target, offset = sample_heads(out, False, torch.Generator().manual_seed(0))
    log_prob, entropy = joint_log_prob(out, primary, target, offset)
    (log_prob.sum() + entropy.sum()).backward()  # type: ignore[no-untyped-call]
    assert all(torch.isfinite(p.grad).all() for p in policy.parameters() if p.grad is not None)


def test_default_policy_is_small() -> None:
    assert parameter_count(FivePolicy()) < 400_000


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    policy = FivePolicy(PolicyConfig(core="lstm", hidden_dim=64, pooled_dim=32))
    policy.update_normalizer({k: torch.from_numpy(v) for k, v in random_obs(np.random.default_rng(0), 4, 5).items()})
    save_policy(tmp_path / "p", policy)
    loaded, config = load_policy(tmp_path / "p")
    assert config == policy.config
    for name, tensor in policy.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name])
    with pytest.raises(CheckpointError):
        load_policy(tmp_path / "missing")


def test_exploration_prior_favours_the_forward_move_and_attack_and_can_be_turned_off() -> None:
    env = FiveVecEnv(4, GameConfig(map="one_lane", heroes_per_team=1), seed=0)
    obs, _ = env.reset()
    games = np.arange(4)
    team_obs = team_observation(obs, games, games % 2, 1)  # blue and red: the team frame makes them alike
    starts = torch.ones(4, dtype=torch.bool)
    for biased in (True, False):
        torch.manual_seed(0)
        config = PolicyConfig() if biased else PolicyConfig(forward_bias=0.0, attack_bias=0.0)
        policy = FivePolicy(config)
        out = policy(to_tensors(team_obs), policy.initial_state(4, 1), starts)
        probs = torch.softmax(out.primary_logits, -1)[:, 0].detach()  # (4, P)
        allowed = torch.from_numpy(team_obs["mask_primary"][:, 0])  # (4, P)
        uniform = 1.0 / allowed.sum(-1)  # (4,)
        forward = probs[:, FORWARD_MOVE]
        if biased:
            assert bool((forward > 3.0 * uniform).all())
            assert float(policy.primary_head.bias[ACTION_ATTACK].detach()) == config.attack_bias
        else:
            assert torch.allclose(forward, uniform, atol=0.02)
    with pytest.raises(ConfigError, match="forward_bias"):
        PolicyConfig(forward_bias=float("nan"))
