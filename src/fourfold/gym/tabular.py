"""Tabular tasks: discrete states stepped through a transition table, as Gymnasium's toy-text envs define them.

A finite MDP given by its transition probabilities p(s', r | s, a) (Sutton & Barto 2018, "Reinforcement Learning:
An Introduction", ch. 3), as Gymnasium's `gymnasium/envs/toy_text` envs hold it in their dict
`P[s][a] = [(probability, next_state, reward, terminated), ...]` and sample it with `categorical_sample`. Here the
transitions are arrays (`TransitionTables`) that a task builds once: outcome k of action a in state s leads to
`next_state[m, s, a, k]` with `probability`, `reward` and `terminal` alike, m indexing the map (FrozenLake's random
maps give each env its own). Each step draws one `random()` and takes the first outcome whose cumulative probability
exceeds it, as `categorical_sample` does; each reset draws one more. FrozenLake and CliffWalking are nothing but
such a table; Taxi steps its tables in a kernel of its own (`taxi_dynamics.py`) that adds the fickle passenger.

What lives here, for the single envs and the batched ones of those tasks alike:
- the tables (`TransitionTables`, `tables_from_outcomes`) and Gymnasium's dict `P` of them (`transition_dict`);
- one draw of a single env (`sample_start`, `sample_transition`), with the env's own `np_random`;
- the compiled kernels of the batched envs (`step_kernel`, `reset_kernel`, the pattern of `vector.py`) and their
  NumPy references (`reference_step`, `reference_reset`), with Gymnasium's own `categorical_sample`;
- the `prob` infos that SyncVectorEnv gives over such envs (`reset_info`, `add_step_info`).

Shape legend: N num_envs; M maps (1, or N); S states; A actions; K outcomes of an action (the most any state-action
has; the rest is padding of probability 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numba
import numpy as np
from gymnasium.envs.toy_text.utils import categorical_sample
from numpy.typing import NDArray

from fourfold.gym import rng
from fourfold.gym.vector import SAME_STEP, autoreset, begin_episode, end_step


class TransitionTables(NamedTuple):
    """The transitions of a tabular task on M maps (M = 1 but for FrozenLake's random maps), as arrays the kernels
    index; a state-action with fewer than K outcomes is padded with outcomes of probability 0.

    Attributes:
        next_state: (M, S, A, K) int64 where outcome k of action a in state s leads.
        reward: (M, S, A, K) float64.
        terminal: (M, S, A, K) bool, whether the next state ends the episode.
        probability: (M, S, A, K) float64, Gymnasium's transition probabilities.
        cumulative: (M, S, A, K) float64, `np.cumsum` of them; -1 for padding, so that no draw picks it.
        initial: (M, S) float64, the initial state distribution.
        initial_cumulative: (M, S) float64, its `np.cumsum`.
    """

    next_state: NDArray[np.int64]
    reward: NDArray[np.float64]
    terminal: NDArray[np.bool_]
    probability: NDArray[np.float64]
    cumulative: NDArray[np.float64]
    initial: NDArray[np.float64]
    initial_cumulative: NDArray[np.float64]


def tables_from_outcomes(
    outcomes: Sequence[Sequence[Sequence[tuple[float, int, float, bool]]]], initial: NDArray[np.float64]
) -> TransitionTables:
    """Tables (M = 1) of Gymnasium-style lists `outcomes[s][a] = [(p, next_state, reward, terminated), ...]`."""
    width = max(len(listed) for row in outcomes for listed in row)
    shape = (1, len(outcomes), len(outcomes[0]), width)
    next_state, terminal = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.bool_)
    reward, probability, cumulative = np.zeros(shape), np.zeros(shape), np.full(shape, -1.0)  # -1: padding
    for s, row in enumerate(outcomes):
        for a, listed in enumerate(row):
            count = len(listed)
            probability[0, s, a, :count] = [p for p, _, _, _ in listed]
            cumulative[0, s, a, :count] = np.cumsum(probability[0, s, a, :count])
            next_state[0, s, a, :count] = [n for _, n, _, _ in listed]
            reward[0, s, a, :count] = [r for _, _, r, _ in listed]
            terminal[0, s, a, :count] = [t for _, _, _, t in listed]
    return TransitionTables(
        next_state, reward, terminal, probability, cumulative, initial[None], np.cumsum(initial)[None]
    )


def transition_dict(tables: TransitionTables, m: int = 0) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
    """Gymnasium's `P[s][a] = [(probability, next_state, reward, terminated), ...]` of map m (padding left out)."""
    result: dict[int, dict[int, list[tuple[float, int, float, bool]]]] = {}
    for s in range(tables.next_state.shape[1]):
        result[s] = {}
        for a in range(tables.next_state.shape[2]):
            outcomes = np.flatnonzero(tables.cumulative[m, s, a] >= 0.0)
            result[s][a] = [
                (
                    float(tables.probability[m, s, a, k]),
                    int(tables.next_state[m, s, a, k]),
                    float(tables.reward[m, s, a, k]),
                    bool(tables.terminal[m, s, a, k]),
                )
                for k in outcomes
            ]
    return result


class Transition(NamedTuple):
    """One step of a single env: where it led, its reward, whether it ended the episode and its probability."""

    next_state: int
    reward: float
    terminated: bool
    probability: float


def sample_start(tables: TransitionTables, np_random: np.random.Generator) -> int:
    """A start state of map 0, one draw from `np_random` as Gymnasium's `reset` takes it (`categorical_sample`)."""
    return int(categorical_sample(tables.initial[0], np_random))


def sample_transition(tables: TransitionTables, s: int, a: int, np_random: np.random.Generator) -> Transition:
    """Action a in state s of map 0, one draw from `np_random` as Gymnasium's `step` takes it."""
    k = int(categorical_sample(tables.probability[0, s, a], np_random))
    return Transition(
        int(tables.next_state[0, s, a, k]),
        float(tables.reward[0, s, a, k]),
        bool(tables.terminal[0, s, a, k]),
        float(tables.probability[0, s, a, k]),
    )


@numba.njit(cache=True)
def pick_outcome(cumulative: NDArray[np.float64], m: int, s: int, a: int, draw: float) -> int:
    """The first outcome whose cumulative probability exceeds `draw`, or 0 if none does (`np.argmax` of all False)."""
    for k in range(cumulative.shape[3]):
        if cumulative[m, s, a, k] > draw:
            return k
    return 0


@numba.njit(cache=True)
def pick_initial(initial_cumulative: NDArray[np.float64], m: int, draw: float) -> int:
    """The first state whose cumulative initial probability exceeds `draw`, or 0 (as `categorical_sample`)."""
    for s in range(initial_cumulative.shape[1]):
        if initial_cumulative[m, s] > draw:
            return s
    return 0


@numba.njit(cache=True)
def step_kernel(
    tables: TransitionTables,
    position: NDArray[np.int64],
    last_action: NDArray[np.int64],
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
    """Step all N envs (the pattern of `vector.py`); return the number of ended episodes, or -1 - i (bad action i).

    `probabilities[i]` becomes the probability of the outcome env i took, or 1.0 where a NEXT_STEP reset replaced
    its step (the `prob` of Gymnasium's reset info).
    """
    next_state, cumulative, initial_cumulative = tables.next_state, tables.cumulative, tables.initial_cumulative
    num_envs, num_actions = position.shape[0], next_state.shape[2]
    for i in range(num_envs):  # validate first, so that a bad batch changes nothing
        if actions[i] < 0 or actions[i] >= num_actions:
            return -1 - i
    one_map = next_state.shape[0] == 1
    ended = 0
    for i in range(num_envs):
        m = 0 if one_map else i
        if episodes[i].pending:  # NEXT_STEP: the last step ended env i's episode, this one resets it
            position[i] = pick_initial(initial_cumulative, m, rng.random(generators, i))
            last_action[i] = -1
            probabilities[i] = 1.0
            autoreset(episodes, i, now)
            rewards[i] = 0.0
            terminated[i] = False
            truncated[i] = False
        else:
            s = position[i]
            a = actions[i]
            k = pick_outcome(cumulative, m, s, a, rng.random(generators, i))
            position[i] = next_state[m, s, a, k]
            last_action[i] = a
            probabilities[i] = tables.probability[m, s, a, k]
            reward = tables.reward[m, s, a, k]
            term = tables.terminal[m, s, a, k]
            trunc = end_step(episodes, i, reward, term, max_episode_steps, now)
            rewards[i] = reward
            terminated[i] = term
            truncated[i] = trunc
            if term or trunc:
                ended += 1
                if mode == SAME_STEP:
                    final_observations[i] = position[i]
                    position[i] = pick_initial(initial_cumulative, m, rng.random(generators, i))
                    last_action[i] = -1
                    begin_episode(episodes, i, now)
        observations[i] = position[i]
    return ended


@numba.njit(cache=True)
def reset_kernel(
    position: NDArray[np.int64],
    last_action: NDArray[np.int64],
    generators: NDArray[np.uint64],
    initial_cumulative: NDArray[np.float64],
    mask: NDArray[np.bool_],
) -> None:
    """Put the envs in `mask` (N,) in a start state, one draw each from their own generator rows."""
    one_map = initial_cumulative.shape[0] == 1
    for i in range(position.shape[0]):
        if mask[i]:
            position[i] = pick_initial(initial_cumulative, 0 if one_map else i, rng.random(generators, i))
            last_action[i] = -1


def reference_step(
    tables: TransitionTables,
    position: NDArray[np.int64],
    last_action: NDArray[np.int64],
    probabilities: NDArray[np.float64],
    rows: NDArray[np.uint64],
    actions: NDArray[np.int64],
    mask: NDArray[np.bool_],
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """The NumPy reference of `step_kernel`'s transitions: step the envs in `mask` with Gymnasium's own
    `categorical_sample`; return rewards and terminations (N,). The envs not stepped get probability 1.0."""
    rewards = np.zeros(position.shape[0])  # (N,)
    terminated = np.zeros(position.shape[0], dtype=np.bool_)  # (N,)
    probabilities[~mask] = 1.0
    for i in np.flatnonzero(mask):
        m, s, a = (0 if tables.next_state.shape[0] == 1 else i), position[i], actions[i]
        generator = rng.generator_from_row(rows, int(i))
        k = int(categorical_sample(tables.probability[m, s, a], generator))
        rows[i] = rng.row_from_generator(generator)
        position[i], last_action[i] = tables.next_state[m, s, a, k], a
        probabilities[i] = tables.probability[m, s, a, k]
        rewards[i], terminated[i] = tables.reward[m, s, a, k], tables.terminal[m, s, a, k]
    return rewards, terminated


def reference_reset(
    tables: TransitionTables,
    position: NDArray[np.int64],
    last_action: NDArray[np.int64],
    rows: NDArray[np.uint64],
    mask: NDArray[np.bool_],
) -> None:
    """The NumPy reference of `reset_kernel`, with Gymnasium's own `categorical_sample`."""
    for i in np.flatnonzero(mask):
        generator = rng.generator_from_row(rows, int(i))
        position[i] = categorical_sample(tables.initial[0 if tables.initial.shape[0] == 1 else i], generator)
        rows[i] = rng.row_from_generator(generator)
        last_action[i] = -1


def reset_info(options: dict[str, Any] | None, num_envs: int) -> dict[str, Any]:
    """SyncVectorEnv's reset info of tabular envs: `prob` 1.0 for each reset env, `_prob` marking them."""
    mask = (options or {}).get("reset_mask")
    reset = np.ones(num_envs, dtype=np.bool_) if mask is None else np.array(mask, dtype=np.bool_)
    return {"prob": reset.astype(np.float64), "_prob": reset}


def add_step_info(info: dict[str, Any], probabilities: NDArray[np.float64]) -> None:
    """Put SyncVectorEnv's step info of tabular envs into `info`: `prob` (N,), each env's transition probability.

    With SAME_STEP, an ended env's step probability goes to `info["final_info"]` and its reset's 1.0 to `info`.
    """
    probabilities = probabilities.copy()
    if "final_info" in info:
        ended = info["_final_info"]
        info["final_info"] = {"prob": np.where(ended, probabilities, 0.0), "_prob": ended.copy()}
        probabilities[ended] = 1.0
    info["prob"], info["_prob"] = probabilities, np.ones(probabilities.shape[0], dtype=np.bool_)
