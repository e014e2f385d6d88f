"""`fourfold gpt sample`: continue prompts with a GPT from a fourfold checkpoint or a Hugging Face GPT-2 folder.

Greedy at `--temperature 0`, otherwise sampled with top-k, top-p and a repetition penalty, with a KV cache. A
single prompt streams to the terminal as it is generated; several are generated as one batch and printed in order.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from fourfold.core.device import setup_runtime
from fourfold.gpt.config import SampleConfig
from fourfold.gpt.generate import generate_text
from fourfold.gpt.pretrained import load_pretrained
from fourfold.gpt.sft import format_prompt


@dataclass
class SampleSummary:
    """The continuations, in the order of the prompts."""

    prompts: list[str] = field(default_factory=list)
    continuations: list[str] = field(default_factory=list)
    seconds: float = 0.0
    streamed: bool = False
    """The one continuation was already printed as it was generated."""

    def __str__(self) -> str:
        if self.streamed:
            return ""
        pairs = zip(self.prompts, self.continuations, strict=True)
        return "\n".join(f"--- sample {i + 1} ---\n{p}{c}" for i, (p, c) in enumerate(pairs))


def sample(config: SampleConfig) -> SampleSummary:
    """Generate a continuation for each prompt of `config` and return them (streamed to stdout for one prompt)."""
    runtime = setup_runtime(config.device)
    pretrained = load_pretrained(config.checkpoint)
    model = pretrained.model.to(runtime.device)
    prompts = [format_prompt(p) if config.sft_format else p for p in config.prompt]
    streaming = config.stream and len(prompts) == 1
    started = time.monotonic()
    if streaming:
        sys.stdout.write(prompts[0])
    continuations = generate_text(
        model,
        pretrained.tokenizer,
        prompts,
        max_new_tokens=config.max_new_tokens,
        temperature=config.temperature,
        top_k=config.top_k,
        top_p=config.top_p,
        repetition_penalty=config.repetition_penalty,
        stop=config.stop,
        seed=config.seed,
        stream_to=sys.stdout if streaming else None,
    )
    if streaming:
        sys.stdout.write("\n")
    return SampleSummary(
        prompts=prompts, continuations=continuations, seconds=time.monotonic() - started, streamed=streaming
    )
