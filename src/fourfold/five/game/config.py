"""`GameConfig`: which map, how many heroes a side, which archetypes, how long a game may last.

A config is fixed for a batch of games (`state.new_state`, `core.step`); everything else about a game comes from
its seed and the actions. Validation names the field (`fourfold.core.config.require`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from fourfold.core.config import require
from fourfold.five.game.constants import (
    ARCHETYPE_NAMES,
    CARRY,
    HEROES_PER_TEAM,
    MAGE,
    NUM_ARCHETYPES,
    SUPPORT,
    TANK,
    TICKS_PER_DECISION,
    TICKS_PER_SECOND,
)

MapName = Literal["three_lane", "one_lane"]
DEFAULT_LINEUP: tuple[int, ...] = (CARRY, MAGE, TANK, SUPPORT, CARRY)
"""The default archetypes of hero slots 0..4 of each team (a game of n heroes a side uses the first n)."""
MAX_TIME_CAP_SECONDS = 7200.0


@dataclass(frozen=True)
class GameConfig:
    """The settings of a batch of Five games."""

    map: MapName = "three_lane"
    """`three_lane` (top, mid, bottom) or `one_lane` (mid only, for curricula)."""
    heroes_per_team: int = 5
    """Heroes per side: 1, 3 or 5; the other hero slots stay absent for the whole game."""
    lineup_blue: tuple[int, ...] = DEFAULT_LINEUP
    """Archetype (0 carry, 1 tank, 2 support, 3 mage) of blue hero slots 0..4; the first `heroes_per_team` play."""
    lineup_red: tuple[int, ...] = DEFAULT_LINEUP
    """Archetype of red hero slots 0..4 (unit slots 5..9)."""
    time_cap_seconds: float = 600.0
    """Game-seconds after which a game ends and is decided by score (see docs/five.md, Rules)."""
    kills_to_win: int = 0
    """End the game as soon as a team has this many hero kills, and that team wins (0: off). With `towers_to_win=1`
    and one hero a side this is the 1v1 mid rule OpenAI's 2017 Dota bot played: two kills or the first tower."""
    towers_to_win: int = 0
    """End the game as soon as a team has destroyed this many enemy structures, and that team wins (0: off)."""

    def __post_init__(self) -> None:
        require(self.map in ("three_lane", "one_lane"), "map", f"must be three_lane or one_lane (got {self.map!r})")
        require(self.heroes_per_team in (1, 3, 5), "heroes_per_team", f"must be 1, 3 or 5 (got {self.heroes_per_team})")
        for name in ("lineup_blue", "lineup_red"):
            lineup = getattr(self, name)
            require(
                len(lineup) >= self.heroes_per_team and len(lineup) <= HEROES_PER_TEAM,
                name,
                f"must list between heroes_per_team ({self.heroes_per_team}) and {HEROES_PER_TEAM} archetypes "
                f"(got {len(lineup)})",
            )
            require(
                all(isinstance(a, int) and 0 <= a < NUM_ARCHETYPES for a in lineup),
                name,
                f"archetypes must be integers 0..{NUM_ARCHETYPES - 1} ({', '.join(ARCHETYPE_NAMES)}); got {lineup}",
            )
        for name in ("kills_to_win", "towers_to_win"):
            value = getattr(self, name)
            require(isinstance(value, int) and value >= 0, name, f"must be 0 (off) or a positive count (got {value})")
        require(
            0.0 < self.time_cap_seconds <= MAX_TIME_CAP_SECONDS,
            "time_cap_seconds",
            f"must be in (0, {MAX_TIME_CAP_SECONDS:g}] game-seconds (got {self.time_cap_seconds})",
        )

    @property
    def time_cap_ticks(self) -> int:
        """The time cap in ticks, rounded up to a whole number of decisions."""
        ticks = math.ceil(self.time_cap_seconds * TICKS_PER_SECOND)
        return -(-ticks // TICKS_PER_DECISION) * TICKS_PER_DECISION

    def lineup(self, team: int) -> tuple[int, ...]:
        """The archetypes of a team's 5 hero slots (padded with the default lineup beyond the listed ones)."""
        listed = self.lineup_blue if team == 0 else self.lineup_red
        return tuple(listed) + DEFAULT_LINEUP[len(listed) :]
