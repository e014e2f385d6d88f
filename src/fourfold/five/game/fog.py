"""Five's team-shared fog of war: what each team sees, recomputed at the end of every step.

A team sees every present unit of its own (dead heroes included, so their respawn timers can be shown) and every
alive enemy unit within the sight radius of one of its alive units (heroes, creeps, structures). Sight does not
depend on the target: a unit with sight 12 sees anything whose centre is within 12 map units of its own. The
result is `state.visible[G, 2, U]`; bots and observations read it (`can_see`) and nothing else, so hidden units
stay hidden from them. `update_visibility` is a rule function (interpreted in the reference, compiled in the core,
see `combat.py`).
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable
from numpy.typing import NDArray

from fourfold.five.game.constants import MAX_UNITS
from fourfold.five.game.state import GameState


@register_jitable(_nrt=False)
def visibility_from_lists(s: GameState, g: int, units: NDArray[np.int64]) -> None:
    """Recompute `s.visible[g]`, using `units` ([MAX_UNITS] int64) as scratch space for the lists of alive units
    (blue first, then red), so the pair scan only visits alive ones and nothing is allocated."""
    count = 0
    for u in range(MAX_UNITS):
        if s.alive[g, u] and s.team[g, u] == 0:
            units[count] = u
            count += 1
    blue = count
    for u in range(MAX_UNITS):
        if s.alive[g, u] and s.team[g, u] == 1:
            units[count] = u
            count += 1
    for u in range(MAX_UNITS):
        s.visible[g, 0, u] = s.present[g, u] and s.team[g, u] == 0
        s.visible[g, 1, u] = s.present[g, u] and s.team[g, u] == 1
    for team in range(2):
        # team 0 looks at the red part of the list with the blue part, team 1 the other way round
        seen_first = blue if team == 0 else 0
        seen_last = count if team == 0 else blue
        eyes_first = 0 if team == 0 else blue
        eyes_last = blue if team == 0 else count
        for i in range(seen_first, seen_last):
            u = units[i]
            ux = s.x[g, u]
            uy = s.y[g, u]
            for j in range(eyes_first, eyes_last):
                v = units[j]
                dx = s.x[g, v] - ux
                dy = s.y[g, v] - uy
                radius = s.sight[g, v]
                if dx * dx + dy * dy <= radius * radius:
                    s.visible[g, team, u] = True
                    break


@register_jitable
def update_visibility(s: GameState, g: int) -> None:
    """Recompute `s.visible[g]` from the positions, sight radii and teams of game g's units."""
    visibility_from_lists(s, g, np.empty(MAX_UNITS, dtype=np.int64))


def can_see(state: GameState, game: int, team: int, unit: int) -> bool:
    """Whether `team` saw unit slot `unit` of game `game` at the end of the last step (or reset)."""
    return bool(state.visible[game, team, unit])
