"""Five (OpenAI et al. 2019, "Dota 2 with Large Scale Deep Reinforcement Learning"), small: a 5v5 team game.

`game/` holds the game (rules, compiled core and plain reference, fog of war); `env` the batched native
environment, `pettingzoo_env` and `gymnasium_env` the standard APIs, `bots` the scripted opponents, `replay`,
`render` and `watch` replays and videos. Importing this package is cheap: `fourfold.five.parallel_env(**kwargs)`
(the PettingZoo environment, as PettingZoo's own environments offer it) imports its module on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["parallel_env"]


def __getattr__(name: str) -> Any:
    if name == "parallel_env":
        from fourfold.five.pettingzoo_env import parallel_env

        return parallel_env
    raise AttributeError(f"module 'fourfold.five' has no attribute {name!r}")
