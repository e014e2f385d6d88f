"""Top-down frames of a Five game as `rgb_array` images: no display, no window, NumPy rasterising plus Pillow text.

`render_frame(state, game, layout)` draws one game of a batch: the map (grass, the lanes, each base tinted its
team's colour, the fountains), the towers and ancients (squares, rubble when destroyed), the creeps (small discs)
and the heroes (larger discs with a white rim), every unit in its team's colour with a hit-point bar, and a header
line with the game time, the kill score, the towers each team has destroyed and, once the game is over, the winner.
With `fog` set to a team, what that team cannot see is shaded and the enemy units it cannot see are left out, as the
team's heroes see the game.

The map's y axis points up (blue's base is bottom-left), images' rows go down, so map (x, y) is pixel
(x * scale, header + (size - y) * scale). Static parts (map, lanes, bases) are drawn once per layout and size and
cached. A 512-pixel frame costs a few milliseconds, so a 10-minute game renders in seconds.

Shape legend: H × W frame pixels; U unit slots.
"""

from __future__ import annotations

import functools
import itertools
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from fourfold.five.game.constants import (
    BLUE,
    HERO_SLOTS,
    KIND_ANCIENT,
    KIND_CREEP,
    KIND_HERO,
    KIND_TOWER,
    MAX_UNITS,
    NUM_TEAMS,
    RED,
    STRUCTURE_START,
    TICKS_PER_SECOND,
    WINNER_DRAW,
)
from fourfold.five.game.maps import MapLayout
from fourfold.five.game.state import GameState
from fourfold.gym.render import Color, Frame, draw_line, fill_circle, fill_rectangle, new_frame

if TYPE_CHECKING:
    from PIL import ImageFont

TEAM_COLORS: tuple[Color, Color] = ((40, 110, 255), (235, 45, 45))
"""Hero fill colour per team (blue, red); a hero's centre pixel is exactly this colour."""
CREEP_COLORS: tuple[Color, Color] = ((120, 170, 255), (255, 140, 130))
STRUCTURE_COLORS: tuple[Color, Color] = ((20, 60, 170), (160, 20, 20))
TEAM_NAMES = ("blue", "red")
GRASS: Color = (62, 92, 56)
LANE: Color = (150, 128, 92)
BASE_TINT: tuple[Color, Color] = ((58, 78, 110), (110, 62, 62))
RUBBLE: Color = (90, 90, 90)
HP_GREEN: Color = (70, 220, 70)
HP_BACK: Color = (25, 25, 25)
HEADER_BACK: Color = (18, 18, 24)
RIM: Color = (255, 255, 255)

HEADER_PIXELS = 28
HERO_RADIUS = 1.5
"""Map units; heroes are drawn this large whatever their collision size, so they stand out."""
CREEP_RADIUS = 0.8
TOWER_HALF = 1.6
ANCIENT_HALF = 2.6
LANE_WIDTH = 3.0
BASE_RADIUS = 16.0
FOG_DARKEN = 0.45
"""Brightness kept in the parts of the map the `fog` team cannot see."""


def render_frame(
    state: GameState,
    game: int,
    layout: MapLayout,
    *,
    width: int = 512,
    fog: int | None = None,
    title: str = "",
) -> NDArray[np.uint8]:
    """Draw game `game` of `state` top-down.

    Args:
        state: a batch of games.
        game: which game of the batch.
        layout: the map the games are played on (`maps.layout(config.map)`).
        width: frame width in pixels (the map is square; the header adds `HEADER_PIXELS` rows).
        fog: None to show everything; BLUE or RED to shade what that team cannot see and hide the enemies it
            does not see.
        title: text at the right of the header (e.g. "hard vs medium").

    Returns:
        uint8 [H, W, 3] with H = width + HEADER_PIXELS.
    """
    if not 0 <= game < state.tick.shape[0]:
        raise IndexError(f"game {game} is not in a batch of {state.tick.shape[0]}")
    if fog is not None and fog not in (BLUE, RED):
        raise ValueError(f"fog must be None, {BLUE} (blue) or {RED} (red), got {fog}")
    scale = width / layout.size
    frame = _background(layout.name, layout.size, width).copy()  # [H, W, 3]
    shown = state.present[game] & _visible_to(state, game, fog)  # [U]
    # 1. Structures: squares, rubble where destroyed.
    for unit in range(STRUCTURE_START, MAX_UNITS):
        kind = int(state.kind[game, unit])
        if not state.present[game, unit] or kind not in (KIND_TOWER, KIND_ANCIENT):
            continue
        team = int(state.team[game, unit])
        cx, cy = _pixel(state.x[game, unit], state.y[game, unit], layout.size, scale)
        half = (ANCIENT_HALF if kind == KIND_ANCIENT else TOWER_HALF) * scale
        if not state.alive[game, unit]:
            fill_rectangle(frame, cx - half * 0.7, cy - half * 0.7, cx + half * 0.7, cy + half * 0.7, RUBBLE)
            continue
        fill_rectangle(frame, cx - half, cy - half, cx + half, cy + half, STRUCTURE_COLORS[team])
        fill_rectangle(frame, cx - half * 0.45, cy - half * 0.45, cx + half * 0.45, cy + half * 0.45, TEAM_COLORS[team])
        _hp_bar(frame, state, game, unit, cx, cy - half - 3, 2 * half)
    # 2. Fog: shade what the team cannot see (the moving units it sees are drawn after, unshaded).
    if fog is not None:
        _shade_fog(frame, state, game, fog, layout.size, scale)
    # 3. Creeps, then heroes on top.
    for unit in range(STRUCTURE_START, MAX_UNITS):
        if shown[unit] and state.alive[game, unit] and state.kind[game, unit] == KIND_CREEP:
            team = int(state.team[game, unit])
            cx, cy = _pixel(state.x[game, unit], state.y[game, unit], layout.size, scale)
            radius = CREEP_RADIUS * scale
            fill_circle(frame, cx, cy, radius, CREEP_COLORS[team])
            _hp_bar(frame, state, game, unit, cx, cy - radius - 2, 2 * radius, thickness=1.5)
    for unit in range(HERO_SLOTS):
        if shown[unit] and state.alive[game, unit] and state.kind[game, unit] == KIND_HERO:
            team = int(state.team[game, unit])
            cx, cy = _pixel(state.x[game, unit], state.y[game, unit], layout.size, scale)
            radius = HERO_RADIUS * scale
            fill_circle(frame, cx, cy, radius + 1.5, RIM)
            fill_circle(frame, cx, cy, radius, TEAM_COLORS[team])
            _hp_bar(frame, state, game, unit, cx, cy - radius - 5, 2.4 * radius, thickness=3.0)
    _header(frame, state, game, title)
    return frame


def frame_shape(width: int = 512) -> tuple[int, int, int]:
    """The (H, W, 3) shape `render_frame` returns for `width`."""
    return (width + HEADER_PIXELS, width, 3)


def map_to_pixel(x: float, y: float, layout: MapLayout, width: int = 512) -> tuple[int, int]:
    """The (row, column) of the pixel that map point (x, y) falls in, in a frame of `width`."""
    cx, cy = _pixel(x, y, layout.size, width / layout.size)
    return int(np.floor(cy)), int(np.floor(cx))


def _pixel(x: float, y: float, size: float, scale: float) -> tuple[float, float]:
    return float(x) * scale, HEADER_PIXELS + (size - float(y)) * scale


def _visible_to(state: GameState, game: int, fog: int | None) -> NDArray[np.bool_]:
    """[U] the units drawn: all, or under fog the team's own units and the enemies it sees."""
    if fog is None:
        return np.ones(MAX_UNITS, dtype=bool)
    return np.asarray(state.visible[game, fog] | (state.team[game] == fog))


def _hp_bar(
    frame: Frame, state: GameState, game: int, unit: int, cx: float, top: float, length: float, thickness: float = 2.0
) -> None:
    max_hp = float(state.max_hp[game, unit])
    fraction = 0.0 if max_hp <= 0 else min(1.0, max(0.0, float(state.hp[game, unit]) / max_hp))
    left = cx - length / 2
    fill_rectangle(frame, left, top, left + length, top + thickness, HP_BACK)
    if fraction > 0:
        fill_rectangle(frame, left, top, left + length * fraction, top + thickness, HP_GREEN)


def _shade_fog(frame: Frame, state: GameState, game: int, team: int, size: float, scale: float) -> None:
    height, width = frame.shape[:2]
    seen = np.zeros((height, width), dtype=bool)  # [H, W]
    seen[:HEADER_PIXELS] = True
    owners = np.flatnonzero(state.present[game] & state.alive[game] & (state.team[game] == team))
    for unit in owners:
        cx, cy = _pixel(state.x[game, unit], state.y[game, unit], size, scale)
        radius = float(state.sight[game, unit]) * scale
        c0, c1 = max(int(cx - radius), 0), min(int(cx + radius) + 2, width)
        r0, r1 = max(int(cy - radius), 0), min(int(cy + radius) + 2, height)
        if c0 >= c1 or r0 >= r1:
            continue
        xs = np.arange(c0, c1) + 0.5  # [C]
        ys = np.arange(r0, r1)[:, None] + 0.5  # [R, 1]
        seen[r0:r1, c0:c1] |= (xs - cx) ** 2 + (ys - cy) ** 2 <= radius * radius
    dark = ~seen
    frame[dark] = (frame[dark] * FOG_DARKEN).astype(np.uint8)


@functools.cache
def _background(name: str, size: float, width: int) -> Frame:
    """The static map: grass, base tints, lanes, fountains, under an empty header (cached; copy before drawing)."""
    from fourfold.five.game.maps import layout as get_layout

    layout = get_layout(name)
    scale = width / size
    frame = new_frame(width, width + HEADER_PIXELS, GRASS)
    fill_rectangle(frame, 0, 0, width, HEADER_PIXELS, HEADER_BACK)
    for team in range(NUM_TEAMS):
        cx, cy = _pixel(layout.fountain[team, 0], layout.fountain[team, 1], size, scale)
        fill_circle(frame, cx, cy, BASE_RADIUS * scale, BASE_TINT[team])
    for lane in layout.active_lanes():
        points = layout.lane(lane)
        for a, b in itertools.pairwise(points):
            x0, y0 = _pixel(a[0], a[1], size, scale)
            x1, y1 = _pixel(b[0], b[1], size, scale)
            draw_line(frame, x0, y0, x1, y1, LANE, width=LANE_WIDTH * scale)
    for team in range(NUM_TEAMS):
        cx, cy = _pixel(layout.fountain[team, 0], layout.fountain[team, 1], size, scale)
        fill_circle(frame, cx, cy, 2.2 * scale, STRUCTURE_COLORS[team])
    frame.setflags(write=False)
    return frame


def _header(frame: Frame, state: GameState, game: int, title: str) -> None:
    from PIL import Image, ImageDraw

    seconds = int(state.tick[game]) // TICKS_PER_SECOND
    heroes = slice(0, HERO_SLOTS)
    kills = [int(state.kills[game, heroes][state.team[game, heroes] == team].sum()) for team in range(NUM_TEAMS)]
    towers = [towers_destroyed(state, game, team) for team in range(NUM_TEAMS)]
    clock = f"{seconds // 60:02d}:{seconds % 60:02d}"
    text = f"{clock}   kills {kills[BLUE]}-{kills[RED]}   towers {towers[BLUE]}-{towers[RED]}"
    winner = int(state.winner[game])
    if bool(state.done[game]):
        text += "   draw" if winner == WINNER_DRAW else f"   {TEAM_NAMES[winner]} wins"
    strip = Image.fromarray(np.ascontiguousarray(frame[:HEADER_PIXELS]))
    draw = ImageDraw.Draw(strip)
    font = _font(HEADER_PIXELS // 2)
    draw.text((8, HEADER_PIXELS // 2), text, fill=(235, 235, 235), font=font, anchor="lm")
    # The title goes right of the score; a title too long for the room left loses its start ("...k_00028672 vs easy").
    room = frame.shape[1] - 8 - (8 + draw.textlength(text, font=font) + 16)
    shown, cut = title, 0
    while shown and draw.textlength(shown, font=font) > room:
        cut += 1
        shown = f"...{title[cut:]}" if cut < len(title) else ""
    if shown:
        draw.text((frame.shape[1] - 8, HEADER_PIXELS // 2), shown, fill=(200, 200, 200), font=font, anchor="rm")
    frame[:HEADER_PIXELS] = np.asarray(strip, dtype=np.uint8)


def towers_destroyed(state: GameState, game: int, team: int) -> int:
    """Enemy towers (not the ancient) `team` has destroyed in game `game`."""
    units = slice(STRUCTURE_START, MAX_UNITS)
    enemy_towers = state.present[game, units] & (state.kind[game, units] == KIND_TOWER)
    enemy_towers &= state.team[game, units] != team
    return int((enemy_towers & ~state.alive[game, units]).sum())


@functools.cache
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()
