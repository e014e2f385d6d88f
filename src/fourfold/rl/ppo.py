"""PPO (Schulman et al. 2017, "Proximal Policy Optimization Algorithms") in one explicit loop.

The loop is CleanRL's `ppo.py` and `ppo_continuous_action.py` with Stable-Baselines3's options: clipped surrogate,
GAE, optional value clipping, per-minibatch advantage normalisation, entropy bonus, linear learning-rate (and clip)
decay, global gradient clipping, optional observation and reward normalisation, and early stopping on a KL target.
Time limits are handled as Pardo et al. 2018 ask: a truncated step bootstraps from the value of its final
observation (`envs.TrainEnv` hands it over), only a terminated one counts as zero.

The fast path is a fourfold task: its vector env steps all N envs in one compiled call, so the per-step Python is
one policy forward and one env call, whatever N.

Shape legend: T num_steps, N num_envs, D observation size, A action size, M minibatch size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from fourfold.core.checkpoint import Checkpoint
from fourfold.core.progress import ProgressBar
from fourfold.core.runlog import Run
from fourfold.rl import checkpoints
from fourfold.rl.advantages import gae
from fourfold.rl.config import PPOConfig, RunSpec
from fourfold.rl.envs import TrainEnv
from fourfold.rl.episodes import EpisodeLog
from fourfold.rl.loop import LoopResult, TrainingClock, torch_generator
from fourfold.rl.networks import ActorCritic
from fourfold.rl.normalize import ObservationNormalizer, RewardNormalizer
from fourfold.rl.rollout import Rollout, flatten_steps


def build_agent(hp: PPOConfig, observation_size: int, action_space: spaces.Space[Any]) -> ActorCritic:
    """The actor-critic for an env's flat observation size and action space (Discrete or Box)."""
    discrete = isinstance(action_space, spaces.Discrete)
    size = int(np.prod(action_space.shape or ()))
    action_size = int(action_space.n) if isinstance(action_space, spaces.Discrete) else size
    return ActorCritic(
        observation_size,
        action_size,
        discrete=discrete,
        hidden_sizes=hp.hidden_sizes,
        activation=hp.activation,
        log_std_init=hp.log_std_init,
    )


def train_ppo(spec: RunSpec, run: Run, checkpoint: Checkpoint | None) -> LoopResult:
    """Train with PPO as `spec` says, logging to `run`; continue from `checkpoint` when given."""
    train, hp = spec.train, spec.algorithm
    assert isinstance(hp, PPOConfig)

    # 1. Envs, networks, optimizer, the loop's own random stream.
    env = TrainEnv(train.env, hp.num_envs)
    torch.manual_seed(train.seed)
    agent = build_agent(hp, env.observation_size, env.action_space)
    optimizer = torch.optim.Adam(agent.parameters(), lr=hp.learning_rate, eps=1e-5, fused=True)
    generator = torch_generator(train.seed)
    observation_normalizer = ObservationNormalizer(env.observation_size) if hp.normalize_observation else None
    reward_normalizer = RewardNormalizer(hp.num_envs, hp.gamma) if hp.normalize_reward else None
    episodes = EpisodeLog()
    num_iterations = math.ceil(hp.total_steps / hp.batch_size)
    modules: dict[str, nn.Module] = {"agent": agent}

    start_iteration = 0
    raw_observations = env.reset(train.seed)  # (N, D)
    if checkpoint is not None:
        checkpoints.load_modules(checkpoint, modules)
        state = checkpoint.state
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        episodes.load_state_dict(state["episodes"])
        if observation_normalizer is not None:
            observation_normalizer.load_state_dict(state["observation_normalizer"])
        if reward_normalizer is not None:
            reward_normalizer.load_state_dict(state["reward_normalizer"])
        start_iteration = int(state["iteration"])
        raw_observations = checkpoints.restore_env(env, state, train.seed, start_iteration)

    storage = Rollout.allocate(hp.num_steps, hp.num_envs, env.observation_size, env.action_space.shape or ())
    minibatch_size = hp.batch_size // hp.num_minibatches  # M
    global_step = start_iteration * hp.batch_size
    clock = TrainingClock(global_step, train.target_return, train.stop_at_target)
    last_checkpoint = global_step

    def normalize(observations: np.ndarray, update: bool) -> torch.Tensor:
        if observation_normalizer is not None:
            observations = observation_normalizer(observations, update=update)
        return torch.from_numpy(observations)

    with ProgressBar(hp.total_steps, "ppo", unit="step", enabled=train.progress) as bar:
        bar.advance(global_step)
        for iteration in range(start_iteration, num_iterations):
            # 2. Anneal the learning rate and the clip range linearly to zero.
            remaining = 1.0 - iteration / num_iterations
            learning_rate = hp.learning_rate * remaining if hp.anneal_lr else hp.learning_rate
            clip_coef = hp.clip_coef * remaining if hp.anneal_clip else hp.clip_coef
            for group in optimizer.param_groups:
                group["lr"] = learning_rate

            # 3. Roll out T steps of N envs.
            storage.next_values.zero_()
            with torch.no_grad():
                for t in range(hp.num_steps):
                    observations = normalize(raw_observations, update=True)  # (N, D)
                    actions, log_probs, values = agent.act(observations, generator)
                    result = env.step(actions.numpy())
                    episodes.add(result)
                    rewards = result.rewards
                    ended = result.terminated | result.truncated  # (N,)
                    if reward_normalizer is not None:
                        rewards = reward_normalizer(rewards, ended)
                    storage.observations[t] = observations
                    storage.actions[t] = actions
                    storage.log_probs[t] = log_probs
                    storage.values[t] = values
                    storage.rewards[t] = torch.from_numpy(rewards)
                    storage.ended[t] = torch.from_numpy(ended.astype(np.float32))
                    cut = result.truncated & ~result.terminated  # (N,) time limits: bootstrap from the final obs
                    if cut.any():
                        final = normalize(result.next_observations[cut], update=False)
                        storage.next_values[t, torch.from_numpy(cut)] = agent.value(final)
                    raw_observations = result.observations
                global_step += hp.batch_size
                # Steps that did not end an episode bootstrap from the value of the next step's observation.
                last_values = agent.value(normalize(raw_observations, update=False))  # (N,)
                following = torch.cat([storage.values[1:], last_values.unsqueeze(0)])  # (T, N)
                storage.next_values += (1.0 - storage.ended) * following

            # 4. Advantages and value targets.
            advantages, returns = gae(
                storage.rewards, storage.values, storage.next_values, storage.ended, hp.gamma, hp.gae_lambda
            )

            # 5. Optimise the clipped objective over epochs of shuffled minibatches.
            b_observations = flatten_steps(storage.observations)  # (T * N, D)
            b_actions = flatten_steps(storage.actions)  # (T * N, *A)
            b_log_probs = flatten_steps(storage.log_probs)  # (T * N,)
            b_values = flatten_steps(storage.values)
            b_advantages = flatten_steps(advantages)
            b_returns = flatten_steps(returns)
            clipped_sum = torch.zeros(())
            approx_kl = torch.zeros(())
            policy_loss = value_loss = entropy = torch.zeros(())
            updates = 0
            for _epoch in range(hp.update_epochs):
                order = torch.randperm(hp.batch_size, generator=generator)
                for start in range(0, hp.batch_size, minibatch_size):
                    index = order[start : start + minibatch_size]  # (M,)
                    new_log_probs, entropies, new_values = agent.evaluate(b_observations[index], b_actions[index])
                    log_ratio = new_log_probs - b_log_probs[index]
                    ratio = log_ratio.exp()
                    with torch.no_grad():
                        approx_kl = ((ratio - 1) - log_ratio).mean()  # Schulman's k3 estimator
                        clipped_sum += ((ratio - 1.0).abs() > clip_coef).float().mean()
                    minibatch_advantages = b_advantages[index]
                    if hp.normalize_advantage and minibatch_size > 1:
                        minibatch_advantages = (minibatch_advantages - minibatch_advantages.mean()) / (
                            minibatch_advantages.std() + 1e-8
                        )
                    policy_loss = torch.max(
                        -minibatch_advantages * ratio,
                        -minibatch_advantages * ratio.clamp(1.0 - clip_coef, 1.0 + clip_coef),
                    ).mean()
                    if hp.clip_value_loss:
                        clipped = b_values[index] + (new_values - b_values[index]).clamp(-clip_coef, clip_coef)
                        value_loss = (
                            0.5
                            * torch.max((new_values - b_returns[index]) ** 2, (clipped - b_returns[index]) ** 2).mean()
                        )
                    else:
                        value_loss = 0.5 * ((new_values - b_returns[index]) ** 2).mean()
                    entropy = entropies.mean()
                    loss = policy_loss - hp.ent_coef * entropy + hp.vf_coef * value_loss
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()  # type: ignore[no-untyped-call]
                    nn.utils.clip_grad_norm_(agent.parameters(), hp.max_grad_norm)
                    optimizer.step()
                    updates += 1
                if hp.target_kl is not None and approx_kl.item() > hp.target_kl:
                    break

            # 6. Log CleanRL's metrics.
            variance = b_returns.var()
            explained = float("nan") if variance == 0 else (1 - (b_returns - b_values).var() / variance).item()
            metrics = {
                "global_step": float(global_step),
                "charts/sps": clock.steps_per_second(global_step),
                "charts/learning_rate": learning_rate,
                "losses/policy_loss": policy_loss.item(),
                "losses/value_loss": value_loss.item(),
                "losses/entropy": entropy.item(),
                "losses/approx_kl": approx_kl.item(),
                "losses/clipfrac": clipped_sum.item() / max(1, updates),
                "losses/explained_variance": explained,
                **episodes.metrics(),
            }
            run.log(global_step, metrics)
            bar.advance(hp.batch_size)
            if episodes.recent_mean is not None:
                bar.set_postfix(f"return {episodes.recent_mean:.1f}")

            # 7. Checkpoint when due, and stop at the target return.
            done = clock.stop(episodes) or iteration == num_iterations - 1
            due = train.checkpoint_every > 0 and global_step - last_checkpoint >= train.checkpoint_every
            if due or done:
                state = {
                    "iteration": iteration + 1,
                    "optimizer": optimizer.state_dict(),
                    "generator": generator.get_state(),
                    "episodes": episodes.state_dict(),
                    "env": env.get_state(),
                    "observations": raw_observations,
                    "observation_normalizer": None
                    if observation_normalizer is None
                    else observation_normalizer.state_dict(),
                    "reward_normalizer": None if reward_normalizer is None else reward_normalizer.state_dict(),
                }
                checkpoints.save(run, spec, global_step, modules, state)
                last_checkpoint = global_step
            if done:
                break
    env.close()
    return clock.result(global_step, episodes)
