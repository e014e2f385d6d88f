"""GPT configs: the model's shape (`GPTConfig`) and its named presets, from a toy to GPT-2 large.

GPT-2's sizes are those of the paper's Table 2 and of OpenAI's released checkpoints (Radford et al. 2019): 124M
(12 layers, 768 wide), 355M (24, 1024), 774M (36, 1280), 1.5B (48, 1600), all with 1,024 positions and a
50,257-token byte-level BPE vocabulary. `baby` is nanoGPT's CPU baby GPT for character-level Shakespeare;
`baby-fast` is the shape of fourfold's 3-minute recipe for it (wider, 256 positions; `BABY_FAST_RECIPE`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fourfold.core.config import ConfigError, require

GPT2_VOCAB_SIZE = 50257
"""GPT-2's byte-level BPE vocabulary: 256 bytes, 50,000 merges and <|endoftext|>."""


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a GPT: GPT-2's architecture at any size."""

    vocab_size: int = GPT2_VOCAB_SIZE
    """V, the number of token ids (GPT-2: 50257; a character tokenizer: its alphabet)."""
    context_length: int = 1024
    """T max, the number of learned positions (GPT-2: 1024)."""
    num_layers: int = 12
    """Transformer blocks (GPT-2 small: 12)."""
    num_heads: int = 12
    """Attention heads per block; embed_dim must be a multiple of it."""
    embed_dim: int = 768
    """C, the width of the residual stream (GPT-2 small: 768)."""
    dropout: float = 0.0
    """Dropout on embeddings, attention and residual branches while training (GPT-2 pretraining: 0.1)."""
    bias: bool = True
    """Biases in linear layers and layer norms, as GPT-2 has."""
    layer_norm_eps: float = 1e-5
    """Epsilon of every layer norm (GPT-2: 1e-5)."""

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "num_layers", "num_heads", "embed_dim"):
            value = getattr(self, name)
            require(value >= 1, name, f"must be at least 1 (got {value})")
        require(
            self.embed_dim % self.num_heads == 0,
            "embed_dim",
            f"must be a multiple of num_heads ({self.embed_dim} is not a multiple of {self.num_heads})",
        )
        require(0.0 <= self.dropout < 1.0, "dropout", f"must be in [0, 1) (got {self.dropout})")

    @property
    def num_parameters(self) -> int:
        """Parameters with the output head tied to the token embedding (GPT-2 small: 124,439,808)."""
        c, v, t, layers = self.embed_dim, self.vocab_size, self.context_length, self.num_layers
        per_layer = 12 * c * c + 13 * c if self.bias else 12 * c * c + 2 * c
        final_norm = 2 * c if self.bias else c
        return v * c + t * c + layers * per_layer + final_norm

    def replace(self, **changes: object) -> GPTConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


PRESETS: dict[str, GPTConfig] = {
    "toy": GPTConfig(vocab_size=256, context_length=64, num_layers=2, num_heads=2, embed_dim=64),
    "baby": GPTConfig(vocab_size=65, context_length=64, num_layers=4, num_heads=4, embed_dim=128),
    "baby-fast": GPTConfig(vocab_size=65, context_length=256, num_layers=4, num_heads=3, embed_dim=192),
    "mini": GPTConfig(vocab_size=65, context_length=256, num_layers=6, num_heads=6, embed_dim=384, dropout=0.2),
    "gpt2": GPTConfig(),
    "gpt2-medium": GPTConfig(num_layers=24, num_heads=16, embed_dim=1024),
    "gpt2-large": GPTConfig(num_layers=36, num_heads=20, embed_dim=1280),
    "gpt2-xl": GPTConfig(num_layers=48, num_heads=25, embed_dim=1600),
}
"""Named model shapes; `vocab_size` is replaced by the tokenizer's when training from scratch."""


BABY_FAST_RECIPE = (
    "fourfold gpt train --data data/shakespeare --preset baby-fast --straddle --dropout 0 --precision bf16"
    " --optimizer muon --batch-size 8 --num-steps 1600 --warmup-steps 50 --learning-rate 2e-3"
    " --min-learning-rate 1e-4 --muon-learning-rate 0.02 --eval-interval 1600 --checkpoint-interval 1600"
    " --time-budget-seconds 170"
)
"""The baby GPT in three minutes on two CPU cores: character-level tinyshakespeare (prepared with `fourfold gpt
prepare --sources tinyshakespeare --tokenizer char --out data/shakespeare`) to a validation loss near 1.53 where
nanoGPT's baby recipe reaches 1.73 in the same time. Against nanoGPT's: a wider model (192) over four times the
context (256), batches of 8 windows, bf16 compute, Muon for the blocks' matrices, a short warmup, one loss estimate
at the end, and a stop at 170 s (the schedule is sized to finish before it on an idle machine). Measured in
`benchmarks/gpt_baby.py`."""


def preset(name: str) -> GPTConfig:
    """The preset called `name`.

    Raises:
        ConfigError: there is no such preset (the message lists them).
    """
    if name not in PRESETS:
        raise ConfigError("preset", f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


@dataclass
class TrainConfig:
    """Train a GPT on prepared token shards (or on prompt/response JSONL with --sft): from scratch with a preset,
    or fine-tuned from a fourfold checkpoint or a Hugging Face GPT-2 folder (--init-from)."""

    data: Path | None = None
    """Folder written by `fourfold gpt prepare` (train.bin, val.bin, meta.json). Not needed with --sft."""
    sft: Path | None = None
    """JSONL of {"prompt", "response"} or {"messages"} records: supervised fine-tuning, loss on responses only."""
    name: str = "default"
    """Run name: the run is written to <runs>/gpt/<name>/."""
    runs: Path = Path("runs")
    """Root folder of run directories."""
    preset: str = "baby"
    """Model shape when training from scratch (toy, baby, baby-fast, mini, gpt2, gpt2-medium, gpt2-large, gpt2-xl)."""
    init_from: Path | None = None
    """Start from this fourfold checkpoint or Hugging Face GPT-2 folder instead of random weights."""
    resume: bool = False
    """Continue the run <name> from its latest checkpoint, exactly as if it had not stopped."""
    overwrite: bool = False
    """Delete an existing run <name> and start again."""
    num_steps: int = 2000
    """Optimizer steps (the schedule's length)."""
    batch_size: int = 12
    """Sequences per micro-batch on each process."""
    grad_accum: int = 1
    """Micro-batches per optimizer step (global batch = batch_size x grad_accum x processes)."""
    context_length: int | None = None
    """Tokens per sequence; default: the model's context length."""
    learning_rate: float = 1e-3
    """Peak learning rate of AdamW (after warmup)."""
    min_learning_rate: float = 1e-4
    """Learning rate at the end of the cosine decay."""
    warmup_steps: int = 100
    """Linear warmup steps."""
    weight_decay: float = 0.1
    """AdamW weight decay on matmul and embedding weights (not on biases and layer norms)."""
    beta1: float = 0.9
    """AdamW beta1."""
    beta2: float = 0.99
    """AdamW beta2."""
    grad_clip: float = 1.0
    """Clip the global gradient norm to this (0: no clipping)."""
    optimizer: Literal["adamw", "muon"] = "adamw"
    """adamw: GPT-2's AdamW for every parameter. muon: Muon for the blocks' matrices, AdamW for the rest."""
    muon_learning_rate: float = 0.02
    """Peak learning rate of Muon's matrices (--optimizer muon); the schedule scales it like --learning-rate."""
    dropout: float | None = None
    """Override the model's dropout (default: the preset's, or 0 for pretrained models)."""
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    """fp32; bf16: bf16 compute, fp32 master weights (CPU and GPU; see fourfold.gpt.precision); fp16: autocast with
    loss scaling (GPU only)."""
    device: str = "auto"
    """auto (cuda when present), cpu, cuda, cuda:N or mps."""
    threads: int | None = None
    """Torch threads (default: this process's share of the cores)."""
    compile: bool = False
    """Compile the model with torch.compile (slower start, faster steps)."""
    eval_interval: int = 250
    """Estimate train and validation loss every this many steps (and at the end)."""
    eval_batches: int = 20
    """Batches per loss estimate."""
    log_interval: int = 10
    """Write metrics every this many steps."""
    checkpoint_interval: int = 250
    """Save a checkpoint every this many steps (and at the end)."""
    keep_checkpoints: int = 2
    """Keep only the newest this many checkpoints."""
    straddle: bool = False
    """Let training windows cross document boundaries (nanoGPT style) instead of staying inside one document."""
    peak_flops: float | None = None
    """The machine's peak FLOP/s for MFU (default: measured once and cached)."""
    time_budget_seconds: float | None = None
    """Stop early (with a checkpoint) once this much wall time has passed."""
    seed: int = 0
    """Seed for initialisation, batches and dropout."""

    def __post_init__(self) -> None:
        require((self.data is None) != (self.sft is None), "data", "give exactly one of --data and --sft")
        for name in ("num_steps", "batch_size", "grad_accum", "eval_interval", "eval_batches", "log_interval"):
            value = getattr(self, name)
            require(value >= 1, name, f"must be at least 1 (got {value})")
        require(self.checkpoint_interval >= 1, "checkpoint_interval", "must be at least 1")
        require(self.keep_checkpoints >= 1, "keep_checkpoints", "must be at least 1")
        require(self.learning_rate > 0, "learning_rate", f"must be positive (got {self.learning_rate})")
        require(self.muon_learning_rate > 0, "muon_learning_rate", f"must be positive (got {self.muon_learning_rate})")
        require(0 <= self.min_learning_rate <= self.learning_rate, "min_learning_rate", "must be in [0, learning_rate]")
        require(self.warmup_steps >= 0, "warmup_steps", "must not be negative")
        require(self.grad_clip >= 0, "grad_clip", "must not be negative")
        require(not (self.resume and self.overwrite), "resume", "--resume and --overwrite exclude each other")
        if self.context_length is not None:
            require(self.context_length >= 1, "context_length", "must be at least 1")
        if self.dropout is not None:
            require(0 <= self.dropout < 1, "dropout", f"must be in [0, 1) (got {self.dropout})")


@dataclass
class EvalConfig:
    """Evaluate a GPT on a whole split: loss, perplexity and bits per byte, deterministically."""

    checkpoint: Path
    """A fourfold checkpoint folder or a Hugging Face GPT-2 folder."""
    data: Path
    """A folder written by `fourfold gpt prepare`, or a text (.txt) or JSONL ({"text": ...}) file."""
    split: Literal["train", "val"] = "val"
    """Which split of a prepared folder to evaluate (a file is evaluated whole)."""
    batch_size: int = 8
    """Sequences per forward pass."""
    context_length: int | None = None
    """Window length (default: the model's context length)."""
    device: str = "auto"
    """auto, cpu, cuda, cuda:N or mps."""
    threads: int | None = None
    """Torch threads."""

    def __post_init__(self) -> None:
        require(self.batch_size >= 1, "batch_size", "must be at least 1")


@dataclass
class SampleConfig:
    """Generate continuations of prompts with a KV cache (greedy at --temperature 0)."""

    checkpoint: Path
    """A fourfold checkpoint folder or a Hugging Face GPT-2 folder."""
    prompt: tuple[str, ...] = ("\n",)
    """One prompt or several (a batch); continuations are printed in order."""
    max_new_tokens: int = 200
    """Tokens to generate per prompt at most."""
    temperature: float = 0.8
    """Softmax temperature; 0 is greedy."""
    top_k: int | None = None
    """Keep only the k most likely tokens."""
    top_p: float | None = None
    """Keep the smallest set of tokens whose probability adds up to p (nucleus sampling)."""
    repetition_penalty: float = 1.0
    """Penalise tokens already present (CTRL; 1.0 = off)."""
    stop: tuple[str, ...] = ()
    """Stop a continuation at the first of these strings."""
    sft_format: bool = False
    """Wrap each prompt in the supervised fine-tuning prompt format."""
    stream: bool = True
    """Print tokens as they come (one prompt only)."""
    seed: int = 0
    """Seed for sampling."""
    device: str = "auto"
    """auto, cpu, cuda, cuda:N or mps."""

    def __post_init__(self) -> None:
        require(self.max_new_tokens >= 0, "max_new_tokens", "must not be negative")
        require(self.temperature >= 0, "temperature", "must not be negative")
        require(len(self.prompt) >= 1, "prompt", "give at least one prompt")
        if self.top_k is not None:
            require(self.top_k >= 1, "top_k", "must be at least 1")
        if self.top_p is not None:
            require(0 < self.top_p <= 1, "top_p", "must be in (0, 1]")
        require(self.repetition_penalty > 0, "repetition_penalty", "must be positive")


@dataclass
class ExportConfig:
    """Export a fourfold GPT checkpoint to a Hugging Face GPT-2 folder that transformers loads."""

    checkpoint: Path
    """The fourfold checkpoint folder to export."""
    out: Path
    """The folder to write (config.json, model.safetensors, tokenizer files)."""


@dataclass
class PrepareConfig:
    """Tokenise a corpus into train/val token shards for `fourfold gpt train`."""

    sources: tuple[Path, ...] = ()
    """Text files, folders or JSONL ({"text": ...}) files; none: the Python standard library's source."""
    out: Path = Path("data/gpt/stdlib")
    """Folder to write train.bin, val.bin, their document offsets and meta.json."""
    tokenizer: Literal["gpt2", "char", "bpe"] = "gpt2"
    """gpt2: GPT-2's BPE; char: one token per character of the corpus; bpe: train a byte-level BPE on it."""
    tokenizer_from: Path | None = None
    """Use the tokenizer of this fourfold checkpoint or GPT-2 folder instead (for fine-tuning it)."""
    vocab_size: int = 4096
    """Vocabulary size of a trained BPE (--tokenizer bpe)."""
    val_fraction: float = 0.1
    """Share of documents (of tokens, for a single document) held out for validation."""
    max_files: int | None = None
    """Read at most this many files of a folder (after sorting), for quick runs."""
    seed: int = 0
    """Seed of the document shuffle before the split."""

    def __post_init__(self) -> None:
        require(0 < self.val_fraction < 1, "val_fraction", f"must be in (0, 1) (got {self.val_fraction})")
        require(self.vocab_size >= 257, "vocab_size", "must be at least 257 (256 bytes and <|endoftext|>)")
        if self.max_files is not None:
            require(self.max_files >= 1, "max_files", "must be at least 1")
