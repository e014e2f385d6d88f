"""Five as a PettingZoo `ParallelEnv`: one game, every hero an agent (`parallel_env(**kwargs)`).

PettingZoo (Terry et al. 2021) is the multi-agent counterpart of Gymnasium; its parallel API steps all agents at
once, as Five's heroes decide at once. This environment wraps a one-game `FiveVecEnv` (`env.py`) without auto-reset:

- agents `blue_0..blue_4`, `red_0..red_4` (with fewer heroes a side, the first n of each); a dead hero stays in
  `agents` (its masks allow only the no-op) and all agents leave together when the game ends (`terminations` all
  True: an ancient fell or the time cap decided the game by score);
- observation per agent: a dict with `observation` (`globals`, `units`, `unit_present`, as `game/observe.py`),
  `action_mask` (a tuple of int8 masks of the three heads, in the form `MultiDiscrete.sample(mask=...)` takes:
  the primary mask, and the target and offset masks allowed by some allowed primary), and the exact per-primary
  masks `target_mask` (P, T) and `offset_mask` (P, O) for a policy that samples the heads in order;
- action per agent: `MultiDiscrete([NUM_PRIMARY, NUM_TARGETS, NUM_OFFSETS])` (primary, target pointer, ground
  offset; see `actions.py`). An action the masks forbid (or a missing agent's) is a no-op, not an error;
- rewards: each hero's Five reward (`rewards.py`); infos: its weighted reward components, and at the end the winner.

`fourfold.five.parallel_env` re-exports `parallel_env`, as PettingZoo's own environments do. It passes
`pettingzoo.test.parallel_api_test` and `parallel_seed_test` (tests/five/test_pettingzoo.py).
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray
from pettingzoo import ParallelEnv  # type: ignore[import-untyped,unused-ignore]

from fourfold.core.config import ConfigError
from fourfold.five.actions import NUM_OFFSETS, NUM_TARGETS, uses_offset, uses_target
from fourfold.five.env import FiveVecEnv
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import HERO_SLOTS, HEROES_PER_TEAM, NUM_PRIMARY
from fourfold.five.game.observe import NUM_GLOBAL, NUM_UNIT_FEATURES, Observation
from fourfold.five.game.state import GameState
from fourfold.five.rewards import RewardConfig

FEATURE_BOUND = 1e6
"""Bound of the observation boxes (features are scaled to about [-10, 10]; the bound only has to hold)."""
AGENT_NAMES = tuple(f"blue_{i}" for i in range(HEROES_PER_TEAM)) + tuple(f"red_{i}" for i in range(HEROES_PER_TEAM))
"""Agent name of each hero slot 0..9."""


def hero_observation_space(leading: tuple[int, ...] = ()) -> spaces.Dict:
    """The observation space of one hero (or of `leading` heroes stacked, e.g. (5,) for a team)."""
    inf = np.float32(FEATURE_BOUND)
    return spaces.Dict(
        {
            "globals": spaces.Box(-inf, inf, (*leading, NUM_GLOBAL), dtype=np.float32),
            "units": spaces.Box(-inf, inf, (*leading, NUM_TARGETS, NUM_UNIT_FEATURES), dtype=np.float32),
            "unit_present": spaces.MultiBinary((*leading, NUM_TARGETS)),
        }
    )


def head_masks(obs: Observation, archetype: NDArray[np.int64], g: int, h: int) -> tuple[NDArray[np.int8], ...]:
    """Hero h's masks as int8 arrays: primary (P,), target (T,) and offset (O,) unions over its allowed primaries
    that read those heads (index 0 where none does), per-primary target (P, T) and offset (P, O)."""
    primary = obs.mask_primary[g, h]  # (P,)
    targets = obs.mask_target[g, h]  # (P, T)
    offsets = obs.mask_offset[g, h]  # (P, O)
    every = np.arange(NUM_PRIMARY)
    reads_target = primary & uses_target(np.full(NUM_PRIMARY, archetype[g, h]), every)  # (P,)
    reads_offset = primary & uses_offset(np.full(NUM_PRIMARY, archetype[g, h]), every)  # (P,)
    target_union = targets[reads_target].any(axis=0)  # (T,)
    offset_union = offsets[reads_offset].any(axis=0)  # (O,)
    target_union[0] |= not reads_target.all()
    offset_union[0] |= not reads_offset.all()
    return (
        primary.astype(np.int8),
        target_union.astype(np.int8),
        offset_union.astype(np.int8),
        targets.astype(np.int8),
        offsets.astype(np.int8),
    )


class FiveParallelEnv(ParallelEnv[str, dict[str, Any], NDArray[np.int64]]):  # type: ignore[misc,unused-ignore]
    """One Five game with every hero an agent (see the module docstring)."""

    metadata: ClassVar[dict[str, Any]] = {
        "name": "fourfold_five_v0",
        "render_modes": ["rgb_array"],
        "is_parallelizable": True,
    }

    def __init__(
        self,
        config: GameConfig | None = None,
        reward: RewardConfig | None = None,
        render_mode: str | None = None,
        seed: int = 0,
    ) -> None:
        """Args:
        config: the game settings (default `GameConfig()`); reward: the reward weights (default `RewardConfig()`).
        render_mode: None or "rgb_array" (`render()` draws the game top-down, `render.py`).
        seed: the seed of the first game when `reset` gets none.
        """
        if render_mode not in (None, "rgb_array"):
            raise ConfigError("render_mode", f"must be None or 'rgb_array' (got {render_mode!r})")
        self.config = config if config is not None else GameConfig()
        self.render_mode = render_mode
        self._env = FiveVecEnv(1, self.config, reward, seed, copy_obs=False, auto_reset=False)
        n = self.config.heroes_per_team
        self._slots = [s for s in range(HERO_SLOTS) if s % HEROES_PER_TEAM < n]
        self.possible_agents = [AGENT_NAMES[s] for s in self._slots]
        self.agents: list[str] = []
        self._slot_of = {AGENT_NAMES[s]: s for s in self._slots}

    @functools.cache  # noqa: B019 - spaces must be the same object every call (PettingZoo)
    def observation_space(self, agent: str) -> spaces.Space[Any]:
        """Every agent's observation space (see the module docstring)."""
        return spaces.Dict(
            {
                "observation": hero_observation_space(),
                "action_mask": spaces.Tuple(
                    (spaces.MultiBinary(NUM_PRIMARY), spaces.MultiBinary(NUM_TARGETS), spaces.MultiBinary(NUM_OFFSETS))
                ),
                "target_mask": spaces.MultiBinary((NUM_PRIMARY, NUM_TARGETS)),
                "offset_mask": spaces.MultiBinary((NUM_PRIMARY, NUM_OFFSETS)),
            }
        )

    @functools.cache  # noqa: B019 - spaces must be the same object every call (PettingZoo)
    def action_space(self, agent: str) -> spaces.Space[Any]:
        """Every agent's action space: (primary, target pointer, ground offset)."""
        return spaces.MultiDiscrete([NUM_PRIMARY, NUM_TARGETS, NUM_OFFSETS])

    @property
    def game_state(self) -> GameState:
        """The underlying `GameState` (a batch of one game), for renderers and bots."""
        return self._env.state

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a new game (from `seed` when given, else the next game of the env's seed sequence)."""
        self._env.reset(seed)
        self.agents = list(self.possible_agents)
        return self._observations(), {a: {} for a in self.agents}

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict[str, Any]]]:
        """Step every hero; agents missing from `actions`, and forbidden actions, do nothing this decision."""
        if not self.agents:
            return {}, {}, {}, {}, {}
        primary = np.zeros((1, HERO_SLOTS), dtype=np.int64)
        target = np.zeros((1, HERO_SLOTS), dtype=np.int64)
        offset = np.zeros((1, HERO_SLOTS), dtype=np.int64)
        for agent, action in actions.items():
            slot = self._slot_of.get(agent)
            if slot is None or agent not in self.agents:
                continue
            heads = np.asarray(action, dtype=np.int64).reshape(-1)
            if heads.shape == (3,):
                primary[0, slot], target[0, slot], offset[0, slot] = heads
        env = self._env
        _, rewards, terminated, truncated, info = env.step_core(*env.decode(*env.legalize(primary, target, offset)))
        ended = bool(terminated[0] or truncated[0])
        agents = self.agents
        observations = self._observations()
        reward = {a: float(rewards[0, self._slot_of[a]]) for a in agents}
        infos: dict[str, dict[str, Any]] = {}
        for a in agents:
            slot = self._slot_of[a]
            infos[a] = {name: float(v[0, slot]) for name, v in info["reward_components"].items()}
            if ended:
                infos[a]["winner"] = int(info["winner"][0])
        terminations = dict.fromkeys(agents, bool(terminated[0]))
        truncations = dict.fromkeys(agents, bool(truncated[0]))
        if ended:
            self.agents = []
        return observations, reward, terminations, truncations, infos

    def _observations(self) -> dict[str, Any]:
        obs = self._env.obs
        out: dict[str, Any] = {}
        for a in self.possible_agents:
            slot = self._slot_of[a]
            primary, target, offset, target_rows, offset_rows = head_masks(obs, self._env.state.archetype, 0, slot)
            out[a] = {
                "observation": {
                    "globals": obs.globals[0, slot].copy(),
                    "units": obs.units[0, slot].copy(),
                    "unit_present": obs.unit_present[0, slot].astype(np.int8),
                },
                "action_mask": (primary, target, offset),
                "target_mask": target_rows,
                "offset_mask": offset_rows,
            }
        return out

    def render(self) -> NDArray[np.uint8] | None:
        """The game drawn top-down (`render_mode="rgb_array"`), or None without a render mode."""
        if self.render_mode is None:
            return None
        from fourfold.five.game.maps import layout
        from fourfold.five.render import render_frame

        return render_frame(self._env.state, 0, layout(self.config.map))

    def close(self) -> None:
        """Nothing to release."""


def parallel_env(**kwargs: Any) -> FiveParallelEnv:
    """The Five PettingZoo environment; keyword arguments are `FiveParallelEnv`'s, or `GameConfig` fields.

    Example: `parallel_env(map="one_lane", heroes_per_team=1)` or `parallel_env(config=GameConfig(...))`.
    """
    game_fields = {k: kwargs.pop(k) for k in list(kwargs) if k in GameConfig.__dataclass_fields__}
    if game_fields:
        if kwargs.get("config") is not None:
            raise ConfigError("config", "give either config or GameConfig fields, not both")
        kwargs["config"] = GameConfig(**game_fields)
    return FiveParallelEnv(**kwargs)
