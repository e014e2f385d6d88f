"""`fourfold gym bench`: environment steps per second through the public `VectorEnv.step`, beside the peers.

Measured on one thread, env only (pre-drawn random actions, no policy), at each number of envs, for fourfold's
batched envs and for the peers a user would otherwise reach for: Gymnasium's `SyncVectorEnv` over its own envs,
Gymnasium's batched vector env where it has one (CartPole), and envpool (when installed: `pip install envpool`).
Every figure of one task comes from the same process run, so the ratios are fair even where the absolute rates move
between runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium
import numpy as np

from fourfold.core.config import require
from fourfold.core.errors import FourfoldError
from fourfold.gym.registration import TASKS, Task, task

PEERS = ("gymnasium-sync", "gymnasium-batched", "envpool")
"""The implementations measured beside fourfold."""

Step = Callable[[np.ndarray], object]


@dataclass
class ThroughputConfig:
    """Measure env steps/s of fourfold's tasks and their peers, one thread, through the public step()."""

    tasks: tuple[str, ...] = ()
    """Task ids to measure (default: every fourfold task)."""
    num_envs: tuple[int, ...] = (64, 1024)
    """Numbers of envs per vector env."""
    peers: tuple[str, ...] = PEERS
    """Peers to measure beside fourfold: gymnasium-sync, gymnasium-batched, envpool."""
    seconds: float = 1.0
    """Wall time of each measurement (after a warm-up)."""

    def __post_init__(self) -> None:
        require(all(n >= 1 for n in self.num_envs), "num_envs", "every number of envs must be at least 1")
        require(self.seconds > 0, "seconds", f"must be positive (got {self.seconds})")
        unknown = [p for p in self.peers if p not in PEERS]
        require(not unknown, "peers", f"unknown peer {unknown[0] if unknown else ''!r}; choose from {', '.join(PEERS)}")


@dataclass
class ThroughputRow:
    """Steps per second of one implementation of one task at one number of envs."""

    task: str
    num_envs: int
    implementation: str
    steps_per_second: float


@dataclass
class ThroughputSummary:
    """All measured rows, and the peers that could not be measured, with why."""

    rows: list[ThroughputRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def ratio(self, task: str, num_envs: int, peer: str) -> float | None:
        """fourfold's steps/s over `peer`'s for one task and number of envs (None where either is missing)."""
        rates = {r.implementation: r.steps_per_second for r in self.rows if r.task == task and r.num_envs == num_envs}
        if "fourfold" not in rates or peer not in rates:
            return None
        return rates["fourfold"] / rates[peer]


def bench(config: ThroughputConfig) -> ThroughputSummary:
    """Measure every (task, num_envs, implementation) of `config`."""
    try:
        chosen = [task(env_id) for env_id in config.tasks] if config.tasks else list(TASKS)
    except KeyError as error:
        raise FourfoldError(str(error.args[0])) from None
    summary = ThroughputSummary()
    for row in chosen:
        for num_envs in config.num_envs:
            for implementation in ("fourfold", *config.peers):
                made = _make(implementation, row, num_envs)
                if isinstance(made, str):
                    if made not in summary.skipped:
                        summary.skipped.append(made)
                    continue
                step, close, actions = made
                try:
                    rate = measure(step, actions, config.seconds)
                finally:
                    close()
                summary.rows.append(ThroughputRow(row.id, num_envs, implementation, rate))
    return summary


def measure(step: Step, actions: np.ndarray, seconds: float) -> float:
    """Steps per second of `step` fed the batches of `actions` (K, N, ...) in turn, over about `seconds`."""
    num_envs = int(actions.shape[1])
    for k in range(min(5, len(actions))):  # warm-up: compilation, caches
        step(actions[k])
    calls = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for batch in actions:
            step(batch)
        calls += len(actions)
        now = time.perf_counter()
        if now >= deadline:
            return calls * num_envs / (now - started)


def _make(implementation: str, row: Task, num_envs: int) -> tuple[Step, Callable[[], None], np.ndarray] | str:
    """A step function, its close, and 64 batches of random actions; or why this implementation is unavailable."""
    if implementation == "envpool":
        return _make_envpool(row, num_envs)
    if implementation == "fourfold":
        env: Any = gymnasium.make_vec(row.id, num_envs=num_envs, **row.kwargs)
    elif implementation == "gymnasium-sync":
        env = gymnasium.make_vec(row.reference_id, num_envs=num_envs, vectorization_mode="sync", **row.kwargs)
    else:
        spec = gymnasium.spec(row.reference_id)
        if spec.vector_entry_point is None:
            return f"gymnasium-batched: Gymnasium has no batched vector env for {row.reference_id}"
        env = gymnasium.make_vec(row.reference_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    return env.step, env.close, _actions(env.single_action_space, num_envs)


def _make_envpool(row: Task, num_envs: int) -> tuple[Step, Callable[[], None], np.ndarray] | str:
    try:
        import envpool
    except ImportError:
        return "envpool: not installed (pip install envpool, or `pip install fourfold[bench]`)"
    name = row.id.removeprefix("fourfold/")  # envpool keeps Gym's ids (Taxi-v3, FrozenLake8x8-v1), options included
    if name not in envpool.list_all_envs():
        return f"envpool: has no {name}"
    env = envpool.make_gymnasium(name, num_envs=num_envs, num_threads=1)
    env.reset()
    actions = _actions(env.action_space, num_envs)
    return env.step, env.close, actions


def _actions(space: gymnasium.Space[Any], num_envs: int) -> np.ndarray:
    """64 batches of uniformly random actions for `num_envs` envs, (64, N, ...), in the space's dtype."""
    rng = np.random.default_rng(0)
    if isinstance(space, gymnasium.spaces.Discrete):
        draws = space.start + rng.integers(0, int(space.n), size=(64, num_envs))
        return np.asarray(draws, dtype=space.dtype)
    if isinstance(space, gymnasium.spaces.Box):
        low, high = np.broadcast_to(space.low, space.shape), np.broadcast_to(space.high, space.shape)
        return np.asarray(rng.uniform(low, high, size=(64, num_envs, *space.shape)), dtype=space.dtype)
    raise FourfoldError(f"cannot draw random batched actions for a {type(space).__name__} action space")
