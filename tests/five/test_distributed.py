"""Rollout workers and the learner (`TrainConfig.workers` >= 1): the same training in-process and on a local Ray of 2
workers (synchronous mode), the run folder of the in-process loop with versions, staleness and sample reuse logged,
the curriculum, exact resume in synchronous mode, the asynchronous pipeline's staleness, and the one-sentence error
when ray is missing."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from fourfold.core.checkpoint import latest_checkpoint, load_checkpoint
from fourfold.core.config import ConfigError
from fourfold.core.runlog import open_run, read_metrics
from fourfold.five import distributed
from fourfold.five.distributed import DistributedConfig, train_distributed
from fourfold.five.game.config import GameConfig
from fourfold.five.policy import FivePolicy, PolicyConfig, load_policy
from fourfold.five.pool import PoolConfig
from fourfold.five.rewards import RewardConfig
from fourfold.five.train import Stage, TrainConfig, train

TINY = TrainConfig(
    seed=3,
    num_games=4,
    num_steps=16,
    bptt=8,
    num_minibatches=2,
    workers=2,
    curriculum=(
        Stage(
            "1v1",
            GameConfig(map="one_lane", heroes_per_team=1, time_cap_seconds=2.0),
            max_steps=128,
            learning_rate=5e-4,
        ),
        Stage("3v3", GameConfig(map="three_lane", heroes_per_team=3, time_cap_seconds=2.0)),
    ),
    policy=PolicyConfig(hidden_dim=32, pooled_dim=16, unit_dim=16, global_dim=32, hero_embed_dim=8),
    pool=PoolConfig(latest_share=0.5, bot_share=0.3, bot_sampling="pfsp"),
    snapshot_every=1,
    checkpoint_every=2,
    total_steps=128 + 3 * 4 * 16 * 3,
    progress=False,
)
"""2 workers of 2 games: two 1v1 iterations (64 agent-steps each), then three 3v3 ones; games of 15 decisions end in
every batch, a snapshot each update (past versions are played)."""


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install fourfold[distributed])")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def local_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """`train` runs its workers in this process (the same code as Ray actors, without starting Ray)."""

    def local(train: TrainConfig, backend: str = "ray", **kwargs: Any) -> DistributedConfig:
        return DistributedConfig(train, backend="local", **kwargs)

    monkeypatch.setattr(distributed, "DistributedConfig", local)


def comparable(metrics: list[dict[str, float]]) -> list[dict[str, float | str]]:
    """Metric lines without wall-clock columns, NaN made comparable."""
    return [
        {k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in m.items() if not k.startswith("time")}
        for m in metrics
    ]


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    path = latest_checkpoint(run / "checkpoints")
    assert path is not None
    return load_checkpoint(path).model


def test_sync_training_is_identical_in_process_and_on_two_ray_workers_and_resumes_exactly(
    tmp_path: Path, ray_session: None
) -> None:
    # In process: the whole run. On Ray (`train` with --workers 2): stopped after 3 iterations, then resumed.
    with open_run("five", "local", TINY, directory=tmp_path / "local") as run:
        whole = train_distributed(DistributedConfig(TINY, backend="local"), run)
    part = dataclasses.replace(TINY, out=tmp_path / "ray", stop_after_iterations=3)
    first = train(part)  # --workers 2: Ray actors
    assert first.iterations == 3
    resumed = train(dataclasses.replace(part, resume=True, stop_after_iterations=None))
    assert resumed.steps == whole.steps == TINY.total_steps and resumed.iterations == whole.iterations == 5
    local = read_metrics(tmp_path / "local" / "metrics.jsonl")
    remote = read_metrics(tmp_path / "ray" / "metrics.jsonl")
    assert comparable(local) == comparable(remote)
    a, b = final_weights(tmp_path / "local"), final_weights(tmp_path / "ray")
    assert a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)
    initial = FivePolicy(TINY.policy).state_dict()
    assert any(not torch.equal(initial[name], a[name]) for name in a if name in initial)
    for i, m in enumerate(remote):
        assert m["distributed/version"] == i + 1
        assert m["distributed/batch_version_min"] == i  # every batch played with the version just published
        assert m["distributed/staleness_max"] == 0.0
        assert m["distributed/sample_reuse"] == TINY.update_epochs
    assert "win_rate/past" in remote[-1]  # past snapshots were shipped to the workers and played
    summary = json.loads((tmp_path / "ray" / "summary.json").read_text())
    assert summary["steps"] == TINY.total_steps and summary["stage"] == "3v3"
    # The run folder of the in-process loop: its columns, plus the learner's; checkpoints are policies.
    policy, config = load_policy(latest_checkpoint(tmp_path / "ray" / "checkpoints") or tmp_path)
    assert isinstance(policy, FivePolicy) and config == TINY.policy
    in_process = train(dataclasses.replace(TINY, out=tmp_path / "in_process", workers=0, stop_after_iterations=1))
    assert in_process.iterations == 1
    (line,) = read_metrics(tmp_path / "in_process" / "metrics.jsonl")
    columns = {key for key in line if not key.startswith("win_rate/")}  # which opponents ended games varies
    remote_columns = {key for key in remote[0] if not key.startswith("win_rate/")}
    extra = {key for key in remote_columns - columns if not key.startswith("distributed/")}
    assert columns <= remote_columns and extra == {"time/learner_wait_seconds"}


def test_curriculum_stage_rewards_and_checkpoints(tmp_path: Path, local_workers: None) -> None:
    no_gold = RewardConfig(gold=0.0)
    first, second = TINY.curriculum
    config = dataclasses.replace(
        TINY, out=tmp_path / "run", curriculum=(dataclasses.replace(first, reward=no_gold), second)
    )
    summary = train(config)
    assert summary.stage == "3v3" and summary.steps == TINY.total_steps and summary.games > 0
    logged = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [m["train/stage"] for m in logged] == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert [m["step"] for m in logged] == [64, 128, 320, 512, 704]  # 1v1 batches of 64 agent-steps, then 3v3 of 192
    assert [m["reward/gold"] == 0.0 for m in logged] == [True, True, False, False, False]  # the stage's own weights
    assert len(list((tmp_path / "run" / "pool").iterdir())) == 5
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == [
        "step_00000128",
        "step_00000512",
        "step_00000704",
    ]


def test_sync_resume_continues_exactly_in_process(tmp_path: Path, local_workers: None) -> None:
    whole = train(dataclasses.replace(TINY, out=tmp_path / "whole"))
    part = dataclasses.replace(TINY, out=tmp_path / "part", stop_after_iterations=3)
    train(part)
    resumed = train(dataclasses.replace(part, resume=True, stop_after_iterations=None))
    assert resumed.steps == whole.steps and resumed.iterations == whole.iterations
    a = comparable(read_metrics(tmp_path / "whole" / "metrics.jsonl"))
    b = comparable(read_metrics(tmp_path / "part" / "metrics.jsonl"))
    assert len(a) == 5 and a == b
    wa, wb = final_weights(tmp_path / "whole"), final_weights(tmp_path / "part")
    assert all(torch.equal(wa[name], wb[name]) for name in wa)


def test_async_pipeline_logs_versions_and_staleness(tmp_path: Path) -> None:
    train_config = dataclasses.replace(TINY, curriculum=TINY.curriculum[:1], total_steps=None, stop_after_iterations=4)
    config = DistributedConfig(train_config, backend="local", mode="async")
    with open_run("five", "async", train_config, directory=tmp_path / "run") as run:
        result = train_distributed(config, run)
    logged = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [m["distributed/version"] for m in logged] == [1.0, 2.0, 3.0, 4.0]
    # Worker 0 and 1 both start on version 0; afterwards each batch was played one update behind the learner.
    assert [m["distributed/staleness_max"] for m in logged] == [0.0, 1.0, 1.0, 1.0]
    assert [m["distributed/batch_version_min"] for m in logged] == [0.0, 0.0, 1.0, 2.0]
    assert result.steps == 4 * (TINY.num_games // 2) * TINY.num_steps  # each update consumed one worker's batch
    assert "workers" not in load_checkpoint(latest_checkpoint(tmp_path / "run" / "checkpoints") or tmp_path).state


def test_workers_must_divide_the_games() -> None:
    with pytest.raises(ConfigError, match="must be 0 or divide num_games"):
        dataclasses.replace(TINY, workers=3)
    with pytest.raises(ConfigError, match="workers"):
        DistributedConfig(dataclasses.replace(TINY, workers=0), backend="local")


def test_workers_without_ray_say_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ConfigError, match=r"pip install fourfold\[distributed\]") as error:
        train(dataclasses.replace(TINY, out=tmp_path / "run"))
    assert str(error.value).count(". ") == 0 and "\n" not in str(error.value)  # one sentence
    assert not (tmp_path / "run").exists()  # checked before the run folder is made
