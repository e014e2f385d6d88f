"""`fourfold gpt eval`: a deterministic full pass over a split or a file: loss, perplexity, bits per byte.

Every token but the first of each document is predicted exactly once, from the tokens before it in its window
(non-overlapping windows of the context length), so the figures are exact for that windowing and do not depend on
sampling. Bits per byte (the tokenizer-independent figure GPT-2's paper reports for enwik8 and text8) is the summed
loss in bits over the UTF-8 bytes of the text.

Shapes: B batch_size, T context_length, V vocab_size.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch.nn import functional

from fourfold.core.device import autocast, setup_runtime
from fourfold.core.errors import FourfoldError
from fourfold.core.progress import ProgressBar
from fourfold.gpt.config import EvalConfig
from fourfold.gpt.corpus import iter_documents
from fourfold.gpt.data import TokenData, count_eval_windows, eval_windows
from fourfold.gpt.pretrained import load_pretrained


@dataclass
class EvalSummary:
    """The figures of one full pass."""

    checkpoint: str
    data: str
    split: str
    loss: float
    """Mean cross-entropy per predicted token, in nats."""
    perplexity: float
    bits_per_byte: float
    tokens: int
    """Tokens predicted."""
    bytes: int
    """UTF-8 bytes of the evaluated text."""
    seconds: float


def evaluate(config: EvalConfig) -> EvalSummary:
    """Evaluate the model at `config.checkpoint` on `config.data` and return the figures."""
    started = time.monotonic()
    runtime = setup_runtime(config.device, config.threads)
    pretrained = load_pretrained(config.checkpoint)
    model = pretrained.model.to(runtime.device).eval()
    context_length = config.context_length or model.config.context_length
    if context_length > model.config.context_length:
        raise FourfoldError(
            f"--context-length {context_length} is longer than the model's {model.config.context_length} positions"
        )

    # 1. The text: a prepared split (checked to use the model's tokenizer) or a file tokenised now.
    if config.data.is_dir():
        data = TokenData.open(config.data, config.split)
        if data.tokenizer().to_dict() != pretrained.tokenizer.to_dict():
            raise FourfoldError(
                f"{config.data} was prepared with another tokenizer than {config.checkpoint}'s; prepare it again "
                f"with `fourfold gpt prepare --tokenizer-from {config.checkpoint}`"
            )
        split: str = config.split
    else:
        documents = list(iter_documents([config.data]))
        data = TokenData.from_documents(
            [pretrained.tokenizer.encode(d.text) for d in documents],
            num_bytes=sum(len(d.text.encode("utf-8")) for d in documents),
            tokenizer=pretrained.tokenizer,
        )
        split = "file"

    # 2. The pass: summed loss in float64 over every predicted token.
    total = 0.0
    tokens = 0
    with (
        torch.inference_mode(),
        ProgressBar(count_eval_windows(data, context_length), "eval", unit="window") as bar,
    ):
        for x, y in eval_windows(data, context_length, config.batch_size):
            x, y = x.to(runtime.device), y.to(runtime.device)  # (B, T) each
            with autocast(runtime):
                logits = model(x)  # (B, T, V)
            # (B, T, V) -> (B·T, V): the sum of the losses of the real targets (padding is -100)
            total += functional.cross_entropy(
                logits.flatten(0, 1).float(), y.flatten(), ignore_index=-100, reduction="sum"
            ).item()
            tokens += int((y != -100).sum())
            bar.advance(len(x))
    if tokens == 0:
        raise FourfoldError(f"{config.data} has nothing to predict: every document is shorter than two tokens")
    loss = total / tokens
    return EvalSummary(
        checkpoint=str(config.checkpoint),
        data=str(config.data),
        split=split,
        loss=loss,
        perplexity=math.exp(loss),
        bits_per_byte=total / math.log(2) / max(data.num_bytes, 1),
        tokens=tokens,
        bytes=data.num_bytes,
        seconds=time.monotonic() - started,
    )
