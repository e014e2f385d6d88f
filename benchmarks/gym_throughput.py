"""Gym throughput: env steps/s through the public VectorEnv.step, one thread, fourfold beside its peers.

Peers: Gymnasium's SyncVectorEnv over its own envs, Gymnasium's batched CartPole vector env, and envpool (installed
by `make bench` through the `bench` extra). Every task at 64 and 1024 envs; one thread whatever `threads` says, as
the issue measures (env only: the rates are single-core figures).
"""

from __future__ import annotations

import sys

from fourfold.bench import BenchRow, print_rows
from fourfold.gym.throughput import ThroughputConfig, bench

PEER_NAMES = {
    "gymnasium-sync": "Gymnasium SyncVectorEnv",
    "gymnasium-batched": "Gymnasium batched vector env",
    "envpool": "envpool (1 thread)",
}


def run(threads: int, quick: bool) -> list[BenchRow]:
    summary = bench(ThroughputConfig(seconds=0.3 if quick else 2.0))
    for reason in summary.skipped:
        print(f"  skipped {reason}", file=sys.stderr)
    rows = []
    for row in summary.rows:
        if row.implementation == "fourfold":
            continue
        ours = next(
            r.steps_per_second
            for r in summary.rows
            if r.task == row.task and r.num_envs == row.num_envs and r.implementation == "fourfold"
        )
        name = row.task.removeprefix("fourfold/")
        rows.append(
            BenchRow(
                what=f"{name}, {row.num_envs} envs, step()",
                fourfold=ours,
                peer=PEER_NAMES[row.implementation],
                peer_value=row.steps_per_second,
                unit="steps/s",
                threads=1,
            )
        )
    return rows


if __name__ == "__main__":
    print_rows(run(threads=1, quick=False))
