"""Greedy decoding with a KV cache: fourfold's `generate` against transformers' `GPT2LMHeadModel.generate`.

Both sides run the same random weights: a `GPT2LMHeadModel` is built, saved with `save_pretrained` and imported with
`fourfold.gpt.hf.load_hf_gpt2`, so the two models compute the same function and must produce the same tokens (the
run checks it). Sizes: GPT-2 small (Radford et al. 2019: 12 layers, 768 wide, 50,257-token vocabulary, 124M
parameters), a 4.8M-parameter character-level model (6 layers, 256 wide, 65 tokens) and nanoGPT's 0.8M baby GPT
(4 layers, 128 wide, the `baby` preset the demo trains, with 128 positions). One prompt of 32 random
tokens, greedy (`temperature=0` / `do_sample=False, use_cache=True`), fp32, no stop token. Each generated token is
timestamped by a callback on both sides (fourfold's `stream`, a transformers streamer): time to first token is the
prefill plus the first step; decode rate is the tokens after the first over the time after it. Figures are medians
of 3 timed runs after one warm-up run.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import torch

from fourfold.bench import BenchRow, print_rows
from fourfold.gpt.generate import generate
from fourfold.gpt.hf import load_hf_gpt2

REPEATS = 3
PROMPT_TOKENS = 32


class Shape(NamedTuple):
    """A model shape to time, as transformers' GPT2Config arguments, and how many tokens to generate."""

    name: str
    config: dict[str, int]
    new_tokens: int
    quick_new_tokens: int


SHAPES = [
    Shape("GPT-2 124M", {"n_layer": 12, "n_head": 12, "n_embd": 768, "vocab_size": 50257, "n_positions": 1024}, 64, 16),
    Shape("4.8M char model", {"n_layer": 6, "n_head": 8, "n_embd": 256, "vocab_size": 65, "n_positions": 256}, 64, 32),
    Shape("0.8M baby GPT", {"n_layer": 4, "n_head": 4, "n_embd": 128, "vocab_size": 65, "n_positions": 128}, 64, 32),
]


class Timeline:
    """Timestamps of the tokens a generation produces, from `start()`."""

    def __init__(self) -> None:
        self.started = 0.0
        self.stamps: list[float] = []

    def start(self) -> None:
        self.started = time.perf_counter()
        self.stamps = []

    def token(self) -> None:
        self.stamps.append(time.perf_counter())

    def first_token_seconds(self) -> float:
        return self.stamps[0] - self.started

    def decode_tokens_per_second(self) -> float:
        return (len(self.stamps) - 1) / (self.stamps[-1] - self.stamps[0])


class Streamer:
    """A transformers streamer that timestamps each new token (its first `put` is the prompt)."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.seen_prompt = False

    def put(self, value: torch.Tensor) -> None:
        if self.seen_prompt:
            self.timeline.token()
        self.seen_prompt = True

    def end(self) -> None:
        self.seen_prompt = False


def measure(action: Callable[[Timeline], list[int]]) -> tuple[float, float, list[int]]:
    """Median time to first token, median decode tokens/s, and the tokens, over `REPEATS` timed runs."""
    action(Timeline())  # warm-up: first-call allocations and kernel selection
    first, rates = [], []
    tokens: list[int] = []
    for _ in range(REPEATS):
        timeline = Timeline()
        tokens = action(timeline)
        first.append(timeline.first_token_seconds())
        rates.append(timeline.decode_tokens_per_second())
    return statistics.median(first), statistics.median(rates), tokens


def compare(name: str, hf_config: dict[str, Any], new_tokens: int, threads: int) -> list[BenchRow]:
    """Time both sides on one model shape; returns a decode-rate row and a time-to-first-token row."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    reference = GPT2LMHeadModel(GPT2Config(**hf_config, bos_token_id=0, eos_token_id=None, pad_token_id=0)).eval()
    with tempfile.TemporaryDirectory(prefix="fourfold-bench-") as folder:
        reference.save_pretrained(folder)
        model = load_hf_gpt2(Path(folder))
    prompt = torch.randint(0, hf_config["vocab_size"], (1, PROMPT_TOKENS), generator=torch.Generator().manual_seed(1))

    def ours(timeline: Timeline) -> list[int]:
        timeline.start()
        return generate(
            model,
            [prompt[0].tolist()],
            max_new_tokens=new_tokens,
            temperature=0.0,
            stream=lambda r, t: timeline.token(),
        )[0]

    def theirs(timeline: Timeline) -> list[int]:
        timeline.start()
        with torch.inference_mode():
            out = reference.generate(
                prompt,
                attention_mask=torch.ones_like(prompt),
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                use_cache=True,
                streamer=Streamer(timeline),
            )
        return [int(t) for t in out[0, PROMPT_TOKENS:]]

    our_first, our_rate, our_tokens = measure(ours)
    their_first, their_rate, their_tokens = measure(theirs)
    # The figures mean nothing unless both sides did the same work.
    assert our_tokens == their_tokens, f"{name}: fourfold and transformers generated different tokens"
    what = f"{name}, prompt {PROMPT_TOKENS}, {new_tokens} new tokens"
    return [
        BenchRow(f"greedy decode, {what}", our_rate, "transformers generate", their_rate, "tokens/s", threads),
        BenchRow(
            f"time to first token, {what}",
            our_first * 1e3,
            "transformers generate",
            their_first * 1e3,
            "ms",
            threads,
            higher_is_better=False,
        ),
    ]


def run(threads: int, quick: bool) -> list[BenchRow]:
    """Greedy KV-cache decoding speed of fourfold against transformers at GPT-2 small and at a small model."""
    torch.set_num_threads(threads)
    rows = []
    for shape in SHAPES:
        rows += compare(shape.name, shape.config, shape.quick_new_tokens if quick else shape.new_tokens, threads)
    return rows


if __name__ == "__main__":
    print_rows(run(threads=2, quick=False))
