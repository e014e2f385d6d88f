"""The PPO update of Five self-play: GAE per hero, the clipped objective over recurrent minibatches, the normaliser.

PPO (Schulman et al. 2017) as OpenAI Five ran it (Berner et al. 2019): GAE (lambda 0.95) per hero on one rollout,
the clipped objective (0.2) over minibatches of `bptt`-step sequences whose recurrent state starts from the one
stored in the rollout and is zeroed where an episode starts, `update_epochs` epochs, an entropy bonus, gradient norm
clipping. The running observation normaliser inside the policy learns from the rollout only after the PPO step:
updated before, it would change the policy the stored log-probabilities came from (ratios != 1 before any gradient
step). Shared by the in-process loop (`selfplay.py`) and the learner of the rollout workers (`distributed.py`).

Shape legend: T num_steps, C = T / bptt chunks, L = bptt, G games, K heroes of a team, S state size, M sequences per
minibatch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from fourfold.five.policy import FivePolicy, joint_log_prob
from fourfold.five.rollout import Storage
from fourfold.five.train import TrainConfig
from fourfold.rl.advantages import gae

LOSS_NAMES = ("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac", "grad_norm")


@dataclass
class Update:
    """What one PPO update did."""

    losses: dict[str, float]
    """`LOSS_NAMES` -> the mean over the minibatch steps."""
    returns: Tensor
    """(T, G, K) the GAE returns (value targets)."""
    explained_variance: float
    """1 - Var(returns - values) / Var(returns) of the rollout's values (NaN when the returns are constant)."""


def sequences(x: Tensor, chunks: int) -> Tensor:
    """(T, G, ...) -> (L, C * G, ...): the rollout cut into C sequences of L steps per game."""
    t, g = x.shape[:2]
    length = t // chunks
    return x.reshape(chunks, length, g, *x.shape[2:]).transpose(0, 1).reshape(length, chunks * g, *x.shape[2:])


def ppo_update(
    policy: FivePolicy,
    optimizer: torch.optim.Optimizer,
    storage: Storage,
    last_value: Tensor,
    config: TrainConfig,
    ent_coef: float,
    learning_rate: float,
    generator: torch.Generator,
) -> Update:
    """GAE, `config.update_epochs` epochs of PPO at step size `learning_rate` over recurrent minibatches (their order
    drawn from `generator`), then the normaliser update, on one rollout of T steps of G games (`last_value` (G, K):
    the bootstrap)."""
    t, g, k = storage.rewards.shape
    chunks = t // config.bptt
    num_sequences = chunks * g
    minibatch = math.ceil(num_sequences / config.num_minibatches)  # M
    # 1. Advantages (GAE) per hero.
    ended = storage.ended.unsqueeze(-1).expand(-1, -1, k)  # (T, G, K)
    following = torch.cat([storage.values[1:], last_value.unsqueeze(0)])  # (T, G, K)
    next_values = following * (1.0 - ended)
    advantages, returns = gae(storage.rewards, storage.values, next_values, ended, config.gamma, config.gae_lambda)

    # 2. PPO over recurrent minibatches of bptt-step sequences.
    policy.train()
    seq_obs = {key: sequences(value, chunks) for key, value in storage.obs.items()}  # (L, C*G, K, ...)
    seq_starts = sequences(storage.starts, chunks)  # (L, C*G)
    seq_actions = sequences(storage.actions, chunks)  # (L, C*G, K, 3)
    seq_log_probs = sequences(storage.log_probs, chunks)
    seq_advantages = sequences(advantages, chunks)
    seq_returns = sequences(returns, chunks)
    seq_states = storage.states.reshape(num_sequences, k, -1)  # (C*G, K, S), chunk-major like `sequences`
    for group in optimizer.param_groups:
        group["lr"] = learning_rate
    stats = dict.fromkeys(LOSS_NAMES, 0.0)
    updates = 0
    for _epoch in range(config.update_epochs):
        order = torch.randperm(num_sequences, generator=generator)
        for first in range(0, num_sequences, minibatch):
            index = order[first : first + minibatch]  # (M,)
            obs = {key: value[:, index] for key, value in seq_obs.items()}
            out = policy(obs, seq_states[index], seq_starts[:, index])
            actions = seq_actions[:, index]
            log_prob, entropy = joint_log_prob(out, actions[..., 0], actions[..., 1], actions[..., 2])
            log_ratio = log_prob - seq_log_probs[:, index]
            ratio = log_ratio.exp()
            adv = seq_advantages[:, index]
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            policy_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - config.clip_coef, 1 + config.clip_coef))
            policy_loss = policy_loss.mean()
            value_loss = 0.5 * ((out.value - seq_returns[:, index]) ** 2).mean()
            entropy_mean = entropy.mean()
            loss = policy_loss + config.vf_coef * value_loss - ent_coef * entropy_mean
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
            optimizer.step()
            with torch.no_grad():
                stats["policy_loss"] += policy_loss.item()
                stats["value_loss"] += value_loss.item()
                stats["entropy"] += entropy_mean.item()
                stats["approx_kl"] += ((ratio - 1) - log_ratio).mean().item()
                stats["clipfrac"] += ((ratio - 1.0).abs() > config.clip_coef).float().mean().item()
                stats["grad_norm"] += float(grad_norm)
            updates += 1

    # 3. The normaliser learns from this rollout only now (see the module docstring).
    policy.update_normalizer(storage.obs)
    policy.eval()
    variance = returns.var()
    explained = 1.0 - float((returns - storage.values).var() / variance) if variance > 0 else float("nan")
    return Update({name: value / max(1, updates) for name, value in stats.items()}, returns, explained)
