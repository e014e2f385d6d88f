"""`fourfold five watch [RUN] --blue hard --red medium --out DIR`: play a game, or a replay file, and watch it.

Either team is any agent (`agents.agent_from_spec`): a scripted bot (`random`, `easy`, `medium`, `hard`), a
checkpoint folder, or a run folder of `fourfold five train` (its newest checkpoint). `fourfold five watch RUN` is
short for `--blue RUN`: the run's policy plays blue against `easy` (the first yardstick of training) unless `--red`
names another opponent. A game with a checkpoint in it is played on the game that checkpoint was last training on
(its curriculum stage: map, heroes a side, time cap, kill and tower targets); `--map`, `--heroes-per-team` and
`--time-cap-seconds` override it (without a checkpoint: the 5v5 three-lane game of 10 minutes).

Writes into `--out`:

    game.mp4 / game.gif   the game top-down (`five/render.py`), one frame every `--frame-every` decisions; MP4 with
                          the imageio-ffmpeg package (H.264), GIF through Pillow
    last-frame.png        how the game ended
    replay.npz            the replay (`five/replay.py`; not rewritten when watching one with `--replay`)
    scorecard.json        the final score card: winner, per team and per hero kills, deaths, last hits, denies,
    scorecard.md          gold and towers (`five/scorecard.py`)
    scorecard.png

A replay is played back and checked against the final state it recorded: a replay that does not reproduce its game
(recorded under other rules) is an error, not a silently different video.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import tyro
from numpy.typing import NDArray

from fourfold.core.config import require, to_jsonable
from fourfold.five.agents import Agent, agent_from_spec
from fourfold.five.bots import BOT_NAMES
from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import BLUE, RED
from fourfold.five.game.maps import layout
from fourfold.five.game.state import GameState
from fourfold.five.game_choice import GameFlags, game_config_for
from fourfold.five.render import render_frame
from fourfold.five.replay import ReplayError, iter_replay, load_replay, record_game, save_replay, state_digest
from fourfold.five.scorecard import ScoreCard, TeamScore, score_card
from fourfold.gym.record import RecordError, mp4_available

VideoFormat = Literal["auto", "mp4", "gif", "both", "none"]


DEFAULT_BLUE = "hard"
DEFAULT_RED = "medium"
RED_AGAINST_RUN = "easy"
"""The opponent of `fourfold five watch RUN` when --red is not given."""


@dataclass
class WatchConfig:
    """Play a game of two agents (scripted bots or trained policies), or a replay file, and write a video, the
    replay and a score card."""

    run: Annotated[str | None, tyro.conf.Positional, tyro.conf.arg(metavar="[RUN]")] = None
    """A run folder (its newest checkpoint) or checkpoint folder to watch on the blue side: short for --blue RUN
    (red is then easy unless --red says otherwise)."""
    blue: str | None = None
    """The blue team: random, easy, medium, hard, a checkpoint folder or a run folder (default: RUN, else hard)."""
    red: str | None = None
    """The red team, as --blue (default: easy against RUN, else medium)."""
    replay: Path | None = None
    """Watch this replay file (replay.npz) instead of playing a new game; the players and game flags are ignored."""
    out: Path = Path("runs/five/watch")
    """Folder for the video, the replay and the score card."""
    game: tyro.conf.OmitArgPrefixes[GameFlags] = field(default_factory=GameFlags)
    """The game (default: the checkpoint's curriculum stage; `game_choice.GameFlags`): --stage picks another stage,
    --map, --heroes-per-team, --time-cap-seconds, --kills-to-win and --towers-to-win replace single settings."""
    seed: int = 0
    """Seed of the game and of the agents (bots' randomness, policies' sampling)."""
    deterministic: bool = False
    """Policies take their most likely action instead of sampling one."""
    max_decisions: int = 0
    """Stop after this many decisions (7.5 per game-second) even if the game goes on; 0: play it to its end."""
    frame_every: int = 4
    """Decisions per video frame (4: a frame every 0.53 game-seconds)."""
    fps: float = 20.0
    """Frames per second of the video."""
    width: int = 512
    """Frame width in pixels."""
    video: VideoFormat = "auto"
    """auto (MP4 with imageio-ffmpeg, else GIF), mp4, gif, both, or none."""
    fog: Literal["none", "blue", "red"] = "none"
    """Show the game as one team sees it: shade what it cannot see and hide the enemies it does not see."""

    def __post_init__(self) -> None:
        require(
            self.run is None or self.blue is None or self.blue == self.run,
            "blue",
            f"give the blue team once, as RUN or as --blue (got RUN {self.run!r} and --blue {self.blue!r})",
        )
        require(self.frame_every >= 1, "frame_every", f"must be at least 1 (got {self.frame_every})")
        require(self.fps > 0, "fps", f"must be positive (got {self.fps})")
        require(64 <= self.width <= 2048, "width", f"must be between 64 and 2048 pixels (got {self.width})")
        require(self.max_decisions >= 0, "max_decisions", f"must be 0 or more (got {self.max_decisions})")
        if self.video in ("mp4", "both"):
            require(mp4_available(), "video", "MP4 needs the imageio-ffmpeg package; pip install it or use --video gif")
        self.game.over(GameConfig())  # the given game settings, checked where they belong (`GameConfig`)
        if self.replay is None:
            for spec in self.players():
                if spec not in BOT_NAMES and (not spec or not Path(spec).exists()):
                    agent_from_spec(spec)  # raises the one sentence that names the bots (loads nothing)

    def players(self) -> tuple[str, str]:
        """The agent specs of blue and red, defaults filled in."""
        blue = self.blue if self.blue is not None else self.run if self.run is not None else DEFAULT_BLUE
        red = self.red if self.red is not None else RED_AGAINST_RUN if self.run is not None else DEFAULT_RED
        return blue, red

    def game_config(self) -> GameConfig:
        """The `GameConfig` of a new game (a replay brings its own): the first checkpoint's training stage among the
        players, else the default game, with the game flags over it."""
        return game_config_for(list(self.players()), self.game)


@dataclass
class WatchSummary:
    """Where the files went and how the game ended."""

    winner: str
    minutes: float
    decisions: int
    frames: int
    blue: str
    red: str
    map: str = ""
    heroes_per_team: int = 5
    time_cap_seconds: float = 0.0
    teams: list[TeamScore] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def watch(config: WatchConfig) -> WatchSummary:
    """Play (or replay) one game, render it, and write the video, the replay and the score card."""
    out = config.out
    fog = {"none": None, "blue": BLUE, "red": RED}[config.fog]
    replay_file: Path | None = None
    if config.replay is not None:
        replay = load_replay(config.replay)
        out.mkdir(parents=True, exist_ok=True)
        players = (replay.blue or "blue", replay.red or "red")
        video = _Video(out / "game", _formats(config.video), config.fps)
        renderer = _Renderer(config, replay.config, players, fog, video)
        final = None
        for index, state in enumerate(iter_replay(replay)):
            renderer(state, index, last=index == replay.num_decisions)
            final = state
        assert final is not None
        if replay.digest and state_digest(final) != replay.digest:
            raise ReplayError(
                f"{config.replay} does not reproduce the game it recorded (its final state differs); it was "
                f"recorded under other game rules, so record it again"
            )
        game_config = replay.config
    else:
        # 1. The players and the game (a checkpoint's training stage unless overridden); errors before any file.
        blue_spec, red_spec = config.players()
        game_config = config.game_config()
        blue: Agent = agent_from_spec(blue_spec, seed=2 * config.seed, deterministic=config.deterministic)
        red: Agent = agent_from_spec(red_spec, seed=2 * config.seed + 1, deterministic=config.deterministic)
        players = (blue.name, red.name)
        # 2. Play, recording every decision and rendering the due frames as the game goes.
        out.mkdir(parents=True, exist_ok=True)
        video = _Video(out / "game", _formats(config.video), config.fps)
        renderer = _Renderer(config, game_config, players, fog, video)
        recorded = record_game(
            game_config,
            blue,
            red,
            config.seed,
            max_decisions=config.max_decisions or None,
            on_state=renderer,
        )
        replay, final = recorded.replay, recorded.state
        renderer.draw(final, replay.num_decisions)  # a game cut short by --max-decisions ends on a frame too
        replay.extra["command"] = "fourfold five watch"
        replay.extra["agents"] = {"blue": blue_spec, "red": red_spec, "deterministic": config.deterministic}
        replay_file = save_replay(replay, out / "replay.npz")
    decisions = replay.num_decisions
    files = video.close()
    last = out / "last-frame.png"
    _save_png(renderer.last_frame, last)
    card = score_card(final, 0, players)
    written = _write_card(card, out)
    paths = [*files, last, *([replay_file] if replay_file else []), *written]
    return WatchSummary(
        winner=card.winner,
        minutes=card.minutes,
        decisions=decisions,
        frames=video.frames,
        blue=players[0],
        red=players[1],
        map=game_config.map,
        heroes_per_team=game_config.heroes_per_team,
        time_cap_seconds=game_config.time_cap_seconds,
        teams=card.teams,
        files=[str(p) for p in paths],
    )


class _Renderer:
    """Renders every `frame_every`-th decision (and the last) into the video; keeps the latest frame."""

    def __init__(
        self,
        config: WatchConfig,
        game_config: GameConfig,
        players: tuple[str, str],
        fog: int | None,
        video: _Video,
    ) -> None:
        self.every = config.frame_every
        self.width = config.width
        self.fog = fog
        self.layout = layout(game_config.map)
        self.title = f"{players[0]} vs {players[1]}"
        self.video = video
        self.last_frame: NDArray[np.uint8] = np.zeros((1, 1, 3), dtype=np.uint8)
        self._last_index = -1

    def __call__(self, state: GameState, index: int, last: bool = False) -> None:
        """Draw decision `index` (0: the reset) if it is due, the last one or the game's end."""
        if index % self.every == 0 or last or bool(state.done[0]):
            self.draw(state, index)

    def draw(self, state: GameState, index: int) -> None:
        """Draw decision `index` unless it was the latest drawn."""
        if index == self._last_index:
            return
        frame = render_frame(state, 0, self.layout, width=self.width, fog=self.fog, title=self.title)
        self.video.add(frame)
        self.last_frame = frame
        self._last_index = index


class _Video:
    """Streams frames into an MP4 (imageio-ffmpeg) and/or a GIF (Pillow); either may be absent."""

    def __init__(self, stem: Path, formats: set[str], fps: float) -> None:
        self.stem = stem
        self.formats = formats
        self.fps = fps
        self.frames = 0
        self._gif: Any = None
        self._mp4: Any = None

    def add(self, frame: NDArray[np.uint8]) -> None:
        if self.frames == 0:
            self._open()
        if self._gif is not None:
            self._gif.write(frame, is_batch=False, duration=1000.0 / self.fps, loop=0, bits=8)
        if self._mp4 is not None:
            self._mp4.append_data(frame)
        self.frames += 1

    def close(self) -> list[Path]:
        paths = []
        if self._gif is not None:
            self._gif.close()
            paths.append(self.stem.with_suffix(".gif"))
        if self._mp4 is not None:
            self._mp4.close()
            paths.append(self.stem.with_suffix(".mp4"))
        return paths

    def _open(self) -> None:
        import imageio.v2 as imageio_v2
        import imageio.v3 as imageio_v3

        if "gif" in self.formats:
            self._gif = imageio_v3.imopen(self.stem.with_suffix(".gif"), "w", plugin="pillow")
        if "mp4" in self.formats:
            self._mp4 = imageio_v2.get_writer(
                self.stem.with_suffix(".mp4"),
                format="FFMPEG",
                mode="I",
                fps=self.fps,
                codec="libx264",
                macro_block_size=2,  # frame sides are even (the header and the map are), as H.264 needs
                output_params=["-loglevel", "error"],
            )


def _formats(video: VideoFormat) -> set[str]:
    if video == "none":
        return set()
    if video == "auto":
        return {"mp4"} if mp4_available() else {"gif"}
    chosen = {"mp4", "gif"} if video == "both" else {str(video)}
    if "mp4" in chosen and not mp4_available():
        raise RecordError("MP4 needs the imageio-ffmpeg package; pip install imageio-ffmpeg, or use --video gif")
    return chosen


def _save_png(frame: NDArray[np.uint8], path: Path) -> None:
    from PIL import Image

    Image.fromarray(frame).save(path)


def _write_card(card: ScoreCard, out: Path) -> list[Path]:
    json_path, markdown_path, png_path = out / "scorecard.json", out / "scorecard.md", out / "scorecard.png"
    json_path.write_text(json.dumps(to_jsonable(card), indent=2) + "\n", encoding="utf-8")
    markdown_path.write_text(card.to_markdown(), encoding="utf-8")
    card.save_png(png_path)
    return [json_path, markdown_path, png_path]
