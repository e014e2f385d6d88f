"""Surgery: change a trained Five policy's architecture without changing what it does (OpenAI Five's "surgery").

OpenAI Five (Berner et al. 2019, "Dota 2 with Large Scale Deep Reinforcement Learning", section 3.3 and Appendix B)
trained one policy for ten months while its model and observation space grew; instead of restarting, each change
was made by an operation that maps the old parameters to new ones computing the same function, and training went
on. Here:

- `widen_core(policy, new_hidden)`: the per-hero vector and the core (`PolicyConfig.hidden_dim`: the joiner, the
  team mixer, the GRU/LSTM/feed-forward core) get `new_hidden` units. Old units keep their weights; new units get
  freshly initialised incoming weights (so they are active and learn), and every weight from a new unit into an old
  unit or a head is exactly 0: the old units, hence the heads and the value, compute what they did. A GRU's or
  LSTM's new units feed back only into new units (their columns in the old rows of `weight_hh` are 0), so their
  non-zero state never reaches an output. Gradients reach the new units' outgoing weights at once (their
  activations are not 0), and their incoming weights from the second step on.
- `add_observation_features(policy, where, count)`: `count` extra global or per-unit features, appended after the
  current ones (so every feature index the policy reads stays valid). Their input columns are 0. The running
  normaliser is extended with mean 0 and variance 1 for them, sharing the existing count: its later updates move
  the new statistics at the rate of the old ones. `load_operated_policy` reads such a policy back (the widths are
  in the checkpoint's tensors; `PolicyConfig` does not know them).
- `migrate_pool(pool, transform)`: the same operation on every snapshot of an opponent pool, quality scores kept.
- `surgery(config)` (`fourfold five surgery RUN --out DIR --hidden-dim H`): operates on a run's newest checkpoint,
  writes the new one (with the migrated pool) into a new run folder and reports the largest change of any action
  probability or value on observations recorded by the old policy playing a few steps of `FiveVecEnv`. Widening a
  training checkpoint keeps it resumable (`fourfold five train --out DIR --resume`): the optimizer's moments and
  the recurrent states of the games in progress are carried over, zero for the new units.

Shape legend: L steps, N teams (games x 2), K heroes of a team, G global features, F unit features, D hidden size.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import tyro
from torch import Tensor, nn

from fourfold.core.config import require
from fourfold.core.errors import FourfoldError
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import HEROES_PER_TEAM
from fourfold.five.game.observe import NUM_GLOBAL, NUM_UNIT_FEATURES
from fourfold.five.policy import OBS_KEYS, FivePolicy, PolicyConfig
from fourfold.five.pool import OpponentPool

FeatureGroup = Literal["globals", "units"]
Placement = tuple[Tensor | None, ...]
"""Where an old tensor's entries go in the new one: per dimension, the new index of each old index (None: same)."""


class SurgeryError(FourfoldError):
    """A surgery that cannot be done: a narrower core, a negative feature count, a pool without its snapshots."""


# --- the operations -------------------------------------------------------------------------------------------


def _embed(old: Tensor, base: Tensor, placement: Placement) -> Tensor:
    """`base` with `old` written at `placement`; for a matrix the old rows are zeroed first, so an old unit reads
    nothing from a new one."""
    index = [torch.arange(size) if p is None else p for size, p in zip(old.shape, placement, strict=True)]
    out = base.detach().clone()
    if old.dim() >= 2:
        out[index[0]] = 0.0
    out[torch.meshgrid(*index, indexing="ij")] = old.to(out.dtype)
    return out


def _transplant(target: FivePolicy, source: Mapping[str, Tensor], placements: Mapping[str, Placement]) -> None:
    """Load `source` (an old state dict) into `target`, placing the tensors that changed shape."""
    new_state = target.state_dict()
    merged = {}
    for name, base in new_state.items():
        old = source[name]
        if name in placements:
            merged[name] = _embed(old, base, placements[name])
        else:
            assert old.shape == base.shape, f"{name}: {tuple(old.shape)} -> {tuple(base.shape)} without a placement"
            merged[name] = old.clone()
    target.load_state_dict(merged)


def _hidden_placements(config: PolicyConfig, new_hidden: int) -> dict[str, Placement]:
    """Placements of the parameters whose shape depends on hidden_dim D when it becomes `new_hidden`."""
    hidden = torch.arange(config.hidden_dim)  # old unit i stays unit i
    mixer_columns = torch.cat([hidden, new_hidden + torch.arange(config.pooled_dim)])  # [x (D), team pool (Dp)]
    placements: dict[str, Placement] = {
        "joiner.weight": (hidden, None),
        "joiner.bias": (hidden,),
        "team_mixer.weight": (hidden, mixer_columns),
        "team_mixer.bias": (hidden,),
        "primary_head.weight": (None, hidden),
        "query.weight": (None, hidden),
        "value_head.weight": (None, hidden),
    }
    if config.core == "ff":
        placements["core.weight"] = (hidden, hidden)
        placements["core.bias"] = (hidden,)
    else:  # gates stacked along the rows: GRU [r, z, n], LSTM [i, f, g, o], each D wide
        gates = torch.cat([g * new_hidden + hidden for g in range(3 if config.core == "gru" else 4)])
        for kind in ("ih", "hh"):
            placements[f"core.weight_{kind}"] = (gates, hidden)
            placements[f"core.bias_{kind}"] = (gates,)
    return placements


def state_placement(config: PolicyConfig, new_hidden: int) -> Tensor:
    """(S,) where each entry of a core state of `config` goes once hidden_dim is `new_hidden` (LSTM: [h, c])."""
    hidden = torch.arange(config.hidden_dim)
    if config.core == "lstm":
        return torch.cat([hidden, new_hidden + hidden])
    return hidden if config.core == "gru" else torch.arange(1)


def widen_core(policy: FivePolicy, new_hidden: int, seed: int = 0) -> FivePolicy:
    """A copy of `policy` whose per-hero vector and core have `new_hidden` units, computing the same outputs.

    Args:
        policy: the policy to operate on (left unchanged).
        new_hidden: the new hidden_dim, at least the current one.
        seed: seeds the initial incoming weights of the new units.

    Raises:
        SurgeryError: `new_hidden` is smaller than the policy's hidden_dim.
    """
    config = policy.config
    if not isinstance(new_hidden, int) or new_hidden < config.hidden_dim:
        raise SurgeryError(
            f"cannot widen the core from {config.hidden_dim} to {new_hidden} units: surgery only adds units, "
            f"so pass a hidden size of at least {config.hidden_dim}."
        )
    extra_globals, extra_units = observation_extras(policy)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        widened = FivePolicy(dataclasses.replace(config, hidden_dim=new_hidden))
    widened = _with_extra_features(widened, extra_globals, extra_units)
    _transplant(widened, policy.state_dict(), _hidden_placements(config, new_hidden))
    widened.train(policy.training)
    return widened


def _width(policy: FivePolicy, prefix: str) -> int:
    """Features of the normaliser `prefix` ("global" or "unit") of `policy`."""
    mean = getattr(policy, f"{prefix}_mean")
    assert isinstance(mean, Tensor)
    return int(mean.shape[0])


def observation_extras(policy: FivePolicy) -> tuple[int, int]:
    """(global, per-unit) features `policy` reads beyond the game's own (`add_observation_features`)."""
    return _width(policy, "global") - NUM_GLOBAL, _width(policy, "unit") - NUM_UNIT_FEATURES


def _feature_placements(policy: FivePolicy, where: FeatureGroup) -> dict[str, Placement]:
    if where == "globals":
        columns = torch.arange(_width(policy, "global"))
        return {"global_encoder.0.weight": (None, columns), "global_mean": (columns,), "global_var": (columns,)}
    columns = torch.arange(_width(policy, "unit"))
    placements: dict[str, Placement] = {"unit_mean": (columns,), "unit_var": (columns,)}
    for kind in range(len(policy.unit_encoders)):
        placements[f"unit_encoders.{kind}.0.weight"] = (None, columns)
    return placements


def _widen_inputs(policy: FivePolicy, where: FeatureGroup, count: int) -> None:
    """Give `policy`'s first layer of `where` `count` more inputs and its normaliser mean 0, var 1 for them (in
    place; the weights are fresh: `_transplant` fills them)."""
    encoders = [policy.global_encoder] if where == "globals" else list(policy.unit_encoders)
    for encoder in encoders:
        assert isinstance(encoder, nn.Sequential)
        first = encoder[0]
        assert isinstance(first, nn.Linear)
        encoder[0] = nn.Linear(first.in_features + count, first.out_features)
    prefix = "global" if where == "globals" else "unit"
    width = _width(policy, prefix) + count
    setattr(policy, f"{prefix}_mean", torch.zeros(width, dtype=torch.float64))
    setattr(policy, f"{prefix}_var", torch.ones(width, dtype=torch.float64))


def _with_extra_features(policy: FivePolicy, extra_globals: int, extra_units: int) -> FivePolicy:
    """`policy` (a fresh one) shaped to read that many extra features (weights not meaningful yet)."""
    if extra_globals:
        _widen_inputs(policy, "globals", extra_globals)
    if extra_units:
        _widen_inputs(policy, "units", extra_units)
    return policy


def add_observation_features(policy: FivePolicy, where: FeatureGroup, count: int) -> FivePolicy:
    """A copy of `policy` that reads `count` more features of `where` ("globals": per hero, "units": per unit),
    appended after the current ones, with zero weights: its outputs ignore them until training moves those weights.

    Raises:
        SurgeryError: `where` is neither group, or `count` is negative.
    """
    if where not in ("globals", "units"):
        raise SurgeryError(f"cannot add observation features to {where!r}: choose 'globals' or 'units'.")
    if not isinstance(count, int) or count < 0:
        raise SurgeryError(f"cannot add {count} observation features to {where}: the count must be 0 or more.")
    operated = copy.deepcopy(policy)
    if count == 0:
        return operated
    placements = _feature_placements(policy, where)
    _widen_inputs(operated, where, count)
    _transplant(operated, policy.state_dict(), placements)
    return operated


# --- the opponent pool ----------------------------------------------------------------------------------------


@dataclass
class SnapshotPool:
    """An opponent pool with the weights of its snapshots (the pool itself holds versions and scores only)."""

    pool: OpponentPool
    snapshots: dict[int, FivePolicy]
    """version -> the snapshot's policy."""


def migrate_pool(pool: SnapshotPool, transform: Callable[[FivePolicy], FivePolicy]) -> SnapshotPool:
    """A new pool whose snapshots are `transform` of the old ones, with the same versions and quality scores.

    Raises:
        SurgeryError: a version of the pool has no snapshot.
    """
    missing = [v for v in pool.pool.versions if v not in pool.snapshots]
    if missing:
        raise SurgeryError(
            f"cannot migrate the opponent pool: version {missing[0]} has no snapshot; load every snapshot first."
        )
    scores = OpponentPool(pool.pool.config)
    scores.load_state_dict(copy.deepcopy(pool.pool.state_dict()))
    return SnapshotPool(scores, {version: transform(pool.snapshots[version]) for version in pool.pool.versions})


# --- preservation ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """Observations recorded from real game steps, as the policy reads them."""

    obs: dict[str, Tensor]
    """`OBS_KEYS` -> (L, N, K, ...)"""
    starts: Tensor
    """(L, N) bool: a game starts at that step."""


def record_observations(
    policy: FivePolicy, game: GameConfig, num_games: int = 4, steps: int = 16, seed: int = 0
) -> Recorded:
    """Let `policy` play both teams of `num_games` games for `steps` decisions (sampling with `seed`) and record
    every team's observations: N = 2 * num_games teams of K = game.heroes_per_team heroes."""
    from fourfold.five.env import FiveVecEnv
    from fourfold.five.policy import team_observation

    env = FiveVecEnv(num_games, game, seed=seed)
    obs, _ = env.reset(seed)
    k = game.heroes_per_team
    games = np.repeat(np.arange(num_games, dtype=np.int64), 2)  # (N,) team rows game by game
    teams = np.tile(np.arange(2, dtype=np.int64), num_games)  # (N,)
    slots = teams[:, None] * HEROES_PER_TEAM + np.arange(k)[None, :]  # (N, K)
    generator = torch.Generator().manual_seed(seed)
    state = policy.initial_state(2 * num_games, k)  # (N, K, S)
    starts = np.ones(2 * num_games, dtype=bool)
    frames: list[dict[str, Tensor]] = []
    start_rows: list[Tensor] = []
    for _ in range(steps):
        team_obs = team_observation(obs, games, teams, k)  # (N, K, ...)
        frames.append({key: torch.from_numpy(np.array(team_obs[key])) for key in OBS_KEYS})
        start_rows.append(torch.from_numpy(starts.copy()))
        sample = policy.act(team_obs, state, starts, False, generator)
        actions = [np.zeros((num_games, 2 * HEROES_PER_TEAM), dtype=np.int64) for _ in range(3)]  # (G, 10) each
        for action, chosen in zip(actions, (sample.primary, sample.target_index, sample.offset_index), strict=True):
            action[games[:, None], slots] = chosen
        obs, _, terminated, _, _ = env.step(*actions)
        starts = np.repeat(terminated, 2)
        state = sample.state * torch.from_numpy(~starts).to(sample.state.dtype).view(-1, 1, 1)
    stacked = {key: torch.stack([frame[key] for frame in frames]) for key in OBS_KEYS}
    return Recorded(stacked, torch.stack(start_rows))


def with_extra_features(recorded: Recorded, extra_globals: int, extra_units: int, seed: int = 0) -> Recorded:
    """`recorded` with that many extra feature columns of standard normal noise (what an operated policy reads)."""
    generator = torch.Generator().manual_seed(seed)
    obs = dict(recorded.obs)
    for key, count in (("globals", extra_globals), ("units", extra_units)):
        if count:
            noise = torch.randn(*obs[key].shape[:-1], count, generator=generator)
            obs[key] = torch.cat([obs[key], noise], dim=-1)
    return Recorded(obs, recorded.starts)


@dataclass(frozen=True)
class Change:
    """The largest absolute change between two policies' outputs on the same observations."""

    primary: float
    target: float
    offset: float
    value: float

    @property
    def probabilities(self) -> float:
        """Over every head's action probabilities."""
        return max(self.primary, self.target, self.offset)

    @property
    def largest(self) -> float:
        return max(self.probabilities, self.value)


def _largest_difference(a: Tensor, b: Tensor) -> float:
    both_nan = torch.isnan(a) & torch.isnan(b)  # a row with no allowed action (never in the game's masks)
    difference = torch.where(both_nan, torch.zeros_like(a), (a - b).abs())
    return float(torch.nan_to_num(difference, nan=float("inf")).max()) if difference.numel() else 0.0


@torch.no_grad()
def output_change(old: FivePolicy, new: FivePolicy, old_obs: Recorded, new_obs: Recorded | None = None) -> Change:
    """The largest change of any head's probabilities and of the value from `old` on `old_obs` to `new` on `new_obs`
    (default: the same observations), each policy running over the recorded sequences from its initial state."""
    new_obs = new_obs if new_obs is not None else old_obs
    outputs = []
    for policy, recorded in ((old, old_obs), (new, new_obs)):
        n, k = recorded.obs["globals"].shape[1:3]
        outputs.append(policy(recorded.obs, policy.initial_state(n, k), recorded.starts))
    a, b = outputs
    return Change(
        primary=_largest_difference(a.primary_logits.softmax(-1), b.primary_logits.softmax(-1)),
        target=_largest_difference(a.target_logits.softmax(-1), b.target_logits.softmax(-1)),
        offset=_largest_difference(a.offset_logits.softmax(-1), b.offset_logits.softmax(-1)),
        value=_largest_difference(a.value, b.value),
    )


# --- checkpoints and the command ------------------------------------------------------------------------------


def load_operated_policy(path: str | Path) -> FivePolicy:
    """The policy of a checkpoint, also one that reads extra observation features (which `policy.load_policy`
    cannot shape from its config).

    Raises:
        CheckpointError: `path` is missing, damaged or not a Five policy.
    """
    from fourfold.core.checkpoint import CheckpointError, load_checkpoint, load_model_state
    from fourfold.core.config import from_jsonable

    checkpoint = load_checkpoint(path)
    if checkpoint.kind not in ("five-policy", "five-train"):
        raise CheckpointError(f"{path} is a {checkpoint.kind!r} checkpoint, not a Five policy; pass a Five run's")
    data = checkpoint.config or {}
    config = from_jsonable(PolicyConfig, data.get("policy", {}) if checkpoint.kind == "five-train" else data)
    policy = FivePolicy(config)
    shapes = {name: tensor.shape for name, tensor in checkpoint.model.items()}
    extra_globals = int(shapes["global_mean"][0]) - NUM_GLOBAL if "global_mean" in shapes else 0
    extra_units = int(shapes["unit_mean"][0]) - NUM_UNIT_FEATURES if "unit_mean" in shapes else 0
    if extra_globals > 0 or extra_units > 0:
        policy = _with_extra_features(policy, max(extra_globals, 0), max(extra_units, 0))
    load_model_state(policy, checkpoint.model, str(path))
    policy.eval()
    return policy


def operate_training_state(
    state: dict[str, Any], old: FivePolicy, new: FivePolicy, placements: Mapping[str, Placement], state_index: Tensor
) -> dict[str, Any]:
    """A training checkpoint's extra state (`selfplay.train_selfplay`) fitted to `new`, the widened `old`: the
    optimizer's per-parameter tensors placed like the parameters (0 for the new entries), the recurrent states of the
    games in progress (in this process or on each rollout worker) placed by `state_index` (0 for the new units);
    everything else as it was."""
    names = [name for name, _ in old.named_parameters()]
    old_shapes = {name: p.shape for name, p in old.named_parameters()}
    new_shapes = {name: p.shape for name, p in new.named_parameters()}
    optimizer = dict(state["optimizer"])
    per_parameter = {}
    for index, entry in optimizer["state"].items():
        name = names[int(index)]
        fitted = dict(entry)
        for key, value in entry.items():  # Adam: step (a scalar), exp_avg and exp_avg_sq (the parameter's shape)
            if name in placements and isinstance(value, Tensor) and value.shape == old_shapes[name]:
                base = torch.zeros(new_shapes[name], dtype=value.dtype)
                fitted[key] = _embed(value, base, placements[name])
        per_parameter[index] = fitted
    optimizer["state"] = per_parameter
    size = new.config.state_size
    fitted_state = {**state, "optimizer": optimizer}
    if state.get("match") is not None:  # the in-process loop's games
        fitted_state["match"] = _grow_match(state["match"], size, state_index)
    if state.get("workers") is not None:  # each rollout worker's games (`--workers`, synchronous)
        fitted_state["workers"] = [
            {**worker, "match": _grow_match(worker["match"], size, state_index)}
            if worker.get("match") is not None
            else worker
            for worker in state["workers"]
        ]
    return fitted_state


def _grow_match(saved_match: dict[str, Any], size: int, state_index: Tensor) -> dict[str, Any]:
    """A saved match (`rollout.match_state`) whose recurrent states are placed by `state_index` in `size` units."""
    match = dict(saved_match)
    for key in ("learner_state", "opponent_state"):
        saved: Tensor = match[key]  # (G, K, S)
        grown = torch.zeros(*saved.shape[:-1], size, dtype=saved.dtype)  # (G, K, S')
        grown[..., state_index] = saved
        match[key] = grown
    return match


@dataclass
class SurgeryConfig:
    """Operate on a trained Five policy (widen its core, add observation features) without changing its actions."""

    run: tyro.conf.Positional[str]
    """A run folder (its newest checkpoint is operated on) or a checkpoint folder."""
    out: Path
    """The new run folder: checkpoints/step_N/ (the operated checkpoint), pool/ (the migrated snapshots)."""
    hidden_dim: int | None = None
    """Widen the per-hero vector and the core to this many units (at least the current hidden_dim)."""
    extra_globals: int = 0
    """Global features per hero to add after the current ones (zero weights)."""
    extra_unit_features: int = 0
    """Features per unit to add after the current ones (zero weights)."""
    num_games: int = 4
    """Games the old policy plays (both teams) to record the observations the change is measured on."""
    steps: int = 16
    """Decisions recorded per game."""
    seed: int = 0
    """Seeds the recorded games and the new units' initial weights."""
    overwrite: bool = False
    """Replace --out if it already holds something."""
    threads: int = 1
    """torch threads."""

    def __post_init__(self) -> None:
        require(self.hidden_dim is None or self.hidden_dim >= 1, "hidden_dim", f"must be positive ({self.hidden_dim})")
        for name in ("extra_globals", "extra_unit_features"):
            value = getattr(self, name)
            require(value >= 0, name, f"must be 0 or more (got {value})")
        require(
            self.hidden_dim is not None or self.extra_globals > 0 or self.extra_unit_features > 0,
            "hidden_dim",
            "nothing to do: pass --hidden-dim, --extra-globals or --extra-unit-features",
        )
        for name in ("num_games", "steps", "threads"):
            value = getattr(self, name)
            require(value >= 1, name, f"must be at least 1 (got {value})")


@dataclass
class SurgerySummary:
    """What `surgery` did."""

    source: str
    """The checkpoint operated on."""
    checkpoint: str
    """The checkpoint written."""
    step: int
    operations: list[str]
    snapshots: int
    """Opponent-pool snapshots migrated."""
    max_probability_change: float
    """Largest |p_new - p_old| of any head's action probability, over the policy and its pool's snapshots."""
    max_value_change: float
    hero_steps: int
    """Hero decisions the change was measured on (per policy)."""
    resumable: bool
    """The checkpoint is a training state: `fourfold five train --out OUT --resume` continues it."""

    def __str__(self) -> str:
        out = Path(self.checkpoint).parent.parent
        how = f"resume with `fourfold five train --out {out} --resume`" if self.resumable else "a policy checkpoint"
        return (
            f"surgery of {self.source} (step {self.step}): {', '.join(self.operations)}; "
            f"{self.snapshots} pool snapshots migrated\nlargest change on {self.hero_steps} recorded hero decisions: "
            f"action probability {self.max_probability_change:.2e}, value {self.max_value_change:.2e}\n"
            f"wrote {self.checkpoint} ({how})"
        )


def _source_checkpoint(run: Path) -> Path:
    from fourfold.core.checkpoint import MANIFEST, latest_checkpoint

    if (run / MANIFEST).is_file():
        return run
    latest = latest_checkpoint(run / "checkpoints") if run.is_dir() else None
    if latest is None:
        raise SurgeryError(
            f"{run} is neither a checkpoint folder nor a run folder with checkpoints; pass one of those."
        )
    return latest


def surgery(config: SurgeryConfig) -> SurgerySummary:
    """Operate on a run's newest checkpoint as `config` says and write the result (see the module docstring)."""
    from fourfold.core.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
    from fourfold.core.config import from_jsonable, save_config
    from fourfold.five.agents import checkpoint_game_config
    from fourfold.five.policy import save_policy
    from fourfold.five.train import TrainConfig

    # 1. The checkpoint, its policy and its pool.
    torch.set_num_threads(config.threads)
    source = _source_checkpoint(Path(config.run))
    checkpoint = load_checkpoint(source)
    old = load_operated_policy(source)
    old_globals, old_units = observation_extras(old)
    pool: SnapshotPool | None = None
    if checkpoint.kind == "five-train" and "pool" in checkpoint.state:
        scores = OpponentPool(from_jsonable(TrainConfig, checkpoint.config).pool)
        scores.load_state_dict(checkpoint.state["pool"])
        folder = source.parent.parent / "pool"
        snapshots = {}
        for version in scores.versions:
            if not checkpoint_path(folder, version).is_dir():
                raise SurgeryError(f"snapshot {version} of the opponent pool is missing from {folder}; restore it.")
            snapshots[version] = load_operated_policy(checkpoint_path(folder, version))
        pool = SnapshotPool(scores, snapshots)

    # 2. The operation, on the policy and every snapshot.
    new_hidden = config.hidden_dim if config.hidden_dim is not None else old.config.hidden_dim

    def transform(policy: FivePolicy) -> FivePolicy:
        operated = widen_core(policy, new_hidden, config.seed)
        operated = add_observation_features(operated, "globals", config.extra_globals)
        return add_observation_features(operated, "units", config.extra_unit_features).eval()

    new = transform(old)
    migrated = migrate_pool(pool, transform) if pool is not None else None
    operations = [f"core {old.config.hidden_dim} -> {new_hidden} units"] if config.hidden_dim is not None else []
    operations += [f"+{config.extra_globals} global features"] if config.extra_globals else []
    operations += [f"+{config.extra_unit_features} unit features"] if config.extra_unit_features else []

    # 3. The change, on observations the old policy recorded in real games (new features: noise).
    game = checkpoint_game_config(source) if checkpoint.kind == "five-train" else None
    recorded = record_observations(old, game or GameConfig(), config.num_games, config.steps, config.seed)
    old_view = with_extra_features(recorded, old_globals, old_units, config.seed)
    new_view = with_extra_features(old_view, config.extra_globals, config.extra_unit_features, config.seed + 1)
    pairs = [(old, new)]
    if pool is not None and migrated is not None:
        pairs += [(pool.snapshots[v], migrated.snapshots[v]) for v in pool.pool.versions]
    changes = [output_change(a, b, old_view, new_view) for a, b in pairs]

    # 4. Write the new run folder: the checkpoint, the pool's snapshots, the summary.
    out = Path(config.out)
    occupied = any(out.iterdir()) if out.is_dir() else out.exists()
    if occupied and not config.overwrite:
        raise SurgeryError(f"{out} already exists; pass --overwrite or choose another --out.")
    if occupied:
        if out.is_dir():
            shutil.rmtree(out)
        else:
            out.unlink()
    target = checkpoint_path(out / "checkpoints", checkpoint.step)
    record = {"source": str(source), "operations": operations}
    resumable = checkpoint.kind == "five-train" and config.extra_globals == 0 and config.extra_unit_features == 0
    resumable = resumable and old_globals == 0 and old_units == 0
    if resumable:
        train_config = from_jsonable(TrainConfig, checkpoint.config)
        train_config = dataclasses.replace(train_config, out=out, policy=new.config, resume=False)
        placements = _hidden_placements(old.config, new_hidden)
        state = operate_training_state(checkpoint.state, old, new, placements, state_placement(old.config, new_hidden))
        save_checkpoint(
            target,
            model=new.state_dict(),
            config=train_config,
            state={**state, "surgery": record},
            step=checkpoint.step,
            kind=checkpoint.kind,
        )
        save_config(train_config, out / "config.json")
        metrics = source.parent.parent / "metrics.jsonl"
        if metrics.is_file():
            shutil.copyfile(metrics, out / "metrics.jsonl")
    else:
        extra: dict[str, Any] = {"surgery": record}
        if migrated is not None:
            extra["pool"] = migrated.pool.state_dict()
        save_policy(target, new, extra, step=checkpoint.step)
    if migrated is not None:
        for version, snapshot in migrated.snapshots.items():
            save_policy(checkpoint_path(out / "pool", version), snapshot, {"surgery": record}, step=version)
    n, k = recorded.obs["globals"].shape[1:3]
    summary = SurgerySummary(
        source=str(source),
        checkpoint=str(target),
        step=checkpoint.step,
        operations=operations,
        snapshots=len(migrated.snapshots) if migrated is not None else 0,
        max_probability_change=max(change.probabilities for change in changes),
        max_value_change=max(change.value for change in changes),
        hero_steps=config.steps * n * k,
        resumable=resumable,
    )
    (out / "surgery.json").write_text(json.dumps(dataclasses.asdict(summary), indent=2) + "\n", encoding="utf-8")
    return summary
