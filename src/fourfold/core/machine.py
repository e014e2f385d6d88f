"""What machine a figure was measured on: CPU model, cores, memory, OS, Python and torch versions.

Benchmarks and the demo report print it beside every figure, since absolute speeds mean nothing without it.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MachineInfo:
    """The machine a figure was measured on."""

    cpu: str
    """CPU model name (from /proc/cpuinfo where there is one)."""
    cores: int
    """Logical cores this process may use."""
    memory_gib: float
    """Total memory in GiB (0 where unknown)."""
    system: str
    """Operating system and architecture."""
    python: str
    """Python version."""
    torch: str
    """torch version, or "not installed"."""


def describe_machine() -> MachineInfo:
    """Read the current machine's description (imports torch to report its version)."""
    try:
        import torch

        torch_version = str(torch.__version__)
    except ImportError:
        torch_version = "not installed"
    return MachineInfo(
        cpu=_cpu_model(),
        cores=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
        memory_gib=_memory_gib(),
        system=f"{platform.system()} {platform.release()} {platform.machine()}",
        python=platform.python_version(),
        torch=torch_version,
    )


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    return 0.0


def measure_peak_flops(dtype: str = "float32", *, size: int = 2048, seconds: float = 1.0) -> float:
    """Measured matmul FLOP/s of this machine for `dtype` ("float32" or "bfloat16") with torch's current threads.

    The figure MFU (model FLOPs utilisation) is reported against: the best of repeated square matmuls of `size`,
    which on a CPU is what a well-shaped training step can reach at most.
    """
    import time

    import torch

    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
    a = torch.randn(size, size).to(torch_dtype)
    b = torch.randn(size, size).to(torch_dtype)
    torch.mm(a, b)  # warm up: first calls pick kernels and touch memory
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * size**3 / (time.perf_counter() - start))
    return best


def peak_flops(dtype: str = "float32", cache: Path | None = None) -> float:
    """This machine's matmul peak for `dtype`, measured once and kept in `~/.cache/fourfold/peak_flops.json`.

    The cache is keyed by CPU model, torch threads and dtype, so another machine or thread count measures anew.
    """
    import json

    import torch

    path = cache or Path(os.environ.get("FOURFOLD_CACHE", Path.home() / ".cache" / "fourfold")) / "peak_flops.json"
    key = f"{_cpu_model()}|threads={torch.get_num_threads()}|{dtype}"
    try:
        known: dict[str, float] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = measure_peak_flops(dtype)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        temporary.write_text(json.dumps(known, indent=2), encoding="utf-8")
        os.replace(temporary, path)
    return known[key]
