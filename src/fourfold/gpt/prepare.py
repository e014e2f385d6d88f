"""`fourfold gpt prepare`: a corpus into train/val token shards, with the tokenizer it asks for.

The tokenizer is GPT-2's byte-level BPE (default), one token per character of the corpus (`--tokenizer char`), a
byte-level BPE trained on the corpus (`--tokenizer bpe --vocab-size N`), or the tokenizer of a model to fine-tune
(`--tokenizer-from PATH`). Without sources the corpus is the Python standard library's source, which every machine
has.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fourfold.gpt.config import PrepareConfig
from fourfold.gpt.corpus import STDLIB_SOURCE, iter_documents
from fourfold.gpt.data import write_shards
from fourfold.gpt.pretrained import load_pretrained
from fourfold.gpt.tokenizer import BPETokenizer, CharTokenizer, Tokenizer, train_bpe


@dataclass
class PrepareSummary:
    """What was written: where, with which tokenizer, and how much."""

    out: str
    tokenizer: str
    vocab_size: int
    documents: int
    train_tokens: int
    val_tokens: int
    train_bytes: int
    val_bytes: int
    seconds: float


def prepare(config: PrepareConfig) -> PrepareSummary:
    """Tokenise the corpus of `config` into shards in `config.out` and say what was written."""
    started = time.monotonic()
    sources: Sequence[str | Path] = config.sources or (STDLIB_SOURCE,)
    tokenizer = _tokenizer(config, sources)
    prepared = write_shards(
        sources, config.out, tokenizer, val_fraction=config.val_fraction, seed=config.seed, max_files=config.max_files
    )
    return PrepareSummary(
        out=str(config.out),
        tokenizer=str(config.tokenizer_from or config.tokenizer),
        vocab_size=tokenizer.vocab_size,
        documents=prepared.train.documents + prepared.val.documents,
        train_tokens=prepared.train.tokens,
        val_tokens=prepared.val.tokens,
        train_bytes=prepared.train.bytes,
        val_bytes=prepared.val.bytes,
        seconds=time.monotonic() - started,
    )


def _tokenizer(config: PrepareConfig, sources: Sequence[str | Path]) -> Tokenizer:
    if config.tokenizer_from is not None:
        return load_pretrained(config.tokenizer_from).tokenizer
    if config.tokenizer == "gpt2":
        return BPETokenizer.gpt2()
    texts = (document.text for document in iter_documents(sources, max_files=config.max_files))
    if config.tokenizer == "char":
        return CharTokenizer.from_texts(texts)
    return train_bpe(texts, config.vocab_size)
