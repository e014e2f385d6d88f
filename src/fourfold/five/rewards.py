"""Five's shaped rewards: weighted game events, team spirit, zero-sum and time decay (OpenAI Five, Berner et al. 2019).

The core counts, for every hero and every decision, what happened to it (`GameState.events`, `[G, 10, NUM_EVENTS]`:
a win, a death, a kill, gold and experience gained, last hits, denies, damage to and kills of towers and the
ancient). A hero's raw reward is the weighted sum of those counts, with the weights of the paper's reward table
("Dota 2 with Large Scale Deep Reinforcement Learning", arXiv:1912.06680, Appendix, Table 6 "Shaped reward
weights") scaled to this game:

| component | paper (Dota 2) | here | why the change |
| --- | --- | --- | --- |
| win | 5 (team) | 5 | |
| hero death | -1 | -1 | |
| hero kill | -0.6 | -0.6 | the kill already pays through the victim's -1 (zero-sum), gold and experience |
| gold | 0.006 per gold | 0.006 x 37 / 38 | a melee creep's 38 gold here pays what a Dota creep's ~37 pays |
| experience | 0.002 per XP | 0.002 x 57 / 45 | a melee creep's 45 XP here pays what a Dota creep's ~57 pays |
| last hit | 0.16 | 0.16 | |
| deny | 0.15 | 0.15 | |
| tower damage / kill | T1-T4: 2.25-4.5 (team) | 2 per tower / 1 | 2/3 linear in the tower's health, 1/3 when it falls |
| ancient damage / kill | 5 (team) | 10/3 per ancient / 5/3 | the same 2/3 : 1/3 split of the paper's 5 |

Then, as in the paper's Appendix ("Reward" / team spirit and zero-sum):

1. team spirit `tau`: each hero's reward becomes `(1 - tau) * own + tau * mean over its team` (tau = 0 selfish,
   1 fully shared; the paper anneals it from 0.3 to 1.0 over training);
2. zero-sum: the mean of the enemy team's rewards is subtracted, so what one team gains the other loses (with both
   teams blended, this is the same whether it comes before or after step 1);
3. time decay: rewards are multiplied by `decay_base ** (game time / decay_period)`; the paper used 0.6 per 10
   minutes of ~45-minute games, here 0.6 per 150 game-seconds of games capped at 600 seconds (the same fraction of
   a game), because late-game rewards are larger and would otherwise drown early ones.

Each component is reported separately (weighted, before steps 1-3) so a learning curve can show what the agents
collect. Hero slots absent from a game (fewer than 5 heroes a team) get reward 0 and do not count in team means.

Shape legend: G games, H = 10 hero slots (team-major: blue 0-4, red 5-9), E = NUM_EVENTS.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from fourfold.core.config import require
from fourfold.five.game import stats
from fourfold.five.game.constants import (
    CREEP_MELEE,
    EVENT_ANCIENT_DAMAGE,
    EVENT_ANCIENT_KILL,
    EVENT_DENY,
    EVENT_GOLD,
    EVENT_HERO_DEATH,
    EVENT_HERO_KILL,
    EVENT_LAST_HIT,
    EVENT_TOWER_DAMAGE,
    EVENT_TOWER_KILL,
    EVENT_WIN,
    EVENT_XP,
    HERO_SLOTS,
    NUM_EVENTS,
)

DOTA_CREEP_GOLD = 37.0
"""A Dota 2 lane creep's average gold bounty (melee 34-39, ranged 39-46): the unit the paper's gold weight prices."""
DOTA_CREEP_XP = 57.0
"""A Dota 2 melee lane creep's experience: the unit the paper's XP weight prices."""


def _gold_weight() -> float:
    """The paper's 0.006 per gold, rescaled so that one creep's bounty here pays what a Dota creep's pays."""
    return 0.006 * DOTA_CREEP_GOLD / float(stats.GOLD_CREEP[CREEP_MELEE])


def _xp_weight() -> float:
    """The paper's 0.002 per XP, rescaled so that one creep's experience here pays what a Dota creep's pays."""
    return 0.002 * DOTA_CREEP_XP / float(stats.XP_CREEP[CREEP_MELEE])


@dataclass(frozen=True)
class RewardConfig:
    """The weights of Five's reward components and how they are combined (see the module docstring)."""

    win: float = 5.0
    """Reward for each hero of the winning team (the loser gets it back negated through zero-sum)."""
    hero_death: float = -1.0
    """Reward for dying."""
    hero_kill: float = -0.6
    """Reward for the killing blow on an enemy hero (negative as in the paper: the kill already pays through gold,
    experience and, zero-sum, the victim's death)."""
    gold: float = -1.0
    """Reward per gold gained; -1 (the default) means the paper's 0.006 rescaled to this game's creep bounty."""
    xp: float = -1.0
    """Reward per experience point; -1 (the default) means the paper's 0.002 rescaled to this game's creep XP."""
    last_hit: float = 0.16
    """Reward per last hit on an enemy creep."""
    deny: float = 0.15
    """Reward per last hit on an allied creep."""
    tower_damage: float = 2.0
    """Reward per whole tower's health taken off enemy towers."""
    tower_kill: float = 1.0
    """Reward per enemy tower destroyed."""
    ancient_damage: float = 10.0 / 3.0
    """Reward per whole ancient's health taken off the enemy ancient."""
    ancient_kill: float = 5.0 / 3.0
    """Reward for destroying the enemy ancient."""
    team_spirit: float = 0.3
    """tau in [0, 1]: how much of each hero's reward is its team's mean (0 selfish, 1 fully shared)."""
    zero_sum: bool = True
    """Subtract the enemy team's mean reward from each hero's reward."""
    decay_base: float = 0.6
    """Rewards are multiplied by decay_base ** (game seconds / decay_period_seconds); 1.0 turns decay off."""
    decay_period_seconds: float = 150.0
    """Game-seconds over which rewards shrink by one factor of decay_base."""

    def __post_init__(self) -> None:
        require(0.0 <= self.team_spirit <= 1.0, "team_spirit", f"must be in [0, 1] (got {self.team_spirit})")
        require(0.0 < self.decay_base <= 1.0, "decay_base", f"must be in (0, 1] (got {self.decay_base})")
        require(
            self.decay_period_seconds > 0,
            "decay_period_seconds",
            f"must be positive (got {self.decay_period_seconds})",
        )
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float):
                require(bool(np.isfinite(value)), f.name, f"must be finite (got {value})")

    def weights(self) -> NDArray[np.float64]:
        """(E,) the weight of each event id, the defaults of gold and xp resolved."""
        w = np.zeros(NUM_EVENTS, dtype=np.float64)  # (E,)
        for name, event in COMPONENTS:
            value = float(getattr(self, name))
            if name == "gold" and value == -1.0:
                value = _gold_weight()
            elif name == "xp" and value == -1.0:
                value = _xp_weight()
            w[event] = value
        return w


COMPONENTS: tuple[tuple[str, int], ...] = (
    ("win", EVENT_WIN),
    ("hero_death", EVENT_HERO_DEATH),
    ("hero_kill", EVENT_HERO_KILL),
    ("gold", EVENT_GOLD),
    ("xp", EVENT_XP),
    ("last_hit", EVENT_LAST_HIT),
    ("deny", EVENT_DENY),
    ("tower_damage", EVENT_TOWER_DAMAGE),
    ("tower_kill", EVENT_TOWER_KILL),
    ("ancient_damage", EVENT_ANCIENT_DAMAGE),
    ("ancient_kill", EVENT_ANCIENT_KILL),
)
"""(component name, event id): the reward components in the order they are reported."""


@dataclass(frozen=True)
class Rewards:
    """One decision's rewards and their parts.

    Attributes:
        total: (G, H) float32 the reward each hero learns from (blended, zero-sum, decayed).
        components: name -> (G, H) float32 weighted raw component (before blending, zero-sum and decay).
        raw: (G, H) float64 the sum of the components.
    """

    total: NDArray[np.float32]
    components: dict[str, NDArray[np.float32]]
    raw: NDArray[np.float64]


def team_mean(values: NDArray[np.float64], present: NDArray[np.bool_]) -> NDArray[np.float64]:
    """(G, 2) mean of `values` (G, H) over each team's present heroes (0 for a team with none)."""
    v = np.where(present, values, 0.0).reshape(values.shape[0], 2, HERO_SLOTS // 2)  # (G, 2, 5)
    n = present.reshape(values.shape[0], 2, HERO_SLOTS // 2).sum(axis=2)  # (G, 2)
    means: NDArray[np.float64] = v.sum(axis=2) / np.maximum(n, 1)  # (G, 2)
    return means


def compute_rewards(
    events: NDArray[np.float64],
    present: NDArray[np.bool_],
    game_seconds: NDArray[np.float64],
    config: RewardConfig,
) -> Rewards:
    """Five's rewards for one decision.

    Args:
        events: (G, H, E) the core's event counts of this decision.
        present: (G, H) which hero slots exist in each game.
        game_seconds: (G,) the game time at which the decision's rewards are paid (for the time decay).
        config: the weights and how to combine them.
    """
    weights = config.weights()  # (E,)
    weighted = events * weights  # (G, H, E)
    weighted[~present] = 0.0
    raw = weighted.sum(axis=2)  # (G, H)
    means = team_mean(raw, present)  # (G, 2)
    own = np.repeat(means, HERO_SLOTS // 2, axis=1)  # (G, H) own team's mean
    enemy = np.repeat(means[:, ::-1], HERO_SLOTS // 2, axis=1)  # (G, H) enemy team's mean
    tau = config.team_spirit
    total = (1.0 - tau) * raw + tau * own  # (G, H)
    if config.zero_sum:
        total = total - enemy
    decay = config.decay_base ** (game_seconds / config.decay_period_seconds)  # (G,)
    total = np.where(present, total * decay[:, None], 0.0)
    components = {name: weighted[:, :, event].astype(np.float32) for name, event in COMPONENTS}
    return Rewards(total=total.astype(np.float32), components=components, raw=raw)
