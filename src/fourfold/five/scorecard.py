"""The final score card of a Five game: per team and per hero kills, deaths, last hits, denies, gold and towers.

`score_card(state, game)` reads one game of a batch; the card is written as JSON (`to_jsonable`), as a markdown
table (`to_markdown`) and as a PNG drawn with matplotlib's Agg backend (`save_png`, no display needed). Gold is the
gold a hero holds at the end plus what its items cost (so buying does not lower the score); towers are the enemy
towers a team destroyed (ancients not counted: the ancient decides the winner).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from fourfold.five.game.constants import (
    ARCHETYPE_NAMES,
    HERO_SLOTS,
    KIND_ANCIENT,
    MAX_UNITS,
    NUM_TEAMS,
    STRUCTURE_START,
    TICKS_PER_SECOND,
    WINNER_DRAW,
    WINNER_NONE,
)
from fourfold.five.game.state import GameState
from fourfold.five.game.stats import ITEM_COST
from fourfold.five.render import TEAM_NAMES, towers_destroyed


@dataclass
class TeamScore:
    """One team's totals."""

    team: str
    player: str
    """Who played the team (a bot name, a policy, a person)."""
    kills: int
    deaths: int
    last_hits: int
    denies: int
    gold: int
    towers: int
    """Enemy towers destroyed."""
    ancient_hp: float
    """The team's own ancient's hit points left, as a fraction of its maximum."""


@dataclass
class HeroScore:
    """One hero's line."""

    team: str
    slot: int
    archetype: str
    level: int
    kills: int
    deaths: int
    last_hits: int
    denies: int
    gold: int


@dataclass
class ScoreCard:
    """How one game ended."""

    winner: str
    """blue, red, draw, or "none" for a game cut short."""
    minutes: float
    """Game-minutes played."""
    teams: list[TeamScore] = field(default_factory=list)
    heroes: list[HeroScore] = field(default_factory=list)

    def to_markdown(self) -> str:
        """Two markdown tables: the teams and the heroes."""
        lines = [
            f"**winner: {self.winner}** after {self.minutes:.1f} game-minutes",
            "",
            "| team | player | kills | deaths | last hits | denies | gold | towers | own ancient hp |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for t in self.teams:
            lines.append(
                f"| {t.team} | {t.player} | {t.kills} | {t.deaths} | {t.last_hits} | {t.denies} | {t.gold} "
                f"| {t.towers} | {t.ancient_hp:.0%} |"
            )
        lines += [
            "",
            "| team | slot | archetype | level | kills | deaths | last hits | denies | gold |",
            "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for h in self.heroes:
            lines.append(
                f"| {h.team} | {h.slot} | {h.archetype} | {h.level} | {h.kills} | {h.deaths} | {h.last_hits} "
                f"| {h.denies} | {h.gold} |"
            )
        return "\n".join(lines) + "\n"

    def save_png(self, path: Path) -> Path:
        """Draw the card as a PNG table (matplotlib, Agg backend)."""
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        team_rows = [
            [t.team, t.player, t.kills, t.deaths, t.last_hits, t.denies, t.gold, t.towers, f"{t.ancient_hp:.0%}"]
            for t in self.teams
        ]
        hero_rows = [
            [h.team, h.slot, h.archetype, h.level, h.kills, h.deaths, h.last_hits, h.denies, h.gold]
            for h in self.heroes
        ]
        figure = Figure(figsize=(8.0, 1.4 + 0.25 * (len(team_rows) + len(hero_rows))), dpi=100)
        top, bottom = figure.add_axes((0.02, 0.62, 0.96, 0.26)), figure.add_axes((0.02, 0.02, 0.96, 0.56))
        for axes in (top, bottom):
            axes.axis("off")
        figure.suptitle(f"winner: {self.winner} after {self.minutes:.1f} game-minutes", fontsize=11)
        top.table(
            cellText=[[str(c) for c in row] for row in team_rows],
            colLabels=["team", "player", "kills", "deaths", "last hits", "denies", "gold", "towers", "ancient hp"],
            loc="center",
            cellLoc="center",
        )
        if hero_rows:
            bottom.table(
                cellText=[[str(c) for c in row] for row in hero_rows],
                colLabels=["team", "slot", "archetype", "level", "kills", "deaths", "last hits", "denies", "gold"],
                loc="upper center",
                cellLoc="center",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path)
        return path


def score_card(state: GameState, game: int, players: tuple[str, str] = ("", "")) -> ScoreCard:
    """The score card of game `game` of `state`; `players` names who played blue and red."""
    winner = int(state.winner[game])
    if winner == WINNER_NONE:
        verdict = "none"
    elif winner == WINNER_DRAW:
        verdict = "draw"
    else:
        verdict = TEAM_NAMES[winner]
    card = ScoreCard(winner=verdict, minutes=float(state.tick[game]) / TICKS_PER_SECOND / 60.0)
    gold = _gold_worth(state, game)  # [H]
    for slot in range(HERO_SLOTS):
        if not state.present[game, slot]:
            continue
        card.heroes.append(
            HeroScore(
                team=TEAM_NAMES[int(state.team[game, slot])],
                slot=slot,
                archetype=ARCHETYPE_NAMES[int(state.archetype[game, slot])],
                level=int(state.level[game, slot]),
                kills=int(state.kills[game, slot]),
                deaths=int(state.deaths[game, slot]),
                last_hits=int(state.last_hits[game, slot]),
                denies=int(state.denies[game, slot]),
                gold=round(float(gold[slot])),
            )
        )
    units = slice(STRUCTURE_START, MAX_UNITS)
    for team in range(NUM_TEAMS):
        heroes = [h for h in card.heroes if h.team == TEAM_NAMES[team]]
        ancients = np.flatnonzero(
            state.present[game, units] & (state.kind[game, units] == KIND_ANCIENT) & (state.team[game, units] == team)
        )
        ancient_hp = 0.0
        if ancients.size:
            unit = STRUCTURE_START + int(ancients[0])
            alive = bool(state.alive[game, unit])
            ancient_hp = float(state.hp[game, unit] / state.max_hp[game, unit]) if alive else 0.0
        card.teams.append(
            TeamScore(
                team=TEAM_NAMES[team],
                player=players[team],
                kills=sum(h.kills for h in heroes),
                deaths=sum(h.deaths for h in heroes),
                last_hits=sum(h.last_hits for h in heroes),
                denies=sum(h.denies for h in heroes),
                gold=sum(h.gold for h in heroes),
                towers=towers_destroyed(state, game, team),
                ancient_hp=round(ancient_hp, 3),
            )
        )
    return card


def _gold_worth(state: GameState, game: int) -> NDArray[np.float64]:
    """[H] gold held plus the cost of the items bought (`stats.ITEM_COST`, bought in order per archetype)."""
    gold: NDArray[np.float64] = state.gold[game].astype(np.float64)  # [H], a copy
    for slot in range(HERO_SLOTS):
        bought = int(min(max(int(state.items[game, slot]), 0), ITEM_COST.shape[1]))
        gold[slot] += float(ITEM_COST[int(state.archetype[game, slot]), :bought].sum())
    return gold
