"""SAC (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications") in one explicit loop.

CleanRL's `sac_continuous_action.py` with Stable-Baselines3's update order: a tanh-squashed Gaussian actor, twin
critics with Polyak-averaged targets (clipped double Q, Fujimoto et al. 2018), automatic tuning of the entropy
coefficient towards an entropy of -action_dim (or a fixed coefficient), `gradient_steps` updates every
`train_frequency` steps. Truncated steps bootstrap from their final observation (`replay.ReplayBuffer`).

Warm-up actions (before `learning_starts`) are uniform, or with `warmup_noise="ou"` an Ornstein-Uhlenbeck process
(Uhlenbeck and Ornstein 1930; Lillicrap et al. 2016 explored with it): each env's action drifts with a correlation
time of `OU_STEPS` steps, so a car at the bottom of MountainCarContinuous is pushed the same way long enough to
swing up and find the goal, which uniform noise almost never does.

Shape legend: N num_envs, D observation size, A action size, B batch size.
"""

from __future__ import annotations

import math
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
from fourfold.rl.config import RunSpec, SACConfig
from fourfold.rl.envs import TrainEnv, check_algorithm
from fourfold.rl.episodes import EpisodeLog
from fourfold.rl.loop import LoopResult, TrainingClock, generator_state, restore_generator, torch_generator
from fourfold.rl.networks import SquashedGaussianActor, TwinCritic
from fourfold.rl.replay import ReplayBuffer

LOG_INTERVAL = 1000
"""Environment steps between metrics lines."""
OU_STEPS = 50.0
"""Correlation time of the Ornstein-Uhlenbeck warm-up noise, in steps."""
OU_SCALE = 0.8
"""Stationary std of the warm-up noise, as a fraction of the half action range."""


def build_actor(hp: SACConfig, observation_size: int, action_space: spaces.Space[Any]) -> SquashedGaussianActor:
    """The actor for an env's flat observation size and Box action space."""
    check_algorithm("sac", action_space)
    assert isinstance(action_space, spaces.Box)
    low = torch.as_tensor(action_space.low, dtype=torch.float32).flatten()
    high = torch.as_tensor(action_space.high, dtype=torch.float32).flatten()
    return SquashedGaussianActor(observation_size, low.numel(), hp.hidden_sizes, low, high)


def train_sac(spec: RunSpec, run: Run, checkpoint: Checkpoint | None) -> LoopResult:
    """Train with SAC as `spec` says, logging to `run`; continue from `checkpoint` when given."""
    train, hp = spec.train, spec.algorithm
    assert isinstance(hp, SACConfig)

    # 1. Envs, networks, optimizers, replay, the loop's own random streams.
    env = TrainEnv(train.env, hp.num_envs, scale_observations=hp.scale_observations)
    torch.manual_seed(train.seed)
    actor = build_actor(hp, env.observation_size, env.action_space)
    action_size = int(actor.scale.numel())
    critic = TwinCritic(env.observation_size, action_size, hp.hidden_sizes)
    target_critic = TwinCritic(env.observation_size, action_size, hp.hidden_sizes)
    target_critic.load_state_dict(critic.state_dict())
    critic_parameters: list[torch.Tensor] = list(critic.parameters())
    target_parameters: list[torch.Tensor] = list(target_critic.parameters())
    log_alpha = nn.Parameter(torch.tensor(math.log(hp.ent_coef if hp.ent_coef is not None else hp.ent_coef_init)))
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=hp.learning_rate, fused=True)
    critic_optimizer = torch.optim.Adam(critic.parameters(), lr=hp.learning_rate, fused=True)
    alpha_optimizer = torch.optim.Adam([log_alpha], lr=hp.learning_rate, fused=True)
    target_entropy = -float(action_size)
    generator = torch_generator(train.seed)
    rng = np.random.default_rng(train.seed)
    replay = ReplayBuffer(hp.buffer_size, hp.num_envs, env.observation_size, (action_size,), np.float32)
    episodes = EpisodeLog()
    low, high = env.action_space.low.flatten(), env.action_space.high.flatten()  # type: ignore[attr-defined]
    noise = np.zeros((hp.num_envs, action_size))  # (N, A) the OU warm-up state, in [-1, 1] units
    modules: dict[str, nn.Module] = {"actor": actor, "critic": critic, "target_critic": target_critic}

    global_step = last_log = 0
    sums = {"critic": torch.zeros(()), "actor": torch.zeros(()), "alpha": torch.zeros(()), "q": torch.zeros(())}
    updates = 0
    observations = env.reset(train.seed)  # (N, D)
    if checkpoint is not None:
        checkpoints.load_modules(checkpoint, modules)
        state = checkpoint.state
        for optimizer, key in ((actor_optimizer, "actor"), (critic_optimizer, "critic"), (alpha_optimizer, "alpha")):
            optimizer.load_state_dict(state[f"{key}_optimizer"])
        with torch.no_grad():
            log_alpha.copy_(state["log_alpha"])
        generator.set_state(state["generator"])
        restore_generator(rng, state["rng"])
        episodes.load_state_dict(state["episodes"])
        replay.load_state_dict(state["replay"])
        noise = state["noise"]
        global_step, last_log, updates = int(state["global_step"]), int(state["last_log"]), int(state["updates"])
        sums = state["sums"]
        observations = checkpoints.restore_env(env, state, train.seed, global_step)

    clock = TrainingClock(global_step, train.target_return, train.stop_at_target)
    last_checkpoint = global_step
    decay = 1.0 - 1.0 / OU_STEPS
    with ProgressBar(hp.total_steps, "sac", unit="step", enabled=train.progress) as bar:
        bar.advance(global_step)
        while global_step < hp.total_steps:
            # 2. Act: warm-up noise before learning starts, then the stochastic policy.
            if global_step < hp.learning_starts:
                if hp.warmup_noise == "ou":
                    shock = rng.standard_normal((hp.num_envs, action_size))
                    noise = decay * noise + math.sqrt(1.0 - decay**2) * OU_SCALE * shock
                    unit = np.clip(noise, -1.0, 1.0)
                else:
                    unit = rng.uniform(-1.0, 1.0, size=(hp.num_envs, action_size))
                actions = (low + (unit + 1.0) * 0.5 * (high - low)).astype(np.float32)  # (N, A)
            else:
                with torch.no_grad():
                    actions = actor(torch.from_numpy(observations), generator)[0].numpy()  # (N, A)

            # 3. Step the envs and store the transitions.
            result = env.step(actions.reshape((hp.num_envs, *env.action_space.shape)))  # type: ignore[misc]
            episodes.add(result)
            replay.add(
                observations, actions, result.rewards, result.next_observations, result.terminated, result.truncated
            )
            observations = result.observations
            global_step += hp.num_envs
            bar.advance(hp.num_envs)

            # 4. Learn: temperature, critics, actor, then the targets' Polyak update.
            if global_step >= hp.learning_starts and (global_step // hp.num_envs) % hp.train_frequency == 0:
                for _ in range(hp.gradient_steps):
                    batch = replay.sample(hp.batch_size, rng, hp.gamma)
                    batch_observations = torch.from_numpy(batch.observations)  # (B, D)
                    batch_actions = torch.from_numpy(batch.actions)  # (B, A)
                    new_actions, log_probs = actor(batch_observations, generator)
                    if hp.ent_coef is None:
                        alpha_loss = -(log_alpha * (log_probs.detach() + target_entropy)).mean()
                        alpha_optimizer.zero_grad(set_to_none=True)
                        alpha_loss.backward()
                        alpha_optimizer.step()
                        sums["alpha"] += alpha_loss.detach()
                    alpha = log_alpha.detach().exp()
                    with torch.no_grad():
                        next_observations = torch.from_numpy(batch.next_observations)
                        next_actions, next_log_probs = actor(next_observations, generator)
                        next_q1, next_q2 = target_critic(next_observations, next_actions)
                        soft_value = torch.min(next_q1, next_q2) - alpha * next_log_probs  # (B,)
                        targets = torch.from_numpy(batch.rewards) + torch.from_numpy(batch.discounts) * soft_value
                    q1, q2 = critic(batch_observations, batch_actions)
                    critic_loss = 0.5 * (functional.mse_loss(q1, targets) + functional.mse_loss(q2, targets))
                    critic_optimizer.zero_grad(set_to_none=True)
                    critic_loss.backward()  # type: ignore[no-untyped-call]
                    critic_optimizer.step()
                    new_q1, new_q2 = critic(batch_observations, new_actions)
                    actor_loss = (alpha * log_probs - torch.min(new_q1, new_q2)).mean()
                    actor_optimizer.zero_grad(set_to_none=True)
                    actor_loss.backward()
                    actor_optimizer.step()
                    with torch.no_grad():  # one fused call for all parameters, as torch.optim does
                        torch._foreach_lerp_(target_parameters, critic_parameters, hp.tau)
                    sums["critic"] += critic_loss.detach()
                    sums["actor"] += actor_loss.detach()
                    sums["q"] += q1.detach().mean()
                    updates += 1

            # 5. Log, checkpoint when due, stop at the target return.
            done = clock.stop(episodes) or global_step >= hp.total_steps
            if global_step - last_log >= LOG_INTERVAL or done:
                metrics = {
                    "global_step": float(global_step),
                    "charts/sps": clock.steps_per_second(global_step),
                    "losses/alpha": log_alpha.exp().item(),
                    **episodes.metrics(),
                }
                if updates:
                    metrics["losses/qf_loss"] = sums["critic"].item() / updates
                    metrics["losses/actor_loss"] = sums["actor"].item() / updates
                    metrics["losses/qf_values"] = sums["q"].item() / updates
                    if hp.ent_coef is None:
                        metrics["losses/alpha_loss"] = sums["alpha"].item() / updates
                    sums = {key: torch.zeros(()) for key in sums}
                    updates = 0
                run.log(global_step, metrics)
                last_log = global_step
                if episodes.recent_mean is not None:
                    bar.set_postfix(f"return {episodes.recent_mean:.1f}")
            due = train.checkpoint_every > 0 and global_step - last_checkpoint >= train.checkpoint_every
            if due or done:
                state = {
                    "global_step": global_step,
                    "last_log": last_log,
                    "updates": updates,
                    "sums": sums,
                    "actor_optimizer": actor_optimizer.state_dict(),
                    "critic_optimizer": critic_optimizer.state_dict(),
                    "alpha_optimizer": alpha_optimizer.state_dict(),
                    "log_alpha": log_alpha.detach().clone(),
                    "generator": generator.get_state(),
                    "rng": generator_state(rng),
                    "episodes": episodes.state_dict(),
                    "replay": replay.state_dict(),
                    "noise": noise,
                    "env": env.get_state(),
                    "observations": observations,
                }
                checkpoints.save(run, spec, global_step, modules, state)
                last_checkpoint = global_step
            if done:
                break
    env.close()
    return clock.result(global_step, episodes)
