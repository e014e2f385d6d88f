"""DQN (Mnih et al. 2015, "Human-level control through deep reinforcement learning") in one explicit loop.

CleanRL's `dqn.py` with Stable-Baselines3's schedule: epsilon-greedy exploration decaying linearly over
`exploration_fraction` of training, a replay buffer, a target network copied every `target_update_interval`
steps, `gradient_steps` updates every `train_frequency` steps, Huber loss (SB3's smooth L1), gradient clipping;
plus double Q (van Hasselt et al. 2016), n-step returns (Sutton 1988; Hessel et al. 2018) and a linear
learning-rate decay to 0 (SB3's linear schedule) as options. Truncated steps bootstrap from their final
observation; terminated ones do not (`replay.ReplayBuffer`).

Shape legend: N num_envs, D observation size, B batch size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional

from fourfold.core.checkpoint import Checkpoint
from fourfold.core.progress import ProgressBar
from fourfold.core.runlog import Run
from fourfold.rl import checkpoints
from fourfold.rl.config import DQNConfig, RunSpec
from fourfold.rl.envs import TrainEnv, check_algorithm
from fourfold.rl.episodes import EpisodeLog
from fourfold.rl.loop import LoopResult, TrainingClock, generator_state, restore_generator
from fourfold.rl.networks import QNetwork
from fourfold.rl.replay import ReplayBuffer

LOG_INTERVAL = 1000
"""Environment steps between metrics lines."""


def build_q_network(hp: DQNConfig, observation_size: int, action_space: spaces.Space[Any]) -> QNetwork:
    """The Q network for an env's flat observation size and Discrete action space."""
    check_algorithm("dqn", action_space)
    assert isinstance(action_space, spaces.Discrete)
    return QNetwork(observation_size, int(action_space.n), hp.hidden_sizes)


def epsilon(hp: DQNConfig, step: int) -> float:
    """The exploration rate at `step`: linear from the initial to the final value over exploration_fraction."""
    progress = min(1.0, step / (hp.exploration_fraction * hp.total_steps))
    return hp.exploration_initial_eps + progress * (hp.exploration_final_eps - hp.exploration_initial_eps)


def learning_rate(hp: DQNConfig, step: int) -> float:
    """Adam's step size at `step`: constant, or with anneal_lr decaying linearly to 0 at total_steps."""
    return hp.learning_rate * (1.0 - step / hp.total_steps) if hp.anneal_lr else hp.learning_rate


def train_dqn(spec: RunSpec, run: Run, checkpoint: Checkpoint | None) -> LoopResult:
    """Train with DQN as `spec` says, logging to `run`; continue from `checkpoint` when given."""
    train, hp = spec.train, spec.algorithm
    assert isinstance(hp, DQNConfig)

    # 1. Envs, networks, optimizer, replay, the loop's own random stream.
    env = TrainEnv(train.env, hp.num_envs, scale_observations=hp.scale_observations)
    torch.manual_seed(train.seed)
    q_network = build_q_network(hp, env.observation_size, env.action_space)
    target_network = build_q_network(hp, env.observation_size, env.action_space)
    target_network.load_state_dict(q_network.state_dict())
    optimizer = torch.optim.Adam(q_network.parameters(), lr=hp.learning_rate, fused=True)
    rng = np.random.default_rng(train.seed)
    replay = ReplayBuffer(hp.buffer_size, hp.num_envs, env.observation_size, (), np.int64)
    episodes = EpisodeLog()
    num_actions = int(env.action_space.n)  # type: ignore[attr-defined]
    modules: dict[str, nn.Module] = {"q_network": q_network, "target_network": target_network}

    global_step = last_log = 0
    loss_sum, q_sum, updates = torch.zeros(()), torch.zeros(()), 0  # since the last metrics line
    observations = env.reset(train.seed)  # (N, D)
    if checkpoint is not None:
        checkpoints.load_modules(checkpoint, modules)
        state = checkpoint.state
        optimizer.load_state_dict(state["optimizer"])
        restore_generator(rng, state["rng"])
        episodes.load_state_dict(state["episodes"])
        replay.load_state_dict(state["replay"])
        global_step, last_log = int(state["global_step"]), int(state["last_log"])
        loss_sum, q_sum, updates = state["loss_sum"], state["q_sum"], int(state["updates"])
        observations = checkpoints.restore_env(env, state, train.seed, global_step)

    clock = TrainingClock(global_step, train.target_return, train.stop_at_target)
    last_checkpoint = global_step
    with ProgressBar(hp.total_steps, "dqn", unit="step", enabled=train.progress) as bar:
        bar.advance(global_step)
        while global_step < hp.total_steps:
            # 2. Act epsilon-greedily (uniformly at random before learning starts).
            explore = epsilon(hp, global_step) if global_step >= hp.learning_starts else 1.0
            random_actions = rng.integers(0, num_actions, size=hp.num_envs)  # (N,)
            with torch.no_grad():
                greedy = q_network(torch.from_numpy(observations)).argmax(dim=1).numpy()  # (N,)
            actions = np.where(rng.random(hp.num_envs) < explore, random_actions, greedy)

            # 3. Step the envs and store the transitions.
            result = env.step(actions)
            episodes.add(result)
            replay.add(
                observations, actions, result.rewards, result.next_observations, result.terminated, result.truncated
            )
            observations = result.observations
            global_step += hp.num_envs
            bar.advance(hp.num_envs)

            # 4. Learn: gradient steps on replayed batches; copy the target network when due.
            if global_step >= hp.learning_starts and (global_step // hp.num_envs) % hp.train_frequency == 0:
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(hp, global_step)
                for _ in range(hp.gradient_steps):
                    batch = replay.sample(hp.batch_size, rng, hp.gamma, hp.n_step)
                    batch_observations = torch.from_numpy(batch.observations)  # (B, D)
                    next_observations = torch.from_numpy(batch.next_observations)  # (B, D)
                    with torch.no_grad():
                        next_q = target_network(next_observations)  # (B, num_actions)
                        if hp.double_q:
                            chosen = q_network(next_observations).argmax(dim=1, keepdim=True)
                            next_value = next_q.gather(1, chosen).squeeze(1)
                        else:
                            next_value = next_q.max(dim=1).values
                        targets = torch.from_numpy(batch.rewards) + torch.from_numpy(batch.discounts) * next_value
                    actions_taken = torch.from_numpy(batch.actions).unsqueeze(1)  # (B, 1)
                    q_values = q_network(batch_observations).gather(1, actions_taken).squeeze(1)  # (B,)
                    loss = functional.smooth_l1_loss(q_values, targets)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()  # type: ignore[no-untyped-call]
                    nn.utils.clip_grad_norm_(q_network.parameters(), hp.max_grad_norm)
                    optimizer.step()
                    loss_sum += loss.detach()
                    q_sum += q_values.detach().mean()
                    updates += 1
            if (global_step // hp.num_envs) % max(1, hp.target_update_interval // hp.num_envs) == 0:
                target_network.load_state_dict(q_network.state_dict())

            # 5. Log, checkpoint when due, stop at the target return.
            done = clock.stop(episodes) or global_step >= hp.total_steps
            if global_step - last_log >= LOG_INTERVAL or done:
                metrics = {
                    "global_step": float(global_step),
                    "charts/sps": clock.steps_per_second(global_step),
                    "charts/epsilon": explore,
                    "charts/learning_rate": learning_rate(hp, global_step),
                    **episodes.metrics(),
                }
                if updates:
                    metrics["losses/td_loss"] = loss_sum.item() / updates
                    metrics["losses/q_values"] = q_sum.item() / updates
                    loss_sum, q_sum, updates = torch.zeros(()), torch.zeros(()), 0
                run.log(global_step, metrics)
                last_log = global_step
                if episodes.recent_mean is not None:
                    bar.set_postfix(f"return {episodes.recent_mean:.1f}")
            due = train.checkpoint_every > 0 and global_step - last_checkpoint >= train.checkpoint_every
            if due or done:
                state = {
                    "global_step": global_step,
                    "last_log": last_log,
                    "loss_sum": loss_sum,
                    "q_sum": q_sum,
                    "updates": updates,
                    "optimizer": optimizer.state_dict(),
                    "rng": generator_state(rng),
                    "episodes": episodes.state_dict(),
                    "replay": replay.state_dict(),
                    "env": env.get_state(),
                    "observations": observations,
                }
                checkpoints.save(run, spec, global_step, modules, state)
                last_checkpoint = global_step
            if done:
                break
    env.close()
    return clock.result(global_step, episodes)
