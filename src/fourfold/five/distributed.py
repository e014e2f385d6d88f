"""Rollout workers and a learner for Five self-play: OpenAI Five's "Rapid" split at laptop scale.

OpenAI Five (Berner et al. 2019, "Dota 2 with Large Scale Deep Reinforcement Learning", section 3.3 and Appendix C)
separates rollout workers, which play games with a copy of the parameters at some version, from the optimizer,
which consumes their experience and publishes new versions. Two figures tell how healthy the split is: staleness
(the learner's version minus the version a batch was played with) and sample reuse (samples consumed by the
optimizer per sample produced).

Here a `RolloutWorker` holds its own `FiveVecEnv` games (G / N of the G games), its own random streams fixed by
(seed, worker index), its own copy of the opponent pool's scores and of the past snapshots it plays. `collect`
takes a `RolloutRequest` (parameter version, weights, team spirit, pool state, new snapshots) and returns a
`RolloutBatch` of T decisions of its games tagged with that version. The workers live in this process
(`backend="local"`, the default) or as Ray actors (`backend="ray"`, extra `[distributed]`), behind one interface.

`train_distributed` is the learner: in `mode="sync"` each iteration sends the same version to every worker and
consumes their batches in worker order (concatenated along games), so a fixed seed gives the same weights and
metrics locally and on Ray; in `mode="async"` it updates on whichever batch arrives first and sends that worker the
new version (locally: first in, first out, a deterministic pipeline). It reuses the self-play pieces of
`selfplay.py` (`new_match`, `play_step`, `allocate_storage`, `_sequences`) and `rl.advantages.gae`; the curriculum,
checkpoints and resume stay with `selfplay.train_selfplay` (this loop trains the first stage).

Shape legend: T num_steps, C = T / bptt chunks, L = bptt, G games (of a worker or of a batch), K heroes a team,
S state size, M sequences per minibatch, N workers.
"""

from __future__ import annotations

import copy
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from fourfold.core.config import ConfigError, require
from fourfold.core.runlog import Run
from fourfold.five.bots import BOT_NAMES, make_bot
from fourfold.five.policy import OBS_KEYS, FivePolicy, joint_log_prob, team_observation
from fourfold.five.pool import OpponentPool
from fourfold.five.rewards import RewardConfig
from fourfold.five.selfplay import Storage, _sequences, _win_rates, allocate_storage, new_match, play_step
from fourfold.five.train import TrainConfig
from fourfold.rl.advantages import gae

Weights = dict[str, Tensor]


@dataclass(frozen=True)
class DistributedConfig:
    """How rollouts are spread over workers (the self-play settings are `train`)."""

    train: TrainConfig = field(default_factory=TrainConfig)
    workers: int = 1
    """N rollout workers; each plays train.num_games / N games."""
    backend: Literal["local", "ray"] = "local"
    """Workers in this process, or as Ray actors (needs `pip install fourfold[distributed]`)."""
    mode: Literal["sync", "async"] = "sync"
    """sync: every worker plays the same version, batches consumed in worker order (reproducible); async: the learner
    updates on whichever batch arrives first."""
    iterations: int = 10
    """Learner updates."""

    def __post_init__(self) -> None:
        require(self.workers >= 1, "workers", f"must be at least 1 (got {self.workers})")
        require(
            self.train.num_games % self.workers == 0,
            "workers",
            f"must divide num_games ({self.train.num_games}) so every worker plays as many games (got {self.workers})",
        )
        require(self.backend in ("local", "ray"), "backend", f"must be local or ray (got {self.backend!r})")
        require(self.mode in ("sync", "async"), "mode", f"must be sync or async (got {self.mode!r})")
        require(self.iterations >= 1, "iterations", f"must be at least 1 (got {self.iterations})")


@dataclass(frozen=True)
class RolloutRequest:
    """What a worker needs to play one batch (the weights travel beside it, shared by all workers)."""

    version: int
    team_spirit: float
    pool: dict[str, Any]
    """`OpponentPool.state_dict()` of the learner: the past versions and their quality scores."""
    snapshots: dict[int, Weights]
    """Weights of past versions this worker has not been sent yet."""


@dataclass
class RolloutBatch:
    """T decisions of a worker's G games, played with parameter `version`."""

    worker: int
    version: int
    storage: Storage
    last_value: Tensor
    """(G, K) the value of the observation after the last step (GAE bootstrap)."""
    outcomes: list[tuple[str, int, float]]
    """Ended games: (opponent key: "latest", "past" or the bot's name; past version or -1; 1 won, 0.5 draw, 0 lost)."""
    seconds: float
    """Wall time of the collection inside the worker."""


class RolloutWorker:
    """One worker's games, policy copy, pool copy, snapshots and random streams (see the module docstring)."""

    def __init__(self, config: TrainConfig, index: int, num_workers: int) -> None:
        torch.set_num_threads(config.threads)
        self.config, self.index = config, index
        env_seed, torch_seed, bot_seed = (
            int(x) for x in np.random.SeedSequence([config.seed, index]).generate_state(3)
        )
        self.rng = np.random.default_rng([config.seed, index])
        self.generator = torch.Generator().manual_seed(torch_seed)
        self.policy = FivePolicy(config.policy).eval()
        self.pool = OpponentPool(config.pool)
        self.snapshots: dict[int, FivePolicy] = {}
        self.bots = {name: make_bot(name, bot_seed + i) for i, name in enumerate(BOT_NAMES)}
        games = config.num_games // num_workers
        opponents = [self.pool.sample(self.rng) for _ in range(games)]
        stage = config.curriculum[0]
        tau = config.team_spirit_start
        self.match = new_match(stage, games, env_seed, tau, opponents, config.policy.state_size)
        self.storage = allocate_storage(config.num_steps, config.bptt, self.match)

    def collect(self, request: RolloutRequest, weights: Weights) -> RolloutBatch:
        """Play `config.num_steps` decisions of every game with `weights` (version `request.version`)."""
        started = time.perf_counter()
        # 1. The parameters, the pool and the snapshots the learner sent.
        self.policy.load_state_dict(weights)
        self.pool.load_state_dict(request.pool)
        for version, snapshot in request.snapshots.items():
            self.snapshots[version] = FivePolicy(self.config.policy).eval()
            self.snapshots[version].load_state_dict(snapshot)
        for version in [v for v in self.snapshots if v not in self.pool.versions]:
            del self.snapshots[version]
        match, storage, c = self.match, self.storage, self.config
        match.env.reward_config = RewardConfig(team_spirit=request.team_spirit)
        # 2. T decisions; a game's next opponent is drawn when it ends (as in selfplay.train_selfplay's phase 3).
        outcomes: list[tuple[str, int, float]] = []
        for t in range(c.num_steps):
            if t % c.bptt == 0:
                storage.states[t // c.bptt] = match.learner_state
            step = play_step(match, self.policy, self.snapshots, self.bots, self.generator)
            for key in OBS_KEYS:
                storage.obs[key][t] = torch.from_numpy(step.obs[key])
            storage.starts[t] = torch.from_numpy(step.starts)
            storage.actions[t] = torch.from_numpy(np.stack([step.primary, step.target, step.offset], axis=-1))
            storage.log_probs[t] = torch.from_numpy(step.log_prob)
            storage.values[t] = torch.from_numpy(step.value)
            storage.rewards[t] = torch.from_numpy(step.reward)
            storage.ended[t] = torch.from_numpy(step.terminated.astype(np.float32))
            for i in np.nonzero(step.terminated)[0]:
                opponent = match.opponents[i]
                key = opponent.name if opponent.kind == "bot" else opponent.kind
                outcomes.append((key, opponent.version, float(step.outcome[i])))
                match.opponents[i] = self.pool.sample(self.rng)
        # 3. The bootstrap value, and the batch (a copy: the storage is reused by the next call).
        with torch.no_grad():
            games = np.arange(match.env.num_games)
            final = team_observation(match.obs, games, match.learner_team, match.heroes)
            tensors = {key: torch.from_numpy(final[key]) for key in OBS_KEYS}
            last = self.policy(tensors, match.learner_state, torch.from_numpy(match.starts)).value  # (G, K)
        return RolloutBatch(
            self.index, request.version, copy.deepcopy(storage), last, outcomes, time.perf_counter() - started
        )


class WorkerGroup(Protocol):
    """N rollout workers: send each a request, get batches back (in worker order, or as they arrive)."""

    def submit(self, index: int, request: RolloutRequest, weights: Weights) -> None: ...

    def next_batch(self) -> RolloutBatch:
        """The next finished batch (locally: the oldest request; on Ray: whichever finishes first)."""
        ...

    def gather(self) -> list[RolloutBatch]:
        """All pending batches, in worker order."""
        ...

    def close(self) -> None: ...


class LocalWorkers:
    """Workers in this process; a request runs when its batch is asked for."""

    def __init__(self, config: TrainConfig, num_workers: int) -> None:
        self.workers = [RolloutWorker(config, i, num_workers) for i in range(num_workers)]
        self.pending: deque[tuple[int, RolloutRequest, Weights]] = deque()

    def submit(self, index: int, request: RolloutRequest, weights: Weights) -> None:
        # A copy: the learner updates its weights in place before a local request runs.
        self.pending.append((index, request, {name: w.clone() for name, w in weights.items()}))

    def next_batch(self) -> RolloutBatch:
        index, request, weights = self.pending.popleft()
        return self.workers[index].collect(request, weights)

    def gather(self) -> list[RolloutBatch]:
        batches = [self.next_batch() for _ in range(len(self.pending))]
        return sorted(batches, key=lambda b: b.worker)

    def close(self) -> None:
        self.pending.clear()


class RayWorkers:
    """Workers as Ray actors (one CPU each), on the Ray runtime already started or a local one started here."""

    def __init__(self, config: TrainConfig, num_workers: int) -> None:
        try:
            import ray
        except ImportError as error:
            raise ConfigError(
                "backend", "ray is not installed; run `pip install fourfold[distributed]` or use backend local"
            ) from error
        self.ray = ray
        if not ray.is_initialized():
            ray.init(num_cpus=num_workers, include_dashboard=False, log_to_driver=False)
        actor: Any = ray.remote(num_cpus=1)(RolloutWorker)
        self.actors: list[Any] = [actor.remote(config, i, num_workers) for i in range(num_workers)]
        self.pending: dict[Any, int] = {}

    def submit(self, index: int, request: RolloutRequest, weights: Weights) -> None:
        self.pending[self.actors[index].collect.remote(request, weights)] = index

    def next_batch(self) -> RolloutBatch:
        ready, _ = self.ray.wait(list(self.pending), num_returns=1)
        del self.pending[ready[0]]
        batch: RolloutBatch = self.ray.get(ready[0])
        return batch

    def gather(self) -> list[RolloutBatch]:
        refs = sorted(self.pending, key=lambda ref: self.pending[ref])
        self.pending.clear()
        return list(self.ray.get(refs))

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.pending.clear()


def make_workers(config: DistributedConfig) -> WorkerGroup:
    if config.backend == "ray":
        return RayWorkers(config.train, config.workers)
    return LocalWorkers(config.train, config.workers)


def merge_batches(batches: list[RolloutBatch]) -> tuple[Storage, Tensor]:
    """One storage of all batches' games, in the given order ((T, G1 + G2 + ..., ...)), and their bootstrap values."""
    first = batches[0].storage
    if len(batches) == 1:
        return first, batches[0].last_value
    parts = [b.storage for b in batches]
    merged = Storage(
        obs={key: torch.cat([p.obs[key] for p in parts], dim=1) for key in first.obs},
        starts=torch.cat([p.starts for p in parts], dim=1),
        actions=torch.cat([p.actions for p in parts], dim=1),
        log_probs=torch.cat([p.log_probs for p in parts], dim=1),
        values=torch.cat([p.values for p in parts], dim=1),
        rewards=torch.cat([p.rewards for p in parts], dim=1),
        ended=torch.cat([p.ended for p in parts], dim=1),
        states=torch.cat([p.states for p in parts], dim=1),
    )
    return merged, torch.cat([b.last_value for b in batches])


def ppo_update(
    policy: FivePolicy,
    optimizer: torch.optim.Optimizer,
    storage: Storage,
    last_value: Tensor,
    config: TrainConfig,
    ent_coef: float,
    generator: torch.Generator,
) -> tuple[dict[str, float], Tensor]:
    """GAE, the normaliser update and PPO epochs on one rollout: phases 4-5 of `selfplay.train_selfplay`, which
    keeps them inline (see the module docstring). Returns the mean losses and the returns (T, G, K)."""
    t, g, k = storage.rewards.shape
    chunks = t // config.bptt
    sequences = chunks * g
    minibatch = math.ceil(sequences / config.num_minibatches)  # M
    # 1. Advantages (GAE) per hero; the normaliser learns from this rollout.
    ended = storage.ended.unsqueeze(-1).expand(-1, -1, k)  # (T, G, K)
    following = torch.cat([storage.values[1:], last_value.unsqueeze(0)])  # (T, G, K)
    advantages, returns = gae(
        storage.rewards, storage.values, following * (1.0 - ended), ended, config.gamma, config.gae_lambda
    )
    policy.update_normalizer(storage.obs)
    # 2. PPO over recurrent minibatches of bptt-step sequences.
    policy.train()
    seq_obs = {key: _sequences(value, chunks) for key, value in storage.obs.items()}  # (L, C*G, K, ...)
    seq_starts = _sequences(storage.starts, chunks)  # (L, C*G)
    seq_actions = _sequences(storage.actions, chunks)  # (L, C*G, K, 3)
    seq_log_probs = _sequences(storage.log_probs, chunks)
    seq_advantages = _sequences(advantages, chunks)
    seq_returns = _sequences(returns, chunks)
    seq_states = storage.states.reshape(sequences, k, -1)  # (C*G, K, S)
    stats = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0, "clipfrac": 0.0}
    updates = 0
    for _epoch in range(config.update_epochs):
        order = torch.randperm(sequences, generator=generator)
        for first in range(0, sequences, minibatch):
            index = order[first : first + minibatch]  # (M,)
            out = policy(
                {key: value[:, index] for key, value in seq_obs.items()}, seq_states[index], seq_starts[:, index]
            )
            actions = seq_actions[:, index]
            log_prob, entropy = joint_log_prob(out, actions[..., 0], actions[..., 1], actions[..., 2])
            log_ratio = log_prob - seq_log_probs[:, index]
            ratio = log_ratio.exp()
            adv = seq_advantages[:, index]
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            clipped = ratio.clamp(1 - config.clip_coef, 1 + config.clip_coef)
            policy_loss = torch.max(-adv * ratio, -adv * clipped).mean()
            value_loss = 0.5 * ((out.value - seq_returns[:, index]) ** 2).mean()
            entropy_mean = entropy.mean()
            loss = policy_loss + config.vf_coef * value_loss - ent_coef * entropy_mean
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
            optimizer.step()
            with torch.no_grad():
                stats["policy_loss"] += policy_loss.item()
                stats["value_loss"] += value_loss.item()
                stats["entropy"] += entropy_mean.item()
                stats["approx_kl"] += ((ratio - 1) - log_ratio).mean().item()
                stats["clipfrac"] += ((ratio - 1.0).abs() > config.clip_coef).float().mean().item()
            updates += 1
    policy.eval()
    return {name: value / max(1, updates) for name, value in stats.items()}, returns


@dataclass
class DistributedResult:
    """How `train_distributed` ended."""

    version: int
    """Learner updates made (the parameter version published last)."""
    steps: int
    """Agent-steps consumed."""
    seconds: float
    steps_per_second: float
    win_rates: dict[str, float]
    metrics: list[dict[str, float]]
    """Each iteration's metrics, as logged."""
    weights: Weights
    """The final parameters (and normaliser statistics)."""


def _schedule(start: float, end: float, step: int, steps: int) -> float:
    return start + (end - start) * min(1.0, step / max(1, steps))


def train_distributed(config: DistributedConfig, run: Run | None = None) -> DistributedResult:
    """The learner: `config.iterations` PPO updates on batches from the rollout workers (see the module docstring)."""
    # 1. Policy, optimizer, pool, workers; every worker is sent version 0.
    c = config.train
    workers = make_workers(config)  # first: local workers draw their (overwritten) initial weights from torch's RNG
    torch.set_num_threads(c.threads)
    torch.manual_seed(c.seed)
    policy = FivePolicy(c.policy).eval()
    optimizer = torch.optim.Adam(policy.parameters(), lr=c.learning_rate, eps=1e-5)
    generator = torch.Generator().manual_seed(c.seed)
    pool = OpponentPool(c.pool)
    snapshots: dict[int, Weights] = {}
    sent: list[set[int]] = [set() for _ in range(config.workers)]
    history: dict[str, list[float]] = {}
    version, steps, produced, consumed = 0, 0, 0, 0
    metrics_log: list[dict[str, float]] = []

    def submit(index: int) -> None:
        fresh = {v: w for v, w in snapshots.items() if v not in sent[index] and v in pool.versions}
        sent[index].update(fresh)
        tau = _schedule(c.team_spirit_start, c.team_spirit_end, steps, c.team_spirit_steps)
        workers.submit(index, RolloutRequest(version, tau, pool.state_dict(), fresh), policy.state_dict())

    started = time.perf_counter()
    try:
        for index in range(config.workers):
            submit(index)
        while version < config.iterations:
            # 2. Batches: all workers' in worker order (sync), or the first to arrive (async).
            wait_start = time.perf_counter()
            batches = workers.gather() if config.mode == "sync" else [workers.next_batch()]
            wait_seconds = time.perf_counter() - wait_start
            storage, last_value = merge_batches(batches)
            staleness = [version - b.version for b in batches]
            # 3. Game results: win rates, and the quality scores of beaten past versions.
            for batch in batches:
                for key, past, outcome in batch.outcomes:
                    history.setdefault(key, []).append(outcome)
                    del history[key][: -c.win_window]
                    if key == "past" and outcome == 1.0:
                        pool.record_win(past)
            # 4. GAE and PPO.
            learn_start = time.perf_counter()
            tau = _schedule(c.team_spirit_start, c.team_spirit_end, steps, c.team_spirit_steps)
            ent_coef = _schedule(c.ent_coef, c.ent_coef_final, steps, c.anneal_steps)
            losses, returns = ppo_update(policy, optimizer, storage, last_value, c, ent_coef, generator)
            learn_seconds = time.perf_counter() - learn_start
            batch_steps = storage.rewards.numel()
            steps += batch_steps
            produced += batch_steps
            consumed += batch_steps * c.update_epochs
            version += 1
            # 5. Snapshots into the pool (sent to each worker with its next request).
            if version % c.snapshot_every == 0:
                snapshots[steps] = {name: w.clone() for name, w in policy.state_dict().items()}
                for dropped in pool.add(steps):
                    snapshots.pop(dropped, None)
            # 6. Publish the new version: to every worker (sync) or to the one that just delivered (async).
            if version < config.iterations:
                for batch in batches:
                    submit(batch.worker)
            # 7. Log versions, staleness, sample reuse, losses, win rates, speeds.
            elapsed = time.perf_counter() - started
            metrics: dict[str, float] = {
                "distributed/version": float(version),
                "distributed/batch_version_min": float(min(b.version for b in batches)),
                "distributed/staleness_mean": float(np.mean(staleness)),
                "distributed/staleness_max": float(max(staleness)),
                "distributed/sample_reuse": consumed / produced,
                "distributed/workers": float(config.workers),
                "train/team_spirit": tau,
                "train/ent_coef": ent_coef,
                "train/pool_size": float(len(pool.versions)),
                "train/mean_reward": float(storage.rewards.mean()),
                "train/mean_return": float(returns.mean()),
                **{f"losses/{name}": value for name, value in losses.items()},
                **{f"win_rate/{name}": rate for name, rate in _win_rates(history).items()},
                "time/agent_steps_per_second": steps / max(elapsed, 1e-9),
                "time/worker_rollout_seconds": float(sum(b.seconds for b in batches)),
                "time/learner_wait_seconds": wait_seconds,
                "time/learner_seconds": learn_seconds,
            }
            metrics_log.append(metrics)
            if run is not None:
                run.log(steps, metrics)
    finally:
        workers.close()
    seconds = time.perf_counter() - started
    return DistributedResult(
        version=version,
        steps=steps,
        seconds=seconds,
        steps_per_second=steps / max(seconds, 1e-9),
        win_rates=_win_rates(history),
        metrics=metrics_log,
        weights={name: w.clone() for name, w in policy.state_dict().items()},
    )


def rollout_throughput(config: DistributedConfig, batches: int = 3) -> float:
    """Hero-steps per second of rollout alone: `batches` rounds of every worker playing with fixed weights (the
    first round, which warms up the compiled game, is not timed)."""
    c = config.train
    workers = make_workers(config)
    policy = FivePolicy(c.policy).eval()
    weights = policy.state_dict()
    request = RolloutRequest(0, c.team_spirit_start, OpponentPool(c.pool).state_dict(), {})
    try:
        steps, seconds = 0, 0.0
        for round_ in range(batches + 1):
            start = time.perf_counter()
            for index in range(config.workers):
                workers.submit(index, request, weights)
            done = workers.gather()
            if round_ > 0:
                seconds += time.perf_counter() - start
                steps += sum(b.storage.rewards.numel() for b in done)
    finally:
        workers.close()
    return steps / max(seconds, 1e-9)
