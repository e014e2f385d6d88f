"""Five replays: a game's config, its seed and the core actions of every decision, in a small `.npz` file.

The rules draw their randomness only from a counter-based hash of (seed, tick, unit) (see `five/game/core.py`), so
a seed plus the action log reproduces a game exactly: `replay_game` resets one game with the recorded config and
seed and feeds it the recorded actions, and the final state equals the one the game ended in (`states_equal`).
A replay holds the core-level actions (primary, target unit slot, ground point) of all 10 hero slots, whoever
chose them: scripted bots, a policy or a person. `record_game` plays any two `agents.Agent`s (bots or trained
policies) on a one-game `FiveVecEnv` started with the replay's seed.

The file is NumPy's compressed `.npz` (no pickle) with these entries:

    format      "fourfold-five-replay"
    version     the format version (`FORMAT_VERSION`); a file of another version is refused with one sentence
    config      the `GameConfig` as JSON
    meta        JSON: who played blue and red, the final tick and winner, a digest of the final state
    seed        int64, the game's reset seed
    primary     int8  [T, 10]  primary action of every hero slot at each of the T decisions
    target      int16 [T, 10]  target unit slot (-1: none)
    point       float64 [T, 10, 2]  world point of casts, zero for other actions (exact: replays are bit-exact)

A 10-minute game (4,500 decisions) takes a few hundred kilobytes. `save_replay` writes to a temporary sibling and
renames it into place, so a crash never leaves half a replay; `load_replay` turns a missing, corrupt, truncated or
wrong-version file into one `ReplayError` sentence.

Shape legend: T decisions, 10 hero slots (blue 0-4, red 5-9).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from fourfold.core.config import ConfigError, from_jsonable, to_jsonable
from fourfold.core.errors import FourfoldError
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import (
    ACTION_CAST_0,
    ACTION_CAST_2,
    BLUE,
    HERO_SLOTS,
    RED,
    TICKS_PER_DECISION,
    TICKS_PER_SECOND,
)
from fourfold.five.game.core import step
from fourfold.five.game.state import GameState, copy_state, new_state, reset_games

if TYPE_CHECKING:
    from fourfold.five.agents import Agent
    from fourfold.five.env import FiveVecEnv

FORMAT_NAME = "fourfold-five-replay"
FORMAT_VERSION = 1
"""Bumped whenever the file layout or the meaning of its entries changes."""


class ReplayError(FourfoldError):
    """A replay file is missing, damaged, of another format version, or does not reproduce its game."""


@dataclass
class Replay:
    """One game: its config, seed and the core actions of every decision of both teams."""

    config: GameConfig
    seed: int
    primary: NDArray[np.int64]
    """[T, 10] primary action of each hero slot at each decision."""
    target: NDArray[np.int64]
    """[T, 10] target unit slot, -1 for none."""
    point: NDArray[np.float64]
    """[T, 10, 2] world point (x, y) of ground-targeted casts."""
    blue: str = ""
    """Who played blue (a bot name, a policy, a person), for the score card."""
    red: str = ""
    """Who played red."""
    final_tick: int = -1
    """The tick the recorded game ended at (-1: unknown)."""
    winner: int = -1
    """The recorded winner: 0 blue, 1 red, 2 draw, -1 not over (a game cut short)."""
    digest: str = ""
    """sha256 of the recorded final state (`state_digest`); "" when unknown."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form JSON metadata (e.g. the command that recorded it)."""

    @property
    def num_decisions(self) -> int:
        """T, the number of recorded decisions."""
        return int(self.primary.shape[0])

    @property
    def seconds(self) -> float:
        """Game-seconds the recorded decisions cover."""
        return self.num_decisions * TICKS_PER_DECISION / TICKS_PER_SECOND


@dataclass
class RecordedGame:
    """What `record_game` returns: the replay and the state the game ended in."""

    replay: Replay
    state: GameState


def decision_limit(config: GameConfig) -> int:
    """The most decisions a game of `config` can last: its time cap in decisions, plus one for rounding."""
    return config.time_cap_ticks // TICKS_PER_DECISION + 1


def record_game(
    config: GameConfig,
    blue: Agent,
    red: Agent,
    seed: int,
    *,
    blue_name: str = "",
    red_name: str = "",
    max_decisions: int | None = None,
    on_state: Callable[[GameState, int], None] | None = None,
) -> RecordedGame:
    """Play one game of `blue` against `red` from `seed` and record every decision's actions.

    The game is a one-game `FiveVecEnv` without auto-reset, started with exactly `seed` (the replay's seed), so
    scripted bots and trained policies play it the same way: each `Agent.act(env, team)` reads the env's current
    state and observation, and both teams' core actions go to one `env.step_core`.

    Args:
        config: the game's config.
        blue, red: the players (`agents.agent_from_spec`: a `BotAgent`, a `PolicyAgent`); each is reset first.
        seed: the game's reset seed.
        blue_name, red_name: who played, kept in the replay for the score card (default: the agents' names).
        max_decisions: stop after this many decisions even if the game is not over (None: play to the end).
        on_state: called with the state and the decision index after the reset (index 0) and after each decision
            (index t + 1), e.g. to render frames while playing.
    """
    from fourfold.five.env import FiveVecEnv

    env = FiveVecEnv(1, config, copy_obs=False, auto_reset=False)
    _start_game(env, seed)
    state = env.state
    limit = decision_limit(config) if max_decisions is None else max_decisions
    blue.reset(1)
    red.reset(1)
    primaries: list[NDArray[np.int64]] = []
    targets: list[NDArray[np.int64]] = []
    points: list[NDArray[np.float64]] = []
    if on_state is not None:
        on_state(state, 0)
    while not bool(state.done[0]) and len(primaries) < limit:
        primary = np.zeros((1, HERO_SLOTS), dtype=np.int64)  # [1, 10]
        target = np.full((1, HERO_SLOTS), -1, dtype=np.int64)  # [1, 10]
        point = np.zeros((1, HERO_SLOTS, 2), dtype=np.float64)  # [1, 10, 2]
        for team, agent in ((BLUE, blue), (RED, red)):
            slots = slice(5 * team, 5 * team + 5)
            p, t, q = agent.act(env, team)  # [1, 5], [1, 5], [1, 5, 2]
            primary[:, slots] = p
            target[:, slots] = t
            point[:, slots] = q
        # Only casts read the point; zero the rest so the file compresses (what is stored is what was played).
        point[(primary < ACTION_CAST_0) | (primary > ACTION_CAST_2)] = 0.0
        _, _, terminated, _, _ = env.step_core(primary, target, point)
        blue.observe_done(terminated)
        red.observe_done(terminated)
        primaries.append(primary[0])
        targets.append(target[0])
        points.append(point[0])
        if on_state is not None:
            on_state(state, len(primaries))
    replay = Replay(
        config=config,
        seed=int(seed),
        primary=_stack(primaries, (0, HERO_SLOTS), np.int64),
        target=_stack(targets, (0, HERO_SLOTS), np.int64),
        point=_stack(points, (0, HERO_SLOTS, 2), np.float64),
        blue=blue_name or blue.name,
        red=red_name or red.name,
        final_tick=int(state.tick[0]),
        winner=int(state.winner[0]),
        digest=state_digest(state),
    )
    return RecordedGame(replay=replay, state=state)


def _start_game(env: FiveVecEnv, seed: int) -> None:
    """Start `env`'s one game with exactly `seed` (the env's own seeding would derive another seed from it)."""
    state = new_state(1, env.config)
    seeds = np.array([seed], dtype=np.int64)  # [1]
    reset_games(state, env.config, np.ones(1, dtype=bool), seeds)
    env.load_state_dict(
        {
            "game_state": dict(zip(GameState._fields, state, strict=True)),
            "starts": np.ones(1, dtype=np.int64),
            "seeds": seeds,
            "seed": 0,
        }
    )


def iter_replay(replay: Replay) -> Iterator[GameState]:
    """Replay a game decision by decision: yield its state after the reset and after each decision.

    The same `GameState` object is yielded each time (stepped in place); copy it (`copy_state`) to keep one.
    """
    config = replay.config
    state = new_state(1, config)
    reset_games(state, config, np.ones(1, dtype=bool), np.array([replay.seed], dtype=np.int64))
    yield state
    for t in range(replay.num_decisions):
        primary = np.ascontiguousarray(replay.primary[t : t + 1], dtype=np.int64)  # [1, 10]
        target = np.ascontiguousarray(replay.target[t : t + 1], dtype=np.int64)  # [1, 10]
        point = np.ascontiguousarray(replay.point[t : t + 1], dtype=np.float64)  # [1, 10, 2]
        step(state, config, primary, target, point)
        yield state


def replay_game(replay: Replay, *, verify: bool = False) -> GameState:
    """The state a replayed game ends in (its recorded actions applied to a fresh game of its config and seed).

    Args:
        replay: the game.
        verify: check the final state against the digest recorded with the game.

    Raises:
        ReplayError: with `verify`, the game did not end in the recorded state (a replay of an older rules
            version, say).
    """
    final: GameState | None = None
    for state in iter_replay(replay):
        final = state
    assert final is not None  # iter_replay yields at least the reset state
    if verify and replay.digest and state_digest(final) != replay.digest:
        raise ReplayError(
            f"the replay ({replay.blue or 'blue'} vs {replay.red or 'red'}, seed {replay.seed}) does not reproduce "
            f"its recorded final state; it was recorded with other game rules, so record it again"
        )
    return copy_state(final)


def state_digest(state: GameState) -> str:
    """sha256 over every array of `state` (name, dtype, shape and bytes), to check a replay ends where it did."""
    digest = hashlib.sha256()
    for name, array in zip(GameState._fields, state, strict=True):
        value = np.ascontiguousarray(array)
        digest.update(f"{name}:{value.dtype.str}:{value.shape};".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def save_replay(replay: Replay, path: str | Path) -> Path:
    """Write `replay` to `path` (a compressed `.npz`) atomically: a temporary sibling, fsynced, renamed into place."""
    path = Path(path)
    if int(replay.primary.min(initial=0)) < np.iinfo(np.int8).min or int(replay.primary.max(initial=0)) > 127:
        raise ValueError("replay primary actions do not fit int8")
    if int(replay.target.min(initial=-1)) < -1 or int(replay.target.max(initial=0)) > np.iinfo(np.int16).max:
        raise ValueError("replay target slots do not fit int16")
    meta = {
        "blue": replay.blue,
        "red": replay.red,
        "final_tick": replay.final_tick,
        "winner": replay.winner,
        "digest": replay.digest,
        "extra": replay.extra,
    }
    arrays: dict[str, NDArray[Any]] = {
        "format": np.array(FORMAT_NAME),
        "version": np.array(FORMAT_VERSION, dtype=np.int64),
        "config": np.array(json.dumps(to_jsonable(replay.config))),
        "meta": np.array(json.dumps(meta)),
        "seed": np.array(replay.seed, dtype=np.int64),
        "primary": replay.primary.astype(np.int8),  # [T, 10]
        "target": replay.target.astype(np.int16),  # [T, 10]
        "point": replay.point.astype(np.float64),  # [T, 10, 2]
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(temporary, "wb") as file:
            np.savez_compressed(file, **arrays)  # type: ignore[arg-type]
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return path


def load_replay(path: str | Path) -> Replay:
    """Read a replay written by `save_replay`.

    Raises:
        ReplayError: one sentence when the file is missing, not a replay, corrupt or truncated, or of another
            format version.
    """
    path = Path(path)
    if not path.is_file():
        raise ReplayError(f"no replay file at {path}; `fourfold five watch --out DIR` writes one (DIR/replay.npz)")
    try:
        with np.load(path, allow_pickle=False) as data:
            entries = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        raise _damaged(path, error) from None
    if str(entries.get("format", "")) != FORMAT_NAME:
        raise ReplayError(f"{path} is not a Five replay (no '{FORMAT_NAME}' marker); pass a file written by fourfold")
    version = int(entries["version"]) if "version" in entries else -1
    if version != FORMAT_VERSION:
        raise ReplayError(
            f"{path} is a Five replay of format version {version}, but this fourfold reads version {FORMAT_VERSION}; "
            f"record the game again with this version"
        )
    try:
        config = from_jsonable(GameConfig, json.loads(str(entries["config"])))
        meta = json.loads(str(entries["meta"]))
        primary = entries["primary"].astype(np.int64)  # [T, 10]
        target = entries["target"].astype(np.int64)  # [T, 10]
        point = entries["point"].astype(np.float64)  # [T, 10, 2]
        decisions = primary.shape[0]
        if primary.shape != (decisions, HERO_SLOTS) or target.shape != primary.shape:
            raise ValueError(f"action arrays of shapes {primary.shape} and {target.shape}")
        if point.shape != (decisions, HERO_SLOTS, 2):
            raise ValueError(f"point array of shape {point.shape}")
        return Replay(
            config=config,
            seed=int(entries["seed"]),
            primary=np.ascontiguousarray(primary),
            target=np.ascontiguousarray(target),
            point=np.ascontiguousarray(point),
            blue=str(meta["blue"]),
            red=str(meta["red"]),
            final_tick=int(meta["final_tick"]),
            winner=int(meta["winner"]),
            digest=str(meta["digest"]),
            extra=dict(meta.get("extra", {})),
        )
    except (ValueError, KeyError, TypeError, ConfigError) as error:
        raise _damaged(path, error) from None


def _damaged(path: Path, error: BaseException) -> ReplayError:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return ReplayError(f"{path} is damaged or not a Five replay ({reason}); record the game again")


def _stack(rows: list[NDArray[Any]], empty_shape: tuple[int, ...], dtype: type) -> NDArray[Any]:
    if not rows:
        return np.zeros(empty_shape, dtype=dtype)
    return np.ascontiguousarray(np.stack(rows).astype(dtype))
