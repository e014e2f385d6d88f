"""`five.surgery`: widening the core and adding observation features keep every head's probabilities and the value
(max change < 1e-5 on observations recorded from real game steps), the widened policy still learns, the opponent
pool migrates with its scores, and `surgery` writes a checkpoint that training resumes."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from fourfold.core.checkpoint import latest_checkpoint
from fourfold.core.config import ConfigError
from fourfold.five import distributed
from fourfold.five.distributed import DistributedConfig
from fourfold.five.game.config import GameConfig
from fourfold.five.game.observe import NUM_GLOBAL, NUM_UNIT_FEATURES
from fourfold.five.policy import FivePolicy, PolicyConfig, load_policy
from fourfold.five.pool import OpponentPool
from fourfold.five.surgery import (
    Recorded,
    SnapshotPool,
    SurgeryConfig,
    SurgeryError,
    add_observation_features,
    load_operated_policy,
    migrate_pool,
    observation_extras,
    output_change,
    record_observations,
    surgery,
    widen_core,
    with_extra_features,
)
from fourfold.five.train import Stage, TrainConfig, train

SMALL = PolicyConfig(hidden_dim=32, pooled_dim=16, unit_dim=16, global_dim=32, hero_embed_dim=8)
TOLERANCE = 1e-5


@cache
def trained_like(core: str) -> tuple[FivePolicy, Recorded]:
    """A small policy with sharp heads and fitted normaliser statistics (far from uniform, like a trained one), and
    observations it recorded playing 3v3 (2 games, both teams, 12 decisions)."""
    torch.manual_seed(0)
    policy = FivePolicy(dataclasses.replace(SMALL, core=core)).eval()  # type: ignore[arg-type]
    with torch.no_grad():
        policy.primary_head.weight.mul_(100.0)
        policy.query.weight.mul_(10.0)
        policy.offset_head[-1].weight.mul_(100.0)  # type: ignore[operator]
    recorded = record_observations(policy, GameConfig(heroes_per_team=3), num_games=2, steps=12, seed=1)
    policy.update_normalizer(recorded.obs)
    return policy, recorded


CORES = ["gru", "lstm", "ff"]


@pytest.mark.parametrize("core", CORES)
def test_widening_keeps_every_head_and_the_value(core: str) -> None:
    policy, recorded = trained_like(core)
    before = {name: t.clone() for name, t in policy.state_dict().items()}
    widened = widen_core(policy, 48)
    assert widened.config.hidden_dim == 48 and widened.config.core == core
    assert widened.core is not policy.core
    change = output_change(policy, widened, recorded)
    assert change.largest < TOLERANCE, change
    assert all(torch.equal(before[name], t) for name, t in policy.state_dict().items())  # the original is untouched
    # The new units are live: a non-zero outgoing weight from one of them does change the policy.
    with torch.no_grad():
        widened.primary_head.weight[:, 40] = torch.randn(widened.primary_head.weight.shape[0])
    assert output_change(policy, widened, recorded).primary > 1e-3


@pytest.mark.parametrize("core", CORES)
def test_added_observation_features_keep_every_head_and_the_value(core: str) -> None:
    policy, recorded = trained_like(core)
    operated = add_observation_features(add_observation_features(policy, "globals", 5), "units", 3)
    assert observation_extras(policy) == (0, 0) and observation_extras(operated) == (5, 3)
    buffers = dict(operated.named_buffers())
    assert torch.all(buffers["global_mean"][NUM_GLOBAL:] == 0) and torch.all(buffers["global_var"][NUM_GLOBAL:] == 1)
    assert torch.all(buffers["unit_mean"][NUM_UNIT_FEATURES:] == 0)
    assert torch.all(buffers["unit_var"][NUM_UNIT_FEATURES:] == 1)
    assert torch.equal(buffers["global_mean"][:NUM_GLOBAL], dict(policy.named_buffers())["global_mean"])
    change = output_change(policy, operated, recorded, with_extra_features(recorded, 5, 3, seed=2))
    assert change.largest < TOLERANCE, change
    # Both operations together, in either order, on a policy that already reads extra features.
    both = widen_core(add_observation_features(operated, "globals", 2), 40)
    extra = with_extra_features(with_extra_features(recorded, 5, 3, seed=2), 2, 0, seed=3)
    assert observation_extras(both) == (7, 3)
    assert output_change(policy, both, recorded, extra).largest < TOLERANCE


@pytest.mark.parametrize("core", ["gru", "lstm"])
def test_the_widened_policy_learns_through_its_new_units(core: str) -> None:
    policy, recorded = trained_like(core)
    widened = widen_core(policy, 48).train()
    optimizer = torch.optim.Adam(widened.parameters(), lr=1e-2)
    start = {name: p.detach().clone() for name, p in widened.named_parameters()}
    n, k = recorded.obs["globals"].shape[1:3]
    for _ in range(2):  # outgoing weights move on the first step, incoming ones once those are non-zero
        out = widened(recorded.obs, widened.initial_state(n, k), recorded.starts)
        log_p = torch.log_softmax(out.primary_logits, -1).masked_fill(~recorded.obs["mask_primary"], 0.0)
        loss = (out.value - 1.0).pow(2).mean() - log_p.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    moved = {name: p.detach() - start[name] for name, p in widened.named_parameters()}
    # Every new unit's weights to the heads moved (rows of primaries the masks never allow get no gradient).
    assert moved["primary_head.weight"][:, 32:].abs().amax(0).min() > 0
    assert moved["value_head.weight"][:, 32:].abs().min() > 0
    assert moved["core.weight_hh"][32:].abs().amax() > 0  # into the new core units
    assert moved["joiner.weight"][32:].abs().amax() > 0  # into the new units of the per-hero vector


def test_pool_migration_keeps_versions_and_scores() -> None:
    policy, recorded = trained_like("gru")
    pool = OpponentPool()
    for version in (100, 200, 300):
        pool.add(version)
    pool.record_win(100)
    pool.record_win(100)
    pool.record_win(300)
    snapshots = {v: widen_core(policy, 32, seed=v) for v in pool.versions}  # distinct copies
    migrated = migrate_pool(SnapshotPool(pool, snapshots), lambda p: widen_core(p, 40))
    assert migrated.pool.versions == [100, 200, 300] and migrated.pool.quality == pool.quality
    assert migrated.pool.quality[0] < migrated.pool.quality[1]
    assert migrated.pool is not pool and set(migrated.snapshots) == {100, 200, 300}
    for version, snapshot in migrated.snapshots.items():
        assert snapshot.config.hidden_dim == 40 and snapshots[version].config.hidden_dim == 32
        assert output_change(snapshots[version], snapshot, recorded).largest < TOLERANCE
    with pytest.raises(SurgeryError, match="version 300 has no snapshot"):
        migrate_pool(SnapshotPool(pool, {100: policy, 200: policy}), lambda p: p)


def test_bad_input_is_one_clear_sentence() -> None:
    policy, _ = trained_like("gru")
    with pytest.raises(SurgeryError, match=r"cannot widen the core from 32 to 16 units: .* at least 32\.$"):
        widen_core(policy, 16)
    with pytest.raises(SurgeryError, match=r"cannot add -2 observation features to globals: .* 0 or more\.$"):
        add_observation_features(policy, "globals", -2)
    with pytest.raises(SurgeryError, match="choose 'globals' or 'units'"):
        add_observation_features(policy, "heroes", 1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="nothing to do"):
        SurgeryConfig(run="x", out=Path("y"))
    with pytest.raises(ConfigError, match="extra_globals"):
        SurgeryConfig(run="x", out=Path("y"), extra_globals=-1)
    with pytest.raises(SurgeryError, match="neither a checkpoint folder nor a run folder"):
        surgery(SurgeryConfig(run="/nonexistent/run", out=Path("/nonexistent/out"), hidden_dim=64))


TINY = TrainConfig(
    num_games=2,
    num_steps=8,
    bptt=8,
    num_minibatches=1,
    curriculum=(Stage("1v1", GameConfig(map="one_lane", heroes_per_team=1, time_cap_seconds=4.0)),),
    policy=dataclasses.replace(SMALL, core="lstm"),
    snapshot_every=1,
    checkpoint_every=1,
    progress=False,
)


def test_surgery_command_writes_a_resumable_run_with_its_pool(tmp_path: Path) -> None:
    train(dataclasses.replace(TINY, out=tmp_path / "run", stop_after_iterations=2))
    summary = surgery(SurgeryConfig(run=str(tmp_path / "run"), out=tmp_path / "wide", hidden_dim=48, steps=8))
    assert summary.resumable and summary.snapshots == 2 and summary.step == 32
    assert summary.max_probability_change < TOLERANCE and summary.max_value_change < TOLERANCE
    assert (tmp_path / "wide" / "surgery.json").is_file()
    _, config = load_policy(summary.checkpoint)
    assert config.hidden_dim == 48 and config.core == "lstm"
    assert sorted(p.name for p in (tmp_path / "wide" / "pool").iterdir()) == ["step_00000016", "step_00000032"]
    resumed = train(dataclasses.replace(TINY, out=tmp_path / "wide", resume=True, stop_after_iterations=1))
    assert resumed.iterations == 3 and np.isfinite(resumed.steps_per_second)
    with pytest.raises(SurgeryError, match="already exists"):
        surgery(SurgeryConfig(run=str(tmp_path / "run"), out=tmp_path / "wide", hidden_dim=48))
    # New features: a policy checkpoint (the game does not emit them yet), read by load_operated_policy.
    more = surgery(SurgeryConfig(run=str(tmp_path / "run"), out=tmp_path / "more", extra_globals=4, steps=4))
    assert not more.resumable and more.max_probability_change < TOLERANCE
    assert observation_extras(load_operated_policy(more.checkpoint)) == (4, 0)


def test_surgery_keeps_a_run_with_rollout_workers_resumable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def local(train: TrainConfig, backend: str = "ray", **kwargs: Any) -> DistributedConfig:
        return DistributedConfig(train, backend="local", **kwargs)  # the workers' code, in this process

    monkeypatch.setattr(distributed, "DistributedConfig", local)
    config = dataclasses.replace(TINY, out=tmp_path / "run", workers=2, stop_after_iterations=2)
    train(config)
    summary = surgery(SurgeryConfig(run=str(tmp_path / "run"), out=tmp_path / "wide", hidden_dim=48, steps=8))
    assert summary.resumable and summary.max_probability_change < TOLERANCE
    resumed = train(dataclasses.replace(config, out=tmp_path / "wide", resume=True, stop_after_iterations=1))
    assert resumed.iterations == 3
    final = latest_checkpoint(tmp_path / "wide" / "checkpoints")
    assert final is not None
    _, policy_config = load_policy(final)
    assert policy_config.hidden_dim == 48
