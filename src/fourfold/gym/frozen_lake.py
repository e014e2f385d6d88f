"""FrozenLake-v1 as a `gymnasium.Env` and as a batched vector env, exact to Gymnasium's.

Cross a frozen lake from the start (S) to the goal (G) over frozen tiles (F) without falling into a hole (H); on a
slippery lake a move goes in the intended direction with probability `success_rate` and to either side otherwise.
The grid-world MDP of Gymnasium's `gymnasium/envs/toy_text/frozen_lake.py` (after the FrozenLake of OpenAI Gym,
Brockman et al. 2016), with its maps, options (`desc`, `map_name`, `is_slippery`, `success_rate`,
`reward_schedule`), spaces, `info["prob"]` and ANSI text. The time limit comes from registration: 100 steps for
`fourfold/FrozenLake-v1`, 200 for `fourfold/FrozenLake8x8-v1`.

The transitions are `tabular.TransitionTables` built once from the map (`build_tables`), not Gymnasium's dict `P`
(which `P` rebuilds on demand for value-iteration code); both envs step through them with the draws of `tabular.py`.

- `FrozenLakeEnv`: one env; draws from its own `np_random` exactly as Gymnasium's. Unlike Gymnasium (which stays
  in the terminal state), stepping it after termination without reset raises `ResetNeededError`.
- `FrozenLakeVectorEnv`: N envs stepped by one compiled kernel with Gymnasium's vector semantics (see `vector.py`),
  step for step equal to `SyncVectorEnv` over `gymnasium.make("FrozenLake-v1")` envs with the same seeds and
  actions. `info["prob"]` is a float64 array (SyncVectorEnv's dtype follows env 0's value, int after its reset).

With neither `desc` nor `map_name`, each env gets its own random 8x8 map from Gymnasium's `generate_random_map()`,
which draws from a fresh unseeded generator (not the env's), as `gymnasium.make("FrozenLake-v1", map_name=None)`
does; a vector env then holds one map per env, as SyncVectorEnv's envs do. Pass `desc` for a reproducible map.

Shape legend: N num_envs; M maps (1, or N random ones); S states (rows * cols); A = 4 actions; K outcomes of an
action (3 slippery, 1 not); R, C the map's rows and columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.envs.toy_text.frozen_lake import MAPS, generate_random_map
from gymnasium.utils import colorize
from gymnasium.vector import AutoresetMode
from numpy.typing import ArrayLike, NDArray

from fourfold.gym import env_guards, render, tabular
from fourfold.gym.render import Frame
from fourfold.gym.tabular import TransitionTables
from fourfold.gym.vector import Backend, BatchedVectorEnv, EnvArgumentError

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
ACTION_NAMES = ("Left", "Down", "Right", "Up")
NUM_ACTIONS = 4

ICE: render.Color = (214, 234, 248)
HOLE: render.Color = (28, 52, 96)
START: render.Color = (176, 206, 236)
GOAL: render.Color = (250, 204, 60)
GRID: render.Color = (180, 200, 230)  # Gymnasium's cell outline
AGENT: render.Color = (220, 80, 40)


def lake_map(desc: Sequence[str] | NDArray[Any] | None, map_name: str | None) -> NDArray[np.bytes_]:
    """The (R, C) map of `desc`, or of `map_name`, or a random 8x8 map when both are None (as Gymnasium chooses).

    Raises:
        EnvArgumentError: an unknown map name, a ragged or empty map, letters other than S F H G, or no S.
    """
    if desc is None and map_name is None:
        desc = generate_random_map()
    elif desc is None:
        if map_name not in MAPS:
            raise EnvArgumentError(f"FrozenLake: map_name must be one of {sorted(MAPS)} or None, got {map_name!r}")
        desc = MAPS[map_name]
    try:
        lake = np.asarray(desc, dtype="c")
    except (TypeError, ValueError):
        raise EnvArgumentError(
            f"FrozenLake: desc must be rows of equal length like ['SF', 'HG'], got {desc!r}"
        ) from None
    if lake.ndim != 2 or lake.size == 0:
        raise EnvArgumentError(f"FrozenLake: desc must be rows of equal length like ['SF', 'HG'], got {desc!r}")
    if not np.isin(lake, [b"S", b"F", b"H", b"G"]).all() or not (lake == b"S").any():
        raise EnvArgumentError(f"FrozenLake: desc may hold only S, F, H and G, with at least one S; got {desc!r}")
    return lake


def build_tables(
    lakes: NDArray[np.bytes_], is_slippery: bool, success_rate: float, reward_schedule: Sequence[float]
) -> TransitionTables:
    """The transition tables of lakes (M, R, C), computed as Gymnasium's `FrozenLakeEnv.__init__` builds `P`.

    Raises:
        EnvArgumentError: success_rate outside [0, 1], or a reward_schedule that is not three numbers.
    """
    if not 0.0 <= success_rate <= 1.0:
        raise EnvArgumentError(f"FrozenLake: success_rate must be in [0, 1], got {success_rate!r}")
    if len(reward_schedule) != 3:
        raise EnvArgumentError(f"FrozenLake: reward_schedule must be (goal, hole, frozen), got {reward_schedule!r}")
    num_maps, nrow, ncol = lakes.shape
    num_states = nrow * ncol
    rows, cols = np.divmod(np.arange(num_states), ncol)  # (S,)
    # Where a move in each direction leads from each cell (Gymnasium's `inc`), (4, S) indexed by direction.
    moved_rows = np.stack([rows, np.minimum(rows + 1, nrow - 1), rows, np.maximum(rows - 1, 0)])
    moved_cols = np.stack([np.maximum(cols - 1, 0), cols, np.minimum(cols + 1, ncol - 1), cols])
    moved = moved_rows * ncol + moved_cols
    if is_slippery:
        fail_rate = (1.0 - success_rate) / 2.0
        directions = np.array([[(a - 1) % 4, a, (a + 1) % 4] for a in range(NUM_ACTIONS)])  # (A, K)
        outcome_probability = np.array([fail_rate, success_rate, fail_rate])  # (K,)
    else:
        directions = np.arange(NUM_ACTIONS)[:, None]  # (A, 1)
        outcome_probability = np.array([1.0])
    num_outcomes = directions.shape[1]
    letters = lakes.reshape(num_maps, num_states)  # (M, S)
    goal, hole, frozen = (float(value) for value in reward_schedule)
    tile_reward = np.where(letters == b"G", goal, np.where(letters == b"H", hole, frozen))  # (M, S) on arriving
    tile_terminal = (letters == b"G") | (letters == b"H")  # (M, S)
    step_next = np.broadcast_to(moved[directions].transpose(2, 0, 1), (num_maps, num_states, NUM_ACTIONS, num_outcomes))
    maps = np.arange(num_maps)[:, None, None, None]
    # From a goal or a hole, Gymnasium's only outcome is (1.0, s, 0, True); the others are padding.
    ended = tile_terminal[:, :, None, None]  # (M, S, 1, 1)
    first = np.arange(num_outcomes) == 0  # (K,)
    states = np.arange(num_states)[None, :, None, None]
    next_state = np.where(ended, states, step_next).astype(np.int64)
    reward = np.where(ended, 0.0, tile_reward[maps, step_next])
    terminal = np.where(ended, True, tile_terminal[maps, step_next])
    probability = np.where(ended, np.where(first, 1.0, 0.0), outcome_probability)
    cumulative = np.where(ended & ~first, -1.0, np.cumsum(probability, axis=-1))
    initial = (letters == b"S").astype(np.float64)
    initial /= initial.sum(axis=1, keepdims=True)
    shape = (num_maps, num_states, NUM_ACTIONS, num_outcomes)
    return TransitionTables(
        next_state=np.ascontiguousarray(next_state),
        reward=np.ascontiguousarray(np.broadcast_to(reward, shape), dtype=np.float64),
        terminal=np.ascontiguousarray(np.broadcast_to(terminal, shape), dtype=np.bool_),
        probability=np.ascontiguousarray(np.broadcast_to(probability, shape), dtype=np.float64),
        cumulative=np.ascontiguousarray(np.broadcast_to(cumulative, shape), dtype=np.float64),
        initial=initial,
        initial_cumulative=np.cumsum(initial, axis=1),
    )


def render_text(lake: NDArray[np.bytes_], position: int, last_action: int) -> str:
    """Gymnasium's ANSI text: the last action (if any) and the map with the agent's tile highlighted in red."""
    row, col = divmod(int(position), lake.shape[1])
    lines = [[letter.decode("utf-8") for letter in line] for line in lake.tolist()]
    lines[row][col] = colorize(lines[row][col], "red", highlight=True)
    header = f"  ({ACTION_NAMES[last_action]})\n" if last_action >= 0 else "\n"
    return header + "\n".join("".join(line) for line in lines) + "\n"


def render_frame(lake: NDArray[np.bytes_], position: int) -> Frame:
    """A frame of the lake (Gymnasium's window size: 64 pixels a cell, at most 512 a side) with the agent as a disc."""
    nrow, ncol = lake.shape
    width, height = min(64 * ncol, 512), min(64 * nrow, 512)
    cell_w, cell_h = width // ncol, height // nrow
    frame = render.new_frame(width, height, ICE)
    colors = {b"H": HOLE, b"S": START, b"G": GOAL}
    for (row, col), letter in np.ndenumerate(lake):
        if letter in colors:
            render.fill_rectangle(
                frame, col * cell_w, row * cell_h, (col + 1) * cell_w, (row + 1) * cell_h, colors[letter]
            )
    for row in range(nrow):  # the top edge of each row of cells (pixel-centre line)
        render.draw_line(frame, 0.0, row * cell_h + 0.5, float(width), row * cell_h + 0.5, GRID)
    for col in range(ncol):
        render.draw_line(frame, col * cell_w + 0.5, 0.0, col * cell_w + 0.5, float(height), GRID)
    row, col = divmod(int(position), ncol)
    render.fill_circle(frame, (col + 0.5) * cell_w, (row + 0.5) * cell_h, 0.3 * min(cell_w, cell_h), AGENT)
    return frame


class FrozenLakeEnv(gymnasium.Env[Any, np.int64]):
    """One frozen lake: move left (0), down (1), right (2) or up (3) from S to G without falling into a hole.

    Attributes:
        desc: (R, C) the map, one letter (bytes) a tile, as Gymnasium's `desc`.
        nrow, ncol: R and C.
        tables: the transition tables (M = 1).
        s: the current state (row * ncol + col); lastaction: the last action, or None after reset.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012 (Gymnasium API)

    def __init__(
        self,
        render_mode: str | None = None,
        desc: Sequence[str] | NDArray[Any] | None = None,
        map_name: str | None = "4x4",
        is_slippery: bool = True,
        success_rate: float = 1.0 / 3.0,
        reward_schedule: Sequence[float] = (1, 0, 0),
    ) -> None:
        """A lake that needs `reset()` before its first step; the arguments are Gymnasium's (see the module).

        Raises:
            EnvArgumentError: a bad map, success_rate, reward_schedule or render_mode.
        """
        env_guards.check_render_mode(self, render_mode)
        self.desc = lake_map(desc, map_name)
        self.nrow, self.ncol = self.desc.shape
        self.tables = build_tables(self.desc[None], is_slippery, success_rate, reward_schedule)
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(self.nrow * self.ncol)
        self.action_space = spaces.Discrete(NUM_ACTIONS)
        self.s: int | None = None
        self.lastaction: int | None = None
        self._terminated = False

    @property
    def P(self) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:  # noqa: N802 (Gymnasium's name)
        """Gymnasium's transition dict, built from the tables on each access (for value iteration and the like)."""
        return tabular.transition_dict(self.tables)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """Put the agent on an S tile (one draw, as Gymnasium's `categorical_sample`); return it and `{"prob": 1}`."""
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
        """The ANSI text (a str) or an (H, W, 3) uint8 frame; None (with Gymnasium's warning) without a mode."""
        s = env_guards.state_to_render(self, self.s)
        if s is None:
            return None
        if self.render_mode == "ansi":
            return render_text(self.desc, s, -1 if self.lastaction is None else self.lastaction)
        return render_frame(self.desc, s)


class FrozenLakeVectorEnv(BatchedVectorEnv):
    """N frozen lakes stepped by one compiled kernel; `gymnasium.make_vec("fourfold/FrozenLake-v1", num_envs=N)`.

    `step` and `reset` put `prob` (N,) float64 and `_prob` in `info` every time, as SyncVectorEnv does (see
    `tabular.add_step_info`).

    Attributes:
        lakes: (M, R, C) the maps: one shared by all envs, or one per env (random maps).
        tables: their transition tables.
        position: (N,) int64 each env's state; last_action: (N,) int64, -1 after a reset.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (a class-level dict is Gymnasium's API)
        "render_modes": ["ansi", "rgb_array"],
        "render_fps": 4,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = 100,
        render_mode: str | None = None,
        desc: Sequence[str] | NDArray[Any] | None = None,
        map_name: str | None = "4x4",
        is_slippery: bool = True,
        success_rate: float = 1.0 / 3.0,
        reward_schedule: Sequence[float] = (1, 0, 0),
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_envs: int = 16,
        episode_statistics: bool = False,
        backend: Backend = "numba",
    ) -> None:
        """Args: as `BatchedVectorEnv`, plus Gymnasium's FrozenLake arguments (see `FrozenLakeEnv`)."""
        random_maps = desc is None and map_name is None
        count = num_envs if random_maps and isinstance(num_envs, int) and num_envs > 0 else 1
        self.lakes = np.stack([lake_map(desc, map_name) for _ in range(count)])  # (M, R, C)
        num_states = self.lakes.shape[1] * self.lakes.shape[2]
        super().__init__(
            num_envs=num_envs,
            single_observation_space=spaces.Discrete(num_states),
            single_action_space=spaces.Discrete(NUM_ACTIONS),
            max_episode_steps=max_episode_steps,
            autoreset_mode=autoreset_mode,
            render_mode=render_mode,
            render_envs=render_envs,
            episode_statistics=episode_statistics,
            backend=backend,
        )
        self.tables = build_tables(self.lakes, is_slippery, success_rate, reward_schedule)
        self.position = np.zeros(self.num_envs, dtype=np.int64)  # (N,)
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
        return tuple(
            render_text(self.lakes[self._map(index)], int(self.position[index]), int(self.last_action[index]))
            for index in range(min(self.num_envs, self._render_envs))
        )

    def _map(self, index: int) -> int:
        return 0 if self.lakes.shape[0] == 1 else index

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
        return render_frame(self.lakes[self._map(index)], int(self.position[index]))
