"""Tests of fourfold.gym.render: which pixels each shape paints, clipping at the frame's edges, and tiling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fourfold.gym import render

RED = (255, 0, 0)


def _painted(frame: np.ndarray, color: tuple[int, int, int] = RED) -> np.ndarray:
    painted: np.ndarray = (frame == color).all(axis=2)
    return painted


def test_new_frame_shape_dtype_and_colour() -> None:
    frame = render.new_frame(7, 5, (1, 2, 3))
    assert frame.shape == (5, 7, 3) and frame.dtype == np.uint8
    assert (frame == (1, 2, 3)).all()
    with pytest.raises(ValueError, match="positive width and height"):
        render.new_frame(0, 5)


def test_rectangle_paints_exactly_the_pixels_whose_centres_are_inside() -> None:
    frame = render.new_frame(10, 8)
    render.fill_rectangle(frame, 2.0, 1.0, 5.0, 4.0, RED)
    expected = np.zeros((8, 10), dtype=bool)
    expected[1:4, 2:5] = True
    assert np.array_equal(_painted(frame), expected)
    render.fill_rectangle(frame, 9.7, 7.6, 8.6, 6.4, RED)  # any corner order; inside: centres x 9.5, y 6.5 and 7.5
    assert _painted(frame)[6:8, 9].all() and not _painted(frame)[6:8, 8].any()


def test_circle_area_is_close_to_pi_r_squared_and_symmetric() -> None:
    frame = render.new_frame(101, 101)
    render.fill_circle(frame, 50.5, 50.5, 20.0, RED)
    painted = _painted(frame)
    assert abs(painted.sum() - math.pi * 400) < 40
    assert np.array_equal(painted, painted[::-1]) and np.array_equal(painted, painted[:, ::-1])
    assert painted[50, 50] and not painted[50, 71] and painted[50, 70]


def test_polygon_fills_a_triangle_and_a_rotated_square() -> None:
    frame = render.new_frame(100, 100)
    render.fill_polygon(frame, [(10, 10), (90, 10), (10, 90)], RED)
    assert abs(_painted(frame).sum() - 80 * 80 / 2) < 90
    assert _painted(frame)[20, 20] and not _painted(frame)[80, 80]
    square = render.new_frame(100, 100)
    corners = [(50 + 30 * math.cos(a), 50 + 30 * math.sin(a)) for a in np.arange(4) * math.pi / 2 + math.pi / 4]
    render.fill_polygon(square, corners, RED)
    assert abs(_painted(square).sum() - 2 * 30 * 30) < 130  # a diamond of diagonal 60 has area 1800
    with pytest.raises(ValueError, match="at least 3 points"):
        render.fill_polygon(frame, [(0, 0), (1, 1)], RED)


def test_concave_polygon_leaves_its_notch_empty() -> None:
    frame = render.new_frame(50, 50)
    render.fill_polygon(frame, [(5, 5), (45, 5), (45, 45), (25, 20), (5, 45)], RED)  # a notch from below
    painted = _painted(frame)
    assert painted[10, 25] and painted[30, 8] and painted[30, 42]
    assert not painted[40, 25]


def test_line_has_the_requested_width() -> None:
    frame = render.new_frame(40, 20)
    render.draw_line(frame, 0.0, 10.0, 40.0, 10.0, RED, width=4.0)
    rows = np.flatnonzero(_painted(frame)[:, 20])
    assert list(rows) == [8, 9, 10, 11]
    diagonal = render.new_frame(30, 30)
    render.draw_line(diagonal, 0.0, 0.0, 30.0, 30.0, RED)
    painted = _painted(diagonal)
    assert all(painted[k, k] for k in range(30)) and not painted[0, 29]
    dot = render.new_frame(10, 10)
    render.draw_line(dot, 5.0, 5.0, 5.0, 5.0, RED, width=3.0)  # a zero-length line is a round dot
    assert _painted(dot)[4:6, 4:6].all() and _painted(dot).sum() <= 9


def test_shapes_are_clipped_at_the_frame_edges() -> None:
    frame = render.new_frame(20, 10)
    render.fill_rectangle(frame, -5, -5, 3, 3, RED)
    render.fill_circle(frame, 20.0, 10.0, 3.0, RED)
    render.fill_polygon(frame, [(-10, 8), (30, 8), (30, 30)], RED)
    render.draw_line(frame, -10, -10, -1, -1, RED)  # wholly outside: nothing
    render.fill_circle(frame, 100.0, 100.0, 3.0, RED)
    render.fill_polygon(frame, [(100, 100), (110, 100), (110, 110)], RED)
    painted = _painted(frame)
    assert painted[0:3, 0:3].all() and painted[9, 19]
    assert painted.sum() < 60


def test_tile_lays_frames_out_in_a_grid() -> None:
    frames = [render.new_frame(4, 3, (k, k, k)) for k in range(5)]
    grid = render.tile(frames, columns=2, gap=1, color=(9, 9, 9))
    assert grid.shape == (3 * 3 + 2, 2 * 4 + 1, 3)
    assert (grid[0:3, 0:4] == 0).all() and (grid[0:3, 5:9] == 1).all() and (grid[8:11, 0:4] == 4).all()
    assert (grid[8:11, 5:9] == 9).all() and (grid[3, :] == 9).all()  # the empty cell and the gaps
    with pytest.raises(ValueError, match="one shape"):
        render.tile([render.new_frame(4, 3), render.new_frame(3, 3)], columns=2)
    with pytest.raises(ValueError, match="at least one frame"):
        render.tile([], columns=1)
