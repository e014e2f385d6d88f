"""The DeepMoji network (Felbo et al. 2017, section 3.1): embedding, bidirectional LSTMs, attention, softmax head.

Token ids go through a tanh-squashed embedding, then `num_layers` bidirectional LSTM layers; the attention layer
scores every time step of the concatenation [last LSTM layer, ..., first LSTM layer, embedding] (the order of
bfelbo/DeepMoji's Keras model) with one learned vector, takes a softmax over the text's real tokens and returns
the weighted average, which a linear head turns into class logits. The logits are not softmaxed: the losses
and `predict` apply softmax (or sigmoid for multi-label sets) themselves.

Exactly DeepMoji's parameters: Keras's LSTM adds one bias vector to its gates where `nn.LSTM` adds two
(`bias_ih` and `bias_hh`, whose sum is all that matters); each layer keeps `bias_ih` as the trainable bias and
holds `bias_hh` as a constant zero buffer, so the full preset has Keras's 22,395,200 parameters. The LSTM gates
use the logistic sigmoid (Keras 2 defaulted to a hard sigmoid for the recurrent activation; torchMoji copied
it). Initialisation is Keras's, as torchMoji reproduced it: embedding and attention uniform in ±0.05, input
weights Glorot-uniform, recurrent weights orthogonal, biases zero but the forget gate's one (Keras's
`unit_forget_bias`), head Glorot-uniform.

Padding (id 0, at the end of a row) costs nothing: each batch is cut to its longest text, and a batch whose
texts differ in length runs the LSTMs on a packed sequence (`pack_padded_sequence`), so no LSTM step reads
padding and the backward direction starts at each text's last real word. A batch of equal lengths (see
`fourfold.deepmoji.batching`) runs unpacked, which on CPUs reaches oneDNN's faster LSTM. A text with no tokens
gets zero attention and a zero pooled vector, as in the Keras model.

Transfer (section 3.3): `replace_head` for a target task's classes, `extend_vocabulary` for its new words, and
`layer_groups` for chain-thaw, which trains one group at a time.

Shapes: B batch, T tokens per row (padded), W tokens of the longest text in the batch, E embed_dim, H
hidden_size, A attention_size (2H x num_layers + E), C num_classes, V vocab_size.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from fourfold.core.errors import FourfoldError
from fourfold.deepmoji.config import ModelConfig

EMBEDDING_INIT_RANGE = 0.05
"""Keras's default `uniform` initialiser: U(-0.05, 0.05), for the embedding and the attention vector."""


class Encoding(NamedTuple):
    """What the attention layer makes of a batch: the pooled text vectors and where they looked."""

    pooled: Tensor
    """(B, A) attention-weighted average of the features: DeepMoji's text representation."""
    attention: Tensor
    """(B, T) attention weights: a softmax over each text's tokens, 0 on padding."""


class DeepMoji(nn.Module):
    """DeepMoji's network at any `ModelConfig` size; `forward` maps token ids (B, T) to logits (B, C)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim)
        layers: list[nn.Module] = []
        for layer in range(config.num_layers):
            input_size = config.embed_dim if layer == 0 else 2 * config.hidden_size
            layers.append(_single_bias_lstm(input_size, config.hidden_size))
        self.lstm = nn.ModuleList(layers)
        self.attention = nn.Parameter(torch.empty(config.attention_size))  # (A,)
        self.head = nn.Linear(config.attention_size, config.num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Keras's initialisation of the DeepMoji model (see the module docstring)."""
        nn.init.uniform_(self.embedding.weight, -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)
        for lstm in self.lstm:
            for name, parameter in lstm.named_parameters():
                # Keras stores the transposes, (X, 4H) and (H, 4H); both initialisers treat a matrix and its
                # transpose alike, so these match Keras's glorot_uniform kernel and orthogonal recurrent kernel.
                if name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(parameter)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(parameter)
                else:  # bias_ih: zero, the forget gate's (the second of i, f, g, o) one
                    _init_forget_bias(parameter)
        nn.init.uniform_(self.attention, -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)
        _init_head(self.head)

    def forward(self, token_ids: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Class logits (B, C) of token ids (B, T), int64, padded with 0 at the end of each row.

        Args:
            token_ids: (B, T) ids below `vocab_size`; 0 is padding and only follows a text's tokens.
            lengths: (B,) tokens per row; default: the count of non-zero ids in each row.
        """
        return self.classify(self.encode(token_ids, lengths).pooled)

    def classify(self, pooled: Tensor) -> Tensor:
        """Class logits (B, C) of pooled text vectors (B, A): final dropout (while training), then the head."""
        pooled = functional.dropout(pooled, self.config.final_dropout, self.training)
        logits: Tensor = self.head(pooled.to(self.head.weight.dtype))  # (B, C)
        return logits

    def encode(self, token_ids: Tensor, lengths: Tensor | None = None) -> Encoding:
        """The pooled representation (B, A) and attention weights (B, T) of token ids (B, T); see `forward`."""
        if token_ids.ndim != 2:
            raise FourfoldError(
                f"DeepMoji takes token ids of shape (batch, tokens); got shape {tuple(token_ids.shape)}"
            )
        batch, width = token_ids.shape
        if lengths is None:
            lengths = (token_ids != 0).sum(dim=1)  # (B,)
        lengths_cpu = lengths.to("cpu", torch.int64)  # pack_padded_sequence wants lengths on the CPU
        if lengths_cpu.shape != (batch,):
            raise FourfoldError(f"DeepMoji got {tuple(lengths_cpu.shape)} lengths for a batch of {batch} rows")
        if batch == 0 or width == 0:
            empty = torch.zeros(batch, self.config.attention_size, device=token_ids.device)
            return Encoding(empty.to(self.attention.dtype), torch.zeros(batch, width, device=token_ids.device))
        longest, shortest = int(lengths_cpu.max()), int(lengths_cpu.min())
        if shortest < 0 or longest > width:
            raise FourfoldError(f"DeepMoji got lengths from {shortest} to {longest} for rows of {width} tokens")

        # 1. Embed the batch cut to its longest text (an empty text runs one padding step, its attention zeroed).
        run_width = max(longest, 1)
        steps = lengths_cpu.clamp(min=1)  # (B,)
        x = torch.tanh(self.embedding(token_ids[:, :run_width]))  # (B, W, E)
        x = x.to(self.recurrent_dtype)
        if self.training and self.config.embed_dropout > 0:
            # Whole channels of a text are dropped (Keras's SpatialDropout1D): a word-level dropout would erase
            # too much of a short text.
            keep = 1.0 - self.config.embed_dropout
            mask = torch.bernoulli(torch.full((batch, 1, x.shape[2]), keep, device=x.device, dtype=x.dtype))
            x = x * mask / keep  # (B, W, E)

        # 2. The LSTM layers: unpacked when every text has the batch's width, packed otherwise.
        if int(steps.min()) == run_width:
            outputs = [x]
            hidden = x
            for lstm in self.lstm:
                hidden, _ = lstm(hidden)  # (B, W, 2H)
                outputs.append(hidden)
            features = torch.cat(outputs[::-1], dim=2)  # (B, W, A)
        else:
            packed = pack_padded_sequence(x, steps, batch_first=True, enforce_sorted=False)
            packed_outputs = [packed.data]  # (sum of lengths, E)
            hidden_packed = packed
            for lstm in self.lstm:
                hidden_packed, _ = lstm(hidden_packed)
                packed_outputs.append(hidden_packed.data)  # (sum of lengths, 2H)
            data = torch.cat(packed_outputs[::-1], dim=1)  # (sum of lengths, A)
            joined = PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
            features, _ = pad_packed_sequence(joined, batch_first=True, total_length=run_width)  # (B, W, A)

        # 3. Attention: a softmax over each text's real tokens, then the weighted average of the features.
        features = features.to(self.attention.dtype)
        scores = features @ self.attention  # (B, W)
        positions = torch.arange(run_width, device=scores.device)
        valid = positions.unsqueeze(0) < lengths.to(scores.device).unsqueeze(1)  # (B, W)
        scores = scores.masked_fill(~valid, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=1) * valid  # (B, W); an empty text's row is all zero
        pooled = torch.bmm(weights.unsqueeze(1), features).squeeze(1)  # (B, 1, W) @ (B, W, A) -> (B, A)
        return Encoding(pooled, functional.pad(weights, (0, width - run_width)))  # attention (B, T)

    def replace_head(self, num_classes: int) -> None:
        """A new, freshly initialised head with `num_classes` outputs (transfer to a target task).

        The other weights are kept. Parameters change: build the optimizer after calling this.
        """
        if num_classes < 1:
            raise FourfoldError(f"a DeepMoji head needs at least 1 class (got {num_classes})")
        old = self.head
        head = nn.Linear(self.config.attention_size, num_classes, device=old.weight.device, dtype=old.weight.dtype)
        _init_head(head)
        self.head = head
        self.config = self.config.replace(num_classes=num_classes)

    def extend_vocabulary(self, vocab_size: int) -> None:
        """Grow the embedding to `vocab_size` rows: old rows kept, new rows initialised as at the start.

        For a vocabulary extended with a target set's words (`Vocabulary.extend`), whose ids come after the old
        ones. Parameters change: build the optimizer after calling this.
        """
        old = self.embedding.weight
        if vocab_size < old.shape[0]:
            raise FourfoldError(
                f"cannot shrink the vocabulary from {old.shape[0]} to {vocab_size} words; extension only adds words"
            )
        embedding = nn.Embedding(vocab_size, old.shape[1], device=old.device, dtype=old.dtype)
        with torch.no_grad():
            nn.init.uniform_(embedding.weight, -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)
            embedding.weight[: old.shape[0]] = old
        embedding.weight.requires_grad_(old.requires_grad)
        self.embedding = embedding
        self.config = self.config.replace(vocab_size=vocab_size)

    def layer_groups(self) -> dict[str, list[nn.Parameter]]:
        """Every parameter once, by layer, bottom to top: embedding, lstm_0, lstm_1, ..., attention, head.

        Chain-thaw (section 3.3) trains the head first, then each group alone in this order, then all of them.
        """
        groups: dict[str, list[nn.Parameter]] = {"embedding": list(self.embedding.parameters())}
        for index, lstm in enumerate(self.lstm):
            groups[f"lstm_{index}"] = list(lstm.parameters())
        groups["attention"] = [self.attention]
        groups["head"] = list(self.head.parameters())
        return groups

    @property
    def recurrent_dtype(self) -> torch.dtype:
        """The dtype of the LSTM weights, in which the LSTMs run."""
        return next(self.lstm.parameters()).dtype

    def cast_recurrent(self, dtype: torch.dtype) -> None:
        """Keep the embedding and LSTM weights in `dtype` (bf16 for inference on CPUs with AMX, several times
        faster); the attention and head stay as they are and receive their inputs converted to their dtype."""
        self.embedding.to(dtype)
        self.lstm.to(dtype)


def _single_bias_lstm(input_size: int, hidden_size: int) -> nn.LSTM:
    """A bidirectional, batch-first `nn.LSTM` whose `bias_hh` are constant zero buffers (Keras's one bias)."""
    lstm = nn.LSTM(input_size, hidden_size, batch_first=True, bidirectional=True)
    for suffix in ("_l0", "_l0_reverse"):
        name = "bias_hh" + suffix
        zeros = torch.zeros_like(getattr(lstm, name)).detach()
        delattr(lstm, name)
        # Not saved: a zero needs no storage, and the state dict keeps Keras's names and count.
        lstm.register_buffer(name, zeros, persistent=False)
    lstm._init_flat_weights()  # the fused kernels read this list; point it at the buffers
    return lstm


def _init_forget_bias(bias: Tensor) -> None:
    with torch.no_grad():
        bias.zero_()
        hidden = bias.shape[0] // 4
        bias[hidden : 2 * hidden] = 1.0  # gate order i, f, g, o (the same in Keras and PyTorch)


def _init_head(head: nn.Linear) -> None:
    nn.init.xavier_uniform_(head.weight)
    nn.init.zeros_(head.bias)
