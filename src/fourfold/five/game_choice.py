"""The game that `fourfold five eval`, `ladder` and `watch` play: a checkpoint's own, with flags over it.

A training checkpoint records its curriculum stage, so by default a policy is scored on the game it was learning
(`agents.checkpoint_game_config`): a 1v1 checkpoint on the one-lane map with two kills or the first tower winning.
`--stage 1v1` picks another stage of the checkpoint's curriculum instead (the 1v1 game for the checkpoint written
as the run moved on to 3v3), and the other flags replace single settings of the game; `--heroes-per-team 5
--time-cap-seconds 600 --kills-to-win 0 --towers-to-win 0` plays the standard 5v5 game whatever stage the
checkpoint came from. Bots and pool snapshots record no stage: they play the default game (`GameConfig()`) unless
the flags say otherwise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fourfold.core.config import ConfigError
from fourfold.five.agents import checkpoint_game_config, resolve_checkpoint
from fourfold.five.bots import BOT_NAMES
from fourfold.five.game.config import GameConfig, MapName


@dataclass(frozen=True)
class GameFlags:
    """Game settings that override the checkpoint's (None keeps the checkpoint's, else the default game's)."""

    stage: str | None = None
    """Play the game of this stage of the checkpoint's curriculum (1v1, 3v3, 5v5) instead of the one it was on."""
    map: MapName | None = None
    """The map (default: the one the checkpoint trained on last, else three_lane)."""
    heroes_per_team: int | None = None
    """Heroes per team: 1, 3 or 5 (default: the checkpoint's, else 5)."""
    time_cap_seconds: float | None = None
    """Game-seconds before a game is decided by score (default: the checkpoint's, else 600)."""
    kills_to_win: int | None = None
    """Hero kills that win at once; 0 turns the target off (default: the checkpoint's, 2 in the 1v1 stage, else 0)."""
    towers_to_win: int | None = None
    """Structures destroyed that win at once; 0 turns it off (default: the checkpoint's, 1 in the 1v1 stage, else 0)."""

    def over(self, base: GameConfig) -> GameConfig:
        """`base` with every given flag in place of its setting (checked by `GameConfig`)."""
        changes: dict[str, Any] = {}
        for flag in dataclasses.fields(self):
            value = getattr(self, flag.name)
            if value is not None and flag.name != "stage":
                changes[flag.name] = value
        return dataclasses.replace(base, **changes)


def game_config_for(specs: list[str], flags: GameFlags) -> GameConfig:
    """The game to play: the first checkpoint's among `specs` (its curriculum stage, or the one `flags.stage`
    names), with `flags` over it."""
    base = GameConfig()
    for spec in specs:
        if spec in BOT_NAMES:
            continue
        found = checkpoint_game_config(resolve_checkpoint(Path(spec)), flags.stage)
        if found is not None:
            base = found
            break
        if flags.stage is not None:
            raise ConfigError("stage", f"{spec} has no curriculum stage named {flags.stage!r}")
    return flags.over(base)
