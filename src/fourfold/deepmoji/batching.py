"""Length-bucketed batches of encoded texts, and batched DeepMoji inference over them.

Tweets are short and their lengths vary (a mean near 15 words, a tail to 50): a batch of texts in data order is
padded to its longest, so most of an LSTM's steps would read padding. Sorting texts by length inside a window of
many batches, then cutting the window into batches, makes each batch's texts nearly equally long; with packed
sequences (`fourfold.deepmoji.model`) no step is spent on padding, and the few steps of a short text cost no
more than they must. For training, the data are shuffled first and the batches of each window are shuffled
after, so a batch's texts are alike in length but the order of an epoch is still random (the "bucketing" of
sequence-to-sequence training).

`predict_logits` runs a model over a whole encoded data set this way, in inference mode, and returns the
logits in the data's order; `bf16_agreement` measures how often a bf16 copy of a model predicts the same class,
so a caller uses bf16 only where it keeps the predictions.

Shapes: N texts, T tokens per row (padded with 0), B batch, W the longest text of a batch, C classes.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from fourfold.core.errors import FourfoldError
from fourfold.deepmoji.model import DeepMoji

DEFAULT_BATCH_SIZE = 64
DEFAULT_WINDOW_BATCHES = 32
"""Batches per sorting window: texts are sorted by length among 32 x batch_size neighbours."""
BF16_MIN_AGREEMENT = 0.999
"""Share of texts whose top class must not change for bf16 to be used."""


def row_lengths(token_ids: np.ndarray) -> np.ndarray:
    """Tokens per row of a padded id array (N, T): its count of non-zero ids, int64 (N,)."""
    if token_ids.ndim != 2:
        raise FourfoldError(f"encoded texts must be an array of shape (texts, tokens); got shape {token_ids.shape}")
    counts: np.ndarray = np.count_nonzero(token_ids, axis=1).astype(np.int64)
    return counts


def length_batches(
    lengths: np.ndarray,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    window_batches: int | None = DEFAULT_WINDOW_BATCHES,
    rng: np.random.Generator | None = None,
) -> list[np.ndarray]:
    """Row indices of batches whose texts are alike in length, longest first in each batch.

    Args:
        lengths: (N,) tokens per text.
        batch_size: texts per batch (the last batch of a window may be smaller).
        window_batches: texts are sorted by length within windows of this many batches; None sorts all of them.
        rng: for training: shuffle the texts before windowing and the batches after; None keeps the data order
            (inference), so the windows are consecutive texts.
    """
    if batch_size < 1:
        raise FourfoldError(f"batch_size must be at least 1 (got {batch_size})")
    if window_batches is not None and window_batches < 1:
        raise FourfoldError(f"window_batches must be at least 1 or None (got {window_batches})")
    count = len(lengths)
    order = rng.permutation(count) if rng is not None else np.arange(count)
    window = count if window_batches is None else window_batches * batch_size
    batches: list[np.ndarray] = []
    for start in range(0, count, max(window, 1)):
        rows = order[start : start + window]
        rows = rows[np.argsort(-lengths[rows], kind="stable")]  # longest first, ties in data order
        for first in range(0, len(rows), batch_size):
            batches.append(rows[first : first + batch_size])
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def collate(token_ids: np.ndarray, rows: np.ndarray, lengths: np.ndarray | None = None) -> tuple[Tensor, Tensor]:
    """The batch of `rows`: token ids (B, W) cut to its longest text, and lengths (B,), both int64 tensors."""
    batch_lengths = row_lengths(token_ids[rows]) if lengths is None else lengths[rows]
    width = max(int(batch_lengths.max()), 1) if len(rows) else 1
    ids = torch.from_numpy(np.ascontiguousarray(token_ids[rows, :width], dtype=np.int64))  # (B, W)
    return ids, torch.from_numpy(np.ascontiguousarray(batch_lengths, dtype=np.int64))


def iterate_batches(
    token_ids: np.ndarray,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    window_batches: int | None = DEFAULT_WINDOW_BATCHES,
    rng: np.random.Generator | None = None,
) -> Iterator[tuple[np.ndarray, Tensor, Tensor]]:
    """(rows, token ids (B, W), lengths (B,)) of length-bucketed batches of a padded id array (N, T)."""
    lengths = row_lengths(token_ids)
    for rows in length_batches(lengths, batch_size, window_batches=window_batches, rng=rng):
        ids, batch_lengths = collate(token_ids, rows, lengths)
        yield rows, ids, batch_lengths


def predict_logits(
    model: DeepMoji,
    token_ids: np.ndarray,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    window_batches: int | None = DEFAULT_WINDOW_BATCHES,
) -> Tensor:
    """Logits (N, C), float32, of every row of a padded id array (N, T), in the array's order.

    Runs in inference mode on length-bucketed batches; sets the model to eval mode.
    """
    model.eval()
    device = model.head.weight.device
    logits = torch.empty(len(token_ids), model.config.num_classes)  # (N, C)
    with torch.inference_mode():
        for rows, ids, lengths in iterate_batches(token_ids, batch_size, window_batches=window_batches):
            batch_logits = model(ids.to(device), lengths)  # (B, C)
            logits[torch.from_numpy(rows)] = batch_logits.float().cpu()
    return logits


def bf16_copy(model: DeepMoji) -> DeepMoji:
    """A copy of `model` whose embedding and LSTMs hold bf16 weights (attention and head stay float32)."""
    copied = copy.deepcopy(model)
    copied.cast_recurrent(torch.bfloat16)
    return copied.eval()


def bf16_agreement(model: DeepMoji, token_ids: np.ndarray, batch_size: int = DEFAULT_BATCH_SIZE) -> float:
    """Share of the rows of `token_ids` (N, T) whose top class a bf16 copy of `model` predicts unchanged."""
    if len(token_ids) == 0:
        return 1.0
    reference = predict_logits(model, token_ids, batch_size).argmax(dim=1)  # (N,)
    lowered = predict_logits(bf16_copy(model), token_ids, batch_size).argmax(dim=1)  # (N,)
    return float((reference == lowered).double().mean())
