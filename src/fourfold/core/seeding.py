"""Seeding and RNG state: one call seeds every generator a run draws from, and a checkpoint can save and restore them.

A run draws random numbers from three places: Python's `random`, NumPy's legacy global generator
(`np.random.*`), and torch (the CPU generator and one generator per CUDA device). `seed_everything` seeds all of
them from one integer. `capture_rng_state` returns their states as plain values (tuples, NumPy arrays, tensors) that
the checkpoint module stores, and `restore_rng_state` puts them back, so a resumed run draws exactly what the
uninterrupted run would have drawn.

Code that wants its own stream should build one (`np.random.default_rng(seed)`, `torch.Generator().manual_seed(seed)`)
rather than rely on global state; this module covers the global generators that libraries and old code use.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from fourfold.core.errors import FourfoldError

# NumPy's legacy generator takes seeds in [0, 2**32); torch and Python accept more, so the narrowest rule wins.
MAX_SEED = 2**32 - 1

# The keys of a captured state; "cuda" is present only where CUDA was available when it was captured.
RNG_STATE_KEYS = ("python", "numpy", "torch")


class SeedError(FourfoldError):
    """A seed is out of range, or a saved RNG state is incomplete."""


def seed_everything(seed: int) -> None:
    """Seed Python's `random`, NumPy's legacy global generator and torch (CPU and every CUDA device).

    Args:
        seed: an integer in [0, 2**32 - 1].

    Raises:
        SeedError: the seed is not an integer in that range.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise SeedError(f"seed must be an integer from 0 to {MAX_SEED} (got {seed!r}); pick another seed")
    import torch  # here, not at the top: seeding must not make a torch-free command pay for importing torch

    random.seed(seed)
    np.random.seed(seed)
    # torch.manual_seed also seeds every CUDA device; it is lazy, so this does not initialise CUDA.
    torch.manual_seed(seed)


def capture_rng_state() -> dict[str, Any]:
    """Return the current state of every global generator, for a checkpoint.

    Returns:
        A dict with "python" (the tuple from `random.getstate()`), "numpy" (the tuple from
        `np.random.get_state()`: name, uint32 array, position, has_gauss, cached_gaussian), "torch" (the CPU
        generator's uint8 tensor) and, where CUDA is available, "cuda" (a list of uint8 tensors, one per device).
    """
    import torch

    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(legacy=True),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put back the generator states returned by `capture_rng_state`.

    The "cuda" entry is restored where CUDA is available, for as many devices as both the state and this machine
    have; a state captured on a CUDA machine can thus be restored on a CPU machine (CPU draws then match exactly).

    Args:
        state: the dict from `capture_rng_state` (as stored and read back by a checkpoint).

    Raises:
        SeedError: an entry is missing or cannot be restored (a checkpoint written by something else).
    """
    import torch

    missing = [key for key in RNG_STATE_KEYS if key not in state]
    if missing:
        raise SeedError(f"the saved RNG state lacks {', '.join(missing)}; the checkpoint is incomplete or corrupt")
    try:
        python_state = state["python"]
        # A checkpoint may hand the Python state back as nested lists; random.setstate needs tuples.
        random.setstate((python_state[0], tuple(python_state[1]), python_state[2]))
        np.random.set_state(tuple(state["numpy"]))
        torch.set_rng_state(torch.as_tensor(state["torch"], dtype=torch.uint8))
        if "cuda" in state and torch.cuda.is_available():
            cuda_states = list(state["cuda"])[: torch.cuda.device_count()]
            for index, cuda_state in enumerate(cuda_states):
                torch.cuda.set_rng_state(torch.as_tensor(cuda_state, dtype=torch.uint8), device=index)
    except (TypeError, ValueError, IndexError, RuntimeError) as error:
        raise SeedError(f"the saved RNG state cannot be restored ({error}); the checkpoint is corrupt") from None
