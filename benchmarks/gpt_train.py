"""GPT training: tokens/s, MFU, peak memory and bf16-vs-fp32 agreement, fourfold against transformers.

The peer is transformers' `GPT2LMHeadModel` trained the way its `Trainer` does by default on this torch: the loss
from `labels=`, global-norm clipping at 1.0 and `torch.optim.AdamW(fused=True)` (Trainer's `adamw_torch_fused`),
with the same decay / no-decay groups and hyperparameters as fourfold; under bf16, `torch.autocast("cpu",
torch.bfloat16)` around the forward pass, as `Trainer(bf16=True)` does on a CPU. fourfold runs its own training step
(`fourfold.gpt.train.train_step`, what `fourfold gpt train` runs): in fp32 the same maths with a fused
output-head cross-entropy, in bf16 its mixed precision (`fourfold.gpt.precision`: bf16 compute copy of the matmul
weights, fp32 master weights and gradients).

- Speed: GPT-2 small (Radford et al. 2019: 12 layers, 768 wide, 50,257-token vocabulary, 124M parameters; dropout
  0) built by transformers with random weights, saved and imported into fourfold, so both sides start from the same
  weights; the same batches of random tokens, batch 4 x 256, each a full optimizer step. The two sides' steps
  alternate, so a slow spell of this shared machine hits both alike; tokens/s is batch x context over the median
  step time after warm-up. Both sides' first losses must agree (they compute the same function). MFU is training
  FLOPs (`GPT.flops_per_token`: 6N plus attention) per second over the machine's measured matmul peak for the dtype
  (`fourfold.core.machine.peak_flops`).
- Memory: one fine-tune step (forward, backward, clipping, AdamW, which allocates its moments) of the same 124M
  model at batch 4 x 512, fp32, each side in a fresh subprocess that imports only its own library, loads the
  weights from the same safetensors folder and then reads its peak resident set (VmHWM, the figure
  `getrusage(RUSAGE_SELF).ru_maxrss` gives in a process not started by a larger one): the whole process
  (interpreter, libraries, weights, gradients, Adam moments, activations, logits). A second row gives the step's
  own share: that peak minus the resident set just before the step, once every weight has been read (transformers
  may leave the weights mapped from the file, resident only when first read).
- Agreement: a small model (the `baby` preset, nanoGPT's 0.8M baby GPT, on character-level tinyshakespeare when
  $FOURFOLD_DATA has it, else on the standard library's source) trained 200 steps in fp32 and in bf16 from the same
  initial weights and batches; the figure is the largest relative difference between the two 10-step running means
  of the training loss (the issue's goal: within 1 %). fourfold trains with `fourfold.gpt.train.train`; the peer is
  transformers with the same weights, batches, schedule and optimizer, fp32 against autocast.

`quick` keeps 2 of the 12 layers, fewer steps and 60 agreement steps: a smoke run, not figures to publish.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from fourfold.bench import BenchRow, print_rows
from fourfold.core.device import setup_runtime
from fourfold.core.machine import peak_flops
from fourfold.core.schedules import warmup_cosine
from fourfold.gpt.model import GPT

GPT2_SMALL = {"n_layer": 12, "n_head": 12, "n_embd": 768, "vocab_size": 50257, "n_positions": 1024}
NO_DROPOUT = {"resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}
LEARNING_RATE, WEIGHT_DECAY, BETAS, GRAD_CLIP = 1e-4, 0.1, (0.9, 0.95), 1.0
SMOOTHING = 10
"""Steps in the running mean of the loss curves compared for bf16-vs-fp32 agreement."""


def reference_model(shape: dict[str, int], folder: Path) -> None:
    """Save a randomly initialised transformers GPT-2 of `shape` (no dropout) into `folder`."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(**shape, **NO_DROPOUT)).save_pretrained(folder)


def adamw(model: torch.nn.Module) -> torch.optim.AdamW:
    """torch's fused AdamW with decay on the 2-D weights only, for the transformers side (fourfold's own groups)."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in parameters if p.dim() >= 2], "weight_decay": WEIGHT_DECAY},
        {"params": [p for p in parameters if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=LEARNING_RATE, betas=BETAS, fused=True)


def token_batches(vocab_size: int, batch_size: int, context: int, count: int) -> list[tuple[Tensor, Tensor, Tensor]]:
    """(x, y, labels) batches of random tokens: fourfold's inputs and targets, and transformers' `labels`.

    transformers shifts `labels` itself and so predicts the context's last T - 1 tokens; fourfold's last target is
    ignored (-100) to give it the very same T - 1 targets.
    """
    generator = torch.Generator().manual_seed(1)
    batches = []
    for _ in range(count):
        tokens = torch.randint(0, vocab_size, (batch_size, context + 1), generator=generator)  # (B, T + 1)
        x, y = tokens[:, :-1], tokens[:, 1:].clone()  # (B, T) each
        y[:, -1] = -100
        batches.append((x, y, x))
    return batches


def compare_speed(
    shape: dict[str, int], precision: str, batch_size: int, context: int, steps: int, warmup: int, threads: int
) -> list[BenchRow]:
    """Alternate training steps of both sides on the same weights and batches; tokens/s and MFU rows."""
    from transformers import GPT2LMHeadModel

    from fourfold.gpt.hf import load_hf_gpt2
    from fourfold.gpt.precision import MixedPrecision
    from fourfold.gpt.train import train_step

    bf16 = precision == "bf16"
    runtime = setup_runtime("cpu", threads, "bf16" if bf16 else "fp32")
    with tempfile.TemporaryDirectory(prefix="fourfold-bench-") as folder:
        reference_model(shape, Path(folder))
        reference = GPT2LMHeadModel.from_pretrained(folder).train()
        model = load_hf_gpt2(Path(folder)).train()
    optimizer = model.configure_optimizer(weight_decay=WEIGHT_DECAY, learning_rate=LEARNING_RATE, betas=BETAS)
    mixed = MixedPrecision(model, torch.bfloat16 if bf16 else None)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    their_optimizer = adamw(reference)
    batches = token_batches(shape["vocab_size"], batch_size, context, warmup + steps)

    def ours(index: int) -> float:
        x, y, _ = batches[index]
        return train_step(mixed.compute, mixed, optimizer, scaler, [(x, y)], runtime, GRAD_CLIP).item()

    def theirs(index: int) -> float:
        x, _, labels = batches[index]
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            loss = reference(input_ids=x, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), GRAD_CLIP)
        their_optimizer.step()
        their_optimizer.zero_grad(set_to_none=True)
        return float(loss.item())

    our_times, their_times = [], []
    for index in range(warmup + steps):
        our_seconds, our_loss = timed(lambda: ours(index))  # noqa: B023 (called at once)
        their_seconds, their_loss = timed(lambda: theirs(index))  # noqa: B023
        if index == 0:  # the figures mean nothing unless both sides compute the same function
            tolerance = 2e-2 if bf16 else 1e-4
            assert abs(our_loss - their_loss) <= tolerance * their_loss, f"first losses {our_loss} vs {their_loss}"
        if index >= warmup:
            our_times.append(our_seconds)
            their_times.append(their_seconds)
    tokens = batch_size * context
    our_rate, their_rate = tokens / statistics.median(our_times), tokens / statistics.median(their_times)
    peak = peak_flops("bfloat16" if bf16 else "float32")
    flops = model.flops_per_token(context)
    size = f"{model.num_parameters() / 1e6:.0f}M"
    peer = "transformers GPT2LMHeadModel" + (" under torch.autocast bf16" if bf16 else "")
    what = f"train {size} GPT-2 ({shape['n_layer']} layers), batch {batch_size} x {context}, {precision}, AdamW step"
    return [
        BenchRow(what, our_rate, peer, their_rate, "tokens/s", threads),
        BenchRow(
            f"MFU of that step (model FLOP/s over the measured {precision} matmul peak, {peak / 1e9:.0f} GFLOP/s)",
            100 * our_rate * flops / peak,
            peer,
            100 * their_rate * flops / peak,
            "%",
            threads,
        ),
    ]


def timed(action: Callable[[], float]) -> tuple[float, float]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def compare_memory(shape: dict[str, int], batch_size: int, context: int, threads: int) -> list[BenchRow]:
    """Peak resident memory of one fine-tune step, each side in its own fresh process."""
    figures = {}
    with tempfile.TemporaryDirectory(prefix="fourfold-bench-") as folder:
        reference_model(shape, Path(folder))
        for side in ("fourfold", "transformers"):
            command = [sys.executable, __file__, "--memory-step", side, folder, str(batch_size), str(context)]
            environment = {**os.environ, "OMP_NUM_THREADS": str(threads)}
            done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"the {side} memory step failed:\n{done.stderr[-2000:]}")
            figures[side] = json.loads(done.stdout.strip().splitlines()[-1])
    ours, theirs = figures["fourfold"], figures["transformers"]
    what = f"fine-tune step of {shape['n_layer']}-layer GPT-2, batch {batch_size} x {context}, fp32"
    peer = "transformers GPT2LMHeadModel"
    return [
        BenchRow(
            f"peak RSS of a fresh process: libraries + weights + {what}",
            ours["peak_mb"],
            peer,
            theirs["peak_mb"],
            "MB",
            threads,
            higher_is_better=False,
        ),
        BenchRow(
            f"the step's share: peak RSS minus RSS with the model loaded, {what}",
            ours["peak_mb"] - ours["before_mb"],
            peer,
            theirs["peak_mb"] - theirs["before_mb"],
            "MB",
            threads,
            higher_is_better=False,
        ),
    ]


def memory_step(side: str, folder: str, batch_size: int, context: int) -> dict[str, float]:
    """In a fresh process: load one side's model from `folder`, run one full training step, report memory (MB)."""
    torch.manual_seed(0)
    if side == "fourfold":
        from fourfold.gpt.hf import load_hf_gpt2
        from fourfold.gpt.precision import MixedPrecision
        from fourfold.gpt.train import train_step

        model = load_hf_gpt2(folder).train()
        optimizer = model.configure_optimizer(weight_decay=WEIGHT_DECAY, learning_rate=LEARNING_RATE, betas=BETAS)
        mixed, runtime = MixedPrecision(model, None), setup_runtime("cpu", torch.get_num_threads(), "fp32")
        x, y, _ = token_batches(model.config.vocab_size, batch_size, context, 1)[0]
        touch(model)
        before = resident_mb()
        train_step(model, mixed, optimizer, torch.amp.GradScaler("cpu", enabled=False), [(x, y)], runtime, GRAD_CLIP)
    else:
        from transformers import GPT2LMHeadModel

        reference = GPT2LMHeadModel.from_pretrained(folder).train()
        their_optimizer = adamw(reference)
        x, _, labels = token_batches(reference.config.vocab_size, batch_size, context, 1)[0]
        touch(reference)
        before = resident_mb()
        reference(input_ids=x, labels=labels).loss.backward()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), GRAD_CLIP)
        their_optimizer.step()
        their_optimizer.zero_grad(set_to_none=True)
    return {"before_mb": before, "peak_mb": peak_resident_mb()}


def touch(model: torch.nn.Module) -> None:
    """Read every weight once: a loader may leave them mapped from the file, resident only once read."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.sum()


def resident_mb() -> float:
    """This process's resident set now, in MB (VmRSS of /proc/self/status)."""
    return _status_mb("VmRSS")


def peak_resident_mb() -> float:
    """This process's peak resident set, in MB (VmHWM of /proc/self/status, where Linux has it).

    Not `getrusage(RUSAGE_SELF).ru_maxrss`: Linux carries the parent's peak over into a child it starts (through
    fork and exec), so a child of this large benchmark process would report the parent's peak.
    """
    if Path("/proc/self/status").is_file():
        return _status_mb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux, no /proc elsewhere


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"/proc/self/status has no {field}")


def compare_agreement(steps: int, threads: int) -> list[BenchRow]:
    """The largest relative gap between bf16 and fp32 smoothed loss curves: fourfold's and transformers' own."""
    from transformers import GPT2LMHeadModel

    from fourfold.core.checkpoint import save_checkpoint
    from fourfold.core.runlog import read_metrics
    from fourfold.gpt.config import PrepareConfig, TrainConfig, preset
    from fourfold.gpt.data import TokenData, batch
    from fourfold.gpt.hf import export_hf_gpt2
    from fourfold.gpt.prepare import prepare
    from fourfold.gpt.train import train

    with tempfile.TemporaryDirectory(prefix="fourfold-bench-") as directory:
        root = Path(directory)
        corpus = agreement_corpus(root / "data", prepare, PrepareConfig)
        tokenizer = TokenData.open(corpus, "train").tokenizer()
        torch.manual_seed(0)
        initial = GPT(preset("baby").replace(vocab_size=tokenizer.vocab_size))
        state = {"tokenizer": tokenizer.to_dict()}
        save_checkpoint(root / "init", model=initial.state_dict(), config=initial.config, state=state, kind="gpt")
        export_hf_gpt2(initial, root / "init-hf")
        settings: dict[str, Any] = dict(
            data=corpus,
            runs=root / "runs",
            init_from=root / "init",
            num_steps=steps,
            batch_size=12,
            warmup_steps=min(100, steps // 4),
            beta2=0.99,
            dropout=0.0,
            straddle=True,
            log_interval=1,
            eval_interval=steps,
            eval_batches=1,
            checkpoint_interval=steps,
            threads=threads,
            peak_flops=1e12,
        )
        ours: dict[str, list[float]] = {}
        for precision in ("fp32", "bf16"):
            summary = train(TrainConfig(**settings, name=precision, precision=precision))
            metrics = read_metrics(Path(summary.run_dir) / "metrics.jsonl")
            ours[precision] = [m["train/loss"] for m in metrics if "train/loss" in m]
        config = TrainConfig(**settings)
        data = TokenData.open(corpus, "train")
        theirs = {}
        for precision in ("fp32", "bf16"):
            reference = GPT2LMHeadModel.from_pretrained(root / "init-hf").train()
            optimizer = torch.optim.AdamW(
                [
                    {"params": [p for p in reference.parameters() if p.dim() >= 2], "weight_decay": 0.1},
                    {"params": [p for p in reference.parameters() if p.dim() < 2], "weight_decay": 0.0},
                ],
                lr=config.learning_rate,
                betas=(config.beta1, config.beta2),
                fused=True,
            )
            losses = []
            for step in range(steps):
                for group in optimizer.param_groups:
                    group["lr"] = warmup_cosine(
                        step,
                        warmup_steps=config.warmup_steps,
                        total_steps=steps,
                        max_value=config.learning_rate,
                        min_value=config.min_learning_rate,
                    )
                x, y = batch(
                    data, step, batch_size=12, context_length=initial.config.context_length, seed=0, straddle=True
                )
                with torch.autocast("cpu", torch.bfloat16, enabled=precision == "bf16"):
                    logits = reference(input_ids=x).logits  # (B, T, V)
                loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), y.flatten())
                loss.backward()
                torch.nn.utils.clip_grad_norm_(reference.parameters(), config.grad_clip)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(float(loss.item()))
            theirs[precision] = losses
    source = "tinyshakespeare" if corpus_name() == "tinyshakespeare" else "stdlib source"
    return [
        BenchRow(
            f"bf16 vs fp32 loss curves, baby GPT on char {source}, {steps} steps: max gap of {SMOOTHING}-step means",
            100 * curve_gap(ours["fp32"], ours["bf16"]),
            "transformers: autocast bf16 vs fp32",
            100 * curve_gap(theirs["fp32"], theirs["bf16"]),
            "%",
            threads,
            higher_is_better=False,
        )
    ]


def corpus_name() -> str:
    """ "tinyshakespeare" when $FOURFOLD_DATA holds it, else "stdlib"."""
    data = os.environ.get("FOURFOLD_DATA")
    if data and (Path(data) / "tinyshakespeare" / "input.txt").is_file():
        return "tinyshakespeare"
    return "stdlib"


def agreement_corpus(out: Path, prepare: Callable[..., object], prepare_config: type) -> Path:
    """Prepare the character-level corpus of the agreement row into `out`."""
    if corpus_name() == "tinyshakespeare":
        prepare(prepare_config(sources=(Path("tinyshakespeare"),), tokenizer="char", out=out))
    else:
        prepare(prepare_config(tokenizer="char", max_files=200, out=out))
    return out


def curve_gap(reference: list[float], other: list[float]) -> float:
    """The largest relative difference between the running means (over `SMOOTHING` steps) of two loss curves."""
    gaps = []
    for end in range(SMOOTHING, len(reference) + 1):
        a = statistics.fmean(reference[end - SMOOTHING : end])
        b = statistics.fmean(other[end - SMOOTHING : end])
        gaps.append(abs(b - a) / a)
    return max(gaps)


def run(threads: int, quick: bool) -> list[BenchRow]:
    """Training speed (fp32, bf16), peak memory and bf16 agreement of fourfold against transformers."""
    torch.set_num_threads(threads)
    shape = {**GPT2_SMALL, "n_layer": 2} if quick else GPT2_SMALL
    steps, warmup = (3, 1) if quick else (7, 2)
    rows = compare_speed(shape, "fp32", 4, 256, steps, warmup, threads)
    rows += compare_speed(shape, "bf16", 4, 256, steps, warmup, threads)
    rows += compare_memory(shape, 4, 512, threads)
    rows += compare_agreement(60 if quick else 200, threads)
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--memory-step"]:
        side, folder, batch_size, context = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        print(json.dumps(memory_step(side, folder, batch_size, context)))
    else:
        print_rows(run(threads=2, quick=False))
