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
