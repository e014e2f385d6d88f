"""The language-model route (`fourfold deepmoji features`): text features into logistic regression, and the floor.

Two ways to turn texts into features, each followed by scikit-learn's logistic regression, one-vs-rest (liblinear;
for single-label sets the most probable class wins), with each class's examples weighted inversely to its frequency
(the metric is macro-F1) and the regularisation strength `C` chosen on the validation split by macro-F1:

- **TF-IDF**, the floor every table shows: word 1-2 grams and character 2-5 grams (within word boundaries), each
  TF-IDF weighted with sublinear term frequency and words/grams seen at least twice, side by side. This is the
  common bag-of-n-grams baseline (TweetEval's "TF-IDF + logistic regression" floor, Barbieri et al. 2020).
- **GPT features** (Radford et al. 2018 used a transformer language model's last state as text features): a
  fourfold GPT reads each text and its final hidden states are pooled, by the mean over the text's tokens or the
  state at its last token, into one vector; the vectors are standardised before the regression.

Multi-label sets get one decision threshold on the probabilities, tuned on validation (as DeepMoji tuned its F1
threshold); single-label sets take the most probable class. The summary gives test accuracy (exact match for
multi-label sets), macro-F1, and for binary sets the positive class's F1.

A GPT for tweets is trained with the GPT commands on a corpus of the data sets' texts (`fourfold.deepmoji.corpus`;
only the train and validation splits, so no test text is seen):

    fourfold deepmoji corpus --out data/deepmoji/tweets.jsonl        # one {"text": ...} a line
    fourfold gpt prepare --sources data/deepmoji/tweets.jsonl --tokenizer bpe --vocab-size 8192 \\
        --out data/gpt/tweets
    fourfold gpt train --data data/gpt/tweets --name tweets --preset baby --context-length 64 --num-steps 3000
    fourfold deepmoji features --dataset tweeteval/emotion --gpt-checkpoint runs/gpt/tweets --pooling mean

Shapes: N texts, T tokens per text (padded), C embed_dim (GPT) or n-gram features (TF-IDF), K classes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from fourfold.core.config import require
from fourfold.core.errors import FourfoldError
from fourfold.deepmoji.data import SPLITS, TextDataset, load_dataset

if TYPE_CHECKING:
    from fourfold.gpt.model import GPT
    from fourfold.gpt.tokenizer import Tokenizer

Pooling = Literal["mean", "last"]
DEFAULT_C_VALUES = (0.25, 1.0, 4.0)
"""Inverse regularisation strengths tried; the best on validation macro-F1 is kept."""
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))
"""Decision thresholds tried on validation for multi-label sets (0.05 to 0.95)."""


class FeaturesError(FourfoldError):
    """Bad input to the feature route: an unusable GPT checkpoint, a corpus with no texts, an unknown split."""


@dataclass
class FeaturesConfig:
    """Logistic regression on TF-IDF n-grams (the floor) and, given a GPT, on its pooled hidden states."""

    dataset: str = "tweeteval/emotion"
    """A data set name (tweeteval/<task>, goemotions, deepmoji/<benchmark>, harvest) or path."""
    gpt_checkpoint: Path | None = None
    """A fourfold GPT checkpoint or run folder (its latest checkpoint) or a Hugging Face GPT-2 folder; None: only
    the TF-IDF floor."""
    pooling: Pooling = "mean"
    """How a GPT's hidden states become one vector: mean over the tokens, or the last token's."""
    tfidf: bool = True
    """Also fit the TF-IDF floor."""
    c_values: tuple[float, ...] = DEFAULT_C_VALUES
    """Inverse regularisation strengths tried (best on validation macro-F1 kept)."""
    balanced: bool = True
    """Weight each class's examples inversely to its frequency (raises macro-F1 on skewed sets)."""
    max_train: int | None = None
    """Use at most this many training texts (a seeded sample), for quick runs."""
    max_tokens: int = 128
    """GPT tokens read per text (the first ones; at most the GPT's context length)."""
    batch_size: int = 64
    """Texts per GPT batch."""
    seed: int = 0
    """Seed of the training sample and the solver."""

    def __post_init__(self) -> None:
        require(bool(self.c_values) and all(c > 0 for c in self.c_values), "c_values", "must be positive numbers")
        require(self.max_tokens >= 1, "max_tokens", f"must be at least 1 (got {self.max_tokens})")
        require(self.batch_size >= 1, "batch_size", f"must be at least 1 (got {self.batch_size})")
        if self.max_train is not None:
            require(self.max_train >= 2, "max_train", f"must be at least 2 (got {self.max_train})")


@dataclass
class FeatureResult:
    """One feature route's scores."""

    method: str
    """"tfidf", or "gpt-mean" / "gpt-last"."""
    features: int
    """Width of the feature vectors."""
    c: float
    """The regularisation strength chosen on validation."""
    threshold: float | None
    """The decision threshold chosen on validation (multi-label sets), else None."""
    val_macro_f1: float
    test_accuracy: float
    """Share of test texts predicted exactly right (all labels, for multi-label sets)."""
    test_macro_f1: float
    """Mean F1 over classes (scikit-learn's macro average; 0 for a class never predicted nor present)."""
    test_positive_f1: float | None
    """F1 of class 1 for binary single-label sets (the DeepMoji paper's sarcasm metric), else None."""
    seconds: float
    """Featurising and fitting time."""


@dataclass
class LogisticFit:
    """A logistic regression chosen on validation, and its class scores on validation and test."""

    c: float
    """The regularisation strength chosen."""
    threshold: float | None
    """The multi-label decision threshold chosen (None for single-label sets)."""
    val_macro_f1: float
    features: int
    val_scores: np.ndarray
    """(N_val, K) class probabilities in class-id order (0 for a class absent from training)."""
    test_scores: np.ndarray
    """(N_test, K), likewise."""


@dataclass
class FeaturesSummary:
    """Logistic-regression scores on one data set."""

    dataset: str
    num_classes: int
    multilabel: bool
    train: int
    """Training texts used."""
    val: int
    test: int
    results: list[FeatureResult] = field(default_factory=list)


def features(config: FeaturesConfig) -> FeaturesSummary:
    """Fit logistic regression on TF-IDF features and/or GPT features of `config.dataset`; scores on its test split.

    Raises:
        DatasetError / DataNotFoundError: the data set is malformed or absent.
        FeaturesError: nothing to fit (no GPT and `tfidf` off) or the GPT cannot be loaded.
    """
    if not config.tfidf and config.gpt_checkpoint is None:
        raise FeaturesError("nothing to fit: give --gpt-checkpoint DIR, or leave the TF-IDF floor on")
    dataset = subsample(load_dataset(config.dataset), config.max_train, config.seed)
    summary = FeaturesSummary(
        dataset.name, dataset.num_classes, dataset.multilabel, len(dataset.train), len(dataset.val), len(dataset.test)
    )
    if config.tfidf:
        summary.results.append(tfidf_floor(dataset, config.c_values, balanced=config.balanced, seed=config.seed))
    if config.gpt_checkpoint is not None:
        model, tokenizer = load_gpt(config.gpt_checkpoint)
        started = time.perf_counter()
        split_features = [
            gpt_features(
                model, tokenizer, dataset.split(name).texts, config.pooling, config.max_tokens, config.batch_size
            )
            for name in SPLITS
        ]
        fit = fit_logistic(
            dataset, split_features, config.c_values, balanced=config.balanced, seed=config.seed, standardise=True
        )
        summary.results.append(result_of(f"gpt-{config.pooling}", dataset, fit, time.perf_counter() - started))
    return summary


def tfidf_features(dataset: TextDataset) -> list[Any]:
    """Sparse TF-IDF matrices (N, F) of the train, val and test texts: word 1-2 grams beside char 2-5 grams.

    The vocabularies and IDF weights come from the training texts; an n-gram must occur in two of them.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b|[^\w\s]")
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)
    vectoriser = FeatureUnion([("words", words), ("chars", chars)])
    train = vectoriser.fit_transform(dataset.train.texts)  # (N, F) sparse
    return [train, vectoriser.transform(dataset.val.texts), vectoriser.transform(dataset.test.texts)]


def tfidf_scores(
    dataset: TextDataset, c_values: Sequence[float] = DEFAULT_C_VALUES, *, balanced: bool = True, seed: int = 0
) -> LogisticFit:
    """The TF-IDF + logistic regression floor's validation and test scores on `dataset` (for other metrics)."""
    return fit_logistic(dataset, tfidf_features(dataset), c_values, balanced=balanced, seed=seed)


def tfidf_floor(
    dataset: TextDataset, c_values: Sequence[float] = DEFAULT_C_VALUES, *, balanced: bool = True, seed: int = 0
) -> FeatureResult:
    """The TF-IDF + logistic regression floor on `dataset`, scored on its test split."""
    started = time.perf_counter()
    fit = tfidf_scores(dataset, c_values, balanced=balanced, seed=seed)
    return result_of("tfidf", dataset, fit, time.perf_counter() - started)


def fit_logistic(
    dataset: TextDataset,
    split_features: Sequence[Any],
    c_values: Sequence[float],
    *,
    balanced: bool = True,
    seed: int = 0,
    standardise: bool = False,
) -> LogisticFit:
    """Fit logistic regression for each C on the train features and keep the best on validation macro-F1.

    Args:
        dataset: gives the labels of the three splits.
        split_features: train, val and test feature matrices (N, F), dense or sparse.
        c_values: inverse regularisation strengths to try.
        balanced: class weights inversely proportional to class frequency.
        seed: the solver's seed.
        standardise: scale dense features to zero mean and unit variance first (for GPT states).
    """
    from sklearn.preprocessing import StandardScaler

    train, val, test = split_features
    if standardise:
        scaler = StandardScaler().fit(train)
        train, val, test = scaler.transform(train), scaler.transform(val), scaler.transform(test)
    best: LogisticFit | None = None
    for c in c_values:
        model = _logistic_regression(c, balanced, seed)
        model.fit(train, _targets(dataset, "train"))
        val_scores = _class_scores(model, val, dataset)  # (N, K)
        threshold, val_f1 = _choose_threshold(dataset, val_scores)
        if best is None or val_f1 > best.val_macro_f1:
            test_scores = _class_scores(model, test, dataset)  # (N, K)
            best = LogisticFit(c, threshold, val_f1, int(train.shape[1]), val_scores, test_scores)
    assert best is not None  # c_values is not empty
    return best


def result_of(method: str, dataset: TextDataset, fit: LogisticFit, seconds: float) -> FeatureResult:
    """The test scores of a fit as a `FeatureResult`."""
    accuracy, macro_f1, positive_f1 = score(dataset, "test", fit.test_scores, fit.threshold)
    return FeatureResult(
        method, fit.features, fit.c, fit.threshold, fit.val_macro_f1, accuracy, macro_f1, positive_f1, seconds
    )


def score(
    dataset: TextDataset, split: str, scores: np.ndarray, threshold: float | None
) -> tuple[float, float, float | None]:
    """(accuracy, macro-F1, positive-class F1 or None) of class scores (N, K) against a split's labels."""
    from sklearn.metrics import accuracy_score, f1_score

    truth = _targets(dataset, split)
    if dataset.multilabel:
        predicted = (scores >= (0.5 if threshold is None else threshold)).astype(np.int64)  # (N, K)
    else:
        predicted = np.argmax(scores, axis=1)  # (N,)
    accuracy = float(accuracy_score(truth, predicted))
    labels = None if dataset.multilabel else list(range(dataset.num_classes))
    macro_f1 = float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))
    positive = None
    if not dataset.multilabel and dataset.num_classes == 2:
        positive = float(f1_score(truth, predicted, pos_label=1, average="binary", zero_division=0))
    return accuracy, macro_f1, positive


def load_gpt(path: str | Path) -> tuple[GPT, Tokenizer]:
    """A GPT in eval mode and its tokenizer, from a checkpoint, a GPT run folder (latest checkpoint) or a GPT-2 folder.

    Raises:
        FeaturesError: the run folder holds no checkpoint.
        FourfoldError: the checkpoint is damaged or not a GPT's (from `fourfold.gpt.pretrained`).
    """
    from fourfold.core.checkpoint import MANIFEST, latest_checkpoint
    from fourfold.gpt.pretrained import load_pretrained

    path = Path(path)
    if not path.exists():
        raise FeaturesError(
            f"no GPT at {path}; check the path, or train one on the tweet texts (`fourfold deepmoji features --help`)"
        )
    if not (path / MANIFEST).is_file() and (path / "checkpoints").is_dir():
        latest = latest_checkpoint(path / "checkpoints")
        if latest is None:
            raise FeaturesError(f"the GPT run {path} has no complete checkpoint yet; let `fourfold gpt train` save one")
        path = latest
    pretrained = load_pretrained(path)
    return pretrained.model.eval(), pretrained.tokenizer


def gpt_features(
    model: GPT,
    tokenizer: Tokenizer,
    texts: Sequence[str],
    pooling: Pooling = "mean",
    max_tokens: int = 128,
    batch_size: int = 64,
) -> np.ndarray:
    """Pooled final hidden states (N, C), float32, of `texts` read by a GPT.

    Each text's first `max_tokens` tokens (at most the context length) are read; right padding does not change a
    causal model's states at real positions. A text with no tokens gets a zero vector.

    Args:
        model: the GPT (put in eval mode here).
        tokenizer: its tokenizer; characters a character tokenizer lacks are skipped.
        texts: the texts.
        pooling: "mean" over the text's tokens, or the "last" token's state.
        max_tokens: tokens read per text.
        batch_size: texts per forward pass.
    """
    import torch

    if pooling not in ("mean", "last"):
        raise FeaturesError(f"pooling must be 'mean' or 'last' (got {pooling!r})")
    limit = min(max_tokens, model.config.context_length)
    encoded = [ids[:limit] for ids in _encode(tokenizer, texts)]
    lengths = np.array([len(ids) for ids in encoded], dtype=np.int64)  # (N,)
    out = np.zeros((len(texts), model.config.embed_dim), dtype=np.float32)  # (N, C)
    order = np.argsort(-lengths, kind="stable")  # longest first: batches of alike lengths pad little
    order = order[lengths[order] > 0]
    model.eval()
    device = model.lm_head.weight.device
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = int(lengths[rows].max())
            ids = torch.zeros(len(rows), width, dtype=torch.int64)  # (B, T)
            for slot, row in enumerate(rows):
                ids[slot, : lengths[row]] = torch.tensor(encoded[row], dtype=torch.int64)
            hidden = model.transformer(ids.to(device)).float()  # (B, T, C)
            batch_lengths = torch.from_numpy(lengths[rows]).to(device)  # (B,)
            if pooling == "mean":
                mask = torch.arange(width, device=device)[None, :] < batch_lengths[:, None]  # (B, T)
                pooled = (hidden * mask[:, :, None]).sum(dim=1) / batch_lengths[:, None]  # (B, C)
            else:
                pooled = hidden[torch.arange(len(rows), device=device), batch_lengths - 1]  # (B, C)
            out[rows] = pooled.cpu().numpy()
    return out


def subsample(dataset: TextDataset, max_train: int | None, seed: int) -> TextDataset:
    """`dataset` with at most `max_train` training texts (a seeded sample in data order); others unchanged."""
    from fourfold.deepmoji.data import Split

    if max_train is None or len(dataset.train) <= max_train:
        return dataset
    rows = np.sort(np.random.default_rng(seed).choice(len(dataset.train), max_train, replace=False))
    train = Split([dataset.train.texts[i] for i in rows], dataset.train.labels[rows])
    return TextDataset.from_splits(
        dataset.name, [train, dataset.val, dataset.test], dataset.label_names, multilabel=dataset.multilabel
    )


def _logistic_regression(c: float, balanced: bool, seed: int) -> Any:
    """One-vs-rest logistic regression (liblinear): K binary problems, fast on sparse n-grams; for single-label
    sets the class probabilities are normalised and the most probable class is the prediction."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    weight = "balanced" if balanced else None
    return OneVsRestClassifier(LogisticRegression(C=c, solver="liblinear", class_weight=weight, random_state=seed))


def _class_scores(model: Any, features: Any, dataset: TextDataset) -> np.ndarray:
    """Probabilities (N, K) in class-id order: scikit-learn gives columns only for the classes seen in training."""
    raw = np.asarray(model.predict_proba(features), dtype=np.float64)
    if dataset.multilabel:
        return raw
    out = np.zeros((raw.shape[0], dataset.num_classes))  # (N, K)
    out[:, np.asarray(model.classes_, dtype=np.int64)] = raw
    return out


def _targets(dataset: TextDataset, split: str) -> np.ndarray:
    """Labels as scikit-learn wants them: class ids (N,), or a 0/1 indicator matrix (N, K) for multi-label sets."""
    labels = dataset.split(split).labels
    return labels.astype(np.int64) if dataset.multilabel else labels


def _choose_threshold(dataset: TextDataset, val_scores: np.ndarray) -> tuple[float | None, float]:
    """The multi-label threshold with the best validation macro-F1 (None for single-label sets), and that F1."""
    if not dataset.multilabel:
        return None, score(dataset, "val", val_scores, None)[1]
    best_threshold, best_f1 = 0.5, -1.0
    for threshold in THRESHOLDS:
        f1 = score(dataset, "val", val_scores, threshold)[1]
        if f1 > best_f1:
            best_threshold, best_f1 = threshold, f1
    return best_threshold, best_f1


def _encode(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text; a character tokenizer skips characters outside its alphabet."""
    from fourfold.gpt.tokenizer import CharTokenizer

    if isinstance(tokenizer, CharTokenizer):
        alphabet = set(tokenizer.alphabet)
        texts = ["".join(char for char in text if char in alphabet) for text in texts]
    return tokenizer.encode_batch(list(texts))
