"""Five game throughput: game steps/s of the compiled core (numba) beside the plain NumPy reference of the same rules.

A game step is one decision of one 5v5 game on the 3-lane map (10 hero decisions, 4 ticks), with random valid
actions and the observations built, on one core, at 64 and 1024 games. The peer is fourfold's own NumPy reference
(`five.game.core.step_reference` and the reference observation builder) measured in the same run: the ratio is what
compiling the rules buys. The reference gets fewer steps (it is slow), so its figure is noisier.
"""

from __future__ import annotations

from fourfold.bench import BenchRow, print_rows
from fourfold.five.bench import GameBenchConfig, bench


def run(threads: int, quick: bool) -> list[BenchRow]:
    config = GameBenchConfig(
        num_games=(64, 1024),
        seconds=0.5 if quick else 3.0,
        reference_seconds=1.0 if quick else 5.0,
    )
    summary = bench(config)
    rows = []
    for num_games in config.num_games:
        compiled = summary.rate("compiled", num_games)
        reference = summary.rate("reference", num_games)
        if compiled is None or reference is None:
            continue
        rows.append(
            BenchRow(
                what=f"5v5 three_lane, {num_games} games, step + observations, random valid actions",
                fourfold=compiled,
                peer="NumPy reference (same rules, same run)",
                peer_value=reference,
                unit="game steps/s",
                threads=1,
            )
        )
    return rows


if __name__ == "__main__":
    print_rows(run(threads=1, quick=False))
