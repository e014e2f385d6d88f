"""The RL score table: each tuned preset over 10 seeds (`fourfold rl table`), beside the published figure it stands
for (rl-baselines3-zoo's benchmark, not rerun here).

`fourfold rl table` trains every (task, algorithm) cell over seeds 0-9 into `runs/rl/table-*` (two runs at once,
one thread each) and keeps finished runs, so this script reuses a table already trained on this machine and trains
only what is missing (about an hour on 2 cores from nothing). A row's figure is the mean over seeds of each seed's
greedy evaluation (100 episodes after training); where returns are negative (steps or cost), the row shows the
cost, -return, so that the ratio reads the same way as every other row. The seeds reaching the goal and the IQM
are in the row's text; the full table with spreads and wall times is `runs/rl-table/table.md` and docs/rl.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fourfold.bench import BenchRow, print_rows
from fourfold.gym.aggregate import iqm
from fourfold.rl.table import TableConfig, table

ANCHORS: dict[tuple[str, str], tuple[str, float]] = {
    ("CartPole-v1", "ppo"): ("rl-zoo PPO (published)", 500.0),
    ("CartPole-v1", "dqn"): ("rl-zoo DQN (published)", 500.0),
    ("Acrobot-v1", "ppo"): ("rl-zoo PPO (published)", -73.5),
    ("Acrobot-v1", "dqn"): ("rl-zoo DQN (published)", -72.4),
    ("MountainCar-v0", "ppo"): ("CleanRL PPO (published)", -200.0),
    ("Pendulum-v1", "sac"): ("rl-zoo SAC (published)", -157.0),
    ("Pendulum-v1", "ppo"): ("rl-zoo PPO with gSDE (published)", -172.0),
    ("MountainCarContinuous-v0", "sac"): ("solved threshold", 90.0),
}


def run(threads: int, quick: bool) -> list[BenchRow]:
    """Train (or reuse) the table and turn each cell into a row."""
    summary = table(TableConfig(seeds=3 if quick else 10, jobs=max(1, threads), out=Path("runs/rl-table")))
    rows = []
    for cell in summary.cells:
        scores = np.array(cell.eval_returns)
        peer, anchor = ANCHORS[(cell.task, cell.algo)]
        cost = anchor < 0
        what = (
            f"{cell.algo.upper()} {cell.task}: mean greedy {'cost (-return)' if cost else 'return'} over "
            f"{len(scores)} seeds (IQM {float(iqm([scores])):.1f}, {cell.reached}/{len(scores)} seeds reach "
            f"{cell.goal:g})"
        )
        mean = float(scores.mean())
        rows.append(
            BenchRow(
                what,
                -mean if cost else mean,
                peer,
                -anchor if cost else anchor,
                "cost" if cost else "return",
                1,
                higher_is_better=not cost,
            )
        )
    return rows


if __name__ == "__main__":
    print_rows(run(threads=2, quick=False))
