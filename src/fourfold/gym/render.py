"""A tiny NumPy rasteriser: filled rectangles, circles, polygons and thick lines into (H, W, 3) uint8 frames.

Enough to draw classic-control and grid-world tasks for `render_mode="rgb_array"` without pygame or a display.
Coordinates are pixels with x to the right and y down (image convention; a task with y up passes `height - y`);
pixel (row r, column c) covers [c, c + 1) x [r, r + 1) and is painted when its centre (c + 0.5, r + 0.5) lies in
the shape. There is no anti-aliasing: frames are for watching and recording, not for pixel-exact comparison with
Gymnasium's pygame frames. Shapes may lie partly or wholly outside the frame; only the inside is painted.

Each drawing function paints in place and evaluates its test only over the shape's bounding box, vectorised, so
a CartPole frame (600 x 400) costs well under a millisecond beyond allocating it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

Color = tuple[int, int, int]
"""An RGB colour, each channel 0-255."""

Frame = NDArray[np.uint8]
"""An (H, W, 3) uint8 image."""

WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)


def new_frame(width: int, height: int, color: Color = WHITE) -> Frame:
    """A fresh (height, width, 3) uint8 frame filled with `color`."""
    if width < 1 or height < 1:
        raise ValueError(f"a frame needs a positive width and height, got {width} x {height}")
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[...] = color
    return frame


def _pixel_box(
    frame: Frame, x0: float, y0: float, x1: float, y1: float
) -> tuple[int, int, int, int, NDArray[np.float64], NDArray[np.float64]] | None:
    """The pixel range [c0, c1) x [r0, r1) whose centres may lie in the box, clipped to the frame, and the centres.

    Returns None when the box misses the frame; otherwise (c0, c1, r0, r1, xs (1, C), ys (R, 1)).
    """
    height, width = frame.shape[:2]
    c0 = max(int(np.floor(min(x0, x1) - 0.5)), 0)
    c1 = min(int(np.ceil(max(x0, x1) + 0.5)), width)
    r0 = max(int(np.floor(min(y0, y1) - 0.5)), 0)
    r1 = min(int(np.ceil(max(y0, y1) + 0.5)), height)
    if c0 >= c1 or r0 >= r1:
        return None
    xs = (np.arange(c0, c1, dtype=np.float64) + 0.5)[None, :]  # (1, C) pixel-centre x
    ys = (np.arange(r0, r1, dtype=np.float64) + 0.5)[:, None]  # (R, 1) pixel-centre y
    return c0, c1, r0, r1, xs, ys


def fill_rectangle(frame: Frame, x0: float, y0: float, x1: float, y1: float, color: Color) -> None:
    """Paint the axis-aligned rectangle with corners (x0, y0) and (x1, y1) (in any order)."""
    left, right = min(x0, x1), max(x0, x1)
    top, bottom = min(y0, y1), max(y0, y1)
    # Pixels with centres inside: c + 0.5 in [left, right) gives c in [ceil(left - 0.5), ceil(right - 0.5)).
    height, width = frame.shape[:2]
    c0 = max(int(np.ceil(left - 0.5)), 0)
    c1 = min(int(np.ceil(right - 0.5)), width)
    r0 = max(int(np.ceil(top - 0.5)), 0)
    r1 = min(int(np.ceil(bottom - 0.5)), height)
    if c0 < c1 and r0 < r1:
        frame[r0:r1, c0:c1] = color


def fill_circle(frame: Frame, cx: float, cy: float, radius: float, color: Color) -> None:
    """Paint the disc of centre (cx, cy) and `radius`."""
    box = _pixel_box(frame, cx - radius, cy - radius, cx + radius, cy + radius)
    if box is None:
        return
    c0, c1, r0, r1, xs, ys = box
    inside = (xs - cx) ** 2 + (ys - cy) ** 2 <= radius * radius  # (R, C)
    frame[r0:r1, c0:c1][inside] = color


def fill_polygon(frame: Frame, points: Sequence[tuple[float, float]], color: Color) -> None:
    """Paint the polygon through `points` (closed, any orientation; even-odd rule for self-intersections)."""
    if len(points) < 3:
        raise ValueError(f"a polygon needs at least 3 points, got {len(points)}")
    xs_all = [float(p[0]) for p in points]
    ys_all = [float(p[1]) for p in points]
    box = _pixel_box(frame, min(xs_all), min(ys_all), max(xs_all), max(ys_all))
    if box is None:
        return
    c0, c1, r0, r1, xs, ys = box
    inside = np.zeros((r1 - r0, c1 - c0), dtype=np.bool_)  # (R, C)
    count = len(points)
    for k in range(count):
        xa, ya = xs_all[k], ys_all[k]
        xb, yb = xs_all[(k + 1) % count], ys_all[(k + 1) % count]
        if ya == yb:
            continue  # a horizontal edge never crosses a pixel-centre row's ray
        spans = (ya > ys) != (yb > ys)  # (R, 1) rows whose centre line crosses this edge
        crossing_x = xa + (ys - ya) * (xb - xa) / (yb - ya)  # (R, 1)
        inside ^= spans & (xs < crossing_x)
    frame[r0:r1, c0:c1][inside] = color


def draw_line(frame: Frame, x0: float, y0: float, x1: float, y1: float, color: Color, width: float = 1.0) -> None:
    """Paint the segment from (x0, y0) to (x1, y1) with round ends, `width` pixels thick (at least one pixel)."""
    half = max(width, 1.0) / 2.0
    box = _pixel_box(frame, min(x0, x1) - half, min(y0, y1) - half, max(x0, x1) + half, max(y0, y1) + half)
    if box is None:
        return
    c0, c1, r0, r1, xs, ys = box
    dx, dy = x1 - x0, y1 - y0
    length_squared = dx * dx + dy * dy
    if length_squared == 0.0:
        along = np.zeros_like(xs + ys)
    else:
        along = np.clip(((xs - x0) * dx + (ys - y0) * dy) / length_squared, 0.0, 1.0)  # (R, C) nearest point
    distance_squared = (xs - (x0 + along * dx)) ** 2 + (ys - (y0 + along * dy)) ** 2
    frame[r0:r1, c0:c1][distance_squared <= half * half] = color


def tile(frames: Sequence[Frame], columns: int, gap: int = 0, color: Color = WHITE) -> Frame:
    """Lay out equal-sized frames in a grid of `columns` columns (row by row), `gap` pixels apart."""
    if not frames:
        raise ValueError("tile needs at least one frame")
    height, width = frames[0].shape[:2]
    if any(f.shape != frames[0].shape for f in frames):
        raise ValueError(f"tile needs frames of one shape, got {sorted({f.shape for f in frames})}")
    columns = max(1, min(columns, len(frames)))
    rows = -(-len(frames) // columns)
    grid = new_frame(columns * width + (columns - 1) * gap, rows * height + (rows - 1) * gap, color)
    for index, frame in enumerate(frames):
        top = (index // columns) * (height + gap)
        left = (index % columns) * (width + gap)
        grid[top : top + height, left : left + width] = frame
    return grid
