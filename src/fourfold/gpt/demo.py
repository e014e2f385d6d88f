"""GPT's step of `fourfold demo`: pretrain a small GPT on the Python standard library's source, then sample.

The embedded corpus needs no download. A character-level baby GPT (nanoGPT's CPU shape) trains for most of the
step's budget; the report gets the loss curves, the validation loss and bits per byte of a full pass, and
samples from three prompts.
"""

from __future__ import annotations

import math
from pathlib import Path

from fourfold.core.demo import DemoContext
from fourfold.core.plot import line_plot
from fourfold.core.runlog import read_metrics
from fourfold.gpt.config import EvalConfig, PrepareConfig, TrainConfig
from fourfold.gpt.evaluate import evaluate
from fourfold.gpt.generate import generate_text
from fourfold.gpt.prepare import prepare
from fourfold.gpt.pretrained import load_pretrained
from fourfold.gpt.train import train

PROMPTS = ("def ", "class Stack:\n    ", "import ")
STEPS_PER_SECOND = 12.0
"""A cautious estimate of the baby GPT's training speed on two cores; the time budget stops it in any case."""


def run_demo(context: DemoContext) -> None:
    """Prepare the corpus, train, evaluate, sample, and fill the report section."""
    section = context.section
    # 1. The corpus: the standard library's source, one document per file, characters as tokens.
    data = context.out_dir / "data"
    prepared = prepare(PrepareConfig(out=data, tokenizer="char", max_files=300, seed=context.seed))

    # 2. Train for most of the budget (the cosine schedule is sized to the steps that fit).
    train_seconds = max(10.0, 0.75 * context.time_left())
    steps = max(50, int(train_seconds * STEPS_PER_SECOND))
    summary = train(
        TrainConfig(
            data=data,
            name="demo",
            runs=context.out_dir / "runs",
            overwrite=True,
            preset="baby",
            context_length=128,
            num_steps=steps,
            warmup_steps=min(100, steps // 10),
            eval_interval=max(10, steps // 10),
            checkpoint_interval=steps,
            time_budget_seconds=train_seconds,
            seed=context.seed,
        )
    )

    checkpoint = Path(summary.checkpoint)

    # 3. A full deterministic pass over the validation split.
    result = evaluate(EvalConfig(checkpoint=checkpoint, data=data, split="val"))

    # 4. Samples.
    pretrained = load_pretrained(checkpoint)
    samples = generate_text(
        pretrained.model, pretrained.tokenizer, list(PROMPTS), max_new_tokens=110, temperature=0.8, seed=context.seed
    )

    # 5. The report.
    metrics = read_metrics(Path(summary.run_dir) / "metrics.jsonl")
    train_curve = [(m["step"], m["train/loss"]) for m in metrics if "train/loss" in m]
    val_curve = [(m["step"], m["eval/val_loss"]) for m in metrics if "eval/val_loss" in m]
    plot = line_plot(
        {
            "train (batch)": ([s for s, _ in train_curve], [v for _, v in train_curve]),
            "validation": ([s for s, _ in val_curve], [v for _, v in val_curve]),
        },
        context.out_dir / "loss.png",
        title="baby GPT on the Python standard library (characters)",
        xlabel="step",
        ylabel="loss (nats per character)",
    )
    section.text(
        f"A {summary.parameters:,}-parameter GPT (4 layers, 4 heads, 128 wide, context 128) trained for "
        f"{summary.steps:,} steps ({summary.seconds:.0f} s) on {prepared.train_tokens:,} characters of "
        f"{prepared.documents:,} standard-library files, validated on {prepared.val_tokens:,} held-out characters."
    )
    section.table(
        ["figure", "value"],
        [
            ["validation loss (full pass, nats/char)", result.loss],
            ["validation perplexity", result.perplexity],
            ["validation bits per byte", result.bits_per_byte],
            ["training speed (tokens/s)", summary.tokens_per_second],
            ["MFU (vs measured matmul peak)", f"{summary.mfu:.1%}"],
            ["uniform guess (nats/char)", math.log(pretrained.tokenizer.vocab_size)],
        ],
    )
    section.image(plot, "training loss (per batch) and validation loss (estimate) against steps")
    for prompt, continuation in zip(PROMPTS, samples, strict=True):
        section.code(prompt + continuation)
