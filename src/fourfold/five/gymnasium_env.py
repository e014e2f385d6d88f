"""Five as a single-agent `gymnasium.Env`: one hero (or one whole team) against scripted bots.

For single-agent learners and for checking a policy against fixed opponents: the agent controls hero `hero` of
`team` (`control="hero"`, its teammates played by the bot `teammates`), or every hero of `team` at once
(`control="team"`, one `MultiDiscrete` action of 3 heads per hero); the other team is the bot `opponent` (`bots.py`,
`make_bot(name, seed)`). One game (a one-game `FiveVecEnv` without auto-reset) per episode.

- Observation: a dict `globals`, `units`, `unit_present` (`game/observe.py`), `action_mask` (a tuple of int8
  masks, one per action dimension, in the form `MultiDiscrete.sample(mask=...)` takes, see `pettingzoo_env.py`),
  and the exact per-primary `target_mask` (P, T) and `offset_mask` (P, O). With `control="team"` each carries a
  leading axis of the team's heroes, and `action_mask` holds 3 masks per hero.
- Action: `MultiDiscrete([NUM_PRIMARY, NUM_TARGETS, NUM_OFFSETS])` per controlled hero, in the team frame
  (`actions.py`). An action the masks forbid is a no-op (as in the PettingZoo API).
- Reward: the hero's Five reward (`rewards.py`), or the mean over the team's heroes; `info["reward_components"]`
  holds its parts (the team's mean). `terminated` when the game ends (an ancient fell, or the time cap decided
  it by score); `info["winner"]` then holds 0 blue, 1 red, 2 draw.

It passes `gymnasium.utils.env_checker.check_env` (tests/five/test_gymnasium.py).
"""

from __future__ import annotations

from typing import Any, Literal

import gymnasium
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from fourfold.core.config import ConfigError
from fourfold.five.actions import NUM_OFFSETS, NUM_TARGETS
from fourfold.five.bots import BOT_NAMES, make_bot
from fourfold.five.env import FiveVecEnv
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import BLUE, HERO_SLOTS, HEROES_PER_TEAM, NUM_PRIMARY, RED
from fourfold.five.pettingzoo_env import head_masks, hero_observation_space
from fourfold.five.rewards import RewardConfig


class FiveGymEnv(gymnasium.Env[dict[str, Any], NDArray[np.int64]]):
    """One hero or one team of a Five game against scripted bots (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}  # noqa: RUF012 - gymnasium declares it so

    def __init__(
        self,
        config: GameConfig | None = None,
        reward: RewardConfig | None = None,
        control: Literal["hero", "team"] = "hero",
        team: int = BLUE,
        hero: int = 0,
        opponent: str = "easy",
        teammates: str = "easy",
        render_mode: str | None = None,
        seed: int = 0,
    ) -> None:
        """Args:
        config: the game settings (default `GameConfig()`); reward: the reward weights (default `RewardConfig()`).
        control: "hero" (one hero) or "team" (all heroes of `team`).
        team: 0 (blue) or 1 (red), the side the agent plays.
        hero: which hero of the team (0..heroes_per_team-1) with `control="hero"`.
        opponent, teammates: bot names (`bots.BOT_NAMES`) for the other team and the agent's teammates.
        render_mode: None or "rgb_array".
        seed: the seed of the first game (and of the bots) when `reset` gets none.
        """
        self.config = config if config is not None else GameConfig()
        n = self.config.heroes_per_team
        if control not in ("hero", "team"):
            raise ConfigError("control", f"must be 'hero' or 'team' (got {control!r})")
        if team not in (BLUE, RED):
            raise ConfigError("team", f"must be 0 (blue) or 1 (red) (got {team})")
        if not 0 <= hero < n:
            raise ConfigError("hero", f"must be in 0..{n - 1} for {n} heroes a team (got {hero})")
        for name, bot in (("opponent", opponent), ("teammates", teammates)):
            if bot not in BOT_NAMES:
                raise ConfigError(name, f"unknown Five bot {bot!r}; choose one of {', '.join(BOT_NAMES)}")
        if render_mode not in (None, "rgb_array"):
            raise ConfigError("render_mode", f"must be None or 'rgb_array' (got {render_mode!r})")
        self.render_mode = render_mode
        self.control = control
        self.team = team
        first = team * HEROES_PER_TEAM
        self.slots = list(range(first, first + n)) if control == "team" else [first + hero]
        self._env = FiveVecEnv(1, self.config, reward, seed, copy_obs=False, auto_reset=False)
        self._opponent_name, self._teammates_name = opponent, teammates
        self._make_bots(seed)
        k = len(self.slots)
        lead = (k,) if control == "team" else ()
        base = hero_observation_space(lead)
        masks = [spaces.MultiBinary(NUM_PRIMARY), spaces.MultiBinary(NUM_TARGETS), spaces.MultiBinary(NUM_OFFSETS)]
        self.observation_space = spaces.Dict(
            {
                **base.spaces,
                "action_mask": spaces.Tuple(masks * k),
                "target_mask": spaces.MultiBinary((*lead, NUM_PRIMARY, NUM_TARGETS)),
                "offset_mask": spaces.MultiBinary((*lead, NUM_PRIMARY, NUM_OFFSETS)),
            }
        )
        self.action_space = spaces.MultiDiscrete([NUM_PRIMARY, NUM_TARGETS, NUM_OFFSETS] * k)

    def _make_bots(self, seed: int) -> None:
        self._opponent = make_bot(self._opponent_name, seed)
        self._teammates = make_bot(self._teammates_name, seed + 1)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a new game (from `seed` when given, else the next game of the env's seed sequence)."""
        super().reset(seed=seed)
        if seed is not None:
            self._make_bots(seed)
        self._env.reset(seed)
        return self._observation(), {"seed": int(self._env.state.seed[0])}

    def step(self, action: NDArray[np.int64]) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """One decision: the agent's heroes act, the bots play the rest."""
        state = self._env.state
        primary = np.zeros((1, HERO_SLOTS), dtype=np.int64)
        target = np.full((1, HERO_SLOTS), -1, dtype=np.int64)
        point = np.zeros((1, HERO_SLOTS, 2))
        # 1. The bots' actions (world frame): the opponent's team, and the agent's teammates.
        other = 1 - self.team
        players = [(self._opponent, other)] + ([(self._teammates, self.team)] if self.control == "hero" else [])
        for bot, side in players:
            p, t, xy = bot.act(state, slice(None), side)
            primary[:, side * HEROES_PER_TEAM : (side + 1) * HEROES_PER_TEAM] = p
            target[:, side * HEROES_PER_TEAM : (side + 1) * HEROES_PER_TEAM] = t
            point[:, side * HEROES_PER_TEAM : (side + 1) * HEROES_PER_TEAM] = xy
        # 2. The agent's actions (team frame) replace its heroes' ones; forbidden ones are no-ops.
        heads = np.asarray(action, dtype=np.int64).reshape(len(self.slots), 3)
        factored = np.zeros((3, 1, HERO_SLOTS), dtype=np.int64)
        factored[:, 0, self.slots] = heads.T
        p, t, xy = self._env.decode(*self._env.legalize(factored[0], factored[1], factored[2]))
        primary[0, self.slots] = p[0, self.slots]
        target[0, self.slots] = t[0, self.slots]
        point[0, self.slots] = xy[0, self.slots]
        # 3. Advance the game; the reward of the agent's hero(es).
        _, rewards, terminated, truncated, info = self._env.step_core(primary, target, point)
        reward = float(rewards[0, self.slots].mean())
        out_info: dict[str, Any] = {
            "reward_components": {k: float(v[0, self.slots].mean()) for k, v in info["reward_components"].items()}
        }
        if terminated[0]:
            out_info["winner"] = int(info["winner"][0])
        return self._observation(), reward, bool(terminated[0]), bool(truncated[0]), out_info

    def _observation(self) -> dict[str, Any]:
        obs = self._env.obs
        archetype = self._env.state.archetype
        parts = [head_masks(obs, archetype, 0, s) for s in self.slots]
        idx = self.slots if self.control == "team" else self.slots[0]
        return {
            "globals": obs.globals[0, idx].copy(),
            "units": obs.units[0, idx].copy(),
            "unit_present": obs.unit_present[0, idx].astype(np.int8),
            "action_mask": tuple(m for part in parts for m in part[:3]),
            "target_mask": np.stack([part[3] for part in parts]) if self.control == "team" else parts[0][3],
            "offset_mask": np.stack([part[4] for part in parts]) if self.control == "team" else parts[0][4],
        }

    def render(self) -> NDArray[np.uint8] | None:
        """The game drawn top-down (`render_mode="rgb_array"`), or None without a render mode."""
        if self.render_mode is None:
            return None
        from fourfold.five.game.maps import layout
        from fourfold.five.render import render_frame

        return render_frame(self._env.state, 0, layout(self.config.map))
