"""Distant supervision (`fourfold deepmoji label`): texts carrying emoji become 64-class training examples.

DeepMoji (Felbo et al. 2017, section 2.1) learned from tweets labelled by the emoji in them. For each text:

1. keep it only if it holds one of the 64 emoji (`emojis.EMOJI_CHARS`; a selector or skin tone is ignored);
2. drop retweets (a text starting with "RT") and texts with a URL, as the paper did;
3. remove all emoji (and the selectors and joiners they leave) from the text;
4. drop it if fewer than `min_tokens` of its words are content words: not punctuation, not a special token
   (mention, URL, number, line break), not an emoji — the paper kept tweets with at least one;
5. write one example per distinct emoji among the 64 it held, the emoji as the label ("for each unique emoji
   type, we save a separate tweet for the pretraining with that emoji type as the label");
6. drop an example whose words (after DeepMoji's tokenizer: lower case, repeats cut, mentions, URLs and numbers
   merged into their special tokens) and label equal an earlier one's: de-duplication.

`label(config)` reads text files (one text a line), JSONL or CSV (the text in a field), writes `train.jsonl`,
`val.jsonl`, `test.jsonl` (`{"text": ..., "label": "😂"}`, split by a hash of the text so that a text's examples
share a split), `labels.txt` (the 64 emoji in class order) and `summary.json`; `fourfold.deepmoji.data.load_dataset`
reads that folder back as a 64-class `TextDataset`. `harvest` runs the same steps over every text of TweetEval's
tasks and GoEmotions found in the data folder: the real pretraining set this project has.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import emoji as emoji_package
import numpy as np

from fourfold.core.config import require
from fourfold.core.data import CACHE_ENV, DATA_ENV, DEFAULT_CACHE, DataNotFoundError
from fourfold.deepmoji.data import (
    SPLITS,
    DatasetError,
    Split,
    TextDataset,
    hash_split,
    read_lines,
    read_records,
)
from fourfold.deepmoji.emojis import EMOJI_CHARS, NUM_EMOJIS, emoji_classes, strip_emoji
from fourfold.deepmoji.tokenizer import SPECIAL_TOKENS, words

_RETWEET_RE = re.compile(r"^\s*rt\b", re.IGNORECASE)
_URL_RE = re.compile(r"https?://|www\.", re.IGNORECASE)  # DeepMoji's fast URL filter
_PUNCTUATION = frozenset(string.punctuation)
_SPECIAL = frozenset(SPECIAL_TOKENS)
_GOEMOTIONS_FILES = {"train": "train.tsv", "val": "dev.tsv", "test": "test.tsv"}


@dataclass
class LabelConfig:
    """Settings of `fourfold deepmoji label`."""

    inputs: tuple[str, ...] = ()
    """Files of texts with emoji: `.jsonl` or `.csv` (text in `text_field`), anything else one text a line.
    Without inputs, the texts of TweetEval and GoEmotions are harvested (see `harvest`)."""
    out: str = "runs/deepmoji/labeled"
    """Folder to write train/val/test.jsonl, labels.txt and summary.json into."""
    harvest: bool = False
    """Harvest TweetEval's and GoEmotions' texts from the data folder as well as reading `inputs`."""
    data_root: str | None = None
    """The data folder for `harvest` (default $FOURFOLD_DATA, else the cache)."""
    text_field: str = "text"
    """The field that holds the text in JSONL and CSV inputs."""
    min_tokens: int = 1
    """Fewest content words (not punctuation, special tokens or emoji) a kept text has."""
    drop_urls: bool = True
    """Drop texts holding a URL (the paper did)."""
    drop_retweets: bool = True
    """Drop texts starting with "RT" (the paper did)."""
    deduplicate: bool = True
    """Drop an example whose words and label equal an earlier example's."""
    val_fraction: float = 0.1
    """Share of texts (by hash) in the validation split."""
    test_fraction: float = 0.1
    """Share of texts (by hash) in the test split."""

    def __post_init__(self) -> None:
        require(self.min_tokens >= 0, "min_tokens", f"must be 0 or more (got {self.min_tokens})")
        require(0 <= self.val_fraction < 1, "val_fraction", f"must be in [0, 1) (got {self.val_fraction})")
        require(0 <= self.test_fraction < 1, "test_fraction", f"must be in [0, 1) (got {self.test_fraction})")
        require(
            self.val_fraction + self.test_fraction < 1,
            "test_fraction",
            f"val_fraction + test_fraction must be below 1 (got {self.val_fraction + self.test_fraction})",
        )


@dataclass(frozen=True)
class Example:
    """One training example: a text without its emoji, and the class of one emoji it held."""

    text: str
    label: int
    """DeepMoji class id, 0 to 63."""


@dataclass
class FilterCounts:
    """What happened to the texts: how many were read, kept and dropped by each filter, in filter order."""

    texts: int = 0
    """Non-empty texts read."""
    with_emoji: int = 0
    """Texts holding at least one of the 64 emoji."""
    retweets: int = 0
    urls: int = 0
    short: int = 0
    """Dropped for fewer than `min_tokens` content words."""
    duplicates: int = 0
    """Examples dropped as repeats."""
    examples: int = 0


@dataclass
class LabelSummary:
    """What `label` wrote, and from what."""

    out: str
    counts: FilterCounts
    train: int
    val: int
    test: int
    class_counts: list[int] = field(default_factory=list)
    """Examples per DeepMoji class (64 entries)."""
    classes_present: int = 0


def distant_labels(
    texts: Iterable[str],
    *,
    min_tokens: int = 1,
    drop_urls: bool = True,
    drop_retweets: bool = True,
    deduplicate: bool = True,
) -> tuple[list[Example], FilterCounts]:
    """Examples from texts with emoji, by the steps of the module docstring (empty texts are skipped).

    Returns:
        The examples in input order (one per distinct emoji class of a text), and the filter counts.
    """
    counts = FilterCounts()
    seen: set[tuple[str, int]] = set()
    examples: list[Example] = []
    for text in texts:
        if not text.strip():
            continue
        counts.texts += 1
        classes = emoji_classes(text)
        if not classes:
            continue
        counts.with_emoji += 1
        if drop_retweets and _RETWEET_RE.match(text):
            counts.retweets += 1
            continue
        if drop_urls and _URL_RE.search(text):
            counts.urls += 1
            continue
        stripped = strip_emoji(text)
        tokens = words(stripped)
        if sum(is_content_word(token) for token in tokens) < min_tokens:
            counts.short += 1
            continue
        key_text = " ".join(tokens)
        for label in classes:
            if deduplicate:
                if (key_text, label) in seen:
                    counts.duplicates += 1
                    continue
                seen.add((key_text, label))
            examples.append(Example(stripped, label))
    counts.examples = len(examples)
    return examples, counts


def is_content_word(word: str) -> bool:
    """True for a word that counts towards a text's length: not punctuation, a special token or an emoji."""
    if word in _SPECIAL or all(char in _PUNCTUATION for char in word):
        return False
    return not (emoji_package.is_emoji(word) or word in EMOJI_CHARS)


def harvest(
    data_root: str | Path | None = None,
    *,
    splits: Sequence[str] = SPLITS,
    min_tokens: int = 1,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
) -> TextDataset:
    """The 64-class emoji set distilled from all TweetEval task texts and GoEmotions found under `data_root`.

    Args:
        data_root: the data folder (holding `tweeteval/` and `goemotions/`); default $FOURFOLD_DATA, else the
            cache (~/.cache/fourfold).
        splits: which of the source sets' splits to read texts from (all by default; leave out "test" to keep
            the benchmarks' test texts out of pretraining).
        min_tokens: as in `distant_labels`.
        val_fraction: share of texts (by hash) in the new validation split.
        test_fraction: share of texts (by hash) in the new test split.

    Raises:
        DataNotFoundError: no TweetEval or GoEmotions text is found under the data folder.
    """
    examples, _ = distant_labels(harvest_texts(data_root, splits=splits), min_tokens=min_tokens)
    return examples_to_dataset(examples, "harvest", val_fraction=val_fraction, test_fraction=test_fraction)


def harvest_texts(data_root: str | Path | None = None, *, splits: Sequence[str] = SPLITS) -> list[str]:
    """Every text of the TweetEval tasks' `<split>_text.txt` and of GoEmotions' (original) TSV files."""
    root = _data_root(data_root)
    unknown = [split for split in splits if split not in SPLITS]
    if unknown:
        raise DatasetError(f"unknown split {unknown[0]!r}: use any of {', '.join(SPLITS)}")
    files = [path for split in splits for path in sorted(root.glob(f"tweeteval/*/{split}_text.txt"))]
    texts = [text for path in files for text in read_lines(path)]
    goemotions = [root / "goemotions" / "original" / _GOEMOTIONS_FILES[split] for split in splits]
    for path in goemotions:
        if path.is_file():
            files.append(path)
            texts += [line.split("\t", 1)[0] for line in read_lines(path)]
    if not files:
        raise DataNotFoundError(
            f"no TweetEval or GoEmotions texts under {root} (looked for tweeteval/<task>/<split>_text.txt and "
            f"goemotions/original/*.tsv); set {DATA_ENV} to the data folder or pass its path"
        )
    return texts


def examples_to_dataset(
    examples: Sequence[Example], name: str, *, val_fraction: float = 0.1, test_fraction: float = 0.1
) -> TextDataset:
    """Examples as a 64-class `TextDataset` (label names: the emoji), split by a hash of each text."""
    grouped: dict[str, list[Example]] = {split: [] for split in SPLITS}
    for example in examples:
        grouped[hash_split(example.text, val_fraction, test_fraction)].append(example)
    splits = [
        Split([e.text for e in grouped[split]], np.array([e.label for e in grouped[split]], dtype=np.int64))
        for split in SPLITS
    ]
    return TextDataset.from_splits(name, splits, list(EMOJI_CHARS), multilabel=False)


def label(config: LabelConfig) -> LabelSummary:
    """Turn the texts of `config` into emoji-labelled examples, written to `config.out`, and say what was kept."""
    texts: list[str] = []
    for path in config.inputs:
        texts += read_texts(path, config.text_field)
    if config.harvest or not config.inputs:
        texts += harvest_texts(config.data_root)
    examples, counts = distant_labels(
        texts,
        min_tokens=config.min_tokens,
        drop_urls=config.drop_urls,
        drop_retweets=config.drop_retweets,
        deduplicate=config.deduplicate,
    )
    dataset = examples_to_dataset(
        examples, Path(config.out).name, val_fraction=config.val_fraction, test_fraction=config.test_fraction
    )
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        part = dataset.split(split)
        lines = [
            json.dumps({"text": text, "label": EMOJI_CHARS[int(label_id)]}, ensure_ascii=False) + "\n"
            for text, label_id in zip(part.texts, part.labels, strict=True)
        ]
        _write(out / f"{split}.jsonl", "".join(lines))
    _write(out / "labels.txt", "".join(f"{char}\n" for char in EMOJI_CHARS))
    class_counts = np.bincount([e.label for e in examples], minlength=NUM_EMOJIS).tolist()
    summary = LabelSummary(
        out=str(out),
        counts=counts,
        train=len(dataset.train),
        val=len(dataset.val),
        test=len(dataset.test),
        class_counts=class_counts,
        classes_present=sum(1 for count in class_counts if count),
    )
    _write(out / "summary.json", json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def read_texts(path: str | Path, text_field: str = "text") -> list[str]:
    """The texts of one input: a JSONL or CSV file's `text_field`, or the lines of any other file."""
    path = Path(path)
    if path.suffix.lower() not in (".jsonl", ".csv"):
        return read_lines(path)
    texts = []
    for number, record in read_records(path):
        text = record.get(text_field)
        if not isinstance(text, str):
            raise DatasetError(f"{path}, line {number}: no text in field {text_field!r}; name the text field")
        texts.append(text)
    return texts


def _data_root(data_root: str | Path | None) -> Path:
    """The explicit folder, else $FOURFOLD_DATA, else the cache base."""
    if data_root is not None:
        return Path(data_root).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    return Path(os.environ.get(CACHE_ENV) or str(DEFAULT_CACHE)).expanduser()


def _write(path: Path, text: str) -> None:
    """Write `text` through a temporary file renamed when complete."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
