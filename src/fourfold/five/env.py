"""`FiveVecEnv`: Five's native batched environment, `num_games` games of 10 heroes stepped as arrays.

Every array has the games axis first and the 10 hero slots second, team-major (blue 0-4, red 5-9), so one call
decides for every hero of every game: both teams are agents (self-play), and a learner slices the team it trains.

- `reset(seed)` starts every game and returns `(obs, info)`.
- `step(primary, target_index, offset_index)` takes the factored actions (`actions.py`, each (G, 10) int) in the
  team frame, checks them against the masks of the observation they answer (an action a mask forbids raises
  `InvalidActionError` naming the game, hero and why), decodes them, advances every game one decision
  (`TICKS_PER_DECISION` ticks, one compiled call), computes the rewards (`rewards.py`), restarts the games that
  ended in the same step (same-step auto-reset: the returned observation of such a game is its new game's first),
  and builds every observation in one compiled call.

Observation: a dict of arrays, `globals` (G, 10, NUM_GLOBAL) float32, `units` (G, 10, T, NUM_UNIT_FEATURES) float32,
`unit_present` (G, 10, T) bool, and `action_mask`, a dict of the heads' masks `primary` (G, 10, P), `target`
(G, 10, P, T) and `offset` (G, 10, P, O), bool (see `game/observe.py`). Rewards (G, 10) float32. `terminated` (G,)
marks games that ended in this step (an ancient fell or the time cap decided by score: either way the game is
over, so nothing is bootstrapped past it); `truncated` (G,) is always False. `info` holds `reward_components` (name
-> (G, 10) float32, see `rewards.py`), `winner` (G,) int64 of the games that ended (-1 elsewhere; 0 blue, 1 red,
2 draw), `episode_ticks` (G,) their length in ticks (0 elsewhere), and `seeds` (G,) each game's current seed.

Seeding: game i of the k-th batch of game starts gets a seed fixed by (seed, i, k), so a run is reproducible.

Shape legend: G num_games, H = 10 hero slots, T = NUM_TARGETS, P = NUM_PRIMARY, O = NUM_OFFSETS.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from fourfold.core.config import ConfigError
from fourfold.five.actions import allowed_actions, check_actions, decode_actions
from fourfold.five.game import core
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import HERO_SLOTS, TICKS_PER_SECOND
from fourfold.five.game.errors import InvalidActionError
from fourfold.five.game.observe import Observation, build_observations, new_observation
from fourfold.five.game.state import GameState, new_state
from fourfold.five.rewards import RewardConfig, compute_rewards

SEED_STRIDE = 1_000_003
"""Game seeds are `seed * SEED_STRIDE**2 + start * SEED_STRIDE + game` modulo 2**62 (start: how many times game
`game` was started before)."""


def game_seeds(seed: int, starts: NDArray[np.int64]) -> NDArray[np.int64]:
    """(G,) the seeds of games 0..G-1 when game i is started for the `starts[i]`-th time (0 first)."""
    games = np.arange(starts.shape[0], dtype=np.int64)
    base = (seed % (1 << 40)) * SEED_STRIDE * SEED_STRIDE % (1 << 62)
    return (base + starts * SEED_STRIDE + games) % (1 << 62)


def observation_dict(obs: Observation, copy: bool) -> dict[str, Any]:
    """The observation dict of the native API for `obs` (copies of its arrays when `copy`)."""

    def take(a: NDArray[Any]) -> NDArray[Any]:
        return a.copy() if copy else a

    return {
        "globals": take(obs.globals),
        "units": take(obs.units),
        "unit_present": take(obs.unit_present),
        "action_mask": {
            "primary": take(obs.mask_primary),
            "target": take(obs.mask_target),
            "offset": take(obs.mask_offset),
        },
    }


class FiveVecEnv:
    """`num_games` Five games, all 10 heroes of each controlled by the caller (see the module docstring)."""

    def __init__(
        self,
        num_games: int,
        config: GameConfig | None = None,
        reward: RewardConfig | None = None,
        seed: int = 0,
        *,
        copy_obs: bool = True,
        auto_reset: bool = True,
    ) -> None:
        """Args:
        num_games: games stepped together (G).
        config: the game settings (default `GameConfig()`).
        reward: the reward weights (default `RewardConfig()`).
        seed: the base seed (reset(seed) replaces it).
        copy_obs: return fresh arrays each step (False: the env's own buffers, overwritten by the next step).
        auto_reset: restart games that ended in the same step (False: an ended game stays over, its last
            observation stays, and stepping it does nothing until `reset`; the single-game APIs use this).
        """
        if num_games < 1:
            raise ConfigError("num_games", f"must be at least 1 (got {num_games})")
        self.num_games = num_games
        self.config = config if config is not None else GameConfig()
        self.reward_config = reward if reward is not None else RewardConfig()
        self.seed = seed
        self.copy_obs = copy_obs
        self.auto_reset = auto_reset
        self.state: GameState = new_state(num_games, self.config)
        self.obs: Observation = new_observation(num_games)
        self._starts = np.zeros(num_games, dtype=np.int64)
        self._seeds = np.zeros(num_games, dtype=np.int64)
        self._ready = False

    @property
    def hero_present(self) -> NDArray[np.bool_]:
        """(G, 10) which hero slots play (fewer than 5 heroes a team leaves slots absent)."""
        return self.state.present[:, :HERO_SLOTS]

    def reset(self, seed: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start every game afresh (from `seed` when given, else continuing the env's seed sequence)."""
        if seed is not None:
            self.seed = int(seed)
            self._starts[:] = 0
        self._start_games(np.ones(self.num_games, dtype=bool))
        build_observations(self.state, self.config.map, self.obs)
        self._ready = True
        return observation_dict(self.obs, self.copy_obs), {"seeds": self._seeds.copy()}

    def state_dict(self) -> dict[str, Any]:
        """Everything that makes the games continue exactly after `load_state_dict` (into an env of the same
        `num_games` and game config): copies of the game state's arrays, each game's start count and seed, the base
        seed."""
        return {
            "game_state": {name: np.array(a) for name, a in zip(self.state._fields, self.state, strict=True)},
            "starts": self._starts.copy(),
            "seeds": self._seeds.copy(),
            "seed": self.seed,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put the games back as `state_dict` saved them and rebuild the observation (`observation_dict(env.obs,
        env.copy_obs)` reads it)."""
        for name, array in zip(self.state._fields, self.state, strict=True):
            array[...] = state["game_state"][name]
        self._starts[:] = state["starts"]
        self._seeds[:] = state["seeds"]
        self.seed = int(state["seed"])
        build_observations(self.state, self.config.map, self.obs)
        self._ready = True

    def _start_games(self, mask: NDArray[np.bool_]) -> None:
        seeds = game_seeds(self.seed, self._starts)
        self._seeds[mask] = seeds[mask]
        self._starts[mask] += 1
        core.reset(self.state, self.config, mask, self._seeds)

    def step(
        self, primary: NDArray[np.integer], target_index: NDArray[np.integer], offset_index: NDArray[np.integer]
    ) -> tuple[dict[str, Any], NDArray[np.float32], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """One decision of every hero of every game; see the module docstring for what comes back."""
        self._require_reset()
        p = np.asarray(primary, dtype=np.int64)
        t = np.asarray(target_index, dtype=np.int64)
        o = np.asarray(offset_index, dtype=np.int64)
        # 1. The actions must be allowed by the masks of the observation they answer.
        check_actions(self.obs.mask_primary, self.obs.mask_target, self.obs.mask_offset, self.state.archetype, p, t, o)
        # 2. Decode to the core's actions and advance.
        return self.step_core(*self.decode(p, t, o))

    def legalize(
        self, primary: NDArray[np.integer], target_index: NDArray[np.integer], offset_index: NDArray[np.integer]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """The actions with every one the current masks forbid replaced by a no-op (0, 0, 0); (G, 10) each."""
        p = np.asarray(primary, dtype=np.int64)
        t = np.asarray(target_index, dtype=np.int64)
        o = np.asarray(offset_index, dtype=np.int64)
        ok, ok_target, ok_offset = allowed_actions(
            self.obs.mask_primary, self.obs.mask_target, self.obs.mask_offset, self.state.archetype, p, t, o
        )
        good = ok & ok_target & ok_offset  # (G, H)
        return np.where(good, p, 0), np.where(good, t, 0), np.where(good, o, 0)

    def decode(
        self, primary: NDArray[np.int64], target_index: NDArray[np.int64], offset_index: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """The core's (primary, target slot, world point) of allowed team-frame actions (`actions.decode_actions`)."""
        return decode_actions(self.state, self.obs.slots, primary, target_index, offset_index)

    def step_core(
        self, primary: NDArray[np.int64], target: NDArray[np.int64], point: NDArray[np.float64]
    ) -> tuple[dict[str, Any], NDArray[np.float32], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """`step` with core-level actions (world frame: unit slots and points, as bots give them), validated by the
        rules (`core.validate_actions`); used to mix agents' decoded actions with bots'."""
        self._require_reset()
        was_done = self.state.done.copy()  # (G,)
        core.step(self.state, self.config, primary, target, point)
        # 3. Rewards of this decision, paid at the time the decision ends.
        seconds = self.state.tick / TICKS_PER_SECOND  # (G,)
        rewards = compute_rewards(self.state.events, self.hero_present, seconds, self.reward_config)
        total = np.where(was_done[:, None], np.float32(0.0), rewards.total)  # (G, H)
        terminated = self.state.done & ~was_done  # (G,)
        winner = np.where(terminated, self.state.winner, -1)  # (G,)
        ticks = np.where(terminated, self.state.tick, 0)  # (G,)
        # 4. Same-step auto-reset of the games that ended, then every observation in one compiled call.
        if self.auto_reset and terminated.any():
            self._start_games(terminated)
        build_observations(self.state, self.config.map, self.obs)
        info = {
            "reward_components": rewards.components,
            "winner": winner,
            "episode_ticks": ticks,
            "seeds": self._seeds.copy(),
        }
        truncated = np.zeros(self.num_games, dtype=bool)
        return observation_dict(self.obs, self.copy_obs), total, terminated, truncated, info

    def _require_reset(self) -> None:
        if not self._ready:
            raise InvalidActionError("FiveVecEnv.step was called before reset(); call reset() first.")

    def sample_actions(
        self, rng: np.random.Generator
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """Uniformly random actions allowed by the current masks: (primary, target_index, offset_index), each (G, 10).

        The primary is drawn among the allowed ones, then target and offset among those its rows allow.
        """
        return sample_masked(self.obs, rng)


def _pick(mask: NDArray[np.bool_], rng: np.random.Generator) -> NDArray[np.int64]:
    """(N,) for each row of `mask` (N, K) a uniformly random index among its True entries (each row has one)."""
    weights = mask.astype(np.float64)
    cumulative = np.cumsum(weights, axis=1)  # (N, K)
    draw = rng.random(mask.shape[0]) * cumulative[:, -1]  # (N,)
    index: NDArray[np.int64] = np.minimum((cumulative <= draw[:, None]).sum(axis=1), mask.shape[1] - 1).astype(np.int64)
    return index


def sample_masked(
    obs: Observation, rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Uniformly random masked actions for every hero of `obs`: (primary, target_index, offset_index), each (G, 10)."""
    g, h, p = obs.mask_primary.shape
    primary = _pick(obs.mask_primary.reshape(g * h, p), rng)  # (G*H,)
    rows = np.arange(g * h)
    target = _pick(obs.mask_target.reshape(g * h, p, -1)[rows, primary], rng)  # (G*H,)
    offset = _pick(obs.mask_offset.reshape(g * h, p, -1)[rows, primary], rng)  # (G*H,)
    return primary.reshape(g, h), target.reshape(g, h), offset.reshape(g, h)
