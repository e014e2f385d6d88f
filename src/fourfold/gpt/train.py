"""`fourfold gpt train`: pretraining and fine-tuning of a GPT in one explicit loop.

The recipe is GPT-2's as nanoGPT reproduces it (Radford et al. 2019; Karpathy's nanoGPT): AdamW (fused) with
weight decay on matmul and embedding weights only, linear warmup then cosine decay, gradient accumulation,
global-norm clipping, optional `torch.compile`, periodic loss estimates, and checkpoints from which a killed run
resumes exactly: a batch is a pure function of (seed, step), and the model, optimizer and RNG states travel in the
checkpoint. Several processes train through `torchrun` with DDP (gloo on CPU, nccl on GPU); each takes its slice of
the same global batch, so N processes make the same update as one.

What makes a step fast (`train_step`): the loss comes from `model(x, targets=y)`, which never materialises the fp32
logits (`fourfold.gpt.model.output_cross_entropy`); `--precision bf16` is bf16 compute with fp32 master weights
(`fourfold.gpt.precision`): forward and backward run on a copy whose matmul weights are bf16, under autocast for
the activations, the gradients are summed into the fp32 masters, the optimizer steps those and the copy is
refreshed, and checkpoints hold the fp32 masters. `--optimizer muon` (`fourfold.gpt.muon`) trains the blocks'
matrices with Muon instead of AdamW; each parameter group's peak rate follows the one schedule.

Supervised fine-tuning (`--sft FILE`) runs the same loop on prompt/response examples with the loss on response
tokens only (targets -100 elsewhere).

Shapes: B batch_size, T context_length, V vocab_size.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from fourfold.core.checkpoint import (
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    load_model_state,
    prune_checkpoints,
    save_checkpoint,
)
from fourfold.core.config import ConfigError, from_jsonable, to_jsonable
from fourfold.core.device import Runtime, autocast, setup_runtime, shutdown
from fourfold.core.errors import FourfoldError
from fourfold.core.machine import peak_flops
from fourfold.core.nn import SelfAttention
from fourfold.core.progress import ProgressBar
from fourfold.core.runlog import Run, RunMode, open_run
from fourfold.core.schedules import warmup_cosine
from fourfold.core.seeding import capture_rng_state, restore_rng_state, seed_everything
from fourfold.gpt.config import GPTConfig, TrainConfig, preset
from fourfold.gpt.data import TokenData, batch
from fourfold.gpt.model import GPT
from fourfold.gpt.muon import Muon, muon_groups
from fourfold.gpt.precision import MixedPrecision
from fourfold.gpt.pretrained import load_pretrained
from fourfold.gpt.sft import load_sft, sft_batch
from fourfold.gpt.tokenizer import Tokenizer, tokenizer_from_dict

Batches = Callable[[int], tuple[Tensor, Tensor]]
"""A pure function from a batch index to (x, y), both (B, T) on the CPU."""


@dataclass
class TrainSummary:
    """What a training run reached."""

    run_dir: str
    checkpoint: str
    steps: int
    parameters: int
    train_loss: float
    """The last loss estimate on training batches (nats per token)."""
    val_loss: float | None
    """The last loss estimate on validation batches."""
    tokens_per_second: float
    """Tokens processed per second by all processes, over the time spent in this invocation's training steps."""
    mfu: float
    """Model FLOPs utilisation: achieved training FLOP/s over the machine's measured matmul peak."""
    seconds: float


def train(config: TrainConfig) -> TrainSummary:
    """Train (or fine-tune, or resume) a GPT as `config` says and return what it reached."""
    # 1. Runtime: device, threads, precision, torchrun; one seed for initialisation and dropout.
    runtime = setup_runtime(config.device, config.threads, config.precision)
    try:
        return _train(config, runtime)
    finally:
        shutdown(runtime)


def _train(config: TrainConfig, runtime: Runtime) -> TrainSummary:
    seed_everything(config.seed)
    run_dir = config.runs / "gpt" / config.name

    # 2. Model and tokenizer: from the run's latest checkpoint, a pretrained folder, or a preset.
    resume_from = _resume_checkpoint(run_dir) if config.resume else None
    if resume_from is not None:
        checkpoint = load_checkpoint(resume_from, kind="gpt")
        model_config = from_jsonable(GPTConfig, checkpoint.config)
        model = GPT(model_config)
        load_model_state(model, checkpoint.model, str(resume_from))
        tokenizer = tokenizer_from_dict(checkpoint.state["tokenizer"])
        start_step = checkpoint.step
    else:
        model, tokenizer = _initial_model(config)
        start_step = 0
    if config.dropout is not None:
        _set_dropout(model, config.dropout)
    model_config = model.config
    context_length = config.context_length or model_config.context_length
    if context_length > model_config.context_length:
        raise ConfigError(
            "context_length", f"is {context_length} but the model has only {model_config.context_length} positions"
        )
    model.to(runtime.device)

    # 3. Data: pure batch functions for training and for the loss estimates.
    train_batches, val_batches = _batch_sources(config, tokenizer, model_config, context_length, runtime)

    # 4. Optimizer over the fp32 master weights (decay on 2-D weights only); for bf16 the compute copy with bf16
    #    matmul weights, for fp16 loss scaling; DDP and compile wrappers around what computes.
    optimizer = _optimizer(config, model)
    if resume_from is not None:
        optimizer.load_state_dict(checkpoint.state["optimizer"])
        restore_rng_state(checkpoint.state["rng"])
    mixed = MixedPrecision(model, torch.bfloat16 if config.precision == "bf16" else None)
    scaler = torch.amp.GradScaler(runtime.device.type, enabled=config.precision == "fp16")
    forward: torch.nn.Module = mixed.compute
    if runtime.world_size > 1:
        forward = torch.nn.parallel.DistributedDataParallel(forward)
    if config.compile:
        forward = torch.compile(forward)  # type: ignore[assignment]
    tokens_per_step = config.batch_size * context_length * config.grad_accum * runtime.world_size
    flops_per_step = model.flops_per_token(context_length) * tokens_per_step
    peak = config.peak_flops or peak_flops("bfloat16" if config.precision == "bf16" else "float32")

    # 5. Run directory: metrics and checkpoints on the main process only.
    run: Run | None = None
    if runtime.is_main:
        mode: RunMode = "resume" if resume_from is not None else "overwrite" if config.overwrite else "new"
        run = open_run("gpt", config.name, config, root=config.runs, mode=mode, resume_step=start_step)

    # 6. The loop: accumulate gradients over micro-batches, clip, step; log, estimate, checkpoint.
    started = time.monotonic()
    # Speed counts only the time spent in training steps, not in loss estimates and checkpoints.
    window_seconds, window_steps, total_seconds, total_steps = 0.0, 0, 0.0, 0
    train_loss, val_loss = math.nan, None
    last_checkpoint = str(resume_from or "")
    step = start_step
    with ProgressBar(config.num_steps, "train", unit="step", enabled=runtime.is_main) as bar:
        bar.advance(start_step)
        while step < config.num_steps:
            step_started = time.monotonic()
            learning_rate = warmup_cosine(
                step,
                warmup_steps=min(config.warmup_steps, config.num_steps),
                total_steps=config.num_steps,
                max_value=config.learning_rate,
                min_value=config.min_learning_rate,
            )
            for group in optimizer.param_groups:  # each group's peak rate follows the schedule's shape
                group["lr"] = group["initial_lr"] * learning_rate / config.learning_rate
            micro_batches = [train_batches(step * config.grad_accum + micro) for micro in range(config.grad_accum)]
            loss_sum = train_step(forward, mixed, optimizer, scaler, micro_batches, runtime, config.grad_clip)
            step += 1
            step_seconds = time.monotonic() - step_started
            window_seconds, window_steps = window_seconds + step_seconds, window_steps + 1
            total_seconds, total_steps = total_seconds + step_seconds, total_steps + 1
            bar.advance()

            done = step == config.num_steps
            out_of_time = (
                config.time_budget_seconds is not None and time.monotonic() - started > config.time_budget_seconds
            )
            if step % config.log_interval == 0 or done or out_of_time:
                tokens_per_second = tokens_per_step * window_steps / window_seconds
                mfu = flops_per_step * window_steps / window_seconds / (peak * runtime.world_size)
                step_loss = loss_sum.item() / config.grad_accum
                bar.set_postfix(f"loss {step_loss:.4f} · {tokens_per_second:,.0f} tok/s · MFU {mfu:.0%}")
                if run is not None:
                    run.log(
                        step,
                        {
                            "train/loss": step_loss,
                            "train/lr": learning_rate,
                            "train/tokens_per_second": tokens_per_second,
                            "train/mfu": mfu,
                        },
                    )
                window_seconds, window_steps = 0.0, 0
            if step % config.eval_interval == 0 or done or out_of_time:
                compute = mixed.compute
                train_loss = estimate_loss(compute, train_batches, config.eval_batches, runtime, offset=1 << 40)
                val_loss = estimate_loss(compute, val_batches, config.eval_batches, runtime) if val_batches else None
                if run is not None:
                    metrics = {"eval/train_loss": train_loss}
                    if val_loss is not None:
                        metrics["eval/val_loss"] = val_loss
                    run.log(step, metrics)
            if (step % config.checkpoint_interval == 0 or done or out_of_time) and run is not None:
                path = checkpoint_path(run.checkpoints, step)
                state = {
                    "optimizer": optimizer.state_dict(),
                    "rng": capture_rng_state(),
                    "tokenizer": tokenizer.to_dict(),
                    "train_config": to_jsonable(config),
                }
                save_checkpoint(path, model=model.state_dict(), config=model_config, state=state, step=step, kind="gpt")
                prune_checkpoints(run.checkpoints, config.keep_checkpoints)
                last_checkpoint = str(path)
            if out_of_time:
                break
    if run is not None:
        run.close()
    return TrainSummary(
        run_dir=str(run_dir),
        checkpoint=last_checkpoint,
        steps=step,
        parameters=model.num_parameters(),
        train_loss=train_loss,
        val_loss=val_loss,
        tokens_per_second=tokens_per_step * total_steps / max(total_seconds, 1e-9),
        mfu=flops_per_step * total_steps / max(total_seconds, 1e-9) / (peak * runtime.world_size),
        seconds=time.monotonic() - started,
    )


def train_step(
    forward: torch.nn.Module,
    mixed: MixedPrecision[GPT],
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    micro_batches: list[tuple[Tensor, Tensor]],
    runtime: Runtime,
    grad_clip: float,
) -> Tensor:
    """One optimizer step over the micro-batches' mean gradient; returns the sum of their losses (detached).

    Args:
        forward: what computes: `mixed.compute`, or its DDP / `torch.compile` wrapper.
        mixed: the fp32 master weights and their compute copy (the same model for fp32).
        optimizer: steps the master weights.
        scaler: fp16's gradient scaler (disabled otherwise).
        micro_batches: (x, y) pairs of (B, T) token ids and targets, on the CPU.
        runtime: the device and process layout.
        grad_clip: clip the global gradient norm to this; 0 for no clipping.
    """
    forward.train()
    loss_sum = torch.zeros((), device=runtime.device)
    for micro, (x, y) in enumerate(micro_batches):
        x, y = x.to(runtime.device), y.to(runtime.device)
        # DDP averages the gradients on the last micro-batch's backward only; the earlier ones accumulate locally.
        sync = micro == len(micro_batches) - 1 or runtime.world_size == 1
        with _maybe_no_sync(forward, sync):
            with autocast(runtime):
                loss = forward(x, targets=y)  # (B, T) against (B, T) -> the mean loss, fp32
            scaler.scale(loss / len(micro_batches)).backward()
        if sync:  # bf16 gradients into the fp32 master gradients (under DDP once they are averaged)
            mixed.gather_grads()
        loss_sum += loss.detach()
    if grad_clip > 0:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(mixed.master.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    mixed.refresh()
    return loss_sum


@torch.no_grad()
def estimate_loss(model: torch.nn.Module, batches: Batches, count: int, runtime: Runtime, offset: int = 0) -> float:
    """Mean loss per target token over `count` fixed batches (indices offset … offset+count-1), in eval mode."""
    model.eval()
    total = torch.zeros((), dtype=torch.float64)
    tokens = 0
    for index in range(count):
        x, y = batches(offset + index)
        x, y = x.to(runtime.device), y.to(runtime.device)
        kept = int((y != -100).sum())
        with autocast(runtime):
            mean = model(x, targets=y)  # (B, T) against (B, T) -> the mean over the kept targets
        total += mean.double().cpu() * kept
        tokens += kept
    model.train()
    return float(total) / max(tokens, 1)


def _optimizer(config: TrainConfig, model: GPT) -> torch.optim.Optimizer:
    """AdamW with decay on 2-D weights only (GPT-2's), or Muon for the blocks' matrices; peak rates as "initial_lr"."""
    betas = (config.beta1, config.beta2)
    optimizer: torch.optim.Optimizer
    if config.optimizer == "muon":
        groups = muon_groups(
            model,
            learning_rate=config.learning_rate,
            muon_learning_rate=config.muon_learning_rate,
            weight_decay=config.weight_decay,
            betas=betas,
        )
        optimizer = Muon(groups)
    else:
        optimizer = model.configure_optimizer(
            weight_decay=config.weight_decay, learning_rate=config.learning_rate, betas=betas
        )
    for group in optimizer.param_groups:
        group["initial_lr"] = group["lr"]
    return optimizer


def _initial_model(config: TrainConfig) -> tuple[GPT, Tokenizer]:
    """A pretrained model and its tokenizer (--init-from), or a fresh preset sized to the data's tokenizer."""
    if config.init_from is not None:
        pretrained = load_pretrained(config.init_from)
        return pretrained.model, pretrained.tokenizer
    if config.data is None:
        raise ConfigError("init_from", "supervised fine-tuning (--sft) needs a model to start from: pass --init-from")
    tokenizer = TokenData.open(config.data, "train").tokenizer()
    shape = preset(config.preset).replace(vocab_size=tokenizer.vocab_size)
    if config.context_length is not None:
        shape = shape.replace(context_length=config.context_length)
    return GPT(shape), tokenizer


def _batch_sources(
    config: TrainConfig, tokenizer: Tokenizer, model_config: GPTConfig, context_length: int, runtime: Runtime
) -> tuple[Batches, Batches | None]:
    """Training and validation batch functions, checking that the data's tokenizer is the model's."""
    rank, world = runtime.rank, runtime.world_size
    if config.sft is not None:
        examples = load_sft(config.sft, tokenizer, context_length)
        held_out = max(1, len(examples) // 10) if len(examples) >= 10 else 0
        train_examples, val_examples = examples[held_out:], examples[:held_out]

        def sft_train(index: int) -> tuple[Tensor, Tensor]:
            return sft_batch(
                train_examples, index, batch_size=config.batch_size, seed=config.seed, rank=rank, world_size=world
            )

        def sft_val(index: int) -> tuple[Tensor, Tensor]:
            return sft_batch(val_examples, index, batch_size=config.batch_size, seed=config.seed + 1)

        return sft_train, (sft_val if val_examples else None)
    assert config.data is not None  # TrainConfig checks that exactly one of data and sft is given
    train_data = TokenData.open(config.data, "train")
    val_data = TokenData.open(config.data, "val")
    if train_data.tokenizer().to_dict() != tokenizer.to_dict():
        raise FourfoldError(
            f"the data in {config.data} was tokenised with another tokenizer than the model's "
            f"(vocabulary {train_data.tokenizer().vocab_size} vs {model_config.vocab_size}); prepare it again with "
            f"`fourfold gpt prepare --tokenizer-from <the model>`"
        )

    def pretrain_train(index: int) -> tuple[Tensor, Tensor]:
        return batch(
            train_data,
            index,
            batch_size=config.batch_size,
            context_length=context_length,
            seed=config.seed,
            rank=rank,
            world_size=world,
            straddle=config.straddle,
        )

    def pretrain_val(index: int) -> tuple[Tensor, Tensor]:
        return batch(
            val_data,
            index,
            batch_size=config.batch_size,
            context_length=context_length,
            seed=config.seed + 1,
            straddle=config.straddle,
        )

    return pretrain_train, pretrain_val


def _resume_checkpoint(run_dir: Path) -> Path:
    latest = latest_checkpoint(run_dir / "checkpoints") if run_dir.exists() else None
    if latest is None:
        raise FourfoldError(f"nothing to resume: {run_dir} has no complete checkpoint; start it without --resume")
    return latest


def _set_dropout(model: GPT, p: float) -> None:
    """Set every dropout probability in the model (attention dropout is a float on each attention module)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p
        if isinstance(module, SelfAttention):  # attention dropout is a probability passed to SDPA
            module.dropout = p


def _maybe_no_sync(forward: torch.nn.Module, sync: bool) -> contextlib.AbstractContextManager[object]:
    """DDP's `no_sync()` for the micro-batches before the last one (their gradients only accumulate locally)."""
    if sync or not isinstance(forward, torch.nn.parallel.DistributedDataParallel):
        return contextlib.nullcontext()
    return forward.no_sync()
