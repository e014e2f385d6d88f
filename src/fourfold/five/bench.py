"""`fourfold five bench`: game steps per second of Five on one core, compiled beside the NumPy reference.

A game step is one decision of one game: 10 hero decisions, `TICKS_PER_DECISION` ticks of the rules, then every
hero's observation and action masks built (`five/game/observe.py`), as an agent's environment step needs. Actions
are random valid ones: each step draws a primary from the masks, then a target and a ground offset allowed for it,
and decodes them into the core's actions (`actions.decode_actions`); drawing them is not timed (it is the policy's
part), the rules and the observations are. Games that end are reset (timed, as an environment resets them).

Both implementations start from the same warmed-up batch (the compiled core plays `warmup_decisions` random
decisions first, so creeps are on the map; at most 64 distinct games, repeated to fill a larger batch) and run the
same kind of actions: the compiled core (`core.step` + `build_observations`, numba, one thread) for about `seconds`,
the reference (`core.step_reference` + `build_observations_reference`, interpreted) for about `reference_seconds` and
at least one step, so its figure comes from fewer steps. Memory per game is the bytes of one game's state and
observation arrays.

The issue's goal is 20,000 game steps/s for the compiled core at 64 and 1024 games (PufferLib's C MOBA, the
moonshot, reaches about 100,000 on one core).

Shape legend: G games, H = 10 hero slots, P primaries, T targets, O offsets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from fourfold.core.config import require
from fourfold.five.actions import decode_actions
from fourfold.five.game import core
from fourfold.five.game.config import GameConfig
from fourfold.five.game.observe import Observation, build_observations, build_observations_reference
from fourfold.five.game.state import GameState, copy_state, new_state, reset_games

Implementation = Literal["compiled", "reference"]
GOAL_STEPS_PER_SECOND = 20_000.0
WARM_GAMES = 64
"""Distinct games warmed up; a larger batch repeats them (warming 1024 games would cost more than measuring)."""


@dataclass
class GameBenchConfig:
    """Measure Five's game steps/s (rules + observations, random valid actions, one core) and memory per game."""

    num_games: tuple[int, ...] = (64, 1024)
    """Batch sizes (games stepped together)."""
    seconds: float = 3.0
    """Wall time of each compiled measurement."""
    reference_seconds: float = 5.0
    """Wall time of each reference measurement (at least one step is taken)."""
    reference: bool = True
    """Also measure the NumPy reference."""
    warmup_decisions: int = 150
    """Random decisions the compiled core plays before measuring (150: 20 game-seconds, the first waves out)."""
    map: Literal["three_lane", "one_lane"] = "three_lane"
    """The map."""
    heroes_per_team: int = 5
    """Heroes per team: 1, 3 or 5."""
    seed: int = 0
    """Seed of the games and the random actions."""

    def __post_init__(self) -> None:
        require(len(self.num_games) > 0, "num_games", "name at least one batch size")
        require(
            all(n >= 1 for n in self.num_games),
            "num_games",
            f"every batch size must be at least 1 (got {self.num_games})",
        )
        require(self.seconds > 0, "seconds", f"must be positive (got {self.seconds})")
        require(self.reference_seconds > 0, "reference_seconds", f"must be positive (got {self.reference_seconds})")
        require(self.warmup_decisions >= 0, "warmup_decisions", f"must be 0 or more (got {self.warmup_decisions})")
        GameConfig(map=self.map, heroes_per_team=self.heroes_per_team)  # checks the game settings, naming the field


@dataclass
class GameBenchRow:
    """One implementation at one batch size."""

    implementation: str
    num_games: int
    game_steps_per_second: float
    """Game steps (10 hero decisions each, observations built) per wall-clock second."""
    hero_decisions_per_second: float
    cpu_game_steps_per_second: float
    """Game steps per second of this process's CPU time: on a loaded machine (other processes sharing the cores)
    closer to what an idle core does than the wall-clock figure."""
    steps: int
    """Game steps measured (batch steps × games)."""
    seconds: float
    """Wall-clock time the timed part took."""


@dataclass
class GameBenchSummary:
    """Game steps/s per implementation and batch size, memory per game, and the goal."""

    rows: list[GameBenchRow] = field(default_factory=list)
    state_bytes_per_game: int = 0
    """Bytes of one game's `GameState` arrays."""
    observation_bytes_per_game: int = 0
    """Bytes of one game's observation and mask arrays (all 10 heroes)."""
    memory_bytes_per_game: int = 0
    """State plus observations."""
    compile_seconds: float = 0.0
    """First-call time of the compiled step and observation builder (numba compiles or loads its cache)."""
    map: str = "three_lane"
    heroes_per_team: int = 5
    threads: int = 1
    goal_steps_per_second: float = GOAL_STEPS_PER_SECOND
    speedups: dict[str, float] = field(default_factory=dict)
    """Compiled over reference steps/s, by batch size."""

    def rate(self, implementation: str, num_games: int) -> float | None:
        """Game steps/s of one implementation at one batch size (None when not measured)."""
        for row in self.rows:
            if row.implementation == implementation and row.num_games == num_games:
                return row.game_steps_per_second
        return None


def bench(config: GameBenchConfig) -> GameBenchSummary:
    """Measure every batch size of `config`, compiled and (optionally) reference."""
    game_config = GameConfig(map=config.map, heroes_per_team=config.heroes_per_team)
    summary = GameBenchSummary(map=config.map, heroes_per_team=config.heroes_per_team)
    summary.compile_seconds = _compile(game_config)
    for num_games in config.num_games:
        rng = np.random.default_rng(config.seed + num_games)
        state = _warm_batch(game_config, num_games, config.warmup_decisions, config.seed, rng)
        seeds = state.seed.copy()
        obs = build_observations(state, config.map)
        if num_games == config.num_games[0]:
            summary.state_bytes_per_game = sum(int(a.nbytes) for a in state) // num_games
            summary.observation_bytes_per_game = sum(int(a.nbytes) for a in obs) // num_games
            summary.memory_bytes_per_game = summary.state_bytes_per_game + summary.observation_bytes_per_game
        start_state = copy_state(state)
        summary.rows.append(_measure(state, obs, game_config, rng, "compiled", seeds, config.seconds))
        if config.reference:
            state = copy_state(start_state)
            obs = build_observations_reference(state, config.map)
            row = _measure(state, obs, game_config, rng, "reference", seeds, config.reference_seconds)
            summary.rows.append(row)
            compiled = summary.rate("compiled", num_games) or 0.0
            summary.speedups[str(num_games)] = compiled / row.game_steps_per_second
    return summary


def _warm_batch(config: GameConfig, num_games: int, decisions: int, seed: int, rng: np.random.Generator) -> GameState:
    """A batch of `num_games` games `decisions` random decisions in: at most `WARM_GAMES` distinct games are
    played, and repeated to fill a larger batch (their futures differ, as each copy gets its own random actions)."""
    warm = min(num_games, WARM_GAMES)
    state = new_state(warm, config)
    seeds = seed * 1_000_003 + np.arange(warm, dtype=np.int64)
    reset_games(state, config, np.ones(warm, dtype=bool), seeds)
    obs = build_observations(state, config.map)
    for _ in range(decisions):
        _step(state, obs, config, rng, "compiled", seeds)
    if warm == num_games:
        return state
    rows = np.arange(num_games) % warm  # [G] the warm game each game copies
    return GameState._make(np.ascontiguousarray(np.take(a, rows, axis=0)) for a in state)


def random_valid_actions(
    obs: Observation, rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """A random action allowed by the masks for every hero: primary, target index, offset index, each [G, H]."""
    primary = _sample(obs.mask_primary, rng)  # [G, H]
    games, heroes = np.indices(primary.shape)  # [G, H] each
    target = _sample(obs.mask_target[games, heroes, primary], rng)  # [G, H, T] -> [G, H]
    offset = _sample(obs.mask_offset[games, heroes, primary], rng)  # [G, H, O] -> [G, H]
    return primary, target, offset


def _sample(mask: NDArray[np.bool_], rng: np.random.Generator) -> NDArray[np.int64]:
    """A uniformly random allowed index along the last axis of `mask` (index 0 where nothing is allowed)."""
    keys = rng.random(mask.shape, dtype=np.float32)  # [..., K]
    keys[~mask] = -1.0
    return np.asarray(keys.argmax(axis=-1), dtype=np.int64)


def _step(
    state: GameState,
    obs: Observation,
    config: GameConfig,
    rng: np.random.Generator,
    implementation: Implementation,
    seeds: NDArray[np.int64],
) -> tuple[float, float]:
    """One random valid step of every game; returns the wall and CPU seconds the rules and observations took."""
    primary, target_index, offset_index = random_valid_actions(obs, rng)
    world, target, point = decode_actions(state, obs.slots, primary, target_index, offset_index)
    started, started_cpu = time.perf_counter(), time.process_time()
    if implementation == "compiled":
        core.step(state, config, world, target, point)
    else:
        core.step_reference(state, config, world, target, point)
    done = state.done
    if done.any():
        seeds += done.shape[0]  # fresh seeds for the games that start again
        reset_games(state, config, done.copy(), seeds)
    if implementation == "compiled":
        build_observations(state, config.map, out=obs)
    else:
        fresh = build_observations_reference(state, config.map)
        for target_array, source in zip(obs, fresh, strict=True):
            target_array[...] = source
    return time.perf_counter() - started, time.process_time() - started_cpu


def _measure(
    state: GameState,
    obs: Observation,
    config: GameConfig,
    rng: np.random.Generator,
    implementation: Implementation,
    seeds: NDArray[np.int64],
    seconds: float,
) -> GameBenchRow:
    num_games = int(state.tick.shape[0])
    timed, timed_cpu, calls = 0.0, 0.0, 0
    deadline = time.perf_counter() + seconds
    while calls == 0 or time.perf_counter() < deadline:
        wall, cpu = _step(state, obs, config, rng, implementation, seeds)
        timed, timed_cpu, calls = timed + wall, timed_cpu + cpu, calls + 1
    steps = calls * num_games
    rate = steps / timed if timed > 0 else float("inf")
    cpu_rate = steps / timed_cpu if timed_cpu > 0 else float("inf")
    return GameBenchRow(implementation, num_games, rate, rate * 10, cpu_rate, steps, timed)


def _compile(config: GameConfig) -> float:
    """Seconds of the first compiled step and observation build (compiling, or loading numba's cache)."""
    state = new_state(1, config)
    started = time.perf_counter()
    obs = build_observations(state, config.map)
    primary = np.zeros((1, 10), dtype=np.int64)
    target = np.full((1, 10), -1, dtype=np.int64)
    point = np.zeros((1, 10, 2), dtype=np.float64)
    core.step(state, config, primary, target, point)
    build_observations(state, config.map, out=obs)
    return time.perf_counter() - started
