"""The networks of the three algorithms: PPO's actor-critic, DQN's Q network, SAC's squashed-Gaussian actor and
twin critics. Plain MLPs, initialised as CleanRL and Stable-Baselines3 do (orthogonal weights with gain sqrt(2) in
hidden layers, 0.01 on the policy head, 1 on the value head, for PPO; PyTorch's defaults for DQN and SAC).

Sampling takes an explicit `torch.Generator`, so a run's draws are a pure function of its seed and survive a
checkpoint; the categorical draw is a Gumbel-max over log-probabilities, which costs less than building a
`torch.distributions.Categorical` each step.

Shape legend: B batch, D observation size, A action size (actions of a discrete space: B integers).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor, nn

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
"""SAC's clamp of the actor's log std (Haarnoja et al.'s code, SB3)."""


def mlp(sizes: tuple[int, ...], activation: type[nn.Module], *, orthogonal: bool = False) -> nn.Sequential:
    """Linear layers of `sizes` (input, hidden..., output) with `activation` between them (none after the last)."""
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        linear = nn.Linear(fan_in, fan_out)
        if orthogonal:
            nn.init.orthogonal_(linear.weight, math.sqrt(2.0))
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if index < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def activation_type(name: str) -> type[nn.Module]:
    """The activation module class of a config's name ("tanh" or "relu")."""
    return {"tanh": nn.Tanh, "relu": nn.ReLU}[name]


class ActorCritic(nn.Module):
    """PPO's policy and value function as separate MLPs; a Gaussian with state-independent std for Box actions."""

    def __init__(
        self,
        observation_size: int,
        action_size: int,
        *,
        discrete: bool,
        hidden_sizes: tuple[int, ...],
        activation: str,
        log_std_init: float = 0.0,
    ) -> None:
        super().__init__()
        act = activation_type(activation)
        self.discrete = discrete
        self.actor = mlp((observation_size, *hidden_sizes, action_size), act, orthogonal=True)
        self.critic = mlp((observation_size, *hidden_sizes, 1), act, orthogonal=True)
        head = self.actor[-1]
        value_head = self.critic[-1]
        assert isinstance(head, nn.Linear) and isinstance(value_head, nn.Linear)
        nn.init.orthogonal_(head.weight, 0.01)
        nn.init.orthogonal_(value_head.weight, 1.0)
        self.log_std = nn.Parameter(torch.full((action_size,), log_std_init)) if not discrete else None

    def value(self, observations: Tensor) -> Tensor:
        """V(s), (B,)."""
        values: Tensor = self.critic(observations)
        return values.squeeze(-1)

    def act(self, observations: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """Sample actions; return actions ((B,) int64 or (B, A)), their log-probabilities (B,) and values (B,)."""
        output = self.actor(observations)  # (B, A) logits or means
        if self.discrete:
            log_probs = torch.log_softmax(output, dim=-1)  # (B, A)
            uniform = torch.rand(log_probs.shape, generator=generator).clamp_(1e-20, 1.0)
            actions = torch.argmax(log_probs - torch.log(-torch.log(uniform)), dim=-1)  # (B,) Gumbel-max
            log_prob = log_probs.gather(1, actions.unsqueeze(1)).squeeze(1)
        else:
            assert self.log_std is not None
            std = self.log_std.exp()
            actions = output + std * torch.randn(output.shape, generator=generator)  # (B, A)
            log_prob = _gaussian_log_prob(actions, output, self.log_std)
        return actions, log_prob, self.value(observations)

    def deterministic(self, observations: Tensor) -> Tensor:
        """The most likely actions (argmax, or the Gaussian's mean)."""
        output: Tensor = self.actor(observations)
        return output.argmax(dim=-1) if self.discrete else output

    def evaluate(self, observations: Tensor, actions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Log-probabilities of `actions`, entropies and values, each (B,), with gradients."""
        output = self.actor(observations)
        if self.discrete:
            log_probs = torch.log_softmax(output, dim=-1)  # (B, A)
            log_prob = log_probs.gather(1, actions.long().unsqueeze(1)).squeeze(1)
            entropy = -(log_probs.exp() * log_probs).sum(dim=-1)
        else:
            assert self.log_std is not None
            log_prob = _gaussian_log_prob(actions, output, self.log_std)
            entropy = (0.5 + 0.5 * math.log(2 * math.pi) + self.log_std).sum().expand(output.shape[0])
        return log_prob, entropy, self.value(observations)


class QNetwork(nn.Module):
    """DQN's Q(s, .): an MLP from observations to one value per action, ReLU."""

    def __init__(self, observation_size: int, num_actions: int, hidden_sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.net = mlp((observation_size, *hidden_sizes, num_actions), nn.ReLU)

    def forward(self, observations: Tensor) -> Tensor:
        """(B, num_actions) action values."""
        return self.net(observations)  # type: ignore[no-any-return]


class SquashedGaussianActor(nn.Module):
    """SAC's policy: a Gaussian squashed by tanh and scaled to the action bounds."""

    def __init__(
        self,
        observation_size: int,
        action_size: int,
        hidden_sizes: tuple[int, ...],
        low: Tensor,
        high: Tensor,
    ) -> None:
        super().__init__()
        self.trunk = mlp((observation_size, *hidden_sizes), nn.ReLU)
        self.trunk.append(nn.ReLU())
        self.mean = nn.Linear(hidden_sizes[-1], action_size)
        self.log_std = nn.Linear(hidden_sizes[-1], action_size)
        self.scale: Tensor
        self.offset: Tensor
        self.register_buffer("scale", (high - low) / 2.0)
        self.register_buffer("offset", (high + low) / 2.0)

    def forward(self, observations: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Sampled actions (B, A) in the action bounds and their log-probabilities (B,) (tanh-corrected)."""
        features = self.trunk(observations)
        mean = self.mean(features)
        log_std = self.log_std(features).clamp(LOG_STD_MIN, LOG_STD_MAX)
        std = log_std.exp()
        noise = torch.randn(mean.shape, generator=generator) if generator is not None else torch.randn_like(mean)
        raw = mean + std * noise  # (B, A) before squashing
        squashed = torch.tanh(raw)
        log_prob = _gaussian_log_prob(raw, mean, log_std)
        # The change of variables a = scale * tanh(u) + offset (Haarnoja et al. 2018, appendix C).
        log_prob = log_prob - (torch.log(self.scale * (1.0 - squashed.pow(2)) + 1e-6)).sum(dim=-1)
        return squashed * self.scale + self.offset, log_prob

    def deterministic(self, observations: Tensor) -> Tensor:
        """tanh of the mean, scaled: the action evaluation takes."""
        return torch.tanh(self.mean(self.trunk(observations))) * self.scale + self.offset


class TwinCritic(nn.Module):
    """SAC's two Q(s, a) networks (Fujimoto et al. 2018's clipped double Q)."""

    def __init__(self, observation_size: int, action_size: int, hidden_sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.q1 = mlp((observation_size + action_size, *hidden_sizes, 1), nn.ReLU)
        self.q2 = mlp((observation_size + action_size, *hidden_sizes, 1), nn.ReLU)

    def forward(self, observations: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        """Both critics' values, (B,) each."""
        inputs = torch.cat([observations, actions], dim=-1)  # (B, D + A)
        return self.q1(inputs).squeeze(-1), self.q2(inputs).squeeze(-1)


def _gaussian_log_prob(x: Tensor, mean: Tensor, log_std: Tensor) -> Tensor:
    """log N(x; mean, exp(log_std)^2) summed over the last axis, (B,)."""
    variance = torch.exp(2.0 * log_std)
    return (-((x - mean) ** 2) / (2.0 * variance) - log_std - 0.5 * math.log(2 * math.pi)).sum(dim=-1)
