"""Metrics of DeepMoji's tasks: the paper's protocol, macro-F1 next to it, top-k accuracy for emoji prediction.

DeepMoji (Felbo et al. 2017, section 4.2; bfelbo/DeepMoji `finetuning.py`, `class_avg_finetuning.py`) reports
accuracy for the sentiment sets (SS-Twitter, SS-Youtube) and for Kaggle insults, and F1 for the emotion sets
(SE0714, Olympic, PsychExp) and the sarcasm sets (SCv1, SCv2-GEN). Its F1 is computed one class at a time
against the rest: the class's score is thresholded at the value among 0.01, 0.02, …, 0.49 that gives the best F1
on the validation split (`find_f1_threshold`), that threshold is applied to the test split, and the F1 of the
classes is averaged ("class average F1"). A binary set has one class in that average, the positive one
(sarcastic). `tuned_f1` does exactly this; the paper trained one binary model per emotion where the models here
are trained once with one sigmoid per class, which the metric does not see.

Next to the paper's figure every table shows macro-F1 at the argmax (for multi-label sets: each class at 0.5),
as TweetEval and GoEmotions report, so figures can be compared with those of other systems; binary sets also get
the positive class's F1 at the argmax, and sets of more than five classes (the emoji) top-1 and top-5 accuracy.
Single-label sets of more than two classes also get `tuned_macro_f1`: macro-F1 at the argmax after adding to each
class's log-score an offset tuned on the validation split for macro-F1 (`tune_offsets`) — the single-label
counterpart of the paper's tuned thresholds. A model trained with cross-entropy predicts rare classes too seldom
for macro-F1, which weighs every class alike; the offsets move its decisions, not its representation.

Scores are probabilities (N, C): softmax rows for single-label sets, independent sigmoids for multi-label ones
(`probabilities`). Shapes: N examples, C classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from fourfold.core.errors import FourfoldError

PaperMetric = Literal["accuracy", "f1", "macro_f1", "positive_f1"]
"""Which figure a data set's paper reports: accuracy, DeepMoji's val-tuned class-average F1, macro-F1 at the
argmax (TweetEval, GoEmotions), or the positive class's F1 at the argmax (TweetEval irony)."""
PAPER_THRESHOLDS: tuple[float, ...] = tuple(round(0.01 * step, 2) for step in range(1, 50))
"""DeepMoji's threshold grid for F1: 0.01 to 0.49 (`np.arange(0.01, 0.5, step=0.01)`)."""
TOP_K = 5
"""The k of top-k accuracy, reported for sets of more than k classes."""
OFFSET_GRID: tuple[float, ...] = tuple(round(-3.0 + 0.25 * step, 2) for step in range(25))
"""Candidate log-score offsets of `tune_offsets`, -3 to 3."""
OFFSET_ROUNDS = 3
"""Passes of coordinate ascent over the classes in `tune_offsets`."""


class MetricError(FourfoldError):
    """Scores and labels that cannot be compared (shapes differ, no examples, a label outside the classes)."""


@dataclass(frozen=True)
class Metrics:
    """What a model or a baseline reaches on a test split."""

    paper_metric: str
    """The name of the paper's figure for this set: "accuracy", "f1", "macro_f1" or "positive_f1"."""
    paper: float
    """The value of that figure."""
    macro_f1: float
    """Macro-F1 at the argmax (multi-label: every class thresholded at 0.5), over the classes that occur."""
    examples: int
    """Test examples scored."""
    accuracy: float | None = None
    """Top-1 accuracy (single-label sets)."""
    top5_accuracy: float | None = None
    """Share of examples whose label is among the five highest scores (sets of more than five classes)."""
    positive_f1: float | None = None
    """F1 of class 1 at the argmax (binary single-label sets)."""
    tuned_f1: float | None = None
    """DeepMoji's F1: class-average (binary: the positive class) with thresholds tuned on validation."""
    thresholds: tuple[float, ...] = ()
    """The validation-tuned thresholds of `tuned_f1`, one per class averaged."""
    tuned_macro_f1: float | None = None
    """Macro-F1 at the argmax of log-scores plus per-class offsets tuned on validation (single-label sets of more
    than two classes, when validation scores are given)."""

    def as_dict(self) -> dict[str, float]:
        """The numeric fields that are set, for a metrics log (`paper` under the paper metric's name too)."""
        values = {"paper": self.paper, self.paper_metric: self.paper, "macro_f1": self.macro_f1}
        for name in ("accuracy", "top5_accuracy", "positive_f1", "tuned_f1", "tuned_macro_f1"):
            value = getattr(self, name)
            if value is not None:
                values[name] = value
        return values


def paper_metric_for(name: str, *, multilabel: bool, num_classes: int) -> PaperMetric:
    """The figure the literature reports for the data set called `name` (a loader name or a path).

    DeepMoji's sets: accuracy for SS-* and Kaggle insults, tuned F1 for the emotion and sarcasm sets; TweetEval's
    irony task: the ironic class's F1; other multi-label sets: tuned F1; everything else: macro-F1.
    """
    lowered = name.replace("\\", "/").lower()
    if "ss-twitter" in lowered or "ss-youtube" in lowered or "kaggle-insults" in lowered:
        return "accuracy"
    if any(key in lowered for key in ("se0714", "olympic", "psychexp", "scv1", "scv2")):
        return "f1"
    if "tweeteval/irony" in lowered and num_classes == 2:
        return "positive_f1"
    return "f1" if multilabel else "macro_f1"


def probabilities(logits: np.ndarray, *, multilabel: bool) -> np.ndarray:
    """Scores (N, C) of logits (N, C): a softmax over each row, or a sigmoid of each entry for multi-label sets."""
    logits = np.asarray(logits, dtype=np.float64)
    if multilabel:
        out: np.ndarray = 1.0 / (1.0 + np.exp(-logits))
        return out
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return result


def accuracy(targets: np.ndarray, predictions: np.ndarray) -> float:
    """Share of predictions equal to the targets (both int (N,))."""
    _check_pair(targets, predictions)
    return float(np.mean(np.asarray(targets) == np.asarray(predictions)))


def top_k_accuracy(targets: np.ndarray, scores: np.ndarray, k: int = TOP_K) -> float:
    """Share of examples whose target (int (N,)) is among the `k` highest of its scores (N, C)."""
    scores = np.asarray(scores)
    _check_pair(targets, scores)
    if k < 1:
        raise MetricError(f"top-k accuracy needs k of at least 1 (got {k})")
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]  # (N, k), unordered
    return float(np.mean((top == np.asarray(targets)[:, None]).any(axis=1)))


def binary_f1(targets: np.ndarray, predictions: np.ndarray) -> float:
    """F1 of the positive class of 0/1 (or boolean) targets and predictions (N,); 0 where it is undefined."""
    _check_pair(targets, predictions)
    truth, guess = np.asarray(targets).astype(bool), np.asarray(predictions).astype(bool)
    true_positives = int(np.sum(truth & guess))
    denominator = int(np.sum(truth)) + int(np.sum(guess))
    return 2.0 * true_positives / denominator if denominator else 0.0


def macro_f1(targets: np.ndarray, predictions: np.ndarray) -> float:
    """Macro-F1 of class ids (N,), over the classes that occur in the targets or the predictions (sklearn's
    default, as TweetEval computes it)."""
    _check_pair(targets, predictions)
    targets, predictions = np.asarray(targets), np.asarray(predictions)
    classes = np.union1d(targets, predictions)
    return float(np.mean([binary_f1(targets == c, predictions == c) for c in classes]))


def multilabel_macro_f1(targets: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    """Macro-F1 of multi-hot targets (N, C) against scores (N, C) > `threshold`, over the classes that occur in
    the targets or the predictions."""
    targets, scores = np.asarray(targets), np.asarray(scores)
    _check_pair(targets, scores)
    predicted = scores > threshold
    present = [c for c in range(targets.shape[1]) if targets[:, c].any() or predicted[:, c].any()]
    if not present:
        return 0.0
    return float(np.mean([binary_f1(targets[:, c], predicted[:, c]) for c in present]))


def tune_threshold(
    targets: np.ndarray, scores: np.ndarray, thresholds: Sequence[float] = PAPER_THRESHOLDS
) -> tuple[float, float]:
    """The threshold with the best F1 of 0/1 targets (N,) against scores (N,) > threshold, and that F1.

    Ties go to the lowest threshold (`np.argmax`, as DeepMoji's `find_f1_threshold`).
    """
    if not thresholds:
        raise MetricError("tuning a threshold needs at least one candidate threshold")
    f1s = [binary_f1(targets, np.asarray(scores) > threshold) for threshold in thresholds]
    best = int(np.argmax(f1s))
    return float(thresholds[best]), float(f1s[best])


def tuned_f1(
    val_targets: np.ndarray,
    val_scores: np.ndarray,
    test_targets: np.ndarray,
    test_scores: np.ndarray,
    *,
    thresholds: Sequence[float] = PAPER_THRESHOLDS,
) -> tuple[float, tuple[float, ...]]:
    """DeepMoji's class-average F1: per column of 0/1 targets (N, K), tune the threshold on the validation
    scores, apply it to the test scores, take the test F1; return the mean F1 and the thresholds.

    For a binary single-label set pass the positive class's column only (K = 1).
    """
    val_targets, val_scores = np.asarray(val_targets), np.asarray(val_scores)
    test_targets, test_scores = np.asarray(test_targets), np.asarray(test_scores)
    _check_pair(val_targets, val_scores)
    _check_pair(test_targets, test_scores)
    if val_targets.ndim != 2 or test_targets.shape[1:] != val_targets.shape[1:]:
        raise MetricError(
            f"tuned F1 needs (examples, classes) targets with the same classes in validation and test; got "
            f"{val_targets.shape} and {test_targets.shape}"
        )
    f1s, chosen = [], []
    for column in range(val_targets.shape[1]):
        threshold, _ = tune_threshold(val_targets[:, column], val_scores[:, column], thresholds)
        chosen.append(threshold)
        f1s.append(binary_f1(test_targets[:, column], test_scores[:, column] > threshold))
    return float(np.mean(f1s)), tuple(chosen)


def tune_offsets(
    targets: np.ndarray, scores: np.ndarray, grid: Sequence[float] = OFFSET_GRID, rounds: int = OFFSET_ROUNDS
) -> np.ndarray:
    """Per-class offsets (C,) to add to log-scores so that the argmax has the best macro-F1 on these targets.

    Coordinate ascent: `rounds` passes over the classes, each trying every value of `grid` for one class's offset
    with the others fixed and keeping the best (ties keep the current value). Targets int (N,), scores (N, C).
    """
    targets = np.asarray(targets, dtype=np.int64)
    logs = np.log(np.clip(np.asarray(scores, dtype=np.float64), 1e-12, None))  # (N, C)
    _check_pair(targets, logs)
    num_classes = logs.shape[1]
    offsets = np.zeros(num_classes)  # (C,)
    best = _fast_macro_f1(targets, (logs + offsets).argmax(axis=1), num_classes)
    for _ in range(rounds):
        for label in range(num_classes):
            kept = offsets[label]
            for value in grid:
                offsets[label] = value
                score = _fast_macro_f1(targets, (logs + offsets).argmax(axis=1), num_classes)
                if score > best:
                    best, kept = score, value
            offsets[label] = kept
    return offsets


def evaluate_scores(
    test_targets: np.ndarray,
    test_scores: np.ndarray,
    *,
    multilabel: bool,
    paper_metric: PaperMetric,
    val_targets: np.ndarray | None = None,
    val_scores: np.ndarray | None = None,
) -> Metrics:
    """Every metric of this module for test scores (N, C); tuned F1 only when validation scores are given.

    Args:
        test_targets: class ids int (N,), or multi-hot (N, C) for multi-label sets.
        test_scores: probabilities (N, C) (see `probabilities`).
        multilabel: whether targets are multi-hot rows.
        paper_metric: which figure goes into `Metrics.paper` (see `paper_metric_for`).
        val_targets: the validation split's targets, to tune the F1 thresholds on.
        val_scores: the validation split's scores.

    Raises:
        MetricError: shapes do not match, a split is empty, a label lies outside the score columns, or the
            paper's metric needs what is missing (tuned F1 without validation scores).
    """
    test_scores = np.asarray(test_scores, dtype=np.float64)
    if test_scores.ndim != 2 or len(test_scores) == 0:
        raise MetricError(f"scores must be a non-empty (examples, classes) array; got shape {test_scores.shape}")
    num_classes = test_scores.shape[1]
    test_hot = _one_hot(test_targets, num_classes, multilabel)  # (N, C)
    tuned = thresholds = None
    if val_targets is not None and val_scores is not None and len(val_scores):
        val_hot = _one_hot(val_targets, num_classes, multilabel)  # (N_val, C)
        val_scores = np.asarray(val_scores, dtype=np.float64)
        # binary single-label sets: the positive class alone, as DeepMoji's F1 for sarcasm
        columns = slice(1, 2) if num_classes == 2 and not multilabel else slice(None)
        tuned, thresholds = tuned_f1(
            val_hot[:, columns], val_scores[:, columns], test_hot[:, columns], test_scores[:, columns]
        )
    if multilabel:
        values: dict[str, float | None] = {"macro_f1": multilabel_macro_f1(test_hot, test_scores)}
    else:
        targets = np.asarray(test_targets)
        predicted = test_scores.argmax(axis=1)  # (N,)
        values = {"macro_f1": macro_f1(targets, predicted), "accuracy": accuracy(targets, predicted)}
        if num_classes > TOP_K:
            values["top5_accuracy"] = top_k_accuracy(targets, test_scores, TOP_K)
        if num_classes == 2:
            values["positive_f1"] = binary_f1(targets == 1, predicted == 1)
        elif val_targets is not None and val_scores is not None and len(val_scores):
            offsets = tune_offsets(np.asarray(val_targets), np.asarray(val_scores))  # (C,)
            shifted = np.log(np.clip(test_scores, 1e-12, None)) + offsets  # (N, C)
            values["tuned_macro_f1"] = macro_f1(targets, shifted.argmax(axis=1))
    values["tuned_f1"] = tuned
    source = {"accuracy": "accuracy", "f1": "tuned_f1", "macro_f1": "macro_f1", "positive_f1": "positive_f1"}
    paper = values.get(source[paper_metric])
    if paper is None:
        needs = "validation scores to tune thresholds on" if paper_metric == "f1" else "single-label targets"
        raise MetricError(f"the paper's metric {paper_metric!r} needs {needs}")
    return Metrics(
        paper_metric=paper_metric,
        paper=float(paper),
        macro_f1=float(values["macro_f1"] or 0.0),
        examples=len(test_scores),
        accuracy=values.get("accuracy"),
        top5_accuracy=values.get("top5_accuracy"),
        positive_f1=values.get("positive_f1"),
        tuned_f1=tuned,
        thresholds=thresholds or (),
        tuned_macro_f1=values.get("tuned_macro_f1"),
    )


def _one_hot(targets: np.ndarray, num_classes: int, multilabel: bool) -> np.ndarray:
    """Targets as 0/1 rows (N, C): multi-hot rows checked, class ids expanded."""
    targets = np.asarray(targets)
    if multilabel:
        if targets.ndim != 2 or targets.shape[1] != num_classes:
            raise MetricError(f"multi-label targets must be (examples, {num_classes}); got shape {targets.shape}")
        return (targets > 0.5).astype(np.float64)
    if targets.ndim != 1:
        raise MetricError(f"single-label targets must be class ids (examples,); got shape {targets.shape}")
    if len(targets) and (int(targets.min()) < 0 or int(targets.max()) >= num_classes):
        raise MetricError(
            f"a label lies outside the {num_classes} classes scored (labels {targets.min()}..{targets.max()})"
        )
    out = np.zeros((len(targets), num_classes))  # (N, C)
    out[np.arange(len(targets)), targets.astype(np.int64)] = 1.0
    return out


def _fast_macro_f1(targets: np.ndarray, predictions: np.ndarray, num_classes: int) -> float:
    """`macro_f1` of class ids (N,) from one confusion count (the inner loop of `tune_offsets`)."""
    true_positives = np.bincount(targets[targets == predictions], minlength=num_classes)  # (C,)
    support = np.bincount(targets, minlength=num_classes) + np.bincount(predictions, minlength=num_classes)  # (C,)
    present = support > 0
    return float(np.mean(2.0 * true_positives[present] / support[present]))


def _check_pair(targets: np.ndarray, other: np.ndarray) -> None:
    if len(targets) != len(other):
        raise MetricError(f"{len(targets)} targets but {len(other)} predictions; they must match one to one")
    if len(targets) == 0:
        raise MetricError("no examples to score; the split is empty")
