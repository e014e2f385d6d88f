"""Replays: the file round trip, exact reproduction of the recorded game (bots and policies), and one-sentence errors
for bad files."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fourfold.five.agents import BotAgent, PolicyAgent
from fourfold.five.bots import make_bot
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import ACTION_CAST_0, ACTION_CAST_2, ACTION_MOVE_0, BLUE, RED, TICKS_PER_DECISION
from fourfold.five.game.core import step
from fourfold.five.game.state import first_difference, new_state, reset_games, states_equal
from fourfold.five.replay import (
    FORMAT_VERSION,
    RecordedGame,
    ReplayError,
    iter_replay,
    load_replay,
    record_game,
    replay_game,
    save_replay,
)

CONFIG = GameConfig(time_cap_seconds=16.0)
"""A short game (120 decisions) that ends at its time cap, so the end of a game is recorded too."""


@pytest.fixture(scope="module")
def recorded() -> RecordedGame:
    return record_game(CONFIG, BotAgent("hard", 1), BotAgent("random", 2), seed=11)


def test_a_recorded_game_is_played_to_its_end(recorded: RecordedGame) -> None:
    replay = recorded.replay
    assert bool(recorded.state.done[0])
    assert replay.num_decisions == CONFIG.time_cap_ticks // TICKS_PER_DECISION
    assert replay.final_tick == int(recorded.state.tick[0]) == CONFIG.time_cap_ticks
    assert replay.winner == int(recorded.state.winner[0]) in (0, 1, 2)
    assert replay.primary.shape == replay.target.shape == (replay.num_decisions, 10)
    assert replay.point.shape == (replay.num_decisions, 10, 2)
    assert (replay.primary != 0).any()  # the bots did something


def test_replay_reproduces_the_final_state_exactly(recorded: RecordedGame) -> None:
    final = replay_game(recorded.replay, verify=True)
    assert states_equal(final, recorded.state), first_difference(final, recorded.state)


def test_file_round_trip_is_exact_and_small(recorded: RecordedGame, tmp_path: Path) -> None:
    path = save_replay(recorded.replay, tmp_path / "game.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["game.npz"]  # no temporary file left behind
    loaded = load_replay(path)
    assert loaded.config == CONFIG
    assert (loaded.seed, loaded.blue, loaded.red) == (11, "hard", "random")
    assert (loaded.final_tick, loaded.winner, loaded.digest) == (
        recorded.replay.final_tick,
        recorded.replay.winner,
        recorded.replay.digest,
    )
    for name in ("primary", "target", "point"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(recorded.replay, name))
    assert loaded.point.dtype == np.float64
    assert states_equal(replay_game(loaded, verify=True), recorded.state)
    assert path.stat().st_size < 40 * loaded.num_decisions + 4096, path.stat().st_size  # compressed
    save_replay(loaded, path)  # overwriting an existing replay goes through the same rename
    assert load_replay(path).num_decisions == loaded.num_decisions


def test_replaying_is_deterministic_and_depends_on_seed_and_actions(recorded: RecordedGame) -> None:
    replay = recorded.replay
    assert states_equal(replay_game(replay), replay_game(replay))
    other_seed = replay_game(dataclasses.replace(replay, seed=replay.seed + 1))
    assert not states_equal(other_seed, recorded.state)
    primary = replay.primary.copy()
    primary[0, 0] = ACTION_MOVE_0 + (int(primary[0, 0]) % 8 + 4) % 8 if primary[0, 0] != 0 else ACTION_MOVE_0
    changed = dataclasses.replace(replay, primary=primary)
    assert not states_equal(replay_game(changed), recorded.state)
    with pytest.raises(ReplayError, match="does not reproduce"):
        replay_game(changed, verify=True)


def test_iter_replay_yields_every_decision(recorded: RecordedGame) -> None:
    ticks = [int(state.tick[0]) for state in iter_replay(recorded.replay)]
    assert ticks == [TICKS_PER_DECISION * t for t in range(recorded.replay.num_decisions + 1)]


def test_max_decisions_cuts_a_game_short() -> None:
    cut = record_game(CONFIG, BotAgent("random", 0), BotAgent("random", 1), seed=3, max_decisions=5)
    assert cut.replay.num_decisions == 5 and cut.replay.winner == -1
    assert states_equal(replay_game(cut.replay, verify=True), cut.state)


def test_recording_plays_the_game_the_bots_play_on_the_bare_core(recorded: RecordedGame) -> None:
    # The game recorded through agents on a one-game env is the one the bots play stepping the core themselves
    # from the same seed: the replay's seed is the game's own, and recording changes nothing.
    state = new_state(1, CONFIG)
    reset_games(state, CONFIG, np.ones(1, dtype=bool), np.array([11], dtype=np.int64))
    bots = {BLUE: make_bot("hard", 1), RED: make_bot("random", 2)}
    games = np.zeros(1, dtype=np.int64)
    for t in range(recorded.replay.num_decisions):
        actions = [bots[team].act(state, games, team) for team in (BLUE, RED)]
        primary = np.concatenate([a[0] for a in actions], axis=1)  # [1, 10]
        target = np.concatenate([a[1] for a in actions], axis=1)  # [1, 10]
        point = np.concatenate([a[2] for a in actions], axis=1)  # [1, 10, 2]
        point[(primary < ACTION_CAST_0) | (primary > ACTION_CAST_2)] = 0.0
        np.testing.assert_array_equal(primary[0], recorded.replay.primary[t])
        np.testing.assert_array_equal(target[0], recorded.replay.target[t])
        step(state, CONFIG, primary, target, point)
    assert states_equal(state, recorded.state), first_difference(state, recorded.state)


def test_a_policy_game_replays_exactly(tmp_path: Path) -> None:
    import torch

    from fourfold.five.policy import FivePolicy, PolicyConfig

    torch.manual_seed(0)
    policy = FivePolicy(PolicyConfig(unit_dim=8, global_dim=16, hidden_dim=16, pooled_dim=8))
    config = GameConfig(map="one_lane", heroes_per_team=1, time_cap_seconds=8.0)
    game = record_game(config, PolicyAgent(policy, seed=3, name="tiny"), BotAgent("easy", 1), seed=5)
    assert (game.replay.blue, game.replay.red, game.replay.seed) == ("tiny", "easy", 5)
    assert game.replay.num_decisions == config.time_cap_ticks // TICKS_PER_DECISION
    assert (game.replay.primary[:, 0] != 0).any()  # the policy acted
    path = save_replay(game.replay, tmp_path / "policy.npz")
    assert states_equal(replay_game(load_replay(path), verify=True), game.state)
    # The policy samples from its own seeded stream: the same seed plays the same game.
    again = record_game(config, PolicyAgent(policy, seed=3), BotAgent("easy", 1), seed=5)
    assert again.replay.digest == game.replay.digest


def _rewrite(path: Path, **changes: object) -> None:
    """Rewrite a replay file with some entries replaced (or removed where the value is None)."""
    with np.load(path) as data:
        entries = {name: data[name] for name in data.files}
    for name, value in changes.items():
        if value is None:
            entries.pop(name)
        else:
            entries[name] = np.asarray(value)
    with open(path, "wb") as file:
        np.savez_compressed(file, **entries)  # type: ignore[arg-type]


def _damage_truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _damage_garbage(path: Path) -> None:
    path.write_bytes(b"this is not a replay at all" * 10)


def _damage_flip_bytes(path: Path) -> None:
    # Corrupt the compressed actions inside an otherwise valid zip: the CRC check or zlib fails on reading.
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("primary.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 8
    for i in range(start, start + 16):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_damage_truncate, "is damaged or not a Five replay"),
        (_damage_garbage, "is damaged or not a Five replay"),
        (_damage_flip_bytes, "is damaged or not a Five replay"),
        (lambda p: _rewrite(p, version=FORMAT_VERSION + 1), f"format version {FORMAT_VERSION + 1}"),
        (lambda p: _rewrite(p, format="something-else"), "is not a Five replay"),
        (lambda p: _rewrite(p, primary=None), "is damaged or not a Five replay"),
        (lambda p: _rewrite(p, config='{"map": "five_lane"}'), "is damaged or not a Five replay"),
        (lambda p: _rewrite(p, point=np.zeros((3, 10, 2))), "is damaged or not a Five replay"),
    ],
    ids=["truncated", "garbage", "flipped", "version", "format", "missing-entry", "bad-config", "bad-shape"],
)
def test_bad_files_give_one_sentence(recorded: RecordedGame, tmp_path: Path, damage: object, message: str) -> None:
    path = save_replay(recorded.replay, tmp_path / "replay.npz")
    damage(path)  # type: ignore[operator]
    with pytest.raises(ReplayError) as raised:
        load_replay(path)
    text = str(raised.value)
    assert message in text
    assert str(path) in text
    assert "\n" not in text


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match=r"no replay file at .*fourfold five watch"):
        load_replay(tmp_path / "absent.npz")
