"""Checkpoints survive a real SIGKILL at any moment of a save: what loads is always one whole version, never a mix.

Each attempt runs a writer process that saves version 0, says "ready", then saves versions 1, 2, ... (32 MB each,
every tensor filled with its version number) as fast as it can, printing "saved N" after each. The test kills it
with SIGKILL after a delay that differs between attempts, so kills land before, inside and between writes, and then
loads what is on disk. The writers are started together and wait for "go", so their torch imports overlap.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fourfold.core.checkpoint import checkpoint_path, latest_checkpoint, load_checkpoint, save_checkpoint

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")]

ATTEMPTS = 8
DELAYS = [0.05 * i for i in range(ATTEMPTS)]  # seconds between "ready" and the kill; a save takes about 0.1 s

WRITER = """
import itertools, sys
import torch
from fourfold.core.checkpoint import checkpoint_path, prune_checkpoints, save_checkpoint

mode, target = sys.argv[1], sys.argv[2]


def save(version):
    model = {f"w{i}": torch.full((2_000_000,), float(version)) for i in range(4)}
    state = {"version": version, "marker": torch.full((1000,), version)}
    path = target if mode == "same" else checkpoint_path(target, version)
    save_checkpoint(path, model=model, state=state, step=version, kind="kill-test")
    if mode == "numbered":
        prune_checkpoints(target, keep=2)


sys.stdin.readline()  # "go"
save(0)
print("ready", flush=True)
for version in itertools.count(1):
    save(version)
    print(f"saved {version}", flush=True)
"""


def _start_writers(tmp_path: Path, mode: str) -> list[tuple[subprocess.Popen[str], Path]]:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    writers = []
    for attempt in range(ATTEMPTS):
        target = tmp_path / f"attempt{attempt}" / "ckpt"
        command = [sys.executable, str(script), mode, str(target)]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        writers.append((process, target))
    return writers


def _run_and_kill(process: subprocess.Popen[str], delay: float) -> int:
    """Let the writer go, kill it `delay` seconds after its first checkpoint; return the last version it finished."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("go\n")
    process.stdin.flush()
    assert process.stdout.readline().strip() == "ready", "the writer failed before its first checkpoint"
    time.sleep(delay)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    finished = [int(line.split()[1]) for line in process.stdout.read().splitlines() if line.startswith("saved")]
    return max(finished, default=0)


def _assert_whole_version(path: Path, last_finished: int) -> int:
    """Load `path` and check it is one whole version: the last one finished or the one being written."""
    checkpoint = load_checkpoint(path, kind="kill-test")
    version = checkpoint.step
    assert version in (last_finished, last_finished + 1)
    assert checkpoint.state["version"] == version
    assert torch.equal(checkpoint.state["marker"], torch.full((1000,), version))
    assert sorted(checkpoint.model) == ["w0", "w1", "w2", "w3"]
    for tensor in checkpoint.model.values():
        assert torch.equal(tensor, torch.full((2_000_000,), float(version)))
    return version


def _leftovers(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir() if ".tmp-" in entry.name or ".old-" in entry.name)


def _stop(writers: list[tuple[subprocess.Popen[str], Path]]) -> None:
    for process, _ in writers:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_a_killed_overwrite_leaves_one_whole_checkpoint(tmp_path: Path) -> None:
    writers = _start_writers(tmp_path, "same")
    try:
        killed_mid_write = 0
        for (process, path), delay in zip(writers, DELAYS, strict=True):
            last_finished = _run_and_kill(process, delay)
            killed_mid_write += bool(_leftovers(path.parent))
            version = _assert_whole_version(path, last_finished)
        assert killed_mid_write > 0, "no kill landed inside a save, so nothing was tested; lengthen the saves"
        # The next save clears what the killed one left behind and replaces the checkpoint.
        state = {"version": version + 1, "marker": torch.full((1000,), version + 1)}
        model = {f"w{i}": torch.full((2_000_000,), float(version + 1)) for i in range(4)}
        save_checkpoint(path, model=model, state=state, step=version + 1, kind="kill-test")
        assert _leftovers(path.parent) == []
        assert _assert_whole_version(path, version + 1) == version + 1
    finally:
        _stop(writers)


def test_a_killed_numbered_run_has_a_loadable_latest_checkpoint(tmp_path: Path) -> None:
    writers = _start_writers(tmp_path, "numbered")
    try:
        for (process, directory), delay in zip(writers, DELAYS, strict=True):
            last_finished = _run_and_kill(process, delay)
            latest = latest_checkpoint(directory)
            assert latest is not None
            version = _assert_whole_version(latest, last_finished)
            assert latest == checkpoint_path(directory, version)
            # Every folder that looks complete (has a manifest) loads; a prune cut short never looks complete.
            for folder in directory.glob("step_*"):
                if (folder / "checkpoint.json").exists():
                    assert load_checkpoint(folder).step == int(folder.name.removeprefix("step_"))
    finally:
        _stop(writers)
