"""Taxi's dynamics: the map, the state encoding, Gymnasium's rules as transition tables, and the compiled kernel.

The task of Dietterich (2000), "Hierarchical Reinforcement Learning with the MAXQ Value Function Decomposition", as
Gymnasium 1.4 defines it in `gymnasium/envs/toy_text/taxi.py`: a 5 x 5 grid with walls (`DESC`, Gymnasium's `MAP`),
four pads R, G, Y, B (`LOCS`), states `((row * 5 + col) * 5 + passenger) * 4 + destination`, -1 a step, +20 for the
drop-off, -10 for an illegal pick-up or drop-off, and the options `is_rainy` (a move goes forward with probability
`rainy_probability` and drifts left or right otherwise) and `fickle_passenger`. The rules become
`tabular.TransitionTables` (`build_tables`) and the action masks a table (`ACTION_MASKS`); `taxi.py` holds the envs.

The fickle passenger is not in the tables: on the first move of the taxi with them aboard they change destination
with probability `fickle_probability`, drawn at reset (one `random()` after the start state), the new one by
`np_random.choice` of the other three (`fickle_moment`, `new_destination`). `step_kernel` is `tabular.step_kernel`
with that added, in the pattern of `vector.py`.

Shape legend: N num_envs; S = 500 states; A = 6 actions; K outcomes of an action (3 when rainy, else 1).
"""

from __future__ import annotations

import numba
import numpy as np
from gymnasium.envs.toy_text.taxi import MAP
from numpy.typing import NDArray

from fourfold.gym import rng, tabular
from fourfold.gym.tabular import TransitionTables, pick_initial, pick_outcome
from fourfold.gym.vector import SAME_STEP, EnvArgumentError, autoreset, begin_episode, end_step

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
    return tabular.tables_from_outcomes(outcomes, initial)


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
def step_kernel(
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
    """Step all N envs: `tabular.step_kernel` (of map 0) plus the fickle passenger (`fickle` is (fickle_passenger,
    fickle_probability)); return the number of ended episodes, or -1 - i for a bad action i."""
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
def reset_kernel(
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
