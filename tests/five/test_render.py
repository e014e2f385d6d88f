"""The top-down renderer: frame shape and type, heroes drawn in their team's colour where they stand, fog."""

from __future__ import annotations

import numpy as np
import pytest

from fourfold.five.game.config import GameConfig
from fourfold.five.game.constants import BLUE, RED
from fourfold.five.game.maps import layout
from fourfold.five.game.state import GameState, new_state
from fourfold.five.render import HEADER_PIXELS, TEAM_COLORS, frame_shape, map_to_pixel, render_frame

LAYOUT = layout("three_lane")


@pytest.fixture
def state() -> GameState:
    """Two games at their start, blue hero 0 and red hero 5 of game 1 moved into open ground."""
    state = new_state(2, GameConfig())
    state.x[1, 0], state.y[1, 0] = 40.0, 30.0
    state.x[1, 5], state.y[1, 5] = 60.0, 70.0
    return state


def _pixel(frame: np.ndarray, x: float, y: float, width: int) -> tuple[int, ...]:
    row, column = map_to_pixel(x, y, LAYOUT, width)
    return tuple(int(c) for c in frame[row, column])


@pytest.mark.parametrize("width", [512, 200])
def test_frame_shape_and_dtype(state: GameState, width: int) -> None:
    frame = render_frame(state, 1, LAYOUT, width=width, title="hard vs medium")
    assert frame.shape == frame_shape(width) == (width + HEADER_PIXELS, width, 3)
    assert frame.dtype == np.uint8
    assert frame.flags.writeable
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 5  # a picture, not a blank


def test_heroes_are_drawn_in_their_team_colour_where_they_stand(state: GameState) -> None:
    frame = render_frame(state, 1, LAYOUT)
    assert _pixel(frame, 40.0, 30.0, 512) == TEAM_COLORS[BLUE]
    assert _pixel(frame, 60.0, 70.0, 512) == TEAM_COLORS[RED]
    # game 0 has no hero there
    other = render_frame(state, 0, LAYOUT)
    assert _pixel(other, 40.0, 30.0, 512) != TEAM_COLORS[BLUE]


def test_dead_heroes_are_not_drawn(state: GameState) -> None:
    state.alive[1, 0] = False
    frame = render_frame(state, 1, LAYOUT)
    assert _pixel(frame, 40.0, 30.0, 512) != TEAM_COLORS[BLUE]


def test_fog_hides_unseen_enemies_and_shades_the_map(state: GameState) -> None:
    state.visible[1, BLUE, 5] = False
    clear = render_frame(state, 1, LAYOUT)
    fogged = render_frame(state, 1, LAYOUT, fog=BLUE)
    assert _pixel(fogged, 40.0, 30.0, 512) == TEAM_COLORS[BLUE]  # own hero: seen
    assert _pixel(fogged, 60.0, 70.0, 512) != TEAM_COLORS[RED]  # unseen enemy: hidden
    assert fogged[HEADER_PIXELS:].mean() < clear[HEADER_PIXELS:].mean()  # unseen ground is darker
    state.visible[1, BLUE, 5] = True
    assert _pixel(render_frame(state, 1, LAYOUT, fog=BLUE), 60.0, 70.0, 512) == TEAM_COLORS[RED]


def test_header_shows_the_score(state: GameState) -> None:
    before = render_frame(state, 1, LAYOUT)
    state.kills[1, 0] = 3
    after = render_frame(state, 1, LAYOUT)
    assert not np.array_equal(before[:HEADER_PIXELS], after[:HEADER_PIXELS])
    np.testing.assert_array_equal(before[HEADER_PIXELS:], after[HEADER_PIXELS:])


def test_a_long_title_never_covers_the_score(state: GameState) -> None:
    plain = render_frame(state, 1, LAYOUT, width=320)
    short = render_frame(state, 1, LAYOUT, width=320, title="hard vs easy")
    long = render_frame(state, 1, LAYOUT, width=320, title="a-long-run-name/step_00028672 vs " * 4 + "easy")
    left = slice(0, 160)  # the score's half of the header
    np.testing.assert_array_equal(plain[:HEADER_PIXELS, left], long[:HEADER_PIXELS, left])
    assert not np.array_equal(plain[:HEADER_PIXELS], short[:HEADER_PIXELS])  # a title that fits is drawn
    assert not np.array_equal(plain[:HEADER_PIXELS], long[:HEADER_PIXELS])  # so is the end of a long one


def test_bad_arguments_are_refused(state: GameState) -> None:
    with pytest.raises(IndexError, match="game 2"):
        render_frame(state, 2, LAYOUT)
    with pytest.raises(ValueError, match="fog"):
        render_frame(state, 0, LAYOUT, fog=5)
