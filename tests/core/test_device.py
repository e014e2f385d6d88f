"""Tests for fourfold.core.device: device and precision choice, threads, and a real 2-process torchrun run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from fourfold.core.device import DeviceError, Runtime, autocast, is_distributed, setup_runtime, shutdown

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture(autouse=True)
def single_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run every test as a plain single process, and put torch's thread count back afterwards."""
    for name in TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def test_cpu_runtime_defaults() -> None:
    runtime = setup_runtime("cpu")
    assert runtime.device == torch.device("cpu")
    assert runtime.autocast_dtype is None
    assert (runtime.rank, runtime.local_rank, runtime.world_size) == (0, 0, 1)
    assert runtime.is_main
    assert not runtime.owns_process_group
    assert runtime.threads == usable_cores()
    assert torch.get_num_threads() == usable_cores()
    assert not is_distributed()


def test_auto_picks_cuda_only_when_available() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert setup_runtime("auto").device.type == expected


def test_explicit_threads_are_set() -> None:
    runtime = setup_runtime("cpu", threads=1)
    assert runtime.threads == 1
    assert torch.get_num_threads() == 1


def test_default_threads_are_shared_among_local_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(usable_cores() + 1))
    assert setup_runtime("cpu").threads == 1  # more processes than cores still leaves each one thread


@pytest.mark.parametrize("threads", [0, -2])
def test_non_positive_threads_are_refused(threads: int) -> None:
    with pytest.raises(DeviceError, match="threads must be a positive integer"):
        setup_runtime("cpu", threads=threads)


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "meta", ""])
def test_bad_device_string_is_refused(name: str) -> None:
    with pytest.raises(DeviceError, match="unknown device"):
        setup_runtime(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_unavailable_cuda_is_refused() -> None:
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        setup_runtime("cuda:1")


def test_fp16_on_cpu_is_refused() -> None:
    with pytest.raises(DeviceError, match="fp16 is not supported on cpu"):
        setup_runtime("cpu", precision="fp16")


def test_unknown_precision_is_refused() -> None:
    with pytest.raises(DeviceError, match="unknown precision"):
        setup_runtime("cpu", precision="fp8")  # type: ignore[arg-type]


def test_bf16_autocast_on_cpu_computes_in_bfloat16() -> None:
    runtime = setup_runtime("cpu", precision="bf16")
    assert runtime.autocast_dtype == torch.bfloat16
    a = torch.randn(4, 4)
    with autocast(runtime):
        assert (a @ a).dtype == torch.bfloat16
    assert (a @ a).dtype == torch.float32


def test_fp32_autocast_is_a_null_context() -> None:
    runtime = setup_runtime("cpu")
    a = torch.randn(4, 4)
    with autocast(runtime):
        assert (a @ a).dtype == torch.float32


def test_inconsistent_torchrun_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(DeviceError, match="torchrun environment is inconsistent"):
        setup_runtime("cpu")


def test_is_main_follows_rank() -> None:
    assert Runtime(torch.device("cpu"), None, rank=0, world_size=2).is_main
    assert not Runtime(torch.device("cpu"), None, rank=1, world_size=2).is_main


def test_shutdown_without_a_process_group_is_a_no_op() -> None:
    runtime = setup_runtime("cpu")
    shutdown(runtime)
    shutdown(runtime)
    assert not is_distributed()


WORKER = """
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from fourfold.core.device import is_distributed, setup_runtime, shutdown

runtime = setup_runtime("cpu", precision="bf16")
value = torch.tensor([float(runtime.rank + 1)])
dist.all_reduce(value)
result = {
    "rank": runtime.rank,
    "local_rank": runtime.local_rank,
    "world_size": runtime.world_size,
    "is_main": runtime.is_main,
    "threads": runtime.threads,
    "backend": dist.get_backend(),
    "distributed": is_distributed(),
    "sum": value.item(),
}
shutdown(runtime)
result["distributed_after_shutdown"] = is_distributed()
Path(sys.argv[1], f"rank{runtime.rank}.json").write_text(json.dumps(result))
"""


@pytest.mark.slow
def test_two_processes_under_torchrun_join_a_gloo_group_and_all_reduce(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(WORKER))
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone"]
    completed = subprocess.run(
        [*command, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={key: value for key, value in os.environ.items() if key not in TORCHRUN_VARIABLES},
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    results = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(2)]
    assert sorted(r["rank"] for r in results) == [0, 1]
    assert sorted(r["local_rank"] for r in results) == [0, 1]
    assert [r["is_main"] for r in results] == [True, False]
    for result in results:
        assert result["world_size"] == 2
        assert result["backend"] == "gloo"
        assert result["distributed"] and not result["distributed_after_shutdown"]
        assert result["sum"] == 3.0  # 1 from rank 0 plus 2 from rank 1
        assert result["threads"] == max(1, usable_cores() // 2)
