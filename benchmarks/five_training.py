"""Five self-play training throughput: agent-steps (hero-steps) per second, in one process beside Ray rollout workers.

One agent-step is one decision of one learning hero (a 5v5 game step gives 5). Every run trains from scratch on the
5v5 three-lane stage (`train.DEFAULT_CURRICULUM[2]`) with the default `TrainConfig` (64 decisions per game per
iteration, 2 epochs of 8 recurrent minibatches) for about a minute, and its `metrics.jsonl` gives the figures, the
first iteration (numba's cache load, Ray's actors starting) left out:

- end to end: agent-steps between the first and the last logged iteration over the wall time between them, and per
  CPU second (the rollout's and the learner's CPU time; Ray's own daemons are not counted);
- rollout only and learner only: medians of the loop's `time/rollout_*` and `time/learner_*` columns.

The in-process loop (`selfplay.train_selfplay`, `--workers 0`) runs at 32 and 64 games; the peer is the same training
with 2 Ray rollout workers and the learner (`distributed.train_distributed`, `--workers 2`), synchronous and
asynchronous, on a local Ray started here. There is no outside peer: the ratio says what the split into processes
buys on this machine. Each process runs one torch thread and one numba thread (`threads` is not used: two torch
threads in one process spin-wait and ran 20 times slower on a shared 2-core machine). The load average when the
benchmark started is in every row: on a shared machine the wall figures are a fraction of an idle one's.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path
from typing import Literal, NamedTuple

import torch

from fourfold.bench import BenchRow, print_rows
from fourfold.core.runlog import open_run, read_metrics
from fourfold.five.distributed import DistributedConfig, train_distributed
from fourfold.five.selfplay import train_selfplay
from fourfold.five.train import DEFAULT_CURRICULUM, TrainConfig

UNIT = "agent-steps/s"
RAY = "Ray, 2 workers + learner"


class Figures(NamedTuple):
    """Agent-steps per second of one run (after its first iteration); a NamedTuple, as `fourfold bench` loads this
    script without registering it as a module (which dataclasses need)."""

    wall: float
    cpu: float
    rollout_wall: float
    rollout_cpu: float
    learner_wall: float
    learner_cpu: float
    iterations: int


def measure(
    num_games: int, workers: int, mode: Literal["sync", "async"], seconds: float, quick: bool, root: Path
) -> Figures:
    """Train 5v5 from scratch for about `seconds` (quick: 3 iterations) and read its figures."""
    torch.set_num_threads(1)
    budget = {"stop_after_iterations": 3} if quick else {"minutes": seconds / 60.0}
    config = TrainConfig(
        num_games=num_games, workers=workers, curriculum=(DEFAULT_CURRICULUM[2],), progress=False, **budget
    )
    folder = root / f"g{num_games}_w{workers}_{mode}"
    with open_run("five", folder.name, config, directory=folder) as run:
        if workers == 0:
            train_selfplay(config, run, None)
        else:
            train_distributed(DistributedConfig(config, backend="ray", mode=mode), run)
    lines = read_metrics(folder / "metrics.jsonl")[1:]  # the first iteration warms up
    first, last = lines[0], lines[-1]
    span = last["time"] - first["time"]
    wall = (last["step"] - first["step"]) / span if span > 0 else float(lines[0]["time/agent_steps_per_second"])

    def median(key: str) -> float:
        return float(statistics.median(line[key] for line in lines))

    return Figures(
        wall=wall,
        cpu=median("time/agent_steps_per_cpu_second"),
        rollout_wall=median("time/rollout_steps_per_second"),
        rollout_cpu=median("time/rollout_steps_per_cpu_second"),
        learner_wall=median("time/learner_steps_per_second"),
        learner_cpu=median("time/learner_steps_per_cpu_second"),
        iterations=len(lines) + 1,
    )


def run(threads: int, quick: bool) -> list[BenchRow]:
    load = os.getloadavg()[0]
    seconds = 75.0
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        local32 = measure(32, 0, "sync", seconds, quick, root)
        local64 = measure(64, 0, "sync", seconds, quick, root)
        try:
            import ray
        except ImportError:
            ray = None
        if ray is not None:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            try:
                sync = measure(32, 2, "sync", seconds, quick, root)
                async_ = measure(32, 2, "async", seconds, quick, root)
            finally:
                ray.shutdown()
    where = f"5v5 three lanes, 2 cores, load {load:.1f} at start"
    if ray is None:
        missing = Figures(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0)
        sync = async_ = missing
    rows = [
        (f"{where}: end to end, in process vs {RAY} sync, 32 games", local32.wall, "sync", sync.wall),
        (f"{where}: end to end, in process vs {RAY} async, 32 games", local32.wall, "async", async_.wall),
        (f"{where}: end to end per CPU second, 32 games", local32.cpu, "sync", sync.cpu),
        (f"{where}: end to end per CPU second, 32 games", local32.cpu, "async", async_.cpu),
        (f"{where}: rollout only, 32 games", local32.rollout_wall, "sync", sync.rollout_wall),
        (f"{where}: rollout only per CPU second, 32 games", local32.rollout_cpu, "sync", sync.rollout_cpu),
        (f"{where}: learner only, 32 games", local32.learner_wall, "sync", sync.learner_wall),
        (f"{where}: learner only per CPU second, 32 games", local32.learner_cpu, "sync", sync.learner_cpu),
    ]
    result = [
        BenchRow(what=what, fourfold=mine, peer=f"{RAY}, {mode}", peer_value=theirs, unit=UNIT, threads=1)
        for what, mine, mode, theirs in rows
    ]
    peer64 = "in process, 32 games"
    result += [
        BenchRow(f"{where}: end to end, in process, 64 games", local64.wall, peer64, local32.wall, UNIT, 1),
        BenchRow(f"{where}: end to end per CPU second, 64 games", local64.cpu, peer64, local32.cpu, UNIT, 1),
        BenchRow(f"{where}: rollout only, 64 games", local64.rollout_wall, peer64, local32.rollout_wall, UNIT, 1),
        BenchRow(f"{where}: learner only, 64 games", local64.learner_wall, peer64, local32.learner_wall, UNIT, 1),
    ]
    return result


if __name__ == "__main__":
    print_rows(run(threads=1, quick=False))
