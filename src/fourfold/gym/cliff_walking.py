"""CliffWalking-v1 as a `gymnasium.Env` and as a batched vector env, exact to Gymnasium's.

Walk from the bottom-left corner of a 4 x 12 grid to the bottom-right one along a cliff: -1 a step, and a step into
the cliff costs -100 and puts the agent back at the start. Example 6.6 of Sutton & Barto (2018), "Reinforcement
Learning: An Introduction", as Gymnasium's `gymnasium/envs/toy_text/cliffwalking.py` defines it, with its
`is_slippery` option (a move goes in the intended direction or to either side, 1/3 each), spaces, `info["prob"]`
and ANSI text. Gymnasium registers no time limit for CliffWalking-v1, and neither does fourfold.

The transitions are `tabular.TransitionTables`, built here from Gymnasium's rules, and the envs step through the
draws and the kernel of `tabular.py`, as FrozenLake's do.

- `CliffWalkingEnv`: one env; draws from its own `np_random` exactly as Gymnasium's. Unlike Gymnasium, stepping it
  after termination without reset raises `ResetNeededError`.
- `CliffWalkingVectorEnv`: N envs stepped by one compiled kernel with Gymnasium's vector semantics (see
  `vector.py`), step for step equal to `SyncVectorEnv` over `gymnasium.make("CliffWalking-v1")` envs.

Shape legend: N num_envs; S = 48 states (row * 12 + col); A = 4 actions; K outcomes of an action (3 slippery, 1 not).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from numpy.typing import ArrayLike, NDArray

from fourfold.gym import env_guards, render, tabular
from fourfold.gym.render import Frame
from fourfold.gym.tabular import TransitionTables
from fourfold.gym.vector import Backend, BatchedVectorEnv

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # (row, col) change of each action
NROW, NCOL = 4, 12
NUM_STATES, NUM_ACTIONS = NROW * NCOL, 4
START_STATE, GOAL_STATE = 3 * NCOL, NUM_STATES - 1
CELL = 64  # pixels, as Gymnasium's window

GROUND: render.Color = (196, 214, 160)
CLIFF: render.Color = (92, 72, 60)
START: render.Color = (170, 196, 230)
GOAL: render.Color = (250, 204, 60)
GRID: render.Color = (150, 170, 120)
AGENT: render.Color = (220, 80, 40)


def is_cliff(row: int, col: int) -> bool:
    """Whether (row, col) is in the cliff: the bottom row between start and goal."""
    return row == NROW - 1 and 0 < col < NCOL - 1


def build_tables(is_slippery: bool) -> TransitionTables:
    """The transition tables, from Gymnasium's `CliffWalkingEnv._calculate_transition_prob` rules."""
    outcomes = []
    for s in range(NUM_STATES):
        row, col = divmod(s, NCOL)
        actions = []
        for move in range(NUM_ACTIONS):
            directions = [(move - 1) % 4, move, (move + 1) % 4] if is_slippery else [move]
            listed = []
            for direction in directions:
                new_row = min(max(row + MOVES[direction][0], 0), NROW - 1)
                new_col = min(max(col + MOVES[direction][1], 0), NCOL - 1)
                if is_cliff(new_row, new_col):  # back to the start, not an end
                    listed.append((1 / len(directions), START_STATE, -100.0, False))
                else:
                    new_state = new_row * NCOL + new_col
                    listed.append((1 / len(directions), new_state, -1.0, new_state == GOAL_STATE))
            actions.append(listed)
        outcomes.append(actions)
    initial = np.zeros(NUM_STATES)
    initial[START_STATE] = 1.0
    return tabular.tables_from_outcomes(outcomes, initial)


def render_text(position: int) -> str:
    """Gymnasium's ANSI text: x the agent, T the goal, C the cliff, o the rest; a blank line at the end."""
    lines = []
    for row in range(NROW):
        cells = []
        for col in range(NCOL):
            s = row * NCOL + col
            cells.append("x" if s == position else "T" if s == GOAL_STATE else "C" if is_cliff(row, col) else "o")
        lines.append("  ".join(cells) + "\n")
    return "".join(lines) + "\n"


def render_frame(position: int) -> Frame:
    """A 768 x 256 frame: ground, cliff, start and goal tiles, and the agent as a disc."""
    frame = render.new_frame(NCOL * CELL, NROW * CELL, GROUND)
    render.fill_rectangle(frame, CELL, (NROW - 1) * CELL, (NCOL - 1) * CELL, NROW * CELL, CLIFF)
    render.fill_rectangle(frame, 0, (NROW - 1) * CELL, CELL, NROW * CELL, START)
    render.fill_rectangle(frame, (NCOL - 1) * CELL, (NROW - 1) * CELL, NCOL * CELL, NROW * CELL, GOAL)
    for row in range(1, NROW):
        render.draw_line(frame, 0.0, row * CELL + 0.5, float(NCOL * CELL), row * CELL + 0.5, GRID)
    for col in range(1, NCOL):
        render.draw_line(frame, col * CELL + 0.5, 0.0, col * CELL + 0.5, float(NROW * CELL), GRID)
    row, col = divmod(int(position), NCOL)
    render.fill_circle(frame, (col + 0.5) * CELL, (row + 0.5) * CELL, 0.3 * CELL, AGENT)
    return frame


class CliffWalkingEnv(gymnasium.Env[Any, np.int64]):
    """One cliff walk: move up (0), right (1), down (2) or left (3) to the goal, -1 a step, -100 for the cliff.

    Attributes:
        tables: the transition tables (M = 1).
        s: the current state (row * 12 + col); lastaction: the last action, or None after reset.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012 (Gymnasium API)

    def __init__(self, render_mode: str | None = None, is_slippery: bool = False) -> None:
        """A cliff walk that needs `reset()` before its first step; `is_slippery` as Gymnasium's.

        Raises:
            EnvArgumentError: a bad render_mode.
        """
        env_guards.check_render_mode(self, render_mode)
        self.is_slippery = bool(is_slippery)
        self.tables = build_tables(self.is_slippery)
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(NUM_STATES)
        self.action_space = spaces.Discrete(NUM_ACTIONS)
        self.s: int | None = None
        self.lastaction: int | None = None
        self._terminated = False

    @property
    def P(self) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:  # noqa: N802 (Gymnasium's name)
        """Gymnasium's transition dict, built from the tables on each access (for value iteration and the like)."""
        return tabular.transition_dict(self.tables)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """Put the agent on the start (one draw, as Gymnasium's `categorical_sample`); return it and `{"prob": 1}`."""
        super().reset(seed=seed)
        self.s, self.lastaction, self._terminated = tabular.sample_start(self.tables, self.np_random), None, False
        return self.s, {"prob": 1}

    def step(self, action: int | np.integer[Any]) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """Move (maybe slipping); return the state, reward, terminated, truncated (always False) and `{"prob": p}`.

        Raises:
            ResetNeededError: before reset, or after the episode terminated.
            InvalidActionError: `action` is not 0, 1, 2 or 3.
        """
        s = env_guards.check_running(self, self.s, self._terminated)
        self.lastaction = env_guards.check_action(self, action)
        self.s, reward, self._terminated, probability = tabular.sample_transition(
            self.tables, s, self.lastaction, self.np_random
        )
        return self.s, reward, self._terminated, False, {"prob": probability}

    def render(self) -> str | Frame | None:
        """The ANSI text (a str) or a (256, 768, 3) uint8 frame; None (with Gymnasium's warning) without a mode."""
        s = env_guards.state_to_render(self, self.s)
        if s is None:
            return None
        return render_text(s) if self.render_mode == "ansi" else render_frame(s)


class CliffWalkingVectorEnv(BatchedVectorEnv):
    """N cliff walks stepped by one compiled kernel; `gymnasium.make_vec("fourfold/CliffWalking-v1", num_envs=N)`.

    `step` and `reset` put `prob` (N,) float64 and `_prob` in `info` every time, as SyncVectorEnv does (see
    `tabular.add_step_info`).

    Attributes:
        tables: the transition tables; position: (N,) int64 each env's state; last_action: (N,) int64 (-1: none).
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (a class-level dict is Gymnasium's API)
        "render_modes": ["ansi", "rgb_array"],
        "render_fps": 4,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        is_slippery: bool = False,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_envs: int = 16,
        episode_statistics: bool = False,
        backend: Backend = "numba",
    ) -> None:
        """Args: as `BatchedVectorEnv`, plus `is_slippery` (see `CliffWalkingEnv`)."""
        super().__init__(
            num_envs=num_envs,
            single_observation_space=spaces.Discrete(NUM_STATES),
            single_action_space=spaces.Discrete(NUM_ACTIONS),
            max_episode_steps=max_episode_steps,
            autoreset_mode=autoreset_mode,
            render_mode=render_mode,
            render_envs=render_envs,
            episode_statistics=episode_statistics,
            backend=backend,
        )
        self.is_slippery = bool(is_slippery)
        self.tables = build_tables(self.is_slippery)
        self.position = np.full(self.num_envs, START_STATE, dtype=np.int64)  # (N,)
        self.last_action = np.full(self.num_envs, -1, dtype=np.int64)  # (N,)
        self._probabilities = np.ones(self.num_envs, dtype=np.float64)  # (N,) see tabular.step_kernel

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[Any], dict[str, Any]]:
        """As `BatchedVectorEnv.reset`, with `info["prob"]` 1.0 for each reset env (`_prob` marks them)."""
        observations, info = super().reset(seed=seed, options=options)
        return observations, {**info, **tabular.reset_info(options, self.num_envs)}

    def step(
        self, actions: ArrayLike
    ) -> tuple[NDArray[Any], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """As `BatchedVectorEnv.step`, with `info["prob"]` (N,) the probability of each env's transition."""
        observations, rewards, terminated, truncated, info = super().step(actions)
        tabular.add_step_info(info, self._probabilities)
        return observations, rewards, terminated, truncated, info

    def render(self) -> tuple[str | Frame, ...] | None:  # type: ignore[override]  # "ansi" renders text
        """Frames, or with `render_mode="ansi"` Gymnasium's texts, of the first `min(num_envs, render_envs)` envs."""
        if self.render_mode != "ansi" or self._needs_reset:
            return super().render()
        return tuple(render_text(int(self.position[i])) for i in range(min(self.num_envs, self._render_envs)))

    def _compiled_step(
        self,
        actions: NDArray[Any],
        now: float,
        observations: NDArray[Any],
        rewards: NDArray[np.float64],
        terminated: NDArray[np.bool_],
        truncated: NDArray[np.bool_],
    ) -> int:
        ended: int = tabular.step_kernel(
            self.tables, self.position, self.last_action, self._probabilities, self._rng, actions, self._mode,
            self._max_steps, now, self._episodes, observations, rewards, terminated, truncated,
            self._final_observations,
        )  # fmt: skip
        return ended

    def _compiled_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        tabular.reset_kernel(self.position, self.last_action, self._rng, self.tables.initial_cumulative, mask)

    def _reference_dynamics(
        self, actions: NDArray[Any], mask: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        return tabular.reference_step(
            self.tables, self.position, self.last_action, self._probabilities, self._rng, actions, mask
        )

    def _reference_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        tabular.reference_reset(self.tables, self.position, self.last_action, self._rng, mask)

    def _observe(self) -> NDArray[np.int64]:
        return self.position.copy()  # (N,)

    def _render_env(self, index: int) -> Frame:
        return render_frame(int(self.position[index]))
