"""DeepMoji's metrics against scikit-learn and hand computations: F1 variants, top-k accuracy, the paper's
validation-tuned thresholds, which figure each data set reports, and one clear sentence for bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, top_k_accuracy_score

from fourfold.deepmoji.evaluate import (
    PAPER_THRESHOLDS,
    MetricError,
    accuracy,
    binary_f1,
    evaluate_scores,
    macro_f1,
    multilabel_macro_f1,
    paper_metric_for,
    probabilities,
    top_k_accuracy,
    tune_offsets,
    tune_threshold,
    tuned_f1,
)


def random_single_label(seed: int, n: int = 200, classes: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, classes, n)
    scores = rng.random((n, classes))
    scores[np.arange(n), targets] += rng.random(n)  # better than chance
    return targets, scores / scores.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_label_metrics_match_sklearn(seed: int) -> None:
    targets, scores = random_single_label(seed)
    predicted = scores.argmax(axis=1)
    assert accuracy(targets, predicted) == pytest.approx(accuracy_score(targets, predicted))
    assert macro_f1(targets, predicted) == pytest.approx(f1_score(targets, predicted, average="macro"))
    assert binary_f1(targets == 2, predicted == 2) == pytest.approx(f1_score(targets == 2, predicted == 2))
    for k in (1, 3, 5):
        expected = top_k_accuracy_score(targets, scores, k=k, labels=np.arange(6))
        assert top_k_accuracy(targets, scores, k) == pytest.approx(expected)


def test_macro_f1_counts_only_classes_that_occur_like_sklearn() -> None:
    targets = np.array([0, 0, 1, 1, 5])
    predicted = np.array([0, 1, 1, 1, 3])  # class 3 only predicted, 5 only a target, 2 and 4 never seen
    assert macro_f1(targets, predicted) == pytest.approx(f1_score(targets, predicted, average="macro"))
    assert macro_f1(targets, predicted) == pytest.approx((2 / 3 + 0.8 + 0 + 0) / 4)


def test_binary_f1_is_zero_where_undefined() -> None:
    assert binary_f1(np.zeros(4), np.zeros(4)) == 0.0
    assert binary_f1(np.array([1, 0]), np.array([0, 1])) == 0.0


def test_multilabel_macro_f1_matches_sklearn_over_present_classes() -> None:
    rng = np.random.default_rng(3)
    targets = (rng.random((100, 4)) < 0.3).astype(np.float32)
    targets[:, 3] = 0  # class 3 never occurs ...
    scores = np.clip(targets * 0.4 + rng.random((100, 4)) * 0.7, 0, 1)
    scores[:, 3] = 0.1  # ... and is never predicted: left out of the average
    predicted = scores > 0.5
    expected = f1_score(targets[:, :3], predicted[:, :3], average="macro")
    assert multilabel_macro_f1(targets, scores) == pytest.approx(expected)


def test_tune_threshold_picks_the_best_and_the_lowest_on_ties() -> None:
    targets = np.array([1, 1, 0, 0, 1])
    scores = np.array([0.30, 0.25, 0.20, 0.05, 0.40])
    threshold, f1 = tune_threshold(targets, scores)
    # every threshold in [0.20, 0.25) separates perfectly; argmax takes the first: 0.20
    assert threshold == pytest.approx(0.20)
    assert f1 == pytest.approx(1.0)
    assert PAPER_THRESHOLDS[0] == 0.01 and PAPER_THRESHOLDS[-1] == 0.49 and len(PAPER_THRESHOLDS) == 49


def test_tuned_f1_uses_validation_thresholds_on_test_per_class() -> None:
    rng = np.random.default_rng(4)
    val_targets = (rng.random((80, 3)) < 0.3).astype(float)
    test_targets = (rng.random((90, 3)) < 0.3).astype(float)
    val_scores = np.clip(val_targets * 0.3 + rng.random((80, 3)) * 0.4, 0, 1)
    test_scores = np.clip(test_targets * 0.3 + rng.random((90, 3)) * 0.4, 0, 1)
    mean, thresholds = tuned_f1(val_targets, val_scores, test_targets, test_scores)
    # by hand, as DeepMoji's find_f1_threshold: sklearn F1 over the grid on val, the argmax applied to test
    expected_f1s, expected_thresholds = [], []
    for c in range(3):
        grid = np.arange(0.01, 0.5, step=0.01)
        val_f1s = [f1_score(val_targets[:, c], val_scores[:, c] > t) for t in grid]
        best = grid[int(np.argmax(val_f1s))]
        expected_thresholds.append(best)
        expected_f1s.append(f1_score(test_targets[:, c], test_scores[:, c] > best))
    assert thresholds == pytest.approx(expected_thresholds)
    assert mean == pytest.approx(np.mean(expected_f1s))


def test_binary_sets_tune_the_positive_class_only() -> None:
    val_targets = np.array([0, 1, 1, 0, 1, 0])
    val_scores = probabilities(np.array([[2, 0], [0, 1], [0.5, 0], [1, 0], [0, 2], [0.2, 0]]), multilabel=False)
    test_targets = np.array([1, 0, 1, 1])
    test_scores = probabilities(np.array([[0, 1], [1, 0], [0.4, 0], [0, 0.1]]), multilabel=False)
    metrics = evaluate_scores(
        test_targets, test_scores, multilabel=False, paper_metric="f1", val_targets=val_targets, val_scores=val_scores
    )
    threshold, _ = tune_threshold(val_targets, val_scores[:, 1])
    assert metrics.thresholds == (threshold,)
    assert metrics.tuned_f1 == pytest.approx(f1_score(test_targets, test_scores[:, 1] > threshold))
    assert metrics.paper == metrics.tuned_f1
    predicted = test_scores.argmax(axis=1)
    assert metrics.positive_f1 == pytest.approx(f1_score(test_targets, predicted))
    assert metrics.accuracy == pytest.approx(accuracy_score(test_targets, predicted))
    assert metrics.top5_accuracy is None


def test_emoji_sets_get_top1_and_top5() -> None:
    targets, scores = random_single_label(5, classes=20)
    metrics = evaluate_scores(targets, scores, multilabel=False, paper_metric="macro_f1")
    assert metrics.accuracy == pytest.approx(accuracy_score(targets, scores.argmax(1)))
    assert metrics.top5_accuracy == pytest.approx(top_k_accuracy_score(targets, scores, k=5, labels=np.arange(20)))
    assert metrics.paper == metrics.macro_f1
    assert metrics.tuned_f1 is None  # no validation scores given


def test_paper_metric_of_each_benchmark() -> None:
    assert paper_metric_for("deepmoji/SS-Twitter", multilabel=False, num_classes=2) == "accuracy"
    assert paper_metric_for("/data/deepmoji/SS-Youtube/raw.pickle", multilabel=False, num_classes=2) == "accuracy"
    assert paper_metric_for("deepmoji/SE0714", multilabel=True, num_classes=3) == "f1"
    assert paper_metric_for("deepmoji/SCv1", multilabel=False, num_classes=2) == "f1"
    assert paper_metric_for("tweeteval/irony", multilabel=False, num_classes=2) == "positive_f1"
    assert paper_metric_for("tweeteval/emoji", multilabel=False, num_classes=20) == "macro_f1"
    assert paper_metric_for("goemotions/original", multilabel=True, num_classes=28) == "f1"


def test_probabilities_are_softmax_rows_or_sigmoids() -> None:
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    soft = probabilities(logits, multilabel=False)
    assert soft.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert soft[1] == pytest.approx([1 / 3] * 3)
    assert probabilities(logits, multilabel=True)[1] == pytest.approx([0.5] * 3)


def test_bad_input_is_one_sentence() -> None:
    with pytest.raises(MetricError, match="3 targets but 2 predictions"):
        accuracy(np.array([0, 1, 1]), np.array([0, 1]))
    with pytest.raises(MetricError, match="outside the 2 classes"):
        evaluate_scores(np.array([0, 2]), np.full((2, 2), 0.5), multilabel=False, paper_metric="accuracy")
    with pytest.raises(MetricError, match="split is empty"):
        macro_f1(np.array([]), np.array([]))
    with pytest.raises(MetricError, match="needs validation scores"):
        evaluate_scores(np.array([0, 1]), np.full((2, 2), 0.5), multilabel=False, paper_metric="f1")


def test_tuned_offsets_raise_validation_macro_f1_and_apply_to_test() -> None:
    # A model that under-predicts class 2: its scores for class 2 are a constant factor too low.
    generator = np.random.default_rng(0)
    targets = generator.integers(0, 3, size=600)
    logits = generator.normal(size=(600, 3)) + 2.0 * np.eye(3)[targets]  # (N, C)
    logits[:, 2] -= 2.5
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    val, test = slice(0, 300), slice(300, 600)
    offsets = tune_offsets(targets[val], scores[val])
    before = macro_f1(targets[val], scores[val].argmax(axis=1))
    after = macro_f1(targets[val], (np.log(scores[val]) + offsets).argmax(axis=1))
    assert after > before + 0.05
    assert offsets[2] - offsets[:2].mean() > 1.0  # the under-predicted class is lifted
    metrics = evaluate_scores(
        targets[test],
        scores[test],
        multilabel=False,
        paper_metric="macro_f1",
        val_targets=targets[val],
        val_scores=scores[val],
    )
    expected = macro_f1(targets[test], (np.log(scores[test]) + offsets).argmax(axis=1))
    assert metrics.tuned_macro_f1 == pytest.approx(expected)
    assert metrics.tuned_macro_f1 > metrics.macro_f1
