"""GPT data: a corpus written into token shards, and the training and evaluation batches drawn from them.

The documents come from `fourfold.gpt.corpus` (text files, folders, JSONL files, "stdlib", "tinyshakespeare").
`write_shards` tokenizes them, shuffles them with a seed, splits them into train and val by document, and
writes for each split `<split>.bin` (all tokens, flat, uint16 when the vocabulary fits, else uint32; each
document followed by the end-of-text id when the tokenizer has one, as in GPT-2's training data) and
`<split>.idx.npy` (the int64 start offset of each document, then the end), plus `meta.json` (dtype, counts,
the tokenizer, the sources). A one-document corpus such as tinyshakespeare is split inside the document
instead: the first 90% of its tokens train, the rest val, as nanoGPT does.

`batch` draws a training batch as a pure function of (data, step, seed, rank): resuming needs no sampler
state. `eval_windows` walks a split once so that a full-pass loss is exact.

Shapes: B batch rows, T context length. In every (x, y) pair y is x shifted by one: y[b, t] is the token that
follows x[b, t], or -100 (ignored by the loss) where x[b, t] is padding.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fourfold.core.errors import FourfoldError
from fourfold.core.progress import ProgressBar
from fourfold.gpt.corpus import (
    DEFAULT_SUFFIXES,
    DataError,
    Document,
    describe_source,
    documents_of,
    source_files,
)
from fourfold.gpt.tokenizer import Tokenizer, tokenizer_from_dict

if TYPE_CHECKING:
    import torch

IGNORE_INDEX = -100
"""The target of padding positions; `torch.nn.functional.cross_entropy` skips it."""
FORMAT_VERSION = 1
_CHUNK_DOCUMENTS = 64  # documents tokenized per `encode_batch` call: enough to keep its threads busy


@dataclass(frozen=True)
class SplitStats:
    """The size of one split."""

    tokens: int
    documents: int
    bytes: int
    """UTF-8 bytes of the split's text (end-of-text ids count none), the denominator of bits per byte."""


@dataclass(frozen=True)
class PreparedData:
    """What `write_shards` wrote (the contents of `meta.json` without the tokenizer)."""

    folder: Path
    dtype: str
    vocab_size: int
    eot_id: int | None
    train: SplitStats
    val: SplitStats
    sources: tuple[str, ...]
    seed: int
    val_fraction: float
    split_inside_document: bool
    """True when the corpus was one document, split at a token boundary."""

    def split(self, name: str) -> SplitStats:
        """The stats of split `name` ("train" or "val")."""
        if name not in ("train", "val"):
            raise DataError(f"there is no split {name!r}; the splits are 'train' and 'val'")
        return self.train if name == "train" else self.val


def write_shards(
    sources: Sequence[str | Path],
    out_dir: str | Path,
    tokenizer: Tokenizer,
    *,
    val_fraction: float = 0.1,
    seed: int = 0,
    suffixes: Sequence[str] = DEFAULT_SUFFIXES,
    max_files: int | None = None,
    progress: bool = True,
) -> PreparedData:
    """Tokenize `sources` into train and val shards in `out_dir` (see the module docstring for the files).

    The command `fourfold gpt prepare` (`fourfold.gpt.prepare.prepare`) chooses the tokenizer and calls this.

    Args:
        sources: as in `fourfold.gpt.corpus.iter_documents`.
        out_dir: the folder to write (created; files of an earlier preparation are replaced).
        tokenizer: the tokenizer; saved in `meta.json`, `TokenData.tokenizer()` rebuilds it.
        val_fraction: the share of documents held out for val, at least one document (and at least one left
            for train); for a one-document corpus the share of its tokens.
        seed: seeds the shuffle of documents before the split.
        suffixes: as in `iter_documents`.
        max_files: as in `iter_documents`.
        progress: show a progress bar on stderr.

    Raises:
        DataError: a source is missing or unreadable, the corpus is empty, or val_fraction is not in (0, 1).
    """
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must be between 0 and 1 (got {val_fraction})")
    if not sources:
        raise DataError("no sources given; pass text files, folders, .jsonl files or 'stdlib'")
    files = source_files(sources, suffixes, max_files)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Without meta.json the folder does not count as prepared, until everything below is written.
    (out / "meta.json").unlink(missing_ok=True)
    dtype = np.dtype(np.uint16 if tokenizer.vocab_size <= 2**16 else np.uint32)

    # 1. Tokenize every document into one temporary flat file, in source order.
    all_tokens = out / ".all.tmp"
    lengths, text_bytes = _tokenize_to_file(files, all_tokens, tokenizer, dtype, progress)
    try:
        if not lengths:
            raise DataError(f"the corpus is empty: {', '.join(str(s) for s in sources)} hold no text")
        tokens = np.memmap(all_tokens, dtype=dtype, mode="r", shape=(int(sum(lengths)),))
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

        # 2. Split: by document after a seeded shuffle, or inside the only document.
        if len(lengths) == 1:
            cut = int(lengths[0] * (1.0 - val_fraction))
            if not 0 < cut < lengths[0]:
                raise DataError(f"the corpus has only {lengths[0]} tokens, too few to split into train and val")
            train_bytes = len(tokenizer.decode(tokens[:cut].tolist()).encode("utf-8"))
            pieces = {"train": [(0, cut)], "val": [(cut, lengths[0])]}
            split_bytes = {"train": train_bytes, "val": text_bytes[0] - train_bytes}
        else:
            order = np.random.default_rng(seed).permutation(len(lengths))
            num_val = min(len(lengths) - 1, max(1, round(val_fraction * len(lengths))))
            chosen = {"val": order[:num_val], "train": order[num_val:]}
            pieces = {name: [(int(starts[d]), int(starts[d + 1])) for d in docs] for name, docs in chosen.items()}
            split_bytes = {name: int(sum(text_bytes[d] for d in docs)) for name, docs in chosen.items()}

        # 3. Write each split's tokens and offsets, then meta.json last.
        stats = {name: _write_split(out, name, tokens, pieces[name], split_bytes[name]) for name in ("train", "val")}
        del tokens
    finally:
        all_tokens.unlink(missing_ok=True)
    summary = PreparedData(
        folder=out,
        dtype=dtype.name,
        vocab_size=tokenizer.vocab_size,
        eot_id=tokenizer.eot_id,
        train=stats["train"],
        val=stats["val"],
        sources=tuple(describe_source(s) for s in sources),
        seed=seed,
        val_fraction=val_fraction,
        split_inside_document=len(lengths) == 1,
    )
    meta = {"format_version": FORMAT_VERSION, **asdict(summary), "tokenizer": tokenizer.to_dict()}
    meta["folder"] = str(out)
    temporary = out / ".meta.json.tmp"
    temporary.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, out / "meta.json")
    return summary


class TokenData:
    """One prepared split, memory-mapped: `tokens` (flat) and `offsets` (document starts, then the end)."""

    def __init__(
        self,
        meta: PreparedData,
        split: str,
        tokens: np.ndarray,
        offsets: np.ndarray,
        tokenizer: dict[str, Any],
    ) -> None:
        self.meta = meta
        self.split = split
        self.tokens = tokens
        self.offsets = offsets
        self._tokenizer_dict = tokenizer

    @classmethod
    def open(cls, out_dir: str | Path, split: str) -> TokenData:
        """Open split `split` ("train" or "val") of the data `write_shards` wrote to `out_dir`.

        Raises:
            DataError: there is no prepared data there, or its files are damaged or incomplete.
        """
        folder = Path(out_dir)
        meta_file = folder / "meta.json"
        if not meta_file.is_file():
            raise DataError(f"no prepared data in {folder} (no meta.json); run `fourfold gpt prepare` first")
        try:
            raw = json.loads(meta_file.read_text(encoding="utf-8"))
            meta = _meta_from_json(raw, folder)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(f"{meta_file} is damaged ({error!r}); prepare the data again") from None
        stats = meta.split(split)
        bin_file, idx_file = folder / f"{split}.bin", folder / f"{split}.idx.npy"
        itemsize = np.dtype(meta.dtype).itemsize
        if not bin_file.is_file() or bin_file.stat().st_size != stats.tokens * itemsize:
            raise DataError(f"{bin_file} is missing or not {stats.tokens} tokens long; prepare the data again")
        try:
            offsets = np.load(idx_file)
        except (OSError, ValueError) as error:
            raise DataError(f"cannot read {idx_file} ({error}); prepare the data again") from None
        if offsets.shape != (stats.documents + 1,) or offsets[0] != 0 or offsets[-1] != stats.tokens:
            raise DataError(f"{idx_file} does not match {bin_file}; prepare the data again")
        tokens = np.memmap(bin_file, dtype=meta.dtype, mode="r", shape=(stats.tokens,))
        return cls(meta, split, tokens, offsets.astype(np.int64), raw["tokenizer"])

    @classmethod
    def from_documents(cls, documents: Sequence[Sequence[int]], *, num_bytes: int, tokenizer: Tokenizer) -> TokenData:
        """An in-memory split (named "val") of already tokenised documents, e.g. a file to evaluate whole.

        Each document is followed by the tokenizer's end-of-text id when it has one, as `write_shards` does.
        """
        eot = [] if tokenizer.eot_id is None else [tokenizer.eot_id]
        pieces = [np.asarray([*document, *eot], dtype=np.int64) for document in documents]
        lengths = [len(p) for p in pieces]
        tokens = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        stats = SplitStats(tokens=len(tokens), documents=len(pieces), bytes=num_bytes)
        meta = PreparedData(
            folder=Path(),
            dtype=tokens.dtype.name,
            vocab_size=tokenizer.vocab_size,
            eot_id=tokenizer.eot_id,
            train=SplitStats(tokens=0, documents=0, bytes=0),
            val=stats,
            sources=(),
            seed=0,
            val_fraction=1.0,
            split_inside_document=False,
        )
        return cls(meta, "val", tokens, offsets, tokenizer.to_dict())

    def tokenizer(self) -> Tokenizer:
        """The tokenizer the data was prepared with."""
        return tokenizer_from_dict(self._tokenizer_dict)

    @property
    def num_tokens(self) -> int:
        return len(self.tokens)

    @property
    def num_documents(self) -> int:
        return len(self.offsets) - 1

    @property
    def num_bytes(self) -> int:
        """UTF-8 bytes of the split's text, for bits per byte."""
        return self.meta.split(self.split).bytes

    def document(self, index: int) -> np.ndarray:
        """The tokens of document `index` (its end-of-text id included)."""
        return self.tokens[self.offsets[index] : self.offsets[index + 1]]

    @cached_property
    def cumulative_targets(self) -> np.ndarray:
        """Running total of the documents' targets (L - 1 for L tokens), for length-weighted sampling."""
        targets = np.maximum(np.diff(self.offsets) - 1, 0)
        return np.cumsum(targets)


def batch(
    data: TokenData,
    step: int,
    *,
    batch_size: int,
    context_length: int,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
    straddle: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch of `step`: random windows of T + 1 tokens as inputs x and targets y (x shifted by one).

    A pure function of its arguments: the global batch of `batch_size * world_size` windows is drawn from
    `np.random.default_rng([seed, step])` and rank r takes rows r·B … (r+1)·B - 1, so resuming at a step, or
    running on any number of processes, draws the same windows. Without `straddle`, a window lies inside one
    document: documents are picked with probability proportional to their length (their number of
    targets, L - 1), then a uniform offset; a document shorter than T + 1 tokens gives a window padded at the
    end (inputs with the end-of-text id, or 0; targets with -100). With `straddle`, windows start anywhere in
    the flat token stream, as nanoGPT's.

    Returns:
        x, y: int64 tensors of shape (B, T).
    """
    import torch

    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size) (got rank {rank}, world_size {world_size})")
    t = context_length
    rng = np.random.default_rng([seed, step])
    count = batch_size * world_size
    if straddle:
        starts = rng.integers(0, max(data.num_tokens - t - 1, 0) + 1, size=count)
        ends = np.minimum(starts + t + 1, data.num_tokens)
    else:
        totals = data.cumulative_targets
        if data.num_tokens == 0 or totals[-1] == 0:
            raise DataError(f"the {data.split} split holds no document of two tokens or more to draw windows from")
        documents = np.searchsorted(totals, rng.integers(0, totals[-1], size=count), side="right")
        doc_starts, doc_ends = data.offsets[documents], data.offsets[documents + 1]
        starts = doc_starts + rng.integers(0, np.maximum(doc_ends - doc_starts - t - 1, 0) + 1)
        ends = np.minimum(starts + t + 1, doc_ends)
    mine = slice(rank * batch_size, (rank + 1) * batch_size)
    x, y = _windows(data, list(zip(starts[mine].tolist(), ends[mine].tolist(), strict=True)), t)
    return torch.from_numpy(x), torch.from_numpy(y)


def eval_windows(data: TokenData, context_length: int, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Every target of the split exactly once: non-overlapping windows inside each document, in order.

    Document d of L tokens gives ceil((L - 1) / T) windows; the last is padded (targets -100). Each token but
    the first of each document is a target once, so summing the loss over all batches and dividing by
    `data.num_bytes` gives exact bits per byte. Batches have `batch_size` rows, the last may have fewer.

    Yields:
        x, y: int64 tensors of shape (B, T).
    """
    import torch

    t = context_length
    spans: list[tuple[int, int]] = []
    lengths = np.diff(data.offsets).tolist()
    for start, length in zip(data.offsets[:-1].tolist(), lengths, strict=True):
        for offset in range(0, length - 1, t):
            spans.append((start + offset, start + min(offset + t + 1, length)))
            if len(spans) == batch_size:
                x, y = _windows(data, spans, t)
                yield torch.from_numpy(x), torch.from_numpy(y)
                spans = []
    if spans:
        x, y = _windows(data, spans, t)
        yield torch.from_numpy(x), torch.from_numpy(y)


def count_eval_windows(data: TokenData, context_length: int) -> int:
    """The number of windows `eval_windows` yields in all (for a progress bar)."""
    targets = np.maximum(np.diff(data.offsets) - 1, 0)
    return int(np.sum((targets + context_length - 1) // context_length))


def _windows(data: TokenData, spans: Sequence[tuple[int, int]], t: int) -> tuple[np.ndarray, np.ndarray]:
    """x, y (B, T) of the token spans [start, end) (each at most T + 1 long), padded at the end."""
    pad = data.meta.eot_id if data.meta.eot_id is not None else 0
    x = np.full((len(spans), t), pad, dtype=np.int64)
    y = np.full((len(spans), t), IGNORE_INDEX, dtype=np.int64)
    for row, (start, end) in enumerate(spans):
        window = data.tokens[start:end].astype(np.int64)  # (k + 1,)
        k = len(window) - 1
        if k > 0:
            x[row, :k] = window[:-1]
            y[row, :k] = window[1:]
    return x, y


def _tokenize_to_file(
    files: Sequence[Path], target: Path, tokenizer: Tokenizer, dtype: np.dtype[Any], progress: bool
) -> tuple[list[int], list[int]]:
    """Tokenize the documents of `files` into the flat file `target`; return token and UTF-8 byte counts per
    document (empty documents are left out, each other one ends with the end-of-text id if there is one)."""
    eot = tokenizer.eot_id
    lengths: list[int] = []
    text_bytes: list[int] = []
    total = sum(path.stat().st_size for path in files)
    documents = documents_of(files)
    with ProgressBar(total, "tokenize", "B", enabled=progress) as bar, target.open("wb") as out:
        while chunk := list(islice(documents, _CHUNK_DOCUMENTS)):
            texts = [d.text for d in chunk if d.text]
            for text, ids in zip(texts, _encode_batch(tokenizer, chunk, texts), strict=True):
                if eot is not None:
                    ids.append(eot)
                out.write(np.asarray(ids, dtype=dtype).tobytes())
                lengths.append(len(ids))
                text_bytes.append(len(text.encode("utf-8")))
            bar.advance(sum(d.source_bytes for d in chunk))
    return lengths, text_bytes


def _encode_batch(tokenizer: Tokenizer, chunk: Sequence[Document], texts: list[str]) -> list[list[int]]:
    """`tokenizer.encode_batch(texts)`; a text it cannot encode is reported with its document's name."""
    try:
        return tokenizer.encode_batch(texts)
    except FourfoldError as error:
        for document in chunk:
            try:
                tokenizer.encode(document.text)
            except FourfoldError as error_here:
                raise DataError(f"{document.name}: {error_here}") from None
        raise DataError(str(error)) from None


def _write_split(
    out: Path, name: str, tokens: np.ndarray, pieces: Sequence[tuple[int, int]], num_bytes: int
) -> SplitStats:
    """Write `<name>.bin` (the token ranges `pieces`, in order) and `<name>.idx.npy`; return their stats."""
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    temporary = out / f".{name}.bin.tmp"
    with temporary.open("wb") as handle:
        for i, (start, end) in enumerate(pieces):
            handle.write(tokens[start:end].tobytes())
            offsets[i + 1] = offsets[i] + (end - start)
    os.replace(temporary, out / f"{name}.bin")
    with (out / f".{name}.idx.tmp").open("wb") as handle:
        np.save(handle, offsets)
    os.replace(out / f".{name}.idx.tmp", out / f"{name}.idx.npy")
    return SplitStats(tokens=int(offsets[-1]), documents=len(pieces), bytes=num_bytes)


def _meta_from_json(raw: dict[str, Any], folder: Path) -> PreparedData:
    """`PreparedData` from `meta.json`'s object (KeyError, TypeError or ValueError when it is damaged)."""
    if raw["format_version"] != FORMAT_VERSION:
        raise ValueError(f"format version {raw['format_version']} is not {FORMAT_VERSION}")
    return PreparedData(
        folder=folder,
        dtype=str(np.dtype(raw["dtype"])),
        vocab_size=int(raw["vocab_size"]),
        eot_id=None if raw["eot_id"] is None else int(raw["eot_id"]),
        train=SplitStats(**raw["train"]),
        val=SplitStats(**raw["val"]),
        sources=tuple(raw["sources"]),
        seed=int(raw["seed"]),
        val_fraction=float(raw["val_fraction"]),
        split_inside_document=bool(raw["split_inside_document"]),
    )
