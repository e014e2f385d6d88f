"""Taxi-v3 as a `gymnasium.Env` and as a batched vector env, exact to Gymnasium's Taxi.

Drive a taxi on a 5 x 5 grid with walls, pick a passenger up at one of four pads (R, G, Y, B) and drop them off at
their destination: -1 a step, +20 for the drop-off, -10 for an illegal pick-up or drop-off. The task of Dietterich
(2000), "Hierarchical Reinforcement Learning with the MAXQ Value Function Decomposition", as Gymnasium 1.4 defines
it in `gymnasium/envs/toy_text/taxi.py`, with its options (`is_rainy`, `rainy_probability`, `fickle_passenger`,
`fickle_probability`), spaces, `info["prob"]`, `info["action_mask"]` and ANSI text, and its registration: a
200-step time limit and a reward threshold of 8. (Gymnasium 1.4 names this version Taxi-v4, which fixed the rainy
and fickle options of v3 and left the default task alone; fourfold keeps the id Taxi-v3 and follows 1.4's code.)

The transitions are the tables of `frozen_lake.py` (`TransitionTables`, built here from Gymnasium's rules); the
kernel is the tabular one plus the fickle passenger, who on the first move with them aboard changes destination
with probability `fickle_probability`, drawn at reset (one `random()`), the new one by `np_random.choice`.

- `TaxiEnv`: one env; draws from its own `np_random` exactly as Gymnasium's. Unlike Gymnasium, stepping it after
  termination without reset raises `ResetNeededError`.
- `TaxiVectorEnv`: N envs stepped by one compiled kernel with Gymnasium's vector semantics (see `vector.py`), step
  for step equal to `SyncVectorEnv` over `gymnasium.make("Taxi-v4")` envs; `info` holds `prob` (N,) float64 and
  `action_mask` (N, 6) int8 every step, as SyncVectorEnv's does.

Shape legend: N num_envs; S = 500 states `((row * 5 + col) * 5 + passenger) * 4 + destination`; A = 6 actions;
K outcomes of an action (3 when rainy, else 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium
import numba
import numpy as np
from gymnasium import spaces
from gymnasium.envs.toy_text.taxi import MAP
from gymnasium.envs.toy_text.utils import categorical_sample
from gymnasium.utils import colorize
from gymnasium.vector import AutoresetMode
from numpy.typing import ArrayLike, NDArray

from fourfold.gym import render, rng
from fourfold.gym.frozen_lake import (
    TransitionTables,
    add_step_info,
    pick_initial,
    pick_outcome,
    reference_reset,
    reference_step,
    reset_info,
    tables_from_outcomes,
    transition_dict,
)
from fourfold.gym.render import Frame
from fourfold.gym.vector import (
    SAME_STEP,
    Backend,
    BatchedVectorEnv,
    EnvArgumentError,
    InvalidActionError,
    ResetNeededError,
    autoreset,
    begin_episode,
    end_step,
)

SOUTH, NORTH, EAST, WEST, PICKUP, DROPOFF = range(6)
ACTION_NAMES = ("South", "North", "East", "West", "Pickup", "Dropoff")
DESC = np.asarray(MAP, dtype="c")  # (7, 11) the map's characters; ":" between cells means no wall
LOCS = ((0, 0), (0, 4), (4, 0), (4, 3))  # the pads R, G, Y, B as (row, col)
IN_TAXI = 4  # the passenger location "in the taxi"
NUM_STATES, NUM_ACTIONS, MAX_ROW, MAX_COL = 500, 6, 4, 4
# Rainy moves: (forward, left, right) as (row, col) changes, for south, north, east and west.
RAINY_MOVES = (
    ((1, 0), (0, 1), (0, -1)),
    ((-1, 0), (0, -1), (0, 1)),
    ((0, 1), (-1, 0), (1, 0)),
    ((0, -1), (1, 0), (-1, 0)),
)

CELL, MARGIN = 80, 20
ROAD: render.Color = (236, 236, 228)
WALL: render.Color = (60, 60, 60)
PAD_COLORS: tuple[render.Color, ...] = ((255, 0, 0), (0, 255, 0), (255, 255, 0), (0, 0, 255))  # Gymnasium's
TAXI: render.Color = (250, 170, 20)
PASSENGER: render.Color = (40, 40, 120)


def encode(row: int, col: int, passenger: int, destination: int) -> int:
    """The state number of a taxi position, passenger location (0-3 a pad, 4 in the taxi) and destination pad."""
    return ((row * 5 + col) * 5 + passenger) * 4 + destination


def decode(state: int) -> tuple[int, int, int, int]:
    """(row, col, passenger, destination) of a state number."""
    return state // 100, (state // 20) % 5, (state // 4) % 5, state % 4


def _east_open(row: int, col: int) -> bool:
    return bool(DESC[1 + row, 2 * col + 2] == b":")


def _west_open(row: int, col: int) -> bool:
    return bool(DESC[1 + row, 2 * col] == b":")


def _pickup(row: int, col: int, passenger: int) -> tuple[int, float]:
    """Passenger location and reward after a pick-up (Gymnasium's `_pickup`)."""
    if passenger < IN_TAXI and (row, col) == LOCS[passenger]:
        return IN_TAXI, -1.0
    return passenger, -10.0


def _dropoff(row: int, col: int, passenger: int, destination: int) -> tuple[int, float, bool]:
    """Passenger location, reward and termination after a drop-off (Gymnasium's `_dropoff`)."""
    if (row, col) == LOCS[destination] and passenger == IN_TAXI:
        return destination, 20.0, True
    if (row, col) in LOCS and passenger == IN_TAXI:
        return LOCS.index((row, col)), -1.0, False
    return passenger, -10.0, False


def _drift(row: int, col: int, move: tuple[int, int]) -> tuple[int, int]:
    """Where a rainy sideways drift leads (Gymnasium's `_calc_new_position`): walls block east and west drifts."""
    new_row, new_col = max(0, min(row + move[0], MAX_ROW)), max(0, min(col + move[1], MAX_COL))
    if (move[1] == 1 and DESC[1 + new_row, 2 * new_col] != b":") or (
        move[1] == -1 and DESC[1 + new_row, 2 * new_col + 2] != b":"
    ):
        return row, col
    return new_row, new_col


def _outcomes(
    row: int, col: int, passenger: int, destination: int, action: int, is_rainy: bool, rainy_probability: float
) -> list[tuple[float, int, float, bool]]:
    """Gymnasium's `P[s][a]` for one state and action (`_build_dry_transitions` / `_build_rainy_transitions`)."""
    new_row, new_col, new_passenger, reward, terminated = row, col, passenger, -1.0, False
    if action == PICKUP:
        new_passenger, reward = _pickup(row, col, passenger)
    elif action == DROPOFF:
        new_passenger, reward, terminated = _dropoff(row, col, passenger, destination)
    elif not is_rainy:
        if action == SOUTH:
            new_row = min(row + 1, MAX_ROW)
        elif action == NORTH:
            new_row = max(row - 1, 0)
        elif action == EAST and _east_open(row, col):
            new_col = min(col + 1, MAX_COL)
        elif action == WEST and _west_open(row, col):
            new_col = max(col - 1, 0)
    else:
        left = right = (row, col)
        if (
            (action == SOUTH and row < MAX_ROW)
            or (action == NORTH and row > 0)
            or (action == EAST and _east_open(row, col))
            or (action == WEST and _west_open(row, col))
        ):  # a blocked move does not drift either
            forward, left_move, right_move = RAINY_MOVES[action]
            new_row = max(0, min(row + forward[0], MAX_ROW))
            new_col = max(0, min(col + forward[1], MAX_COL))
            left, right = _drift(row, col, left_move), _drift(row, col, right_move)
        lateral = (1.0 - rainy_probability) / 2.0
        return [
            (rainy_probability, encode(new_row, new_col, passenger, destination), -1.0, False),
            (lateral, encode(*left, passenger, destination), -1.0, False),
            (lateral, encode(*right, passenger, destination), -1.0, False),
        ]
    return [(1.0, encode(new_row, new_col, new_passenger, destination), reward, terminated)]


def build_tables(is_rainy: bool, rainy_probability: float) -> TransitionTables:
    """The transition tables and the initial distribution (uniform over the 300 states with the passenger waiting
    at a pad other than the destination), as Gymnasium's `TaxiEnv.__init__` builds them."""
    initial = np.zeros(NUM_STATES)
    outcomes = []
    for state in range(NUM_STATES):
        row, col, passenger, destination = decode(state)
        if passenger < IN_TAXI and passenger != destination:
            initial[state] += 1
        outcomes.append(
            [_outcomes(row, col, passenger, destination, a, is_rainy, rainy_probability) for a in range(NUM_ACTIONS)]
        )
    initial /= initial.sum()
    return tables_from_outcomes(outcomes, initial)


def action_masks() -> NDArray[np.int8]:
    """(S, 6) int8: Gymnasium's `action_mask(state)` of every state, 1 where the action changes the state."""
    masks = np.zeros((NUM_STATES, NUM_ACTIONS), dtype=np.int8)
    for state in range(NUM_STATES):
        row, col, passenger, destination = decode(state)
        masks[state] = (
            row < MAX_ROW,
            row > 0,
            col < MAX_COL and _east_open(row, col),
            col > 0 and _west_open(row, col),
            passenger < IN_TAXI and (row, col) == LOCS[passenger],
            passenger == IN_TAXI and ((row, col) == LOCS[destination] or (row, col) in LOCS),
        )
    return masks


ACTION_MASKS = action_masks()


def fickle_moment(before: int, after: int) -> bool:
    """Whether a step from state `before` to `after` moved the taxi with the passenger aboard (before the step)."""
    return (before // 4) % 5 == IN_TAXI and before // 20 != after // 20


def new_destination(state: int, choice: int) -> int:
    """`state` with the destination that `np_random.choice` of the other three destinations picked (index `choice`)."""
    old = state % 4
    return state - old + (choice + 1 if choice >= old else choice)


_compiled_fickle_moment = numba.njit(cache=True)(fickle_moment)
_compiled_new_destination = numba.njit(cache=True)(new_destination)


def render_text(state: int, last_action: int) -> str:
    """Gymnasium's ANSI text: the map with the taxi, passenger and destination coloured, then the last action."""
    out = [[letter.decode("utf-8") for letter in line] for line in DESC.tolist()]
    row, col, passenger, destination = decode(int(state))
    if passenger < IN_TAXI:
        out[1 + row][2 * col + 1] = colorize(out[1 + row][2 * col + 1], "yellow", highlight=True)
        pi, pj = LOCS[passenger]
        out[1 + pi][2 * pj + 1] = colorize(out[1 + pi][2 * pj + 1], "blue", bold=True)
    else:  # the passenger in the taxi: an underscore for an empty cell
        cell = out[1 + row][2 * col + 1]
        out[1 + row][2 * col + 1] = colorize("_" if cell == " " else cell, "green", highlight=True)
    di, dj = LOCS[destination]
    out[1 + di][2 * dj + 1] = colorize(out[1 + di][2 * dj + 1], "magenta")
    footer = f"  ({ACTION_NAMES[last_action]})\n" if last_action >= 0 else "\n"
    return "\n".join("".join(line) for line in out) + "\n" + footer


def _tint(color: render.Color) -> render.Color:
    """`color` halfway to white (a pad's floor)."""
    return ((255 + color[0]) // 2, (255 + color[1]) // 2, (255 + color[2]) // 2)


def render_frame(state: int) -> Frame:
    """A 440 x 440 frame: pads tinted in their colours, walls, the destination framed in its colour, the waiting
    passenger as a disc and the taxi as a box (with a disc inside when the passenger rides)."""
    size = 5 * CELL + 2 * MARGIN
    frame = render.new_frame(size, size, ROAD)
    row, col, passenger, destination = decode(int(state))
    for index, (r, c) in enumerate(LOCS):
        x, y = MARGIN + c * CELL, MARGIN + r * CELL
        if index == destination:
            render.fill_rectangle(frame, x, y, x + CELL, y + CELL, PAD_COLORS[index])
        render.fill_rectangle(frame, x + 8, y + 8, x + CELL - 8, y + CELL - 8, _tint(PAD_COLORS[index]))
    walls = [(c, r, c, r + 1) for r in range(5) for c in range(1, 5) if DESC[1 + r, 2 * c] == b"|"]
    walls += [(0, 0, 5, 0), (0, 5, 5, 5), (0, 0, 0, 5), (5, 0, 5, 5)]  # the border, in cells (x0, y0, x1, y1)
    for x0, y0, x1, y1 in walls:
        render.draw_line(
            frame, MARGIN + x0 * CELL, MARGIN + y0 * CELL, MARGIN + x1 * CELL, MARGIN + y1 * CELL, WALL, 6.0
        )
    if passenger < IN_TAXI:
        r, c = LOCS[passenger]
        render.fill_circle(frame, MARGIN + (c + 0.5) * CELL, MARGIN + (r + 0.5) * CELL, CELL / 6, PASSENGER)
    x, y = MARGIN + col * CELL, MARGIN + row * CELL
    render.fill_rectangle(frame, x + 16, y + 24, x + CELL - 16, y + CELL - 24, TAXI)
    if passenger == IN_TAXI:
        render.fill_circle(frame, x + CELL / 2, y + CELL / 2, CELL / 10, PASSENGER)
    return frame


class TaxiEnv(gymnasium.Env[Any, np.int64]):
    """One taxi: move south (0), north (1), east (2), west (3), pick up (4) or drop off (5) the passenger.

    Attributes:
        tables: the transition tables (M = 1).
        s: the current state; lastaction: the last action, or None after reset.
        fickle_step: whether the passenger will still change destination on their first move aboard.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012 (Gymnasium API)

    def __init__(
        self,
        render_mode: str | None = None,
        is_rainy: bool = False,
        fickle_passenger: bool = False,
        rainy_probability: float = 0.8,
        fickle_probability: float = 0.3,
    ) -> None:
        """A taxi that needs `reset()` before its first step; the arguments are Gymnasium's (see the module).

        Raises:
            EnvArgumentError: a probability outside [0, 1] or a bad render_mode.
        """
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise EnvArgumentError(f"TaxiEnv: render_mode must be None, 'ansi' or 'rgb_array', got {render_mode!r}")
        check_probabilities(rainy_probability, fickle_probability)
        self.tables = build_tables(bool(is_rainy), float(rainy_probability))
        self.fickle_passenger, self.fickle_probability = bool(fickle_passenger), float(fickle_probability)
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(NUM_STATES)
        self.action_space = spaces.Discrete(NUM_ACTIONS)
        self.s: int | None = None
        self.lastaction: int | None = None
        self.fickle_step = False
        self._terminated = False

    @property
    def P(self) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:  # noqa: N802 (Gymnasium's name)
        """Gymnasium's transition dict, built from the tables on each access (for value iteration and the like)."""
        return transition_dict(self.tables)

    def encode(self, taxi_row: int, taxi_col: int, pass_loc: int, dest_idx: int) -> int:
        """The state number, as Gymnasium's `TaxiEnv.encode`."""
        return encode(taxi_row, taxi_col, pass_loc, dest_idx)

    def decode(self, state: int) -> tuple[int, int, int, int]:
        """(taxi_row, taxi_col, pass_loc, dest_idx), as Gymnasium's `TaxiEnv.decode`."""
        return decode(int(state))

    def action_mask(self, state: int) -> NDArray[np.int8]:
        """The (6,) int8 mask of actions that change `state`, as Gymnasium's `TaxiEnv.action_mask`."""
        mask: NDArray[np.int8] = ACTION_MASKS[int(state)].copy()
        return mask

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """Draw the start (taxi anywhere, passenger at a pad other than the destination), then whether the passenger
        is fickle (a second draw, only with `fickle_passenger`); return it and `{"prob": 1.0, "action_mask": ...}`."""
        super().reset(seed=seed)
        self.s = int(categorical_sample(self.tables.initial[0], self.np_random))
        self.lastaction = None
        self.fickle_step = self.fickle_passenger and bool(self.np_random.random() < self.fickle_probability)
        self._terminated = False
        return self.s, {"prob": 1.0, "action_mask": self.action_mask(self.s)}

    def step(self, action: int | np.integer[Any]) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """Act; return the state, reward, terminated, truncated (always False) and `{"prob", "action_mask"}`.

        Raises:
            ResetNeededError: before reset, or after the episode terminated.
            InvalidActionError: `action` is not one of 0-5.
        """
        if self.s is None:
            raise ResetNeededError("TaxiEnv: call reset() before step()")
        if self._terminated:
            raise ResetNeededError("TaxiEnv: the episode terminated; call reset() before stepping again")
        if not self.action_space.contains(action):
            raise InvalidActionError(f"TaxiEnv: action {action!r} is outside the action space Discrete(6)")
        tables, s, a = self.tables, self.s, int(action)
        k = int(categorical_sample(tables.probability[0, s, a], self.np_random))
        after = int(tables.next_state[0, s, a, k])
        if self.fickle_passenger and self.fickle_step and fickle_moment(s, after):
            self.fickle_step = False
            destination = self.np_random.choice([d for d in range(4) if d != s % 4])
            after = after - after % 4 + int(destination)
        self.s, self.lastaction = after, a
        self._terminated = bool(tables.terminal[0, s, a, k])
        info = {"prob": float(tables.probability[0, s, a, k]), "action_mask": self.action_mask(after)}
        return after, float(tables.reward[0, s, a, k]), self._terminated, False, info

    def render(self) -> str | Frame | None:
        """The ANSI text (a str) or a (440, 440, 3) uint8 frame; None (with Gymnasium's warning) without a mode."""
        if self.render_mode is None:
            gymnasium.logger.warn(
                "You are calling render method without specifying any render mode: pass render_mode='rgb_array' or "
                "'ansi' to gymnasium.make or TaxiEnv."
            )
            return None
        if self.s is None:
            raise ResetNeededError("TaxiEnv: call reset() before render()")
        if self.render_mode == "ansi":
            return render_text(self.s, -1 if self.lastaction is None else self.lastaction)
        return render_frame(self.s)


def check_probabilities(rainy_probability: float, fickle_probability: float) -> None:
    """Raise EnvArgumentError unless both probabilities are in [0, 1]."""
    for name, value in (("rainy_probability", rainy_probability), ("fickle_probability", fickle_probability)):
        if not 0.0 <= value <= 1.0:
            raise EnvArgumentError(f"Taxi: {name} must be in [0, 1], got {value!r}")


@numba.njit(cache=True)
def _reset_env(
    tables: TransitionTables,
    fickle: tuple[bool, float],
    position: NDArray[np.int64],
    last_action: NDArray[np.int64],
    fickle_step: NDArray[np.bool_],
    generators: NDArray[np.uint64],
    i: int,
) -> None:
    """Reset env i as `TaxiEnv.reset` does: the start state, then (only with a fickle passenger) the fickle draw."""
    position[i] = pick_initial(tables.initial_cumulative, 0, rng.random(generators, i))
    last_action[i] = -1
    fickle_step[i] = fickle[0] and rng.random(generators, i) < fickle[1]


@numba.njit(cache=True)
def _step_kernel(
    tables: TransitionTables,
    fickle: tuple[bool, float],
    position: NDArray[np.int64],
    last_action: NDArray[np.int64],
    fickle_step: NDArray[np.bool_],
    probabilities: NDArray[np.float64],
    generators: NDArray[np.uint64],
    actions: NDArray[np.int64],
    mode: int,
    max_episode_steps: int,
    now: float,
    episodes: NDArray[np.void],
    observations: NDArray[np.int64],
    rewards: NDArray[np.float64],
    terminated: NDArray[np.bool_],
    truncated: NDArray[np.bool_],
    final_observations: NDArray[np.int64],
) -> int:
    """Step all N envs: `frozen_lake.tabular_step_kernel` plus the fickle passenger (`fickle` is
    (fickle_passenger, fickle_probability)); return the number of ended episodes, or -1 - i for a bad action i."""
    num_envs = position.shape[0]
    for i in range(num_envs):  # validate first, so that a bad batch changes nothing
        if actions[i] < 0 or actions[i] >= NUM_ACTIONS:
            return -1 - i
    ended = 0
    for i in range(num_envs):
        if episodes[i].pending:  # NEXT_STEP: the last step ended env i's episode, this one resets it
            _reset_env(tables, fickle, position, last_action, fickle_step, generators, i)
            probabilities[i] = 1.0
            autoreset(episodes, i, now)
            rewards[i] = 0.0
            terminated[i] = False
            truncated[i] = False
        else:
            s = position[i]
            a = actions[i]
            k = pick_outcome(tables.cumulative, 0, s, a, rng.random(generators, i))
            after = tables.next_state[0, s, a, k]
            if fickle_step[i] and _compiled_fickle_moment(s, after):
                fickle_step[i] = False
                after = _compiled_new_destination(after, int(rng.choice(generators, i, 3)))
            position[i] = after
            last_action[i] = a
            probabilities[i] = tables.probability[0, s, a, k]
            reward = tables.reward[0, s, a, k]
            term = tables.terminal[0, s, a, k]
            trunc = end_step(episodes, i, reward, term, max_episode_steps, now)
            rewards[i] = reward
            terminated[i] = term
            truncated[i] = trunc
            if term or trunc:
                ended += 1
                if mode == SAME_STEP:
                    final_observations[i] = after
                    _reset_env(tables, fickle, position, last_action, fickle_step, generators, i)
                    begin_episode(episodes, i, now)
        observations[i] = position[i]
    return ended


@numba.njit(cache=True)
def _reset_kernel(
    tables: TransitionTables,
    fickle: tuple[bool, float],
    position: NDArray[np.int64],
    last_action: NDArray[np.int64],
    fickle_step: NDArray[np.bool_],
    generators: NDArray[np.uint64],
    mask: NDArray[np.bool_],
) -> None:
    """Reset the envs in `mask` (N,) from their own generator rows."""
    for i in range(position.shape[0]):
        if mask[i]:
            _reset_env(tables, fickle, position, last_action, fickle_step, generators, i)


class TaxiVectorEnv(BatchedVectorEnv):
    """N taxis stepped by one compiled kernel; `gymnasium.make_vec("fourfold/Taxi-v3", num_envs=N)`.

    Attributes:
        tables: the transition tables; position: (N,) int64 each env's state; last_action: (N,) int64 (-1: none);
        fickle_step: (N,) bool, as `TaxiEnv.fickle_step`.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (a class-level dict is Gymnasium's API)
        "render_modes": ["ansi", "rgb_array"],
        "render_fps": 4,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = 200,
        render_mode: str | None = None,
        is_rainy: bool = False,
        fickle_passenger: bool = False,
        rainy_probability: float = 0.8,
        fickle_probability: float = 0.3,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_envs: int = 16,
        episode_statistics: bool = False,
        backend: Backend = "numba",
    ) -> None:
        """Args: as `BatchedVectorEnv`, plus Gymnasium's Taxi arguments (see `TaxiEnv`)."""
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
        check_probabilities(rainy_probability, fickle_probability)
        self.tables = build_tables(bool(is_rainy), float(rainy_probability))
        self.fickle_passenger, self.fickle_probability = bool(fickle_passenger), float(fickle_probability)
        self.position = np.zeros(self.num_envs, dtype=np.int64)  # (N,)
        self.last_action = np.full(self.num_envs, -1, dtype=np.int64)  # (N,)
        self.fickle_step = np.zeros(self.num_envs, dtype=np.bool_)  # (N,)
        self._probabilities = np.ones(self.num_envs, dtype=np.float64)  # (N,) as frozen_lake.tabular_step_kernel's
        self._fickle = (self.fickle_passenger, self.fickle_probability)

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[Any], dict[str, Any]]:
        """As `BatchedVectorEnv.reset`, with `prob` and `action_mask` in `info` for each reset env."""
        observations, info = super().reset(seed=seed, options=options)
        info.update(reset_info(options, self.num_envs))
        reset = info["_prob"]
        info["action_mask"] = np.where(reset[:, None], ACTION_MASKS[observations], 0).astype(np.int8)  # (N, 6)
        info["_action_mask"] = reset.copy()
        return observations, info

    def step(
        self, actions: ArrayLike
    ) -> tuple[NDArray[Any], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """As `BatchedVectorEnv.step`, with `prob` (N,) and `action_mask` (N, 6) in `info`."""
        observations, rewards, terminated, truncated, info = super().step(actions)
        add_step_info(info, self._probabilities)
        if "final_info" in info:  # SAME_STEP: the masks of the final observations go with them
            ended = info["_final_info"]
            final_masks = np.where(ended[:, None], ACTION_MASKS[self._final_observations], 0).astype(np.int8)
            info["final_info"]["action_mask"], info["final_info"]["_action_mask"] = final_masks, ended.copy()
        info["action_mask"], info["_action_mask"] = ACTION_MASKS[observations], np.ones(self.num_envs, dtype=np.bool_)
        return observations, rewards, terminated, truncated, info

    def render(self) -> tuple[str | Frame, ...] | None:  # type: ignore[override]  # "ansi" renders text
        """Frames, or with `render_mode="ansi"` Gymnasium's texts, of the first `min(num_envs, render_envs)` envs."""
        if self.render_mode != "ansi" or self._needs_reset:
            return super().render()
        return tuple(
            render_text(int(self.position[i]), int(self.last_action[i]))
            for i in range(min(self.num_envs, self._render_envs))
        )

    def _compiled_step(
        self,
        actions: NDArray[Any],
        now: float,
        observations: NDArray[Any],
        rewards: NDArray[np.float64],
        terminated: NDArray[np.bool_],
        truncated: NDArray[np.bool_],
    ) -> int:
        ended: int = _step_kernel(
            self.tables, self._fickle, self.position, self.last_action, self.fickle_step, self._probabilities,
            self._rng, actions, self._mode, self._max_steps, now, self._episodes, observations, rewards, terminated,
            truncated, self._final_observations,
        )  # fmt: skip
        return ended

    def _compiled_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        _reset_kernel(self.tables, self._fickle, self.position, self.last_action, self.fickle_step, self._rng, mask)

    def _reference_dynamics(
        self, actions: NDArray[Any], mask: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        before = self.position.copy()
        rewards, terminated = reference_step(
            self.tables, self.position, self.last_action, self._probabilities, self._rng, actions, mask
        )
        for i in np.flatnonzero(mask & self.fickle_step) if self.fickle_passenger else ():
            if fickle_moment(int(before[i]), int(self.position[i])):
                self.fickle_step[i] = False
                generator = rng.generator_from_row(self._rng, int(i))
                destination = generator.choice([d for d in range(4) if d != before[i] % 4])
                self._rng[i] = rng.row_from_generator(generator)
                self.position[i] += int(destination) - self.position[i] % 4
        return rewards, terminated

    def _reference_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        reference_reset(self.tables, self.position, self.last_action, self._rng, mask)
        for i in np.flatnonzero(mask):
            generator = rng.generator_from_row(self._rng, int(i))
            self.fickle_step[i] = self.fickle_passenger and bool(generator.random() < self.fickle_probability)
            self._rng[i] = rng.row_from_generator(generator)

    def _observe(self) -> NDArray[np.int64]:
        return self.position.copy()  # (N,)

    def _render_env(self, index: int) -> Frame:
        return render_frame(int(self.position[index]))
