"""A trained agent as a policy: load it from a run folder and act, deterministically, on observations.

`load_agent(run)` rebuilds the network a run trained (PPO's actor, DQN's Q network or SAC's actor) from its
config.json and newest checkpoint, with the observation normaliser's frozen statistics, and acts greedily: the
argmax action, the Gaussian's mean, or SAC's squashed mean. It is what `fourfold rl eval`, `fourfold rl watch`
and `fourfold gym watch --policy RUN` play.

Shape legend: N envs, D flat observation size.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from numpy.typing import NDArray
from torch import Tensor, nn

from fourfold.rl import checkpoints
from fourfold.rl.config import DQNConfig, PPOConfig, RunSpec, SACConfig, read_run
from fourfold.rl.dqn import build_q_network
from fourfold.rl.envs import ObservationEncoder, flat_size, task_spaces
from fourfold.rl.normalize import ObservationNormalizer
from fourfold.rl.ppo import build_agent
from fourfold.rl.sac import build_actor


class Agent:
    """A trained network acting greedily on a task's observations."""

    def __init__(
        self,
        spec: RunSpec,
        network: nn.Module,
        greedy: Callable[[Tensor], Tensor],
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
        normalizer: ObservationNormalizer | None,
    ) -> None:
        self.spec = spec
        self.network = network.eval()
        self.greedy = greedy
        self.observation_space = observation_space
        self.action_space = action_space
        self.normalizer = normalizer
        algorithm = spec.algorithm
        self.scale_observations = isinstance(algorithm, DQNConfig | SACConfig) and algorithm.scale_observations
        self.encode = ObservationEncoder(observation_space, self.scale_observations)

    @property
    def env_id(self) -> str:
        """The task the agent was trained on."""
        return self.spec.train.env

    def act(self, flat_observations: NDArray[np.float32]) -> NDArray[Any]:
        """Actions (N, ...) for (N, D) encoded observations (as `TrainEnv` gives them)."""
        if self.normalizer is not None:
            flat_observations = self.normalizer(flat_observations)
        with torch.no_grad():
            observations = torch.from_numpy(np.ascontiguousarray(flat_observations, dtype=np.float32))
            result = self.greedy(observations).numpy()
        if isinstance(self.action_space, spaces.Box):
            return result.reshape((result.shape[0], *self.action_space.shape))
        return result

    def __call__(self, observation: Any) -> Any:
        """The action for one observation as the env gives it (what `fourfold.gym.record` calls per env)."""
        batch = self.encode(_as_batch(self.observation_space, observation))
        action = self.act(batch)[0]
        return int(action) if isinstance(self.action_space, spaces.Discrete) else action


def load_agent(run_directory: str | Path) -> Agent:
    """The agent of a run folder (runs/rl/<name>), from its newest checkpoint.

    Raises:
        FourfoldError: the folder is not an RL run, has no checkpoint, or its checkpoint does not match its config.
    """
    directory = Path(run_directory)
    spec = read_run(directory)
    checkpoint = checkpoints.load_latest(directory)
    observation_space, action_space = task_spaces(spec.train.env)
    size = flat_size(observation_space)
    hp = spec.algorithm
    network: nn.Module
    greedy: Callable[[Tensor], Tensor]
    normalizer = None
    if isinstance(hp, PPOConfig):
        agent = build_agent(hp, size, action_space)
        checkpoints.load_modules(checkpoint, {"agent": agent})
        network, greedy = agent, agent.deterministic
        saved = checkpoint.state.get("observation_normalizer")
        if saved is not None:
            normalizer = ObservationNormalizer(size)
            normalizer.load_state_dict(saved)
    elif isinstance(hp, DQNConfig):
        q_network = build_q_network(hp, size, action_space)
        checkpoints.load_modules(checkpoint, {"q_network": q_network})
        network, greedy = q_network, lambda observations: q_network(observations).argmax(dim=1)
    else:
        assert isinstance(hp, SACConfig)
        actor = build_actor(hp, size, action_space)
        checkpoints.load_modules(checkpoint, {"actor": actor})
        network, greedy = actor, actor.deterministic
    return Agent(spec, network, greedy, observation_space, action_space, normalizer)


def _as_batch(space: spaces.Space[Any], observation: Any) -> Any:
    """One observation as a batch of one, in the layout `flatten` takes."""
    if isinstance(space, spaces.Tuple):
        return tuple(np.asarray([part]) for part in observation)
    return np.asarray([observation])


def make_single_env(env_id: str, render_mode: str | None = None) -> gymnasium.Env[Any, Any]:
    """One env of a run's task (for recording), registering fourfold's ids first."""
    import fourfold.gym  # noqa: F401

    return gymnasium.make(env_id, render_mode=render_mode)
