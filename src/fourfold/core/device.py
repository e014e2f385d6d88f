"""Where and how a run computes: device, CPU threads, mixed precision, and the torchrun / DDP process group.

`setup_runtime` is called once at the start of every command that computes with torch; it picks the device, sets
the number of CPU threads, chooses the autocast dtype, and, when the process was started by `torchrun`, joins the
process group (gloo on CPU, NCCL on CUDA). The resulting `Runtime` is passed to the training loop, which wraps
its forward passes in `autocast(runtime)` and calls `shutdown(runtime)` at the end.

Distributed runs use PyTorch's own launcher (`torchrun --nproc_per_node N ...`), which sets RANK, WORLD_SIZE,
LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT for every process; see
https://pytorch.org/docs/stable/elastic/run.html.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.distributed as dist

from fourfold.core.errors import FourfoldError

Precision = Literal["fp32", "bf16", "fp16"]

DEVICE_TYPES = ("cpu", "cuda", "mps")
AUTOCAST_DTYPES: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class DeviceError(FourfoldError):
    """The device, thread count, precision or torchrun environment asked for cannot be used here."""


@dataclass(frozen=True)
class Runtime:
    """The device and process layout of a run, chosen once by `setup_runtime`."""

    device: torch.device
    """Where tensors live: cpu, cuda:N or mps."""
    autocast_dtype: torch.dtype | None
    """The dtype of `autocast(runtime)` (bfloat16 or float16), or None for plain fp32."""
    rank: int = 0
    """This process's index among all processes (0 when not distributed)."""
    local_rank: int = 0
    """This process's index among the processes on this machine (0 when not distributed)."""
    world_size: int = 1
    """The number of processes in the run (1 when not distributed)."""
    threads: int = 1
    """The number of CPU threads torch uses in this process."""
    owns_process_group: bool = False
    """Whether `setup_runtime` created the process group (so `shutdown` destroys it)."""

    @property
    def is_main(self) -> bool:
        """True on the one process (rank 0) that writes logs, checkpoints and reports."""
        return self.rank == 0


def setup_runtime(device: str = "auto", threads: int | None = None, precision: Precision = "fp32") -> Runtime:
    """Pick the device, set torch's CPU threads, choose the autocast dtype and join a torchrun process group.

    Args:
        device: "auto" (cuda when available, else cpu), "cpu", "cuda", "cuda:N" or "mps". Under torchrun, "auto"
            and "cuda" mean `cuda:<LOCAL_RANK>`, one GPU per process.
        threads: CPU threads for torch; default: the cores this process may use divided by the number of
            processes on this machine (LOCAL_WORLD_SIZE), at least 1.
        precision: "fp32" (no autocast), "bf16" (CPU or GPU) or "fp16" (GPU only; the training loop then needs
            a gradient scaler).

    Returns:
        The Runtime describing the choices.

    Raises:
        DeviceError: the device is unknown or not available, the thread count is not positive, the precision is
            unknown or unsupported on the device, or the torchrun environment variables are inconsistent.
    """
    layout = _torchrun_layout()
    distributed = layout is not None
    rank, local_rank, world_size = layout if layout is not None else (0, 0, 1)
    chosen = _choose_device(device, local_rank if distributed else None)
    dtype = _choose_autocast_dtype(precision, chosen)

    if threads is None:
        threads = max(1, _usable_cores() // _local_world_size())
    elif isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise DeviceError(f"threads must be a positive integer (got {threads!r}); pass e.g. --threads 4")
    torch.set_num_threads(threads)

    owns_process_group = False
    if distributed and not dist.is_initialized():
        if chosen.type == "mps":
            raise DeviceError("torchrun runs on mps are not supported by torch.distributed; use --device cpu")
        backend = "nccl" if chosen.type == "cuda" else "gloo"
        if chosen.type == "cuda":
            # NCCL binds each process to the current CUDA device, so set it before joining the group.
            torch.cuda.set_device(chosen)
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world_size)
        owns_process_group = True
    return Runtime(
        device=chosen,
        autocast_dtype=dtype,
        rank=rank,
        local_rank=local_rank,
        world_size=world_size,
        threads=threads,
        owns_process_group=owns_process_group,
    )


def autocast(runtime: Runtime) -> contextlib.AbstractContextManager[Any]:
    """A context manager for forward passes: `torch.autocast` for bf16/fp16, a null context for fp32."""
    if runtime.autocast_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=runtime.device.type, dtype=runtime.autocast_dtype)


def shutdown(runtime: Runtime) -> None:
    """Destroy the process group if `setup_runtime` created it; a no-op otherwise (safe to call twice)."""
    if runtime.owns_process_group and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_distributed() -> bool:
    """True when a torch.distributed process group is initialised in this process (by us or by the caller)."""
    return dist.is_available() and dist.is_initialized()


def _torchrun_layout() -> tuple[int, int, int] | None:
    """Read (rank, local_rank, world_size) from torchrun's environment; None when not started by torchrun."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return None
    rank = _env_int("RANK")
    world_size = _env_int("WORLD_SIZE")
    local_rank = _env_int("LOCAL_RANK") if "LOCAL_RANK" in os.environ else rank
    if world_size < 1 or not 0 <= rank < world_size or local_rank < 0:
        raise DeviceError(
            f"the torchrun environment is inconsistent (RANK={rank}, WORLD_SIZE={world_size}, "
            f"LOCAL_RANK={local_rank}); launch with torchrun or unset these variables"
        )
    if not dist.is_available():
        raise DeviceError("this torch build has no torch.distributed, so it cannot run under torchrun")
    return rank, local_rank, world_size


def _env_int(name: str) -> int:
    value = os.environ[name]
    try:
        return int(value)
    except ValueError:
        raise DeviceError(f"environment variable {name} must be an integer (got {value!r})") from None


def _local_world_size() -> int:
    """The number of processes sharing this machine's cores (torchrun's LOCAL_WORLD_SIZE, else 1)."""
    value = os.environ.get("LOCAL_WORLD_SIZE", "1")
    try:
        return max(1, int(value))
    except ValueError:
        return 1


def _usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _choose_device(name: str, local_rank: int | None) -> torch.device:
    """Parse and check a device name; `local_rank` (under torchrun) picks the GPU for "auto" and "cuda"."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in DEVICE_TYPES:
        raise DeviceError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type == "mps":
        if not torch.backends.mps.is_available():
            raise DeviceError("device 'mps' was asked for but this machine or torch build has no MPS; use cpu")
        return torch.device("mps")
    if not torch.cuda.is_available():
        raise DeviceError(f"device {name!r} was asked for but torch sees no CUDA GPU; use --device cpu or auto")
    index = device.index if device.index is not None else (local_rank or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceError(
            f"device cuda:{index} was asked for but this machine has {count} GPU(s) (cuda:0 to "
            f"cuda:{count - 1}); pick one of those"
        )
    return torch.device("cuda", index)


def _choose_autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """Map a precision name to the autocast dtype, refusing combinations the device cannot run."""
    if precision not in AUTOCAST_DTYPES:
        raise DeviceError(f"unknown precision {precision!r}; use fp32, bf16 or fp16")
    if precision == "fp16" and device.type == "cpu":
        raise DeviceError("precision fp16 is not supported on cpu; use bf16 or fp32 there")
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise DeviceError(f"precision bf16 is not supported by {torch.cuda.get_device_name(device)}; use fp16 or fp32")
    return AUTOCAST_DTYPES[precision]
