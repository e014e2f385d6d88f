"""Tests of fourfold.gym.record with a tiny fake env that renders RGB frames (Gymnasium's own classic-control
renderers need pygame): GIF, MP4 and frame sheet read back, grids, vector envs in every autoreset mode, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium
import imageio.v2 as imageio_v2
import imageio.v3 as imageio_v3
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import fourfold.gym.record as record_module
from fourfold.gym.record import RecordError, mp4_available, record, tile


class BarEnv(gymnasium.Env[np.ndarray, np.int64]):
    """Ends after `length` steps; reward 1 + action; renders a bar that moves one pixel a step, so frames differ."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 25}  # noqa: RUF012 (Gymnasium's convention)

    def __init__(self, length: int = 5, height: int = 24, width: int = 40, render_mode: str | None = "rgb_array"):
        self.length, self.height, self.width = length, height, width
        self.render_mode = render_mode
        self.observation_space = gymnasium.spaces.Box(0.0, 1000.0, shape=(1,), dtype=np.float32)
        self.action_space = gymnasium.spaces.Discrete(2)
        self.t = 0
        self.episode = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        self.episode += 1
        return np.array([0.0], dtype=np.float32), {}

    def step(self, action: np.int64) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return np.array([self.t], dtype=np.float32), 1.0 + float(action), self.t >= self.length, False, {}

    def render(self) -> np.ndarray:
        frame = np.full((self.height, self.width, 3), 255, dtype=np.uint8)
        frame[:, (self.t + 7 * self.episode) % self.width] = (200, 40, 40)
        frame[: self.episode * 3, 0] = (0, 0, 200)
        return frame


def test_single_env_gif_and_frame_sheet(tmp_path: Path) -> None:
    result = record(BarEnv(length=6), tmp_path / "videos" / "bar", formats=["gif"], policy=lambda obs: 1)
    assert result.gif == tmp_path / "videos" / "bar.gif" and result.mp4 is None
    assert result.num_frames == 7  # the reset frame, then one per step
    assert result.frame_shape == (24, 40) and result.fps == 25.0
    assert result.episode_returns == [12.0] and result.episode_lengths == [6] and not result.cut_short
    frames = imageio_v3.imread(result.gif, index=None)
    assert frames.shape == (7, 24, 40, 3)
    assert result.sheet == tmp_path / "videos" / "bar-frames.png"
    sheet = imageio_v3.imread(result.sheet)
    assert sheet.ndim == 3 and sheet.shape[2] == 3
    assert sheet.shape[1] == 4 * 40 + 3 * 6  # 7 frames: 4 tiles a row, 6-pixel gaps


def test_max_steps_bounds_the_recording(tmp_path: Path) -> None:
    result = record(BarEnv(length=50), tmp_path / "long", formats=["gif"], max_steps=10, sheet=False)
    assert result.num_frames == 11 and result.cut_short
    assert result.episode_lengths == [10]  # the cut episode is reported as far as it went
    assert result.sheet is None
    assert imageio_v3.imread(result.gif, index=None).shape[0] == 11


def test_several_episodes_of_one_env_show_each_end(tmp_path: Path) -> None:
    result = record(BarEnv(length=3), tmp_path / "eps", formats=["gif"], episodes=2)
    assert result.episode_lengths == [3, 3]
    assert result.num_frames == 1 + 3 + 1 + 3  # reset, episode, reset (its own frame), episode


def test_grid_of_envs_of_different_sizes_is_padded(tmp_path: Path) -> None:
    envs = [BarEnv(length=5, height=24, width=40), BarEnv(length=8, height=17, width=30), BarEnv(length=2)]
    result = record(envs, tmp_path / "grid", formats=["gif"])
    # 3 tiles: 2 columns, 2 rows of the largest tile (24 × 40) with 4-pixel gaps.
    assert result.frame_shape == (2 * 24 + 4, 2 * 40 + 4)
    assert result.num_frames == 9  # the longest episode decides
    assert sorted(result.episode_lengths) == [2, 5, 8]
    frames = imageio_v3.imread(result.gif, index=None)
    assert frames.shape == (9, 52, 84, 3)
    # The fourth cell of the grid is empty, grey like the gaps; the second frame is padded white in its cell.
    assert np.all(frames[0, 30:, 46:] == 160)
    assert np.all(frames[0, :3, 44:] == 255)


def test_random_actions_are_seeded(tmp_path: Path) -> None:
    first = record(BarEnv(length=20), tmp_path / "a", formats=["gif"], seed=3, sheet=False)
    second = record(BarEnv(length=20), tmp_path / "b", formats=["gif"], seed=3, sheet=False)
    assert first.episode_returns == second.episode_returns
    assert 20 < first.episode_returns[0] < 40  # rewards of 1 and 2: some of each


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED])
def test_vector_env_counts_episodes_right_in_every_autoreset_mode(tmp_path: Path, mode: AutoresetMode) -> None:
    env = SyncVectorEnv([lambda n=n: BarEnv(length=n) for n in (3, 4, 5)], autoreset_mode=mode)
    result = record(env, tmp_path / "vector", formats=["gif"], episodes=2, policy=lambda obs: np.ones(3, np.int64))
    assert sorted(result.episode_lengths) == [3, 3, 4, 4, 5, 5]
    assert sorted(result.episode_returns) == [6.0, 6.0, 8.0, 8.0, 10.0, 10.0]
    # Next-step mode spends one step resetting between the episodes of the longest env.
    steps = 11 if mode == AutoresetMode.NEXT_STEP else 10
    assert result.num_frames == steps + 1
    assert result.frame_shape == (2 * 24 + 4, 2 * 40 + 4)


def test_vector_env_rendering_an_array_of_frames(tmp_path: Path) -> None:
    class ArrayRender(SyncVectorEnv):
        def render(self) -> np.ndarray:  # type: ignore[override]
            return np.stack(super().render())

    env = ArrayRender([lambda: BarEnv(length=4) for _ in range(4)])
    result = record(env, tmp_path / "array", formats=["gif"], columns=4, scale=0.5)
    assert result.frame_shape == (12, (4 * 40 + 3 * 4) // 2)
    assert result.episode_lengths == [4, 4, 4, 4]


@pytest.mark.skipif(not mp4_available(), reason="MP4 needs the imageio-ffmpeg package (pip install imageio-ffmpeg)")
def test_mp4_is_written_with_even_frame_sizes(tmp_path: Path) -> None:
    result = record(BarEnv(length=9, height=23, width=41), tmp_path / "bar", formats=["gif", "mp4"])
    assert result.mp4 == tmp_path / "bar.mp4"
    assert result.frame_shape == (24, 42)  # padded to even sizes for H.264
    reader = imageio_v2.get_reader(result.mp4, format="FFMPEG")
    try:
        assert reader.count_frames() == 10
        assert reader.get_data(0).shape == (24, 42, 3)
    finally:
        reader.close()


def test_sheet_every_k_frames_and_the_last(tmp_path: Path) -> None:
    result = record(BarEnv(length=11), tmp_path / "k", formats=["gif"], sheet_every=5)
    # Frames 0..11: steps 0, 5, 10 and the last, 11 -> 4 tiles in one row.
    sheet = imageio_v3.imread(result.sheet)
    assert sheet.shape == (24, 4 * 40 + 3 * 6, 3)


def test_long_recording_keeps_the_sheet_to_its_tile_budget(tmp_path: Path) -> None:
    result = record(BarEnv(length=200, width=20, height=10), tmp_path / "long", formats=["gif"], sheet_tiles=8)
    sheet = imageio_v3.imread(result.sheet)
    assert sheet.shape == (2 * 10 + 6, 4 * 20 + 3 * 6, 3)  # 5 to 8 tiles, 4 a row, out of 201 frames


def test_errors_are_one_clear_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RecordError, match="renders None, not 'rgb_array'; make it with render_mode='rgb_array'"):
        record(BarEnv(render_mode=None), tmp_path / "x")

    class FloatFrames(BarEnv):
        def render(self) -> np.ndarray:
            return np.zeros((4, 4, 3), dtype=np.float32)

    with pytest.raises(RecordError, match=r"env 0 rendered float32 \(4, 4, 3\), not an RGB frame"):
        record(FloatFrames(), tmp_path / "x", formats=["gif"])
    with pytest.raises(RecordError, match="unknown video format 'avi'"):
        record(BarEnv(), tmp_path / "x", formats=["avi"])
    monkeypatch.setattr(record_module, "mp4_available", lambda: False)
    with pytest.raises(RecordError, match="pip install imageio-ffmpeg"):
        record(BarEnv(), tmp_path / "x", formats=["mp4"])
    assert record(BarEnv(), tmp_path / "default", sheet=False).mp4 is None  # default: GIF only without ffmpeg


def test_tile_centres_frames_in_a_grid() -> None:
    small = np.zeros((2, 2, 3), np.uint8)
    big = np.full((4, 6, 3), 100, np.uint8)
    grid = tile([big, small, big], columns=2, gap=1)
    assert grid.shape == (2 * 4 + 1, 2 * 6 + 1, 3)
    assert np.all(grid[:4, :6] == 100)
    assert np.all(grid[1:3, 9:11] == 0)  # the small frame, centred in its 4 × 6 cell
    assert np.all(grid[0, 7:] == 255)  # padding
    assert np.all(grid[4] == 160) and np.all(grid[:, 6] == 160)  # the gaps


def test_wrapped_env_from_gymnasium_make_is_truncated_by_its_time_limit(tmp_path: Path) -> None:
    spec = gymnasium.envs.registration.EnvSpec("test-record/Bar-v0", entry_point=BarEnv, max_episode_steps=4)
    env = gymnasium.make(spec, length=10, render_mode="rgb_array")
    result = record(env, tmp_path / "wrapped", formats=["gif"], sheet=False)
    assert result.episode_lengths == [4] and result.num_frames == 5 and result.fps == 25.0


def test_records_fourfold_cartpole(tmp_path: Path) -> None:
    try:
        import fourfold.gym  # noqa: F401  (registers the fourfold/ ids)

        env = gymnasium.make("fourfold/CartPole-v1", render_mode="rgb_array")
    except (ImportError, gymnasium.error.Error) as error:
        pytest.skip(f"fourfold/CartPole-v1 is not available: {error}")
    result = record(env, tmp_path / "cartpole", formats=["gif"], seed=0)
    assert not result.cut_short and len(result.episode_lengths) == 1
    frames = imageio_v3.imread(result.gif, index=None)
    assert frames.shape[0] == result.num_frames == result.episode_lengths[0] + 1
    assert frames.shape[1:] == (*result.frame_shape, 3)
