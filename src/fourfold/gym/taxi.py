"""Taxi-v3 as a `gymnasium.Env` and as a batched vector env, exact to Gymnasium's Taxi.

Drive a taxi on a 5 x 5 grid with walls, pick a passenger up at one of four pads (R, G, Y, B) and drop them off at
their destination: -1 a step, +20 for the drop-off, -10 for an illegal pick-up or drop-off. The task of Dietterich
(2000), "Hierarchical Reinforcement Learning with the MAXQ Value Function Decomposition", as Gymnasium 1.4 defines
it in `gymnasium/envs/toy_text/taxi.py`, with its options (`is_rainy`, `rainy_probability`, `fickle_passenger`,
`fickle_probability`), spaces, `info["prob"]`, `info["action_mask"]` and ANSI text, and its registration: a
200-step time limit and a reward threshold of 8. (Gymnasium 1.4 names this version Taxi-v4, which fixed the rainy
and fickle options of v3 and left the default task alone; fourfold keeps the id Taxi-v3 and follows 1.4's code.)

The rules, their transition tables and the kernel (`tabular.py`'s plus the fickle passenger, who on the first move
with them aboard changes destination with probability `fickle_probability`) are in `taxi_dynamics.py`; this file
holds the envs over them and the pictures.

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
import numpy as np
from gymnasium import spaces
from gymnasium.utils import colorize
from gymnasium.vector import AutoresetMode
from numpy.typing import ArrayLike, NDArray

from fourfold.gym import env_guards, render, rng, tabular
from fourfold.gym.render import Frame
from fourfold.gym.taxi_dynamics import (
    ACTION_MASKS,
    ACTION_NAMES,
    DESC,
    IN_TAXI,
    LOCS,
    NUM_ACTIONS,
    NUM_STATES,
    build_tables,
    check_probabilities,
    decode,
    encode,
    fickle_moment,
    reset_kernel,
    step_kernel,
)
from fourfold.gym.vector import Backend, BatchedVectorEnv

CELL, MARGIN = 80, 20
ROAD: render.Color = (236, 236, 228)
WALL: render.Color = (60, 60, 60)
PAD_COLORS: tuple[render.Color, ...] = ((255, 0, 0), (0, 255, 0), (255, 255, 0), (0, 0, 255))  # Gymnasium's
TAXI: render.Color = (250, 170, 20)
PASSENGER: render.Color = (40, 40, 120)


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
        env_guards.check_render_mode(self, render_mode)
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
        return tabular.transition_dict(self.tables)

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
        self.s, self.lastaction, self._terminated = tabular.sample_start(self.tables, self.np_random), None, False
        self.fickle_step = self.fickle_passenger and bool(self.np_random.random() < self.fickle_probability)
        return self.s, {"prob": 1.0, "action_mask": self.action_mask(self.s)}

    def step(self, action: int | np.integer[Any]) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """Act; return the state, reward, terminated, truncated (always False) and `{"prob", "action_mask"}`.

        Raises:
            ResetNeededError: before reset, or after the episode terminated.
            InvalidActionError: `action` is not one of 0-5.
        """
        s = env_guards.check_running(self, self.s, self._terminated)
        self.lastaction = env_guards.check_action(self, action)
        after, reward, self._terminated, probability = tabular.sample_transition(
            self.tables, s, self.lastaction, self.np_random
        )
        if self.fickle_passenger and self.fickle_step and fickle_moment(s, after):
            self.fickle_step = False
            destination = self.np_random.choice([d for d in range(4) if d != s % 4])
            after = after - after % 4 + int(destination)
        self.s = after
        return after, reward, self._terminated, False, {"prob": probability, "action_mask": self.action_mask(after)}

    def render(self) -> str | Frame | None:
        """The ANSI text (a str) or a (440, 440, 3) uint8 frame; None (with Gymnasium's warning) without a mode."""
        s = env_guards.state_to_render(self, self.s)
        if s is None:
            return None
        if self.render_mode == "ansi":
            return render_text(s, -1 if self.lastaction is None else self.lastaction)
        return render_frame(s)


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
        self._probabilities = np.ones(self.num_envs, dtype=np.float64)  # (N,) as tabular.step_kernel's
        self._fickle = (self.fickle_passenger, self.fickle_probability)

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[Any], dict[str, Any]]:
        """As `BatchedVectorEnv.reset`, with `prob` and `action_mask` in `info` for each reset env."""
        observations, info = super().reset(seed=seed, options=options)
        info.update(tabular.reset_info(options, self.num_envs))
        reset = info["_prob"]
        info["action_mask"] = np.where(reset[:, None], ACTION_MASKS[observations], 0).astype(np.int8)  # (N, 6)
        info["_action_mask"] = reset.copy()
        return observations, info

    def step(
        self, actions: ArrayLike
    ) -> tuple[NDArray[Any], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        """As `BatchedVectorEnv.step`, with `prob` (N,) and `action_mask` (N, 6) in `info`."""
        observations, rewards, terminated, truncated, info = super().step(actions)
        tabular.add_step_info(info, self._probabilities)
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
        ended: int = step_kernel(
            self.tables, self._fickle, self.position, self.last_action, self.fickle_step, self._probabilities,
            self._rng, actions, self._mode, self._max_steps, now, self._episodes, observations, rewards, terminated,
            truncated, self._final_observations,
        )  # fmt: skip
        return ended

    def _compiled_reset(self, mask: NDArray[np.bool_], options: dict[str, Any]) -> None:
        reset_kernel(self.tables, self._fickle, self.position, self.last_action, self.fickle_step, self._rng, mask)

    def _reference_dynamics(
        self, actions: NDArray[Any], mask: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        before = self.position.copy()
        rewards, terminated = tabular.reference_step(
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
        tabular.reference_reset(self.tables, self.position, self.last_action, self._rng, mask)
        for i in np.flatnonzero(mask):
            generator = rng.generator_from_row(self._rng, int(i))
            self.fickle_step[i] = self.fickle_passenger and bool(generator.random() < self.fickle_probability)
            self._rng[i] = rng.row_from_generator(generator)

    def _observe(self) -> NDArray[np.int64]:
        return self.position.copy()  # (N,)

    def _render_env(self, index: int) -> Frame:
        return render_frame(int(self.position[index]))
