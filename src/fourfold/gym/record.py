"""Record episodes of Gymnasium environments to GIF and MP4, with a frame sheet PNG for reports.

`record` plays an environment under a policy (a callable observation -> action, or uniformly random actions) and
writes what `render()` shows, frame by frame:

    <out>.gif         always (Pillow, which imageio ships with); looped, at the env's `render_fps`
    <out>.mp4         with the `imageio-ffmpeg` package installed (H.264, via imageio's ffmpeg plugin)
    <out>-frames.png  a frame sheet: every k-th frame tiled, each labelled with its step number

It takes one `gymnasium.Env`, a sequence of them (shown side by side as a grid), or a `gymnasium.vector.VectorEnv`
whose `render()` returns one frame per env (a tuple, a list, or an (N, H, W, 3) array); each env must have been
made with `render_mode="rgb_array"`. Tiles of different sizes are padded to the largest. An env that has played
its episodes keeps showing its last frame while the others go on; recording stops when all are done or after
`max_steps` steps, so its length and memory are bounded: GIF frames are kept palette-quantised (one byte per
pixel) until the file is written, MP4 frames are streamed, and the sheet keeps at most 2 × `sheet_tiles` small
thumbnails.

Vector envs follow Gymnasium 1.x's autoreset modes (`metadata["autoreset_mode"]`): in next-step mode the step after
an episode's end only resets that env and is not counted in the next episode; in disabled mode finished envs are
reset with `reset(options={"reset_mask": ...})`.

Shapes: N envs, H × W frame pixels.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import numpy.typing as npt
from gymnasium.vector import AutoresetMode, VectorEnv

from fourfold.core.errors import FourfoldError

Frame = npt.NDArray[np.uint8]
"""An RGB image, (H, W, 3) uint8."""
Policy = Callable[[Any], Any]
"""Observation -> action; for a vector env, a batch of observations -> a batch of actions."""

# Padding is white, as Gymnasium's classic-control renders are; the gaps between tiles are grey, so that
# white frames side by side stay apart.
_BACKGROUND = 255
_GAP_COLOR = 160
_GAP = 4


class RecordError(FourfoldError):
    """An environment cannot be recorded as asked (it does not render RGB frames, or a format is unavailable)."""


@dataclass(frozen=True)
class Recording:
    """What `record` wrote and what the episodes scored.

    Attributes:
        gif, mp4, sheet: the files written (None where not asked for or, for MP4, not available).
        num_frames: frames in the video: the first observation's, then one per step (Pillow stores identical
            consecutive GIF frames as one longer frame, so a GIF may hold fewer).
        frame_shape: (height, width) of the video's frames.
        fps: frames per second of the video.
        episode_returns, episode_lengths: every episode played, env by env in order of ending; the last
            episode of an env is cut short when `cut_short`.
        cut_short: `max_steps` ended the recording before every env had played its episodes.
    """

    gif: Path | None
    mp4: Path | None
    sheet: Path | None
    num_frames: int
    frame_shape: tuple[int, int]
    fps: float
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)
    cut_short: bool = False


def mp4_available() -> bool:
    """Whether MP4 can be written: the `imageio-ffmpeg` package (which ships an ffmpeg binary) is installed."""
    return importlib.util.find_spec("imageio_ffmpeg") is not None


def record(
    env: gymnasium.Env[Any, Any] | VectorEnv[Any, Any, Any] | Sequence[gymnasium.Env[Any, Any]],
    out: Path,
    *,
    policy: Policy | None = None,
    episodes: int = 1,
    max_steps: int = 1000,
    seed: int | None = 0,
    fps: float | None = None,
    formats: Sequence[str] | None = None,
    sheet: bool = True,
    sheet_every: int | None = None,
    sheet_tiles: int = 16,
    columns: int | None = None,
    scale: float = 1.0,
) -> Recording:
    """Play `episodes` episodes of each env under `policy` and write the video(s) and the frame sheet.

    Args:
        env: one env, a sequence of envs (a grid), or a vector env; each renders "rgb_array".
        out: the output path without extension; `<out>.gif`, `<out>.mp4` and `<out>-frames.png` are written.
        policy: observation -> action (for a vector env: batched); None plays uniformly random actions.
        episodes: episodes per env.
        max_steps: steps at most, whatever the episodes.
        seed: seeds the first reset (env i of a sequence gets seed + i) and the random actions; None: unseeded.
        fps: frames per second; default the env's `metadata["render_fps"]`, else 30.
        formats: "gif" and/or "mp4"; None: GIF, and MP4 too when imageio-ffmpeg is installed.
        sheet: write the frame sheet.
        sheet_every: put every k-th frame on the sheet (and the last); None: spread `sheet_tiles` over the video.
        sheet_tiles: the most tiles on the sheet when `sheet_every` is None.
        columns: grid columns for several envs; default about the square root of their number.
        scale: resize factor of the video frames (e.g. 0.5 for a large grid).

    Raises:
        RecordError: an env does not render RGB frames, MP4 is asked for without imageio-ffmpeg, or a format is
            unknown.
    """
    for name, value, least in [("episodes", episodes, 1), ("max_steps", max_steps, 0), ("sheet_tiles", sheet_tiles, 1)]:
        if value < least:
            raise ValueError(f"record: {name} must be at least {least}, got {value}")
    if scale <= 0 or (sheet_every is not None and sheet_every < 1):
        raise ValueError(f"record: scale must be positive and sheet_every at least 1, got {scale} and {sheet_every}")
    chosen = _formats(formats)
    frames_per_second = float(fps if fps is not None else _metadata(env).get("render_fps") or 30)
    writer = _VideoWriter(Path(out), chosen, frames_per_second, sheet, sheet_every, sheet_tiles, columns, scale)
    try:
        if isinstance(env, VectorEnv):
            episodes_played = _play_vector(env, writer, policy, episodes, max_steps, seed)
        elif isinstance(env, gymnasium.Env):
            episodes_played = _play_envs([env], writer, policy, episodes, max_steps, seed)
        else:
            episodes_played = _play_envs(list(env), writer, policy, episodes, max_steps, seed)
    finally:
        paths = writer.close()
    returns, lengths, cut_short = episodes_played
    return Recording(
        gif=paths.get("gif"),
        mp4=paths.get("mp4"),
        sheet=paths.get("sheet"),
        num_frames=writer.num_frames,
        frame_shape=writer.frame_shape,
        fps=frames_per_second,
        episode_returns=returns,
        episode_lengths=lengths,
        cut_short=cut_short,
    )


def tile(frames: Sequence[Frame], columns: int | None = None, *, gap: int = _GAP) -> Frame:
    """Lay frames out in a grid, row by row, each centred in a cell of the largest height and width.

    Cells are padded white; the `gap` pixels between cells, and cells without a frame, are grey.

    Args:
        frames: (H_i, W_i, 3) uint8 images.
        columns: frames per row; default ceil(sqrt(len(frames))).
        gap: pixels between cells.
    """
    if not frames:
        raise ValueError("tile needs at least one frame")
    count = len(frames)
    columns = max(1, min(columns or math.ceil(math.sqrt(count)), count))
    rows = math.ceil(count / columns)
    height = max(f.shape[0] for f in frames)
    width = max(f.shape[1] for f in frames)
    shape = (rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap, 3)
    canvas = np.full(shape, _GAP_COLOR, np.uint8)
    for index, frame in enumerate(frames):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        canvas[top : top + height, left : left + width] = _fit(frame, height, width)
    return canvas


class _Episodes:
    """Returns and lengths of the episodes of N envs, and how many episodes each has finished."""

    def __init__(self, count: int, episodes: int) -> None:
        self.episodes = episodes
        self.done = [0] * count
        self.totals = [0.0] * count
        self.lengths = [0] * count
        self.returns: list[float] = []
        self.episode_lengths: list[int] = []

    def playing(self, i: int) -> bool:
        return self.done[i] < self.episodes

    def all_done(self) -> bool:
        return min(self.done) >= self.episodes

    def step(self, i: int, reward: float, ended: bool) -> None:
        """Count one step of env i; `ended`: its episode terminated or was truncated."""
        self.totals[i] += reward
        self.lengths[i] += 1
        if ended:
            self.returns.append(self.totals[i])
            self.episode_lengths.append(self.lengths[i])
            self.totals[i], self.lengths[i] = 0.0, 0
            self.done[i] += 1

    def result(self) -> tuple[list[float], list[int], bool]:
        """(returns, lengths, cut_short), the episodes cut short by `max_steps` included as far as they went."""
        returns, lengths = list(self.returns), list(self.episode_lengths)
        for i in range(len(self.done)):
            if self.playing(i) and self.lengths[i] > 0:
                returns.append(self.totals[i])
                lengths.append(self.lengths[i])
        return returns, lengths, not self.all_done()


def _play_envs(
    envs: list[gymnasium.Env[Any, Any]],
    writer: _VideoWriter,
    policy: Policy | None,
    episodes: int,
    max_steps: int,
    seed: int | None,
) -> tuple[list[float], list[int], bool]:
    """Step single envs side by side; an env that ended an episode resets on the next step (its end is shown)."""
    if not envs:
        raise ValueError("record needs at least one environment")
    for index, env in enumerate(envs):
        _check_render_mode(env.render_mode, f"env {index}")
        if seed is not None:
            env.action_space.seed(seed + index)
    observations = [env.reset(seed=None if seed is None else seed + i)[0] for i, env in enumerate(envs)]
    frames = [_rgb(env.render(), f"env {i}") for i, env in enumerate(envs)]
    writer.add(frames, step=0)
    stats = _Episodes(len(envs), episodes)
    ended = [False] * len(envs)  # the env's episode ended on the last step and it has more to play
    step = 0
    while step < max_steps and not stats.all_done():
        step += 1
        for i, env in enumerate(envs):
            if not stats.playing(i):
                continue  # finished: keeps showing its last frame
            if ended[i]:
                observations[i] = env.reset()[0]
                ended[i] = False
            else:
                action = env.action_space.sample() if policy is None else policy(observations[i])
                observations[i], reward, terminated, truncated, _ = env.step(action)
                stats.step(i, float(reward), bool(terminated or truncated))
                ended[i] = bool(terminated or truncated) and stats.playing(i)
            frames[i] = _rgb(env.render(), f"env {i}")
        writer.add(frames, step=step)
    return stats.result()


def _play_vector(
    env: VectorEnv[Any, Any, Any],
    writer: _VideoWriter,
    policy: Policy | None,
    episodes: int,
    max_steps: int,
    seed: int | None,
) -> tuple[list[float], list[int], bool]:
    """Step a vector env; envs that have played their episodes are shown frozen and no longer counted."""
    _check_render_mode(env.render_mode, "the vector env")
    mode = _autoreset_mode(env)
    if seed is not None:
        env.action_space.seed(seed)
    observations, _ = env.reset(seed=seed)
    frames = _vector_frames(env)
    count = len(frames)
    writer.add(frames, step=0)
    stats = _Episodes(count, episodes)
    resetting = np.zeros(count, dtype=bool)  # next-step mode: this step only resets the env
    step = 0
    while step < max_steps and not stats.all_done():
        step += 1
        actions = env.action_space.sample() if policy is None else policy(observations)
        observations, rewards, terminated, truncated, _ = env.step(actions)
        ended = np.asarray(terminated) | np.asarray(truncated)  # (N,)
        latest = _vector_frames(env)
        for i in range(count):
            if stats.playing(i):
                if not resetting[i]:
                    stats.step(i, float(rewards[i]), bool(ended[i]))
                frames[i] = latest[i]  # an env that has finished keeps its last frame from now on
        writer.add(frames, step=step)
        resetting = ended if mode == AutoresetMode.NEXT_STEP else np.zeros(count, dtype=bool)
        if mode == AutoresetMode.DISABLED and ended.any():
            observations, _ = env.reset(options={"reset_mask": ended})
    return stats.result()


class _VideoWriter:
    """Composes each step's tiles into one frame and feeds it to the GIF, the MP4 stream and the sheet."""

    def __init__(
        self,
        out: Path,
        formats: set[str],
        fps: float,
        sheet: bool,
        sheet_every: int | None,
        sheet_tiles: int,
        columns: int | None,
        scale: float,
    ) -> None:
        self.out = out
        self.formats = formats
        self.fps = fps
        self.sheet = sheet
        self.sheet_every = sheet_every
        self.sheet_tiles = sheet_tiles
        self.columns = columns
        self.scale = scale
        self.num_frames = 0
        self.frame_shape = (0, 0)
        self._tile_shape = (0, 0)
        self._gif: Any = None
        self._mp4: Any = None
        # Thumbnails for the sheet: every `_stride`-th frame, halved (stride doubled) when there are too many.
        self._kept: list[tuple[int, Frame]] = []
        self._stride = 1
        self._last: tuple[int, Frame] | None = None

    def add(self, tiles: Sequence[Frame], step: int) -> None:
        if self.num_frames == 0:
            self._open(tiles)
        frame = self._compose(tiles)
        if self._gif is not None:
            # bits=8 quantises to a 256-colour palette now, so frames wait in memory at one byte per pixel.
            self._gif.write(frame, is_batch=False, duration=1000.0 / self.fps, loop=0, bits=8)
        if self._mp4 is not None:
            self._mp4.append_data(frame)
        if self.sheet:
            self._keep_thumbnail(frame, step)
        self.num_frames += 1

    def close(self) -> dict[str, Path]:
        paths: dict[str, Path] = {}
        if self._gif is not None:
            self._gif.close()
            paths["gif"] = _with_suffix(self.out, ".gif")
        if self._mp4 is not None:
            self._mp4.close()
            paths["mp4"] = _with_suffix(self.out, ".mp4")
        if self.sheet and self._kept:
            paths["sheet"] = self._write_sheet()
        return paths

    def _open(self, tiles: Sequence[Frame]) -> None:
        import imageio.v2 as imageio_v2
        import imageio.v3 as imageio_v3

        self._tile_shape = (max(t.shape[0] for t in tiles), max(t.shape[1] for t in tiles))
        self.out.parent.mkdir(parents=True, exist_ok=True)
        if "gif" in self.formats:
            self._gif = imageio_v3.imopen(_with_suffix(self.out, ".gif"), "w", plugin="pillow")
        if "mp4" in self.formats:
            self._mp4 = imageio_v2.get_writer(
                _with_suffix(self.out, ".mp4"),
                format="FFMPEG",
                mode="I",
                fps=self.fps,
                codec="libx264",
                macro_block_size=2,  # frames are padded to even sizes, which H.264 (yuv420p) needs
                output_params=["-loglevel", "error"],
            )

    def _compose(self, tiles: Sequence[Frame]) -> Frame:
        height, width = self._tile_shape
        # Every tile is fitted to the first step's tile size, so the video's frame size never changes.
        fitted = [_fit(t, height, width) for t in tiles]
        frame = fitted[0] if len(fitted) == 1 else tile(fitted, self.columns)
        if self.scale != 1.0:
            frame = _resize(frame, max(1, round(frame.shape[1] * self.scale)))
        frame = _pad_even(frame)
        self.frame_shape = (frame.shape[0], frame.shape[1])
        return frame

    def _keep_thumbnail(self, frame: Frame, step: int) -> None:
        self._last = (step, frame)  # made small only if it is needed, at the end
        every = self.sheet_every or self._stride
        if self.num_frames % every != 0:
            return
        self._kept.append((step, _thumbnail(frame)))
        if self.sheet_every is None and len(self._kept) > 2 * self.sheet_tiles:
            self._kept = self._kept[::2]
            self._stride *= 2

    def _write_sheet(self) -> Path:
        from PIL import Image, ImageDraw

        kept = self._kept
        if self.sheet_every is None and len(kept) > self.sheet_tiles:
            kept = kept[:: math.ceil(len(kept) / self.sheet_tiles)]
        if self._last is not None and kept[-1][0] != self._last[0]:
            kept = [*kept, (self._last[0], _thumbnail(self._last[1]))]  # the last frame shows how it ended
        labelled = []
        for step, thumbnail in kept:
            image = Image.fromarray(thumbnail)
            draw = ImageDraw.Draw(image)
            text = f"step {step}"
            box = draw.textbbox((4, 3), text)
            draw.rectangle((box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2), fill=(255, 255, 255))
            draw.text((4, 3), text, fill=(0, 0, 0))
            labelled.append(np.asarray(image, dtype=np.uint8))
        path = _with_suffix(self.out, "-frames.png")
        Image.fromarray(tile(labelled, columns=min(4, len(labelled)), gap=6)).save(path)
        return path


def _formats(formats: Sequence[str] | None) -> set[str]:
    if formats is None:
        return {"gif", "mp4"} if mp4_available() else {"gif"}
    chosen = set(formats)
    unknown = chosen - {"gif", "mp4"}
    if unknown:
        raise RecordError(f"unknown video format {sorted(unknown)[0]!r}; choose 'gif' and/or 'mp4'")
    if "mp4" in chosen and not mp4_available():
        raise RecordError("MP4 needs the imageio-ffmpeg package; pip install imageio-ffmpeg, or record GIF only")
    return chosen


def _metadata(env: object) -> dict[str, Any]:
    if isinstance(env, gymnasium.Env | VectorEnv):
        return dict(env.metadata)
    first = next(iter(env), None) if isinstance(env, Sequence) else None
    return dict(first.metadata) if isinstance(first, gymnasium.Env) else {}


def _check_render_mode(mode: object, where: str) -> None:
    if mode != "rgb_array":
        raise RecordError(
            f"{where} renders {mode!r}, not 'rgb_array'; make it with render_mode='rgb_array' to record it"
        )


def _autoreset_mode(env: VectorEnv[Any, Any, Any]) -> AutoresetMode:
    mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    try:
        return mode if isinstance(mode, AutoresetMode) else AutoresetMode(mode)
    except ValueError:
        raise RecordError(f"the vector env declares an unknown autoreset mode {mode!r}") from None


def _vector_frames(env: VectorEnv[Any, Any, Any]) -> list[Frame]:
    rendered = env.render()
    if isinstance(rendered, np.ndarray) and rendered.ndim == 4:
        return [_rgb(f, f"vector env {i}") for i, f in enumerate(rendered)]
    if isinstance(rendered, list | tuple):
        return [_rgb(f, f"vector env {i}") for i, f in enumerate(rendered)]
    return [_rgb(rendered, "the vector env")]


def _rgb(frame: object, where: str) -> Frame:
    """Check a rendered frame and return it as (H, W, 3) uint8 (grey is stacked, alpha dropped)."""
    array = np.asarray(frame) if frame is not None else None
    if (
        array is None
        or array.dtype != np.uint8
        or array.ndim not in (2, 3)
        or (array.ndim == 3 and array.shape[2] not in (3, 4))
    ):
        shape = None if array is None else f"{array.dtype} {array.shape}"
        raise RecordError(f"{where} rendered {shape}, not an RGB frame (H, W, 3) of uint8; check its render()")
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    return np.ascontiguousarray(array[:, :, :3])


def _fit(frame: Frame, height: int, width: int) -> Frame:
    """Pad (centred) or crop `frame` to height × width."""
    if frame.shape[:2] == (height, width):
        return frame
    frame = frame[:height, :width]
    canvas = np.full((height, width, 3), _BACKGROUND, np.uint8)
    top, left = (height - frame.shape[0]) // 2, (width - frame.shape[1]) // 2
    canvas[top : top + frame.shape[0], left : left + frame.shape[1]] = frame
    return canvas


def _pad_even(frame: Frame) -> Frame:
    height, width = frame.shape[0] + frame.shape[0] % 2, frame.shape[1] + frame.shape[1] % 2
    if (height, width) == frame.shape[:2]:
        return frame
    canvas = np.full((height, width, 3), _BACKGROUND, np.uint8)
    canvas[: frame.shape[0], : frame.shape[1]] = frame
    return canvas


def _resize(frame: Frame, width: int) -> Frame:
    """Resize to `width` pixels wide, keeping the aspect ratio (box filter when shrinking)."""
    if width == frame.shape[1]:
        return frame
    from PIL import Image

    height = max(1, round(frame.shape[0] * width / frame.shape[1]))
    image = Image.fromarray(frame).resize((width, height), Image.Resampling.BOX)
    return np.asarray(image, dtype=np.uint8)


def _thumbnail(frame: Frame) -> Frame:
    return _resize(frame, min(frame.shape[1], 240))


def _with_suffix(out: Path, suffix: str) -> Path:
    # Appended, not replaced: ids such as "CartPole-v1.5" would lose their tail to Path.with_suffix.
    return out.parent / f"{out.name}{suffix}"
