"""`fourfold deepmoji corpus`: the texts of the data sets as one file, the corpus a GPT for tweets is trained on.

The language-model route (`fourfold.deepmoji.features`) reads text features from a fourfold GPT; a GPT that has
read tweets makes better ones than one trained on books. This writes the distinct texts of the named data sets'
train and validation splits (never their test splits, so no benchmark text is seen) to a file that
`fourfold gpt prepare` turns into GPT training data:

    fourfold deepmoji corpus --out data/deepmoji/tweets.jsonl
    fourfold gpt prepare --sources data/deepmoji/tweets.jsonl --tokenizer bpe --vocab-size 8192 --out data/gpt/tweets
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fourfold.core.errors import FourfoldError
from fourfold.deepmoji.data import SPLITS, load_dataset

DEFAULT_CORPUS = (
    "tweeteval/emoji",
    "tweeteval/emotion",
    "tweeteval/hate",
    "tweeteval/irony",
    "tweeteval/offensive",
    "goemotions",
    "deepmoji/SS-Twitter",
    "deepmoji/SE0714",
    "deepmoji/SCv1",
)
"""The data sets whose texts make the GPT corpus (TweetEval's sentiment task has no train texts)."""


class CorpusError(FourfoldError):
    """A corpus that cannot be written: an unknown split, or data sets with no texts."""


@dataclass
class CorpusConfig:
    """Write the texts of data sets to one file, the corpus `fourfold gpt prepare` turns into GPT training data."""

    datasets: tuple[str, ...] = DEFAULT_CORPUS
    """Data set names or paths whose texts to write."""
    out: Path = Path("data/deepmoji/tweets.jsonl")
    """The file: .jsonl (one {"text": ...} a line: one GPT document per text) or a text file (one text a line)."""
    splits: tuple[str, ...] = ("train", "val")
    """Which splits' texts (leave "test" out to keep the benchmarks' test texts unseen)."""


@dataclass
class CorpusSummary:
    """What `make_corpus` wrote."""

    out: str
    texts: int
    """Distinct texts written."""
    characters: int
    datasets: list[str]


def write_corpus(
    dataset_names: Sequence[str], path: str | Path, splits: Sequence[str] = ("train", "val")
) -> CorpusSummary:
    """Write the distinct texts of the data sets' `splits` to `path`, a GPT corpus for `fourfold gpt prepare`.

    A `.jsonl` path gets one `{"text": ...}` a line (each text its own document, separated by end-of-text);
    any other path one text a line, line breaks inside a text turned into spaces (one document in all).

    Raises:
        CorpusError: an unknown split, or no texts at all.
        DatasetError / DataNotFoundError: a data set cannot be loaded.
    """
    unknown = [split for split in splits if split not in SPLITS]
    if unknown:
        raise CorpusError(f"unknown split {unknown[0]!r}: use any of {', '.join(SPLITS)}")
    seen: dict[str, None] = {}
    for name in dataset_names:
        dataset = load_dataset(name)
        for split in splits:
            for text in dataset.split(split).texts:
                cleaned = " ".join(text.split())
                if cleaned:
                    seen.setdefault(cleaned, None)
    if not seen:
        raise CorpusError(f"the data sets {', '.join(dataset_names) or '(none)'} hold no texts; name others")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    texts = list(seen)
    if path.suffix.lower() == ".jsonl":
        body = "".join(json.dumps({"text": text}, ensure_ascii=False) + "\n" for text in texts)
    else:
        body = "".join(text + "\n" for text in texts)
    path.write_text(body, encoding="utf-8")
    return CorpusSummary(str(path), len(texts), sum(len(text) for text in texts), list(dataset_names))


def make_corpus(config: CorpusConfig) -> CorpusSummary:
    """`write_corpus` for the command line."""
    return write_corpus(config.datasets, config.out, config.splits)
