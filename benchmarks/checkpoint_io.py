"""Checkpoint write and read throughput: `save_checkpoint` / `load_checkpoint` against `torch.save` / `torch.load`.

The state dict has GPT-2 small's shapes (Radford et al. 2019: 12 layers, 768 wide, 50257-token vocabulary, 1024
positions, output head tied to the token embedding), fp32, about 500 MB; `quick` keeps one layer and a 8192-token
vocabulary (about 56 MB). Both sides write to the same temporary folder, so the same disk and page cache. fourfold
does more per byte on purpose: it fsyncs every file and the folders (the save survives a power cut), hashes every
file for the manifest, and by default verifies those hashes on load; torch.save and torch.load do none of that.
A timed load includes one pass over every tensor (a sum), the same on both sides: safetensors maps the file into
memory and reads it only when touched, so without that pass the load would time almost nothing. Throughput is the
state dict's bytes (a tied tensor counted once) over the median of 3 timed runs.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from fourfold.bench import BenchRow, print_rows
from fourfold.core.checkpoint import load_checkpoint, save_checkpoint

REPEATS = 3


def gpt2_small_state(num_layers: int, vocab_size: int) -> dict[str, torch.Tensor]:
    """A state dict with the names and shapes of Hugging Face's GPT-2 small (embed_dim 768, context_length 1024)."""
    embed_dim, context_length = 768, 1024
    generator = torch.Generator().manual_seed(0)

    def tensor(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator)

    state = {
        "transformer.wte.weight": tensor(vocab_size, embed_dim),
        "transformer.wpe.weight": tensor(context_length, embed_dim),
    }
    for layer in range(num_layers):
        prefix = f"transformer.h.{layer}."
        for name, shape in [
            ("ln_1.weight", (embed_dim,)),
            ("ln_1.bias", (embed_dim,)),
            ("attn.c_attn.weight", (embed_dim, 3 * embed_dim)),
            ("attn.c_attn.bias", (3 * embed_dim,)),
            ("attn.c_proj.weight", (embed_dim, embed_dim)),
            ("attn.c_proj.bias", (embed_dim,)),
            ("ln_2.weight", (embed_dim,)),
            ("ln_2.bias", (embed_dim,)),
            ("mlp.c_fc.weight", (embed_dim, 4 * embed_dim)),
            ("mlp.c_fc.bias", (4 * embed_dim,)),
            ("mlp.c_proj.weight", (4 * embed_dim, embed_dim)),
            ("mlp.c_proj.bias", (embed_dim,)),
        ]:
            state[prefix + name] = tensor(*shape)
    state["transformer.ln_f.weight"] = tensor(embed_dim)
    state["transformer.ln_f.bias"] = tensor(embed_dim)
    state["lm_head.weight"] = state["transformer.wte.weight"]  # tied, as in GPT-2
    return state


def median_seconds(action: Callable[[], object]) -> float:
    """Median wall time of `REPEATS` runs of `action`."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def touch(tensors: dict[str, torch.Tensor]) -> None:
    """Read every byte of `tensors` (a mapped file is read lazily)."""
    for tensor in tensors.values():
        tensor.sum()


def run(threads: int, quick: bool) -> list[BenchRow]:
    """Time saving and loading one GPT-2-small-shaped state dict with fourfold and with torch."""
    torch.set_num_threads(threads)
    state = gpt2_small_state(num_layers=1 if quick else 12, vocab_size=8192 if quick else 50257)
    unique = {tensor.data_ptr(): tensor for tensor in state.values()}
    megabytes = sum(t.numel() * t.element_size() for t in unique.values()) / 1e6
    size = f"{megabytes:.0f} MB GPT-2-small-shaped state dict"

    with tempfile.TemporaryDirectory(prefix="fourfold-bench-") as directory:
        folder, file = Path(directory) / "checkpoint", Path(directory) / "state.pt"
        save_ours = median_seconds(lambda: save_checkpoint(folder, model=state, step=1, kind="bench"))
        save_torch = median_seconds(lambda: torch.save(state, file))
        load_ours = median_seconds(lambda: touch(load_checkpoint(folder, verify=True).model))
        load_unverified = median_seconds(lambda: touch(load_checkpoint(folder, verify=False).model))
        load_torch = median_seconds(lambda: touch(torch.load(file, weights_only=True)))

        loaded = load_checkpoint(folder).model  # the figures mean nothing unless both sides read back the same
        assert all(torch.equal(loaded[name], tensor) for name, tensor in state.items())

    def row(what: str, ours: float, peer: str, theirs: float) -> BenchRow:
        return BenchRow(what, megabytes / ours, peer, megabytes / theirs, "MB/s", threads)

    return [
        row(f"save {size} (fsync + sha256)", save_ours, "torch.save", save_torch),
        row(f"load {size} (sha256 verified)", load_ours, "torch.load", load_torch),
        row(f"load {size} (verify=False)", load_unverified, "torch.load", load_torch),
    ]


if __name__ == "__main__":
    print_rows(run(threads=2, quick=False))
