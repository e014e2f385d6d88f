"""`FivePolicy`: the policy shared by all heroes of a team, after OpenAI Five's network (Berner et al. 2019,
"Dota 2 with Large Scale Deep Reinforcement Learning", Appendix, "Model structure", Figure 17), small enough for a CPU.

Per hero, from its observation (`game/observe.py`, already in its team's frame):

1. running normalisation of the global and unit features (statistics in buffers, so a saved policy carries them;
   clipped to +-5 as in Five), updated by the trainer with `update_normalizer`;
2. per-kind unit encoders: one MLP for each kind of list (allied heroes, enemy heroes, creeps, structures; creeps
   and structures of both sides share theirs, the ally flag is a feature), then max and mean pooling over the
   present units of each of the six lists (`actions.LIST_NAMES`); self-attention over units costs too much here;
3. a hero embedding (its slot in the team and its archetype) and an MLP of the global features, joined with the
   pooled units into one vector per hero;
4. cross-hero pooling as in Five: a max over the team's present heroes of a slice of that vector, appended to each;
5. a GRU or LSTM core per hero (or none: `core="ff"`), whose state is zeroed where an episode starts;
6. factored heads: the primary action; for each primary p a query `W h + E[p]`, whose dot product with the
   encoded units gives the target pointer's logits and whose MLP gives the ground offset's logits; and the
   value. Every head is masked by its mask (`obs["action_mask"]`), the target and offset masks per primary, with
   -inf logits, so an invalid action has probability exactly 0 and is never sampled.

The joint log-probability of an action is log p(primary) + log p(target | primary) + log p(offset | primary): a head
the primary does not read allows only index 0, so its term is exactly 0.

A team may field k <= 5 heroes (1v1, 3v3 curricula): every tensor has k hero rows; the slot embedding uses the row.

Shape legend: L sequence length, N teams (games), K heroes of a team (<= 5), T = NUM_TARGETS, F unit features,
P = NUM_PRIMARY, O = NUM_OFFSETS, D hidden size, S state size, U unit width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from fourfold.core.config import from_jsonable, require
from fourfold.five.actions import LIST_SIZES, LIST_STARTS, NUM_LISTS, NUM_OFFSETS, NUM_TARGETS
from fourfold.five.game.constants import (
    ACTION_ATTACK,
    ACTION_CAST_0,
    ACTION_MOVE_0,
    HEROES_PER_TEAM,
    NUM_ABILITIES,
    NUM_ARCHETYPES,
    NUM_PRIMARY,
)
from fourfold.five.game.observe import GLOBAL_HEROES, GLOBAL_SELF, HERO_FEATURES, NUM_GLOBAL, NUM_UNIT_FEATURES

KIND = "five-policy"
"""The checkpoint kind of a saved policy."""
ARCHETYPE_FEATURE = GLOBAL_SELF + 22
"""First of the 4 archetype one-hot features of a hero's globals."""
LIST_KIND = (0, 1, 2, 2, 3, 3)
"""Encoder of each list: allied heroes, enemy heroes, creeps (both sides), structures (both sides)."""
NUM_KINDS = 4
KIND_SPANS = tuple(
    (
        min(LIST_STARTS[lst] for lst in range(NUM_LISTS) if LIST_KIND[lst] == kind),
        max(LIST_STARTS[lst] + LIST_SIZES[lst] for lst in range(NUM_LISTS) if LIST_KIND[lst] == kind),
    )
    for kind in range(NUM_KINDS)
)
"""(start, stop) of each encoder's entries in the target pointer (the lists of one kind are adjacent)."""
CLIP = 5.0
"""Normalised features are clipped to +-CLIP (Five clipped its observations to +-5)."""
FORWARD_MOVE = ACTION_MOVE_0 + 1
"""The primary that moves towards the enemy base: direction 1 (45 degrees, north-east), as every team sees the map
from its own bottom-left corner."""


@dataclass(frozen=True)
class PolicyConfig:
    """Sizes of `FivePolicy` (defaults: about 0.2 M parameters)."""

    unit_dim: int = 32
    """Width of the per-kind unit encoders, and of the per-primary queries of the target and offset heads."""
    global_dim: int = 96
    """Width of the MLP of the global features."""
    hero_embed_dim: int = 16
    """Width of the slot and archetype embeddings."""
    hidden_dim: int = 128
    """Width of the per-hero vector and of the core."""
    pooled_dim: int = 64
    """Slice of the per-hero vector max-pooled across the team's heroes."""
    core: Literal["gru", "lstm", "ff"] = "gru"
    """Recurrent core: a GRU, an LSTM, or a feed-forward layer (no memory)."""
    forward_bias: float = 1.5
    """Initial logit bias of the primary head's move towards the enemy base (north-east in the team frame): an
    exploration prior. A uniform first policy random-walks around its fountain and never reaches the lane, so it
    collects no shaped reward at all (about 0.05 a 1v1 game, all from creeps); with this prior and `attack_bias`
    the first heroes reach the fight and collect last hits, experience and tower damage. Learnable, so PPO can
    unlearn it."""
    attack_bias: float = 2.0
    """Initial logit bias of the primary head's attack (allowed only when a target exists): the same prior."""

    def __post_init__(self) -> None:
        for name in ("unit_dim", "global_dim", "hero_embed_dim", "hidden_dim", "pooled_dim"):
            value = getattr(self, name)
            require(isinstance(value, int) and value >= 1, name, f"must be a positive integer (got {value})")
        require(self.pooled_dim <= self.hidden_dim, "pooled_dim", f"must be at most hidden_dim ({self.hidden_dim})")
        require(self.core in ("gru", "lstm", "ff"), "core", f"must be gru, lstm or ff (got {self.core!r})")
        for name in ("forward_bias", "attack_bias"):
            value = getattr(self, name)
            require(math.isfinite(value), name, f"must be a finite number (got {value})")

    @property
    def state_size(self) -> int:
        """S: floats of recurrent state per hero (an LSTM holds h and c; the feed-forward core keeps one dummy)."""
        return {"gru": self.hidden_dim, "lstm": 2 * self.hidden_dim, "ff": 1}[self.core]


class PolicyOutput(NamedTuple):
    """What `FivePolicy.forward` returns for (L, N, K) heroes; logits are masked (-inf where not allowed)."""

    primary_logits: Tensor
    """(L, N, K, P)"""
    target_logits: Tensor
    """(L, N, K, P, T): the target pointer's logits given each primary."""
    offset_logits: Tensor
    """(L, N, K, P, O): the ground offset's logits given each primary."""
    value: Tensor
    """(L, N, K)"""
    state: Tensor
    """(N, K, S) the core's state after the last step."""


class ActionSample(NamedTuple):
    """What `FivePolicy.act` returns for one step of N teams of K heroes."""

    primary: NDArray[np.int64]
    """(N, K)"""
    target_index: NDArray[np.int64]
    """(N, K)"""
    offset_index: NDArray[np.int64]
    """(N, K)"""
    log_prob: NDArray[np.float32]
    """(N, K) joint log-probability of the three heads."""
    value: NDArray[np.float32]
    """(N, K)"""
    state: Tensor
    """(N, K, S) the next recurrent state."""


OBS_KEYS = ("globals", "units", "unit_present", "mask_primary", "mask_target", "mask_offset")
"""The keys of a policy's observation dict (tensors with leading (L, N, K) or (N, K))."""


def team_observation(obs: dict[str, Any], games: NDArray[np.int64], team: NDArray[np.int64], k: int) -> dict[str, Any]:
    """The first `k` hero rows of `team[i]` in game `games[i]` of an env observation (G, 10, ...): (N, k, ...) each,
    flattened to the policy's keys (`OBS_KEYS`)."""
    heroes = team[:, None] * HEROES_PER_TEAM + np.arange(k)[None, :]  # (N, k)
    rows = games[:, None]
    masks = obs["action_mask"]
    return {
        "globals": obs["globals"][rows, heroes],
        "units": obs["units"][rows, heroes],
        "unit_present": obs["unit_present"][rows, heroes],
        "mask_primary": masks["primary"][rows, heroes],
        "mask_target": masks["target"][rows, heroes],
        "mask_offset": masks["offset"][rows, heroes],
    }


def to_tensors(obs: dict[str, Any]) -> dict[str, Tensor]:
    """NumPy observation arrays as tensors (no copy where the dtype allows)."""
    return {key: torch.from_numpy(np.ascontiguousarray(obs[key])) for key in OBS_KEYS}


def _mlp(sizes: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _masked(logits: Tensor, mask: Tensor) -> Tensor:
    return logits.masked_fill(~mask, float("-inf"))


class FivePolicy(nn.Module):
    """The shared policy of a team (see the module docstring)."""

    def __init__(self, config: PolicyConfig | None = None) -> None:
        super().__init__()
        self.config = c = config if config is not None else PolicyConfig()
        # Normalisation statistics: float64 sums, so resumed runs see the same numbers.
        self.register_buffer("global_mean", torch.zeros(NUM_GLOBAL, dtype=torch.float64))
        self.register_buffer("global_var", torch.ones(NUM_GLOBAL, dtype=torch.float64))
        self.register_buffer("global_count", torch.full((), 1e-4, dtype=torch.float64))
        self.register_buffer("unit_mean", torch.zeros(NUM_UNIT_FEATURES, dtype=torch.float64))
        self.register_buffer("unit_var", torch.ones(NUM_UNIT_FEATURES, dtype=torch.float64))
        self.register_buffer("unit_count", torch.full((), 1e-4, dtype=torch.float64))
        self.unit_encoders = nn.ModuleList(_mlp((NUM_UNIT_FEATURES, c.unit_dim, c.unit_dim)) for _ in range(NUM_KINDS))
        self.global_encoder = _mlp((NUM_GLOBAL, c.global_dim, c.global_dim))
        self.slot_embedding = nn.Embedding(HEROES_PER_TEAM, c.hero_embed_dim)
        self.archetype_embedding = nn.Embedding(NUM_ARCHETYPES, c.hero_embed_dim)
        joined = 2 * NUM_LISTS * c.unit_dim + c.global_dim + c.hero_embed_dim
        self.joiner = nn.Linear(joined, c.hidden_dim)
        self.team_mixer = nn.Linear(c.hidden_dim + c.pooled_dim, c.hidden_dim)
        self.core: nn.Module
        if c.core == "gru":
            self.core = nn.GRUCell(c.hidden_dim, c.hidden_dim)
        elif c.core == "lstm":
            self.core = nn.LSTMCell(c.hidden_dim, c.hidden_dim)
        else:
            self.core = nn.Linear(c.hidden_dim, c.hidden_dim)
        self.primary_head = nn.Linear(c.hidden_dim, NUM_PRIMARY)
        self.query = nn.Linear(c.hidden_dim, c.unit_dim)
        self.primary_embedding = nn.Embedding(NUM_PRIMARY, c.unit_dim)
        self.offset_head = _mlp((c.unit_dim, c.unit_dim, NUM_OFFSETS))
        self.value_head = nn.Linear(c.hidden_dim, 1)
        with torch.no_grad():  # small initial logits: a near-uniform first policy (as CleanRL's 0.01 gain)
            self.primary_head.weight.mul_(0.01)
            self.primary_head.bias.zero_()
            self.primary_head.bias[FORWARD_MOVE] = c.forward_bias
            self.primary_head.bias[ACTION_ATTACK] = c.attack_bias
            last = self.offset_head[-1]
            assert isinstance(last, nn.Linear)
            last.weight.mul_(0.01)
            self.query.weight.mul_(0.1)

    def initial_state(self, batch: int, heroes: int = HEROES_PER_TEAM) -> Tensor:
        """(batch, heroes, S) zeros: the state at the start of an episode."""
        return torch.zeros(batch, heroes, self.config.state_size)

    @torch.no_grad()
    def update_normalizer(self, obs: dict[str, Tensor]) -> None:
        """Fold a batch of raw observations (any leading shape) into the running statistics (Chan et al.'s update),
        counting present heroes' globals and present units only."""
        present = obs["globals"][..., GLOBAL_HEROES] > 0.5  # (...) absent hero slots observe all zeros
        rows = obs["globals"][present].double()  # (B, G)
        units = obs["units"][obs["unit_present"]].double()  # (B', F)
        for batch, prefix in ((rows, "global"), (units, "unit")):
            if batch.shape[0] == 0:
                continue
            mean, var, count = (getattr(self, f"{prefix}_{name}") for name in ("mean", "var", "count"))
            batch_mean = batch.mean(0)
            batch_var = batch.var(0, unbiased=False)
            n = float(batch.shape[0])
            delta = batch_mean - mean
            total = count + n
            new_mean = mean + delta * n / total
            m2 = var * count + batch_var * n + delta**2 * count * n / total
            mean.copy_(new_mean)
            var.copy_(m2 / total)
            count.copy_(total)

    def _normalize(self, x: Tensor, prefix: str) -> Tensor:
        mean: Tensor = getattr(self, f"{prefix}_mean").float()
        std: Tensor = (getattr(self, f"{prefix}_var").float() + 1e-8).sqrt()
        return ((x - mean) / std).clamp(-CLIP, CLIP)

    def forward(self, obs: dict[str, Tensor], state: Tensor, starts: Tensor) -> PolicyOutput:
        """Run the policy over a sequence.

        Args:
            obs: `OBS_KEYS` tensors with leading (L, N, K) (or (N, K) for one step).
            state: (N, K, S) the core's state before the first step.
            starts: (L, N) (or (N,)) bool, True where a new episode starts at that step (its state is zeroed first).
        """
        single = obs["globals"].dim() == 3
        if single:
            obs = {key: value.unsqueeze(0) for key, value in obs.items()}
            starts = starts.unsqueeze(0)
        c = self.config
        length, n, k = obs["globals"].shape[:3]
        raw_globals = obs["globals"]  # (L, N, K, G)
        hero_present = raw_globals[..., GLOBAL_HEROES + torch.arange(k) * HERO_FEATURES] > 0.5  # (L, N, K, K)
        hero_present = hero_present.diagonal(dim1=-2, dim2=-1)  # (L, N, K) each hero's own present flag
        # 1-2. Units: normalise, encode per kind, pool per list.
        units = self._normalize(obs["units"], "unit")  # (L, N, K, T, F)
        unit_present = obs["unit_present"]  # (L, N, K, T)
        parts = [
            torch.relu(self.unit_encoders[kind](units[..., start:stop, :]))
            for kind, (start, stop) in enumerate(KIND_SPANS)
        ]
        encoded = torch.cat(parts, dim=-2) * unit_present.unsqueeze(-1)  # (L, N, K, T, U)
        pooled = []
        # One split per list (slicing each list out separately costs a full-size gradient per slice in backward).
        sizes = list(LIST_SIZES)
        lists = zip(torch.split(encoded, sizes, dim=-2), torch.split(unit_present, sizes, dim=-1), strict=True)
        for list_units, list_present in lists:  # (L, N, K, size, U), (L, N, K, size)
            count = list_present.sum(-1, keepdim=True).clamp(min=1)  # (L, N, K, 1)
            pooled.append(list_units.sum(-2) / count)  # mean over present units
            pooled.append(list_units.amax(-2))  # max (ReLU outputs, padding 0)
        # 3. Globals and the hero embedding.
        globals_ = torch.relu(self.global_encoder(self._normalize(raw_globals, "global")))  # (L, N, K, Gd)
        archetype = raw_globals[..., ARCHETYPE_FEATURE : ARCHETYPE_FEATURE + NUM_ARCHETYPES].argmax(-1)  # (L, N, K)
        slots = torch.arange(k).expand(length, n, k)  # (L, N, K)
        hero = self.slot_embedding(slots) + self.archetype_embedding(archetype)  # (L, N, K, E)
        x = torch.relu(self.joiner(torch.cat([*pooled, globals_, hero], dim=-1)))  # (L, N, K, D)
        # 4. Cross-hero pooling: max over the team's present heroes.
        shared = x[..., : c.pooled_dim].masked_fill(~hero_present.unsqueeze(-1), 0.0)  # (L, N, K, Dp)
        team = shared.amax(dim=2, keepdim=True).expand(-1, -1, k, -1)  # (L, N, K, Dp)
        x = torch.relu(self.team_mixer(torch.cat([x, team], dim=-1)))  # (L, N, K, D)
        # 5. The core, one step at a time, its state zeroed where an episode starts.
        outputs = []
        s = state
        for t in range(length):
            s = s * (~starts[t]).to(s.dtype).view(n, 1, 1)  # (N, K, S)
            h, s = self._core_step(x[t].reshape(n * k, -1), s.reshape(n * k, -1))
            s = s.view(n, k, -1)
            outputs.append(h.view(n, k, -1))
        h = torch.stack(outputs)  # (L, N, K, D)
        # 6. Heads, masked.
        primary_logits = _masked(self.primary_head(h), obs["mask_primary"])  # (L, N, K, P)
        query = self.query(h).unsqueeze(-2) + self.primary_embedding.weight  # (L, N, K, P, U)
        # The pointer: dot products of each primary's query with the encoded units (Five's target attention).
        target_logits = torch.einsum("lnkpu,lnktu->lnkpt", query, encoded) / math.sqrt(c.unit_dim)  # (L, N, K, P, T)
        target_logits = _masked(target_logits, obs["mask_target"])
        # Only casts read the offset head (other rows allow index 0 alone): compute those rows only.
        offset_logits = torch.zeros(length, n, k, NUM_PRIMARY, NUM_OFFSETS)  # (L, N, K, P, O)
        casts = slice(ACTION_CAST_0, ACTION_CAST_0 + NUM_ABILITIES)
        offset_logits[..., casts, :] = self.offset_head(torch.relu(query[..., casts, :]))
        offset_logits = _masked(offset_logits, obs["mask_offset"])
        value = self.value_head(h).squeeze(-1)  # (L, N, K)
        if single:
            return PolicyOutput(primary_logits[0], target_logits[0], offset_logits[0], value[0], s)
        return PolicyOutput(primary_logits, target_logits, offset_logits, value, s)

    def _core_step(self, x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        """One core step on (B, D) inputs and (B, S) states: (B, D) outputs and (B, S) next states."""
        if isinstance(self.core, nn.GRUCell):
            h = self.core(x, s)
            return h, h
        if isinstance(self.core, nn.LSTMCell):
            hidden, cell = s.chunk(2, dim=-1)
            hidden, cell = self.core(x, (hidden, cell))
            return hidden, torch.cat([hidden, cell], dim=-1)
        return torch.relu(self.core(x)) + x, s

    @torch.no_grad()
    def act(
        self,
        obs: dict[str, Any],
        state: Tensor,
        starts: Tensor | NDArray[np.bool_],
        deterministic: bool = False,
        generator: torch.Generator | None = None,
    ) -> ActionSample:
        """Sample (or, `deterministic`, take the most likely) actions for one step of N teams of K heroes.

        Args:
            obs: `OBS_KEYS` arrays (N, K, ...) as NumPy or tensors (see `team_observation`).
            state: (N, K, S) the core's state; starts: (N,) bool, new episodes.
            deterministic: argmax instead of sampling.
            generator: the random stream to sample from.
        """
        tensors = {key: torch.as_tensor(obs[key]) for key in OBS_KEYS}
        out = self(tensors, state, torch.as_tensor(starts))
        primary, target, offset = sample_heads(out, deterministic, generator)
        log_prob, _ = joint_log_prob(out, primary, target, offset)
        return ActionSample(
            primary.numpy(),
            target.numpy(),
            offset.numpy(),
            log_prob.numpy(),
            out.value.numpy(),
            out.state,
        )


def _draw(logits: Tensor, deterministic: bool, generator: torch.Generator | None) -> Tensor:
    """(...,) an index per row of (..., C) masked logits: argmax, or a sample (never a -inf entry)."""
    if deterministic:
        return logits.argmax(-1)
    probs = torch.softmax(logits, dim=-1).reshape(-1, logits.shape[-1])  # (B, C)
    return torch.multinomial(probs, 1, generator=generator).view(logits.shape[:-1])


def sample_heads(
    out: PolicyOutput, deterministic: bool, generator: torch.Generator | None
) -> tuple[Tensor, Tensor, Tensor]:
    """(primary, target, offset), each of the logits' leading shape: the primary first, then the others given it."""
    primary = _draw(out.primary_logits, deterministic, generator)
    index = primary[..., None, None]
    target_logits = out.target_logits.gather(-2, index.expand(*primary.shape, 1, NUM_TARGETS)).squeeze(-2)
    offset_logits = out.offset_logits.gather(-2, index.expand(*primary.shape, 1, NUM_OFFSETS)).squeeze(-2)
    return primary, _draw(target_logits, deterministic, generator), _draw(offset_logits, deterministic, generator)


def _log_prob_entropy(logits: Tensor, choice: Tensor) -> tuple[Tensor, Tensor]:
    log_p = torch.log_softmax(logits, dim=-1)
    # -inf * 0 is NaN, in the gradient too: zero the masked entries' log-probabilities before the product.
    finite_log_p = log_p.masked_fill(~torch.isfinite(logits), 0.0)
    entropy = -(torch.softmax(logits, dim=-1) * finite_log_p).sum(-1)
    return log_p.gather(-1, choice.unsqueeze(-1)).squeeze(-1), entropy


def joint_log_prob(out: PolicyOutput, primary: Tensor, target: Tensor, offset: Tensor) -> tuple[Tensor, Tensor]:
    """The joint log-probability of (primary, target, offset) and the entropy (primary's plus the chosen primary's
    target and offset heads'), both of the actions' shape."""
    index = primary[..., None, None]
    target_logits = out.target_logits.gather(-2, index.expand(*primary.shape, 1, NUM_TARGETS)).squeeze(-2)
    offset_logits = out.offset_logits.gather(-2, index.expand(*primary.shape, 1, NUM_OFFSETS)).squeeze(-2)
    lp_p, ent_p = _log_prob_entropy(out.primary_logits, primary)
    lp_t, ent_t = _log_prob_entropy(target_logits, target)
    lp_o, ent_o = _log_prob_entropy(offset_logits, offset)
    return lp_p + lp_t + lp_o, ent_p + ent_t + ent_o


def parameter_count(policy: nn.Module) -> int:
    """Trainable parameters of `policy`."""
    return sum(p.numel() for p in policy.parameters() if p.requires_grad)


def save_policy(path: str | Path, policy: FivePolicy, extra: dict[str, Any] | None = None, step: int = 0) -> Path:
    """Write `policy` (weights, normalisation, its `PolicyConfig`) as a checkpoint folder at `path` (atomic)."""
    from fourfold.core.checkpoint import save_checkpoint

    return save_checkpoint(
        path, model=policy.state_dict(), config=policy.config, state=dict(extra or {}), step=step, kind=KIND
    )


def load_policy(path: str | Path) -> tuple[FivePolicy, PolicyConfig]:
    """The policy saved at `path` by `save_policy` (or a training checkpoint of `fourfold five train`), in eval mode.

    Raises:
        CheckpointError: `path` is missing, damaged, not a Five policy, or does not fit its config.
    """
    from fourfold.core.checkpoint import CheckpointError, load_checkpoint, load_model_state

    checkpoint = load_checkpoint(path)
    if checkpoint.kind not in (KIND, "five-train"):
        raise CheckpointError(f"{path} is a {checkpoint.kind!r} checkpoint, not a Five policy; pass a Five run's")
    data = checkpoint.config or {}
    if checkpoint.kind == "five-train":
        data = data.get("policy", {})
    config = from_jsonable(PolicyConfig, data)
    policy = FivePolicy(config)
    load_model_state(policy, checkpoint.model, str(path))
    policy.eval()
    return policy, config
