"""Rollout workers and a learner for Five self-play: OpenAI Five's "Rapid" split at laptop scale.

OpenAI Five (Berner et al. 2019, "Dota 2 with Large Scale Deep Reinforcement Learning", section 3.3 and Appendix C)
separates rollout workers, which play games with a copy of the parameters at some version, from the optimizer,
which consumes their experience and publishes new versions. Two figures tell how healthy the split is: staleness
(the learner's version minus the version a batch was played with) and sample reuse (samples consumed by the
optimizer per sample produced).

Here a `RolloutWorker` holds its own games (`rollout.Match`, G / N of the G games, of the curriculum stage the
learner names), its own random streams fixed by (seed, worker index), its own copy of the opponent pool's scores and
of the past snapshots it plays. `collect` takes a `RolloutRequest` (parameter version, stage, reward weights with
team spirit, pool state, new snapshots) and returns a `RolloutBatch` of T decisions of its games
(`rollout.collect_rollout`) tagged with that version. The workers live in this process (`backend="local"`) or as
Ray actors (`backend="ray"`, extra `[distributed]`), behind one interface.

`train_distributed` is the learner, `TrainConfig.workers` >= 1 (`fourfold five train --workers N`): the same run
folder, PPO update (`ppo.ppo_update`), curriculum, snapshots, metrics and checkpoints as the in-process loop
(`learner.py`), plus `distributed/*` columns. In `mode="sync"` each iteration sends the same version to every worker
and consumes their batches in worker order (concatenated along games), so a fixed seed gives the same weights and
metrics locally and on Ray, and a checkpoint holds the workers' games too: a resumed run continues exactly. In
`mode="async"` it updates on whichever batch arrives first and sends that worker the new version (locally: first
in, first out, a deterministic pipeline); its checkpoints hold the learner only, and a resumed run starts fresh games.

Shape legend: T num_steps, G games (of a worker or of a batch), K heroes a team, N workers.
"""

from __future__ import annotations

import copy
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import Tensor

from fourfold.core.checkpoint import Checkpoint
from fourfold.core.config import ConfigError, require
from fourfold.core.progress import ProgressBar
from fourfold.core.runlog import Run
from fourfold.five.bots import BOT_NAMES, make_bot
from fourfold.five.learner import (
    SelfPlayResult,
    advance_curriculum,
    entropy_coef,
    iteration_metrics,
    load_snapshots,
    new_learner,
    record_games,
    release_snapshots,
    save_learner,
    should_stop,
    speed_metrics,
    stage_learning_rate,
    stage_reward,
    take_snapshot,
    team_spirit,
    win_rates,
)
from fourfold.five.policy import FivePolicy
from fourfold.five.pool import LATEST, OpponentPool
from fourfold.five.ppo import ppo_update
from fourfold.five.rewards import RewardConfig
from fourfold.five.rollout import (
    Match,
    Rollout,
    Storage,
    allocate_storage,
    collect_rollout,
    match_state,
    new_match,
    past_versions_playing,
    restore_match,
)
from fourfold.five.train import TrainConfig

Weights = dict[str, Tensor]
RAY_MISSING = (
    "ray is not installed, and rollout workers (--workers N) run on Ray: "
    "`pip install fourfold[distributed]`, or train in one process with --workers 0"
)


@dataclass(frozen=True)
class DistributedConfig:
    """How rollouts are spread over `train.workers` workers (the self-play settings are `train`)."""

    train: TrainConfig = field(default_factory=lambda: TrainConfig(workers=1))
    backend: Literal["local", "ray"] = "ray"
    """Workers as Ray actors (needs `pip install fourfold[distributed]`), or in this process (tests, debugging)."""
    mode: Literal["sync", "async"] = "sync"
    """sync: every worker plays the same version, batches consumed in worker order (reproducible, exact resume);
    async: the learner updates on whichever batch arrives first."""

    def __post_init__(self) -> None:
        require(self.train.workers >= 1, "workers", "must be at least 1 for rollout workers (0 trains in process)")
        require(self.backend in ("local", "ray"), "backend", f"must be local or ray (got {self.backend!r})")
        require(self.mode in ("sync", "async"), "mode", f"must be sync or async (got {self.mode!r})")
        if self.backend == "ray":
            import_ray()


def import_ray() -> Any:
    """The `ray` module, or a `ConfigError` saying how to install it."""
    try:
        import ray
    except ImportError as error:
        raise ConfigError("workers", RAY_MISSING) from error
    return ray


@dataclass(frozen=True)
class RolloutRequest:
    """What a worker needs to play one batch (the weights travel beside it)."""

    version: int
    stage: int
    """The curriculum stage to play (a worker starts fresh games when it changes)."""
    reward: RewardConfig
    """The stage's reward weights with the scheduled team spirit."""
    pool: dict[str, Any]
    """`OpponentPool.state_dict()` of the learner: the past versions and their quality scores."""
    snapshots: dict[int, Weights]
    """Weights of past versions this worker has not been sent yet."""


@dataclass
class RolloutBatch:
    """T decisions of a worker's G games, played with parameter `version` on curriculum stage `stage`."""

    worker: int
    version: int
    stage: int
    storage: Storage
    rollout: Rollout
    """The ended games, reward components, bootstrap value (G, K) and the worker's wall and CPU seconds."""
    playing: set[int]
    """The past versions the worker's games play after this batch (their snapshots stay until those games end)."""


class RolloutWorker:
    """One worker's games, policy copy, pool copy, snapshots and random streams (see the module docstring)."""

    def __init__(self, config: TrainConfig, index: int) -> None:
        torch.set_num_threads(config.threads)
        self.config, self.index = config, index
        torch_seed, bot_seed = (int(x) for x in np.random.SeedSequence([config.seed, index]).generate_state(2))
        self.rng = np.random.default_rng([config.seed, index])
        self.generator = torch.Generator().manual_seed(torch_seed)
        self.policy = FivePolicy(config.policy).eval()
        self.pool = OpponentPool(config.pool)
        self.snapshots: dict[int, FivePolicy] = {}
        self.bots = {name: make_bot(name, bot_seed + i) for i, name in enumerate(BOT_NAMES)}
        self.stage = -1
        self.match: Match | None = None
        self.storage: Storage | None = None

    def _new_match(self, stage: int, fresh: bool) -> Match:
        """Games of `stage` seeded by (seed, worker, stage), with opponents drawn from the pool (`fresh`) or LATEST."""
        c = self.config
        games = c.num_games // c.workers
        self.pool.config = c.curriculum[stage].pool_config(c.pool)
        opponents = [self.pool.sample(self.rng) if fresh else LATEST for _ in range(games)]
        seed = int(np.random.SeedSequence([c.seed, self.index, stage]).generate_state(1)[0])
        match = new_match(c.curriculum[stage], games, seed, c.team_spirit_start, opponents, c.policy.state_size)
        self.stage, self.match = stage, match
        self.storage = allocate_storage(c.num_steps, c.bptt, match)
        return match

    def _add_snapshots(self, snapshots: dict[int, Weights]) -> None:
        for version, weights in snapshots.items():
            self.snapshots[version] = FivePolicy(self.config.policy).eval()
            self.snapshots[version].load_state_dict(weights)

    def _release_snapshots(self, match: Match) -> None:
        playing = past_versions_playing(match)
        for version in [v for v in self.snapshots if v not in self.pool.versions and v not in playing]:
            del self.snapshots[version]

    def collect(self, request: RolloutRequest, weights: Weights) -> RolloutBatch:
        """Play `config.num_steps` decisions of every game with `weights` (version `request.version`)."""
        # 1. The parameters, the pool, the snapshots and the stage the learner sent.
        self.policy.load_state_dict(weights)
        self.pool.load_state_dict(request.pool)
        self._add_snapshots(request.snapshots)
        if self.match is None or request.stage != self.stage:
            self._new_match(request.stage, fresh=True)
        match, storage, c = self.match, self.storage, self.config
        assert match is not None and storage is not None
        match.env.reward_config = request.reward
        self._release_snapshots(match)
        # 2. T decisions; a game's next opponent is drawn when it ends.
        rollout = collect_rollout(
            match, storage, self.policy, self.snapshots, self.bots, self.generator, self.pool, self.rng, c.bptt
        )
        # 3. The batch (a copy: the storage is reused by the next call).
        batch = copy.deepcopy(storage)
        return RolloutBatch(self.index, request.version, self.stage, batch, rollout, past_versions_playing(match))

    def state_dict(self) -> dict[str, Any]:
        """Everything that makes this worker continue exactly after `load_state_dict` (its policy and pool come
        with each request): the stage, the random streams, the games in progress and the bots' memories."""
        return {
            "stage": self.stage,
            "rng": self.rng.bit_generator.state,
            "generator": self.generator.get_state(),
            "match": match_state(self.match, self.bots) if self.match is not None else None,
            "playing": sorted(past_versions_playing(self.match)) if self.match is not None else [],
        }

    def load_state_dict(self, state: dict[str, Any], snapshots: dict[int, Weights]) -> None:
        """Put the worker back as `state_dict` saved it; `snapshots`: the weights of the past versions it plays."""
        if state["match"] is not None:
            restore_match(self._new_match(int(state["stage"]), fresh=False), state["match"], self.bots)
        self.rng.bit_generator.state = state["rng"]
        self.generator.set_state(state["generator"])
        self._add_snapshots(snapshots)


class WorkerGroup(Protocol):
    """N rollout workers: send each a request, get batches back (in worker order, or as they arrive)."""

    def submit(self, index: int, request: RolloutRequest, weights: Weights) -> None: ...

    def next_batch(self) -> RolloutBatch:
        """The next finished batch (locally: the oldest request; on Ray: whichever finishes first)."""
        ...

    def gather(self) -> list[RolloutBatch]:
        """All pending batches, in worker order."""
        ...

    def states(self) -> list[dict[str, Any]]:
        """Every worker's `state_dict()` (no request may be pending)."""
        ...

    def restore(self, index: int, state: dict[str, Any], snapshots: dict[int, Weights]) -> None: ...

    def close(self) -> None: ...


class LocalWorkers:
    """Workers in this process; a request runs when its batch is asked for."""

    def __init__(self, config: TrainConfig) -> None:
        self.workers = [RolloutWorker(config, i) for i in range(config.workers)]
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

    def states(self) -> list[dict[str, Any]]:
        return [worker.state_dict() for worker in self.workers]

    def restore(self, index: int, state: dict[str, Any], snapshots: dict[int, Weights]) -> None:
        self.workers[index].load_state_dict(state, snapshots)

    def close(self) -> None:
        self.pending.clear()


class RayWorkers:
    """Workers as Ray actors (one CPU each), on the Ray runtime already started, else on a local one started here and
    shut down at `close`."""

    def __init__(self, config: TrainConfig) -> None:
        ray = import_ray()
        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            ray.init(num_cpus=config.workers, include_dashboard=False, log_to_driver=False)
        actor: Any = ray.remote(num_cpus=1)(RolloutWorker)
        self.actors: list[Any] = [actor.remote(config, i) for i in range(config.workers)]
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

    def states(self) -> list[dict[str, Any]]:
        return list(self.ray.get([actor.state_dict.remote() for actor in self.actors]))

    def restore(self, index: int, state: dict[str, Any], snapshots: dict[int, Weights]) -> None:
        self.ray.get(self.actors[index].load_state_dict.remote(state, snapshots))

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.pending.clear()
        if self.started:
            self.ray.shutdown()


def make_workers(config: DistributedConfig) -> WorkerGroup:
    """The workers of `config.backend`."""
    if config.backend == "ray":
        return RayWorkers(config.train)
    return LocalWorkers(config.train)


def merge_batches(batches: list[RolloutBatch]) -> tuple[Storage, Tensor]:
    """One storage of all batches' games, in the given order ((T, G1 + G2 + ..., ...)), and their bootstrap values."""
    first = batches[0].storage
    if len(batches) == 1:
        return first, batches[0].rollout.last_value
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
    return merged, torch.cat([b.rollout.last_value for b in batches])


def train_distributed(config: DistributedConfig, run: Run, checkpoint: Checkpoint | None = None) -> SelfPlayResult:
    """The learner: PPO updates on batches from the rollout workers until the budget of `config.train` is spent,
    logging to `run` and continuing `checkpoint` when given (see the module docstring)."""
    # 1. Workers first (local ones draw their initial weights, overwritten by each request, from torch's global RNG,
    # which the learner then seeds), the learner, and on resume the workers' games (sync checkpoints hold them).
    c = config.train
    workers = make_workers(config)
    torch.set_num_threads(c.threads)
    learner = new_learner(c, run.directory / "pool", checkpoint)
    policy, counters = learner.policy, learner.counters
    counters.setdefault("consumed", 0)
    sent: list[set[int]] = [set() for _ in range(c.workers)]
    playing: list[set[int]] = [set() for _ in range(c.workers)]
    saved_workers = checkpoint.state.get("workers") if checkpoint is not None else None
    if saved_workers is not None:
        for index, state in enumerate(saved_workers):
            playing[index] = {int(v) for v in state["playing"]}
            load_snapshots(learner, playing[index])
            weights = {v: learner.snapshots[v].state_dict() for v in playing[index]}
            workers.restore(index, state, weights)
            sent[index].update(playing[index])

    def submit(index: int) -> None:
        fresh = {v: learner.snapshots[v].state_dict() for v in learner.pool.versions if v not in sent[index]}
        sent[index].update(fresh)
        tau = team_spirit(c, counters["global_step"])
        reward = stage_reward(c, counters["stage"], tau)
        request = RolloutRequest(counters["iteration"], counters["stage"], reward, learner.pool.state_dict(), fresh)
        workers.submit(index, request, policy.state_dict())

    started = time.perf_counter()
    start_step = counters["global_step"]
    iterations_here = 0
    try:
        with ProgressBar(c.total_steps, "five", unit="step", enabled=c.progress) as bar:
            bar.advance(counters["global_step"])
            for index in range(c.workers):
                submit(index)
            while True:
                # 2. Batches: all workers' in worker order (sync), or the first to arrive (async).
                wait_start = time.perf_counter()
                batches = workers.gather() if config.mode == "sync" else [workers.next_batch()]
                wait_seconds = time.perf_counter() - wait_start
                storage, last_value = merge_batches(batches)
                staleness = [counters["iteration"] - b.version for b in batches]

                # 3. Game results: win rates and the quality scores of beaten past versions (a late batch of an
                # earlier stage trains the policy but does not count towards the new stage's win rates).
                components = dict.fromkeys(batches[0].rollout.components, 0.0)
                for batch in batches:
                    playing[batch.worker] = batch.playing
                    for name, value in batch.rollout.components.items():
                        components[name] += value
                    if batch.stage == counters["stage"]:
                        record_games(learner, batch.rollout.results, c.win_window, record_wins=True)

                # 4. PPO: GAE per hero, epochs of recurrent minibatches, then the normaliser.
                step0 = counters["global_step"]
                tau, ent_coef = team_spirit(c, step0), entropy_coef(c, step0)
                learning_rate = stage_learning_rate(c, counters["stage"])
                learn_start, learn_cpu = time.perf_counter(), time.process_time()
                update = ppo_update(
                    policy, learner.optimizer, storage, last_value, c, ent_coef, learning_rate, learner.generator
                )
                learn = (time.perf_counter() - learn_start, time.process_time() - learn_cpu)
                batch_steps = storage.rewards.numel()
                counters["global_step"] += batch_steps
                counters["iteration"] += 1
                counters["consumed"] += batch_steps * c.update_epochs
                iterations_here += 1

                # 5. Snapshots into the pool (sent to each worker with its next request).
                if counters["iteration"] % c.snapshot_every == 0:
                    take_snapshot(learner)
                release_snapshots(learner, set().union(*playing))

                # 6. The metrics line, then the curriculum (the next requests name the new stage).
                elapsed = time.perf_counter() - started
                rate = (counters["global_step"] - start_step) / max(elapsed, 1e-9)
                rollout = (max(b.rollout.seconds for b in batches), sum(b.rollout.cpu_seconds for b in batches))
                metrics = iteration_metrics(learner, tau, ent_coef, storage, update, components, batch_steps)
                metrics |= speed_metrics(batch_steps, rate, rollout, learn)
                metrics |= {
                    "time/learner_wait_seconds": wait_seconds,
                    "distributed/version": float(counters["iteration"]),
                    "distributed/batch_version_min": float(min(b.version for b in batches)),
                    "distributed/staleness_mean": float(np.mean(staleness)),
                    "distributed/staleness_max": float(max(staleness)),
                    "distributed/sample_reuse": counters["consumed"] / counters["global_step"],
                    "distributed/workers": float(c.workers),
                }
                advance = advance_curriculum(c, learner)
                if advance.exam is not None:
                    metrics["curriculum/exam_win_rate"] = advance.exam

                # 7. Stop and checkpoint (sync: with the workers' games, all idle now), else publish the new version:
                # to every worker (sync) or to the one that just delivered (async).
                done = should_stop(c, learner, time.perf_counter() - started, iterations_here)
                if done or advance.moved or counters["iteration"] % c.checkpoint_every == 0:
                    extra = {"workers": workers.states()} if config.mode == "sync" else {}
                    save_learner(run, c, learner, extra)
                if not done:
                    for batch in batches:
                        submit(batch.worker)
                run.log(counters["global_step"], metrics)
                bar.advance(batch_steps)
                stage_name = c.curriculum[counters["stage"]].name
                rates = sorted(win_rates(learner.history).items())
                bar.set_postfix(f"{stage_name} v{counters['iteration']} " + " ".join(f"{n} {r:.0%}" for n, r in rates))
                if done:
                    break
    finally:
        workers.close()
    seconds = time.perf_counter() - started
    return SelfPlayResult(
        steps=counters["global_step"],
        iterations=counters["iteration"],
        seconds=seconds,
        steps_per_second=(counters["global_step"] - start_step) / max(seconds, 1e-9),
        stage=c.curriculum[counters["stage"]].name,
        win_rates=win_rates(learner.history),
        games=counters["games"],
    )
