"""The GPT model: GPT-2's architecture exactly, with Hugging Face's parameter names.

GPT-2 (Radford et al. 2019, "Language Models are Unsupervised Multitask Learners", section 2.3) is a stack of
pre-LN transformer blocks over token plus learned position embeddings, a final layer norm, and an output head that
shares its weight with the token embedding. The parameter names are those of Hugging Face's `GPT2LMHeadModel`
(`transformer.wte`, `transformer.h.0.attn.c_attn`, ..., `lm_head`), so its checkpoints map on by name; only its
Conv1D weights are stored transposed, which `fourfold.gpt.hf` handles. Initialisation follows GPT-2 and nanoGPT:
normal(0, 0.02) weights, zero biases, and the residual projections (`c_proj`) scaled by 1/sqrt(2 · num_layers) so
the residual stream's variance does not grow with depth.

Shapes:
    B batch, T tokens, C embed_dim, V vocab_size, L num_layers, H num_heads, D head dim = C / H.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor, nn

from fourfold.core.checkpoint import CheckpointError, load_checkpoint, load_model_state
from fourfold.core.config import from_jsonable
from fourfold.core.errors import FourfoldError
from fourfold.core.nn import KVCache, TransformerBlock
from fourfold.gpt.config import GPTConfig

IGNORE_INDEX = -100
"""Targets equal to this are left out of the loss (padding, prompt tokens in fine-tuning), as in PyTorch."""


class GPTTransformer(nn.Module):
    """GPT-2's body (Hugging Face's `GPT2Model`): embeddings, blocks and final layer norm; hidden states out."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        c = config.embed_dim
        self.wte = nn.Embedding(config.vocab_size, c)
        self.wpe = nn.Embedding(config.context_length, c)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList(
            TransformerBlock(
                c,
                config.num_heads,
                dropout=config.dropout,
                bias=config.bias,
                causal=True,
                layer_norm_eps=config.layer_norm_eps,
            )
            for _ in range(config.num_layers)
        )
        self.ln_f = nn.LayerNorm(c, eps=config.layer_norm_eps, bias=config.bias)
        self.context_length = config.context_length

    def forward(self, idx: Tensor, *, cache: KVCache | None = None) -> Tensor:
        """The final hidden states (B, T, C) of token ids idx (B, T); see `GPT.forward` for `cache`."""
        t = idx.shape[1]
        start = 0 if cache is None else cache.length - cache.min_padding  # first position of the least padded row
        if start + t > self.context_length:
            raise ValueError(
                f"the sequence would reach {start + t} tokens but the model's context_length is "
                f"{self.context_length}; pass at most {self.context_length} tokens"
            )
        if cache is None:
            positions = torch.arange(t, device=idx.device)[None, :]  # (1, T)
            mask = None
        else:
            positions = cache.positions(t)  # (B, T), or (1, T) when no row is padded
            mask = cache.attention_mask(t)  # (B, 1, T, S), or None when no row is padded
        x = self.wte(idx) + self.wpe(positions)  # (B, T, C)
        if self.training:  # dropout is the identity outside training; skipping the call is cheaper per token
            x = self.drop(x)
        for index, block in enumerate(self.h):
            x = block(x, mask, None if cache is None else cache.layers[index])  # (B, T, C)
        hidden: Tensor = self.ln_f(x)
        return hidden


class GPT(nn.Module):
    """GPT-2: `transformer` (GPTTransformer) and `lm_head`, a bias-free Linear(C, V) tied to `transformer.wte`.

    Args:
        config: the model's shape.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = GPTTransformer(config)
        self.lm_head = nn.Linear(config.embed_dim, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied, as in GPT-2: one (V, C) matrix
        self._init_weights()

    def _init_weights(self) -> None:
        """GPT-2's initialisation (as nanoGPT writes it); layer norms keep PyTorch's ones and zeros."""
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        # Each block adds two residual branches; scaling their output projections keeps the stream's variance flat.
        residual_std = 0.02 / math.sqrt(2 * self.config.num_layers)
        for name, parameter in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(parameter, mean=0.0, std=residual_std)

    @classmethod
    def uninitialised(cls, config: GPTConfig) -> GPT:
        """A GPT on the CPU whose weights are allocated but hold garbage: only to load a complete state dict into.

        Initialising GPT-2 XL's 1.5B parameters takes many seconds that loading would then overwrite; building the
        model on the meta device and allocating it empty skips that.
        """
        with torch.device("meta"):
            model = cls(config)
        model.to_empty(device="cpu")
        model.lm_head.weight = model.transformer.wte.weight  # to_empty gives each module its own tensor: tie again
        return model

    def forward(self, idx: Tensor, *, cache: KVCache | None = None, targets: Tensor | None = None) -> Tensor:
        """Next-token logits (B, T, V) for token ids idx (B, T); or, given targets, the mean loss against them.

        Args:
            idx: token ids, (B, T), T at most `context_length`.
            cache: a key/value cache (`new_cache`) holding the sequences that idx continues: positions continue from
                the cache's length and idx's keys and values are appended to it. None: idx is whole sequences.
            targets: next-token ids (B, T), -100 (`IGNORE_INDEX`) where there is none. Given, the result is the
                mean cross-entropy over the other targets (a scalar, fp32), computed by `output_cross_entropy`
                without materialising the (B, T, V) logits; this is the training loop's path.

        Raises:
            ValueError: the sequences would be longer than `context_length`.
        """
        hidden = self.transformer(idx, cache=cache)  # (B, T, C)
        if targets is not None:
            # (B, T, C) -> (B·T, C) against (B, T) -> (B·T,)
            return output_cross_entropy(hidden.flatten(0, 1), self.lm_head.weight, targets.flatten())
        logits: Tensor = self.lm_head(hidden)  # (B, T, C) -> (B, T, V)
        return logits

    def loss(self, idx: Tensor, targets: Tensor) -> Tensor:
        """Mean cross-entropy of the next-token predictions for idx (B, T) against targets (B, T).

        Targets equal to -100 (`IGNORE_INDEX`) are left out of the mean.
        """
        loss: Tensor = self(idx, targets=targets)
        return loss

    def new_cache(self, batch_size: int, max_length: int, *, padding: list[int] | None = None) -> KVCache:
        """An empty key/value cache for `batch_size` sequences of up to `max_length` positions (padding included).

        Args:
            batch_size: B.
            max_length: T_max, positions each row can hold.
            padding: each row's left padding, for a batch of sequences of different lengths; None for none.
        """
        parameter = self.lm_head.weight
        return KVCache(
            self.config.num_layers,
            batch_size,
            self.config.num_heads,
            self.config.embed_dim // self.config.num_heads,
            max_length,
            padding=padding,
            dtype=parameter.dtype,
            device=parameter.device,
        )

    def num_parameters(self) -> int:
        """The number of parameters, the tied output head counted once (equals `config.num_parameters`)."""
        return sum(parameter.numel() for parameter in self.parameters())  # parameters() lists a tied one once

    def flops_per_token(self, context_length: int) -> float:
        """Training FLOPs per token (forward and backward) at sequence length T, for model FLOPs utilisation.

        The PaLM estimate (Chowdhery et al. 2022, appendix B) as nanoGPT computes it: 6N for the weight matmuls
        (2 FLOPs per multiply-add, forward once and backward twice) plus 12·L·C·T for attention's scores and
        weighted sums. N leaves out the position embedding, a lookup without a matmul, but keeps the token
        embedding because the tied output head is a matmul with it.

        Args:
            context_length: T, the sequence length trained on.
        """
        c = self.config.embed_dim
        n = self.num_parameters() - self.transformer.wpe.weight.numel()
        return float(6 * n + 12 * self.config.num_layers * c * context_length)

    def configure_optimizer(
        self,
        weight_decay: float,
        learning_rate: float,
        betas: tuple[float, float],
        fused: bool | None = None,
    ) -> torch.optim.AdamW:
        """AdamW with weight decay on the 2-D weights (matmuls, embeddings) only, as nanoGPT sets it up.

        Biases and layer-norm gains are not decayed: shrinking them towards zero is no regulariser.

        Args:
            weight_decay: decoupled weight decay of the 2-D weights (GPT-2 reproductions: 0.1).
            learning_rate: the initial learning rate (a schedule may change it later).
            betas: Adam's (beta1, beta2), e.g. (0.9, 0.95).
            fused: use PyTorch's fused AdamW (one pass over each tensor instead of one per operation; on a CPU about
                3x faster at GPT-2 small); None: when the parameters are on the CPU or a GPU.
        """
        parameters = [parameter for parameter in self.parameters() if parameter.requires_grad]
        decay = [parameter for parameter in parameters if parameter.dim() >= 2]
        no_decay = [parameter for parameter in parameters if parameter.dim() < 2]
        if fused is None:
            fused = parameters[0].device.type in ("cpu", "cuda")
        groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, fused=fused)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> GPT:
        """Load a fourfold GPT checkpoint folder or a Hugging Face GPT-2 folder; the model comes in eval mode.

        Args:
            path: a folder `save_checkpoint(kind="gpt")` wrote (it has `checkpoint.json`), or a Hugging Face GPT-2
                folder (`config.json` with `model.safetensors` or `pytorch_model.bin`).

        Raises:
            FourfoldError: the folder is neither, or its checkpoint is damaged, of another kind, or of another
                architecture (the message says which).
        """
        path = Path(path)
        if not path.is_dir():
            raise FourfoldError(f"cannot load a GPT from {path}: there is no such folder; check the path")
        if (path / "checkpoint.json").is_file():
            return _from_checkpoint(cls, path).eval()
        if (path / "config.json").is_file():
            from fourfold.gpt.hf import load_hf_gpt2

            return load_hf_gpt2(path).eval()
        raise FourfoldError(
            f"cannot load a GPT from {path}: it has neither checkpoint.json (a fourfold checkpoint) nor config.json "
            "(a Hugging Face GPT-2 folder); pass one of those"
        )


def _from_checkpoint(cls: type[GPT], path: Path) -> GPT:
    checkpoint = load_checkpoint(path, kind="gpt")
    if checkpoint.config is None:
        raise CheckpointError(f"checkpoint {path} has no config.json, so the model's shape is unknown; it is damaged")
    try:
        config = from_jsonable(GPTConfig, checkpoint.config)
    except FourfoldError as error:
        raise CheckpointError(
            f"checkpoint {path} has a config.json that is not a GPT config ({error}); pass a GPT checkpoint"
        ) from None
    model = cls.uninitialised(config)
    load_model_state(model, checkpoint.model, str(path))
    return model


def output_cross_entropy(hidden: Tensor, weight: Tensor, targets: Tensor) -> Tensor:
    """Mean cross-entropy of the logits `hidden @ weight.T` against targets, the logits never held whole in fp32.

    The same value as `cross_entropy((hidden @ weight.T).float(), targets, ignore_index=-100)` (0 when every target
    is ignored), but where that materialises the (N, V) logits, their fp32 copy, the log-softmax and its gradient
    (four N x V tensors: 800 MB at GPT-2 small, batch 4 x 256), this computes the logits once in the compute dtype
    and, when a gradient is needed, overwrites them in place, a cache-sized block of rows at a time, with the
    gradient of the mean loss, softmax minus one-hot over the count (the Liger kernel's idea: Hsu et al. 2024). The
    backward pass is then two matmuls with it. The dtype is autocast's when it is on, else `weight`'s.

    Args:
        hidden: the final hidden states (N, C).
        weight: the output head's weight (V, C).
        targets: target ids (N,), -100 (`IGNORE_INDEX`) to leave a position out.
    """
    device = hidden.device.type
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else weight.dtype
    hidden, weight = hidden.to(dtype), weight.to(dtype)
    if torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad):
        loss: Tensor = _OutputCrossEntropy.apply(hidden, weight, targets)  # type: ignore[no-untyped-call]
        return loss
    with torch.autocast(device, enabled=False):
        loss_sum, count = _cross_entropy_blocks(hidden @ weight.T, targets, gradient=False)  # (N, C) @ (C, V)
        return loss_sum / count


class _OutputCrossEntropy(torch.autograd.Function):
    """`output_cross_entropy` with a gradient: the forward pass leaves d loss / d logits in the logits' buffer."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, hidden: Tensor, weight: Tensor, targets: Tensor) -> Tensor:
        with torch.autocast(hidden.device.type, enabled=False):
            logits = hidden @ weight.T  # (N, C) @ (C, V) -> (N, V), becomes the gradient of the summed loss
            loss_sum, count = _cross_entropy_blocks(logits, targets, gradient=True)
        ctx.save_for_backward(hidden, weight, logits, count)
        return loss_sum / count

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad_loss: Tensor) -> tuple[Tensor, Tensor, None]:
        hidden, weight, grad_logits, count = ctx.saved_tensors  # type: ignore[attr-defined]
        scale = grad_loss.float() / count  # a 0-dim fp32 tensor: bf16 products compute with it unrounded
        grad_hidden = (grad_logits @ weight).mul_(scale)  # (N, V) @ (V, C) -> (N, C)
        grad_weight = grad_logits.T @ (hidden * scale)  # (V, N) @ (N, C) -> (V, C); scaling the small factor
        return grad_hidden, grad_weight, None


def _cross_entropy_blocks(logits: Tensor, targets: Tensor, *, gradient: bool) -> tuple[Tensor, Tensor]:
    """The summed cross-entropy (fp32) of logits (N, V) against targets (N,) and the count of kept targets.

    The work goes a block of rows at a time so that each block's fp32 copy stays in the CPU's cache. With
    `gradient`, each block of logits is replaced by the gradient of the summed loss with respect to it: softmax
    minus one-hot, zero on ignored rows.
    """
    n, v = logits.shape
    keep = targets != IGNORE_INDEX  # (N,)
    count = keep.sum()
    some_ignored = bool(count < n)
    safe_targets = torch.where(keep, targets, 0)[:, None]  # (N, 1): ignored rows pick column 0, weighted 0 below
    total = torch.zeros((), dtype=torch.float32, device=logits.device)
    rows = max(1, _BLOCK_ELEMENTS // v)
    for start in range(0, n, rows):
        block = logits[start : start + rows]  # (R, V)
        block_targets = safe_targets[start : start + rows]  # (R, 1)
        block_keep = keep[start : start + rows]  # (R,)
        log_probs = torch.log_softmax(block.float(), dim=-1)  # (R, V), fp32
        picked = log_probs.gather(1, block_targets)[:, 0]  # (R, V) -> (R,)
        total -= picked[block_keep].sum() if some_ignored else picked.sum()
        if gradient:
            probs = log_probs.exp_()  # (R, V): softmax
            probs.scatter_add_(1, block_targets, torch.full(block_targets.shape, -1.0, device=probs.device))
            if some_ignored:
                probs[~block_keep] = 0
            block.copy_(probs)  # into the logits' dtype
    return total, count.clamp_min(1)


_BLOCK_ELEMENTS = 1 << 20
"""Logits per block in `_cross_entropy_blocks`: 4 MB of fp32, about a core's share of the CPU's cache."""
