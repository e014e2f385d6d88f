"""Five's maps: a square continuous field, blue base bottom-left, red top-right, lanes as waypoint polylines.

`three_lane` has the top, mid and bottom lanes; `one_lane` (for curricula) only the mid lane, the same geometry with
the side-lane towers absent. The map is point-symmetric about its centre: a red position is (S - x, S - y) of the
matching blue one. Every lane runs from the blue end to the red end; blue creeps walk it forwards, red backwards.
Per team and lane a tier-2 tower stands at `TIER2_FRACTION` of the lane's length from its own end and a tier-1 at
`TIER1_FRACTION`; the base tower stands on the mid lane in front of the ancient, the fountain behind it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fourfold.core.config import ConfigError
from fourfold.five.game.constants import (
    BLUE,
    KIND_ANCIENT,
    KIND_TOWER,
    LANE_MID,
    NUM_LANES,
    NUM_STRUCTURES,
    NUM_TEAMS,
    RED,
    STRUCTURE_START,
    ancient_slot,
    base_tower_slot,
    tower_slot,
)

MAP_SIZE = 100.0
"""Side of the square map in map units; positions lie in [0, MAP_SIZE]."""
MAP_NAMES = ("three_lane", "one_lane")
MAX_WAYPOINTS = 3
TIER2_FRACTION = 0.22
TIER1_FRACTION = 0.38

_BLUE_LANES = (
    ((11.0, 18.0), (11.0, 89.0), (82.0, 89.0)),  # top: up the left edge, along the top edge
    ((17.0, 17.0), (83.0, 83.0)),  # mid: the diagonal
    ((18.0, 11.0), (89.0, 11.0), (89.0, 82.0)),  # bot: along the bottom edge, up the right edge
)
_BLUE_FOUNTAIN = (4.0, 4.0)
_BLUE_ANCIENT = (12.0, 12.0)
_BLUE_BASE_TOWER = (21.0, 21.0)


@dataclass(frozen=True)
class MapLayout:
    """The geometry of one map, as arrays the rules and renderers read.

    Attributes:
        name: `three_lane` or `one_lane`.
        size: side of the square map.
        lane_points: [NUM_LANES, MAX_WAYPOINTS, 2] waypoints (x, y) from the blue end to the red end, padded with
            the last point.
        lane_count: [NUM_LANES] waypoints per lane, 0 for a lane the map lacks.
        fountain: [2, 2] fountain position per team.
        structure_xy: [NUM_STRUCTURES, 2] position of structure slot STRUCTURE_START + i.
        structure_present: [NUM_STRUCTURES] whether the map has that structure.
        structure_kind: [NUM_STRUCTURES] KIND_TOWER or KIND_ANCIENT.
        structure_tier: [NUM_STRUCTURES] tower tier 1, 2, 3 (base tower), 0 for an ancient.
        structure_lane: [NUM_STRUCTURES] lane of a tier-1/2 tower, -1 otherwise.
    """

    name: str
    size: float
    lane_points: NDArray[np.float64]
    lane_count: NDArray[np.int64]
    fountain: NDArray[np.float64]
    structure_xy: NDArray[np.float64]
    structure_present: NDArray[np.bool_]
    structure_kind: NDArray[np.int64]
    structure_tier: NDArray[np.int64]
    structure_lane: NDArray[np.int64]

    def lane(self, index: int) -> NDArray[np.float64]:
        """The waypoints [W, 2] of lane `index` from the blue end (empty when the map lacks it)."""
        return self.lane_points[index, : int(self.lane_count[index])].copy()

    def active_lanes(self) -> list[int]:
        """Indices of the lanes this map has."""
        return [lane for lane in range(NUM_LANES) if self.lane_count[lane] > 0]


def _mirror(point: tuple[float, float]) -> tuple[float, float]:
    return (MAP_SIZE - point[0], MAP_SIZE - point[1])


def _point_along(points: NDArray[np.float64], distance: float) -> tuple[float, float]:
    """The point `distance` units along the polyline `points` [W, 2]."""
    remaining = distance
    for i in range(len(points) - 1):
        segment = points[i + 1] - points[i]
        length = float(np.hypot(segment[0], segment[1]))
        if remaining <= length:
            where = points[i] + segment * (remaining / length)
            return (float(where[0]), float(where[1]))
        remaining -= length
    return (float(points[-1][0]), float(points[-1][1]))


def _length(points: NDArray[np.float64]) -> float:
    steps = np.diff(points, axis=0)
    return float(np.hypot(steps[:, 0], steps[:, 1]).sum())


@functools.cache
def layout(name: str) -> MapLayout:
    """The `MapLayout` of map `name` (`three_lane` or `one_lane`); cached, treat its arrays as read-only."""
    if name not in MAP_NAMES:
        raise ConfigError("map", f"unknown Five map {name!r}; choose one of {', '.join(MAP_NAMES)}")
    lanes = (LANE_MID,) if name == "one_lane" else tuple(range(NUM_LANES))
    lane_points = np.zeros((NUM_LANES, MAX_WAYPOINTS, 2))
    lane_count = np.zeros(NUM_LANES, dtype=np.int64)
    for lane, points in enumerate(_BLUE_LANES):
        lane_points[lane, : len(points)] = points
        lane_points[lane, len(points) :] = points[-1]
        if lane in lanes:
            lane_count[lane] = len(points)
    fountain = np.array([_BLUE_FOUNTAIN, _mirror(_BLUE_FOUNTAIN)])
    structure_xy = np.zeros((NUM_STRUCTURES, 2))
    present = np.zeros(NUM_STRUCTURES, dtype=bool)
    kind = np.full(NUM_STRUCTURES, KIND_TOWER, dtype=np.int64)
    tier = np.zeros(NUM_STRUCTURES, dtype=np.int64)
    lane_of = np.full(NUM_STRUCTURES, -1, dtype=np.int64)
    for team in range(NUM_TEAMS):
        for lane in range(NUM_LANES):
            polyline = np.array(_BLUE_LANES[lane])
            if team == RED:
                polyline = polyline[::-1]  # measure from the red end
            total = _length(polyline)
            for tier_value, fraction in ((1, TIER1_FRACTION), (2, TIER2_FRACTION)):
                i = tower_slot(team, lane, tier_value) - STRUCTURE_START
                structure_xy[i] = _point_along(polyline, fraction * total)
                present[i] = lane in lanes
                tier[i] = tier_value
                lane_of[i] = lane
        base = base_tower_slot(team) - STRUCTURE_START
        ancient = ancient_slot(team) - STRUCTURE_START
        structure_xy[base] = _BLUE_BASE_TOWER if team == BLUE else _mirror(_BLUE_BASE_TOWER)
        structure_xy[ancient] = _BLUE_ANCIENT if team == BLUE else _mirror(_BLUE_ANCIENT)
        present[base] = present[ancient] = True
        tier[base] = 3
        kind[ancient] = KIND_ANCIENT
    return MapLayout(
        name=name,
        size=MAP_SIZE,
        lane_points=lane_points,
        lane_count=lane_count,
        fountain=fountain,
        structure_xy=structure_xy,
        structure_present=present,
        structure_kind=kind,
        structure_tier=tier,
        structure_lane=lane_of,
    )
