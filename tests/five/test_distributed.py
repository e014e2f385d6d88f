"""Rollout workers and the learner: the same training in-process and on a local Ray of 2 workers (synchronous mode),
parameter versions, staleness and sample reuse logged, the asynchronous pipeline's staleness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
import torch

from fourfold.core.config import ConfigError
from fourfold.core.runlog import open_run, read_metrics
from fourfold.five.distributed import DistributedConfig, DistributedResult, train_distributed
from fourfold.five.pool import PoolConfig
from fourfold.five.train import Stage, TrainConfig

TINY = TrainConfig(
    seed=3,
    num_games=4,
    num_steps=16,
    bptt=8,
    num_minibatches=2,
    update_epochs=2,
    snapshot_every=1,
    progress=False,
    curriculum=(Stage("tiny", map="one_lane", heroes_per_team=1, time_cap_seconds=2.0),),
    pool=PoolConfig(latest_share=0.5, bot_share=0.3),
)
"""1v1 on one lane, games of 15 decisions (some end in every batch), a snapshot each update (past versions played)."""
ITERATIONS = 3


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install fourfold[distributed])")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _without_time(metrics: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{key: value for key, value in m.items() if not key.startswith("time/")} for m in metrics]


def _train(backend: Literal["local", "ray"]) -> DistributedResult:
    return train_distributed(DistributedConfig(TINY, workers=2, backend=backend, iterations=ITERATIONS))


def test_sync_training_is_identical_in_process_and_on_two_ray_workers(ray_session: None) -> None:
    local = _train("local")
    remote = _train("ray")
    assert local.version == remote.version == ITERATIONS
    assert local.steps == remote.steps == ITERATIONS * TINY.num_games * TINY.num_steps
    assert _without_time(local.metrics) == _without_time(remote.metrics)
    assert local.weights.keys() == remote.weights.keys()
    for name, weight in local.weights.items():
        assert torch.equal(weight, remote.weights[name]), name
    initial = train_distributed(DistributedConfig(TINY, workers=2, iterations=1)).weights
    assert any(not torch.equal(initial[n], local.weights[n]) for n in initial)  # training changed the weights
    for i, m in enumerate(remote.metrics):
        assert m["distributed/version"] == i + 1
        assert m["distributed/batch_version_min"] == i  # every batch played with the version just published
        assert m["distributed/staleness_max"] == 0.0
        assert m["distributed/sample_reuse"] == TINY.update_epochs
    assert "win_rate/past" in remote.metrics[-1]  # past snapshots were shipped to the workers and played


def test_async_pipeline_logs_versions_and_staleness(tmp_path: Path) -> None:
    config = DistributedConfig(TINY, workers=2, mode="async", iterations=4)
    with open_run("five", "async", config, directory=tmp_path / "run") as run:
        result = train_distributed(config, run)
    logged = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [m["distributed/version"] for m in logged] == [1.0, 2.0, 3.0, 4.0]
    # Worker 0 and 1 both start on version 0; afterwards each batch was played one update behind the learner.
    assert [m["distributed/staleness_max"] for m in logged] == [0.0, 1.0, 1.0, 1.0]
    assert [m["distributed/batch_version_min"] for m in logged] == [0.0, 0.0, 1.0, 2.0]
    assert result.steps == 4 * (TINY.num_games // 2) * TINY.num_steps  # each update consumed one worker's batch


def test_workers_must_divide_the_games() -> None:
    with pytest.raises(ConfigError, match="must divide num_games"):
        DistributedConfig(TINY, workers=3)
