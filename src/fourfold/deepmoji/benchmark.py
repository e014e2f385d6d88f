"""`fourfold deepmoji benchmark`: transfer over several seeds, beside the floors a model must beat, in one table.

For a target set (DeepMoji's benchmark pickles, TweetEval, GoEmotions, any CSV/JSONL set) this runs
`fourfold.deepmoji.transfer.transfer_model` once per seed and method and reports, as mean ± sample standard
deviation over the seeds, the paper's metric (DeepMoji, Felbo et al. 2017, Table 2: accuracy for SS-*, F1 with the
threshold tuned on validation for the emotion and sarcasm sets; see `fourfold.deepmoji.evaluate`) and macro-F1 at
the argmax. Two floors are scored on the same split with the same metrics:

- majority: every text scored with the training split's class frequencies (the most frequent class for the
  argmax; for F1 with a tuned threshold, "every text is positive" where that scores best on validation);
- TF-IDF + logistic regression (scikit-learn): the floor of `fourfold.deepmoji.features` (word 1-2 grams and
  character 2-5 grams, balanced class weights, C chosen on the validation split), scored here (`tfidf_floor`).

Nothing is written; `--json` prints the summary as one JSON object.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fourfold.core.config import require
from fourfold.core.device import setup_runtime
from fourfold.core.progress import ProgressBar
from fourfold.deepmoji.classifier import load_classifier
from fourfold.deepmoji.data import TextDataset, load_dataset
from fourfold.deepmoji.evaluate import Metrics, PaperMetric, evaluate_scores, paper_metric_for
from fourfold.deepmoji.transfer import METHODS, Method, TransferConfig, transfer_model


@dataclass
class BenchmarkConfig:
    """Transfer to a data set over several seeds and compare with the majority and TF-IDF floors."""

    dataset: str
    """Target data: a name (deepmoji/SS-Twitter, deepmoji/SE0714, deepmoji/SCv1, tweeteval/emotion, ...) or a path
    (e.g. a DeepMoji raw.pickle)."""
    pretrained: Path | None = None
    """The pretrained model's folder (made by fourfold deepmoji pretrain); optional when only --method new runs."""
    method: tuple[Method, ...] = ("chain-thaw",)
    """Transfer methods to run, one table row each: last, full, new, chain-thaw."""
    seeds: int = 5
    """Seeds per method (0, 1, ..., seeds-1 after --first-seed)."""
    first_seed: int = 0
    """The first seed."""
    floors: bool = True
    """Also score the majority-class and TF-IDF + logistic regression floors."""
    preset: str = "small"
    """Network size for --method new without --pretrained."""
    batch_size: int = 32
    """Texts per optimizer step."""
    epoch_size: int = 5000
    """Texts per epoch, rounded up to whole passes over the training texts (DeepMoji: 5,000); 0: one pass."""
    max_epochs: int = 50
    """Most epochs per stage."""
    patience: int = 5
    """Epochs without a lower validation loss that end a stage."""
    max_length: int | None = None
    """Tokens kept per text (default: DeepMoji's rule from the training texts)."""
    device: str = "auto"
    """auto, cpu, cuda, cuda:N or mps."""
    threads: int | None = None
    """CPU threads for torch (default: the cores this process may use)."""
    progress: bool = True
    """Show a progress bar (on stderr)."""

    def __post_init__(self) -> None:
        require(len(self.method) >= 1, "method", "name at least one method")
        for method in self.method:
            require(method in METHODS, "method", f"must be among {', '.join(METHODS)} (got {method!r})")
        require(self.seeds >= 1, "seeds", f"must be at least 1 (got {self.seeds})")
        require(self.first_seed >= 0, "first_seed", f"must be 0 or more (got {self.first_seed})")
        require(
            self.pretrained is not None or all(method == "new" for method in self.method),
            "pretrained",
            "methods other than new start from a pretrained model: pass --pretrained DIR (make one with "
            "`fourfold deepmoji pretrain --out DIR`)",
        )


@dataclass
class BenchmarkRow:
    """One line of the table: a method over its seeds, or a floor (one run)."""

    method: str
    seeds: int
    paper_mean: float
    paper_std: float
    macro_f1_mean: float
    macro_f1_std: float
    paper_values: list[float]
    """The paper metric of each seed, in seed order."""
    macro_f1_values: list[float]
    tuned_macro_f1_mean: float | None = None
    """Mean macro-F1 with class offsets tuned on validation (`evaluate.tune_offsets`; sets of 3+ classes)."""
    tuned_macro_f1_std: float | None = None


@dataclass
class BenchmarkSummary:
    """The table of a benchmark run."""

    dataset: str
    paper_metric: str
    train: int
    val: int
    test: int
    pretrained: str | None
    rows: list[BenchmarkRow]
    seconds: float

    def __str__(self) -> str:
        tuned = any(row.tuned_macro_f1_mean is not None for row in self.rows)
        header = f"{'method':<12} {'seeds':>5}  {self.paper_metric + ' (paper)':>22}  {'macro-F1':>17}"
        header += f"  {'macro-F1 (val-tuned)':>20}" if tuned else ""
        lines = [
            f"{self.dataset}: {self.train}/{self.val}/{self.test} texts (train/val/test); paper metric "
            f"{self.paper_metric}; pretrained {self.pretrained or '-'}",
            header,
        ]
        for row in self.rows:
            line = (
                f"{row.method:<12} {row.seeds:>5}  {_mean_std(row.paper_mean, row.paper_std, row.seeds):>22}  "
                f"{_mean_std(row.macro_f1_mean, row.macro_f1_std, row.seeds):>17}"
            )
            if tuned and row.tuned_macro_f1_mean is not None and row.tuned_macro_f1_std is not None:
                line += f"  {_mean_std(row.tuned_macro_f1_mean, row.tuned_macro_f1_std, row.seeds):>20}"
            lines.append(line)
        lines.append(f"{self.seconds:.1f} s")
        return "\n".join(lines)


def benchmark(config: BenchmarkConfig) -> BenchmarkSummary:
    """Run every method over the seeds on `config.dataset`, then the floors; return the table."""
    started = time.monotonic()
    # 1. Data, metric, pretrained model (read once, copied by each run).
    runtime = setup_runtime(config.device, config.threads)
    dataset = load_dataset(config.dataset)
    metric = paper_metric_for(dataset.name, multilabel=dataset.multilabel, num_classes=dataset.num_classes)
    pretrained = load_classifier(config.pretrained) if config.pretrained is not None else None

    # 2. Each method over the seeds.
    rows: list[BenchmarkRow] = []
    total = len(config.method) * config.seeds
    with ProgressBar(total, "benchmark", unit="run", enabled=config.progress) as bar:
        for method in config.method:
            results: list[Metrics] = []
            for seed in range(config.first_seed, config.first_seed + config.seeds):
                transfer_config = TransferConfig(
                    dataset=config.dataset,
                    pretrained=config.pretrained,
                    method=method,
                    preset=config.preset,
                    batch_size=config.batch_size,
                    epoch_size=config.epoch_size,
                    max_epochs=config.max_epochs,
                    patience=config.patience,
                    max_length=config.max_length,
                    seed=seed,
                    progress=False,
                )
                outcome = transfer_model(transfer_config, dataset, pretrained, device=runtime.device)
                results.append(outcome.test)
                bar.advance()
                bar.set_postfix(f"{method} seed {seed}: {metric} {outcome.test.paper:.4f}")
            rows.append(summarise(method, results))

    # 3. The floors on the same split.
    if config.floors:
        rows.append(summarise("majority", [majority_floor(dataset, metric)]))
        rows.append(summarise("tfidf+lr", [tfidf_floor(dataset, metric)]))
    return BenchmarkSummary(
        dataset=dataset.name,
        paper_metric=metric,
        train=len(dataset.train),
        val=len(dataset.val),
        test=len(dataset.test),
        pretrained=str(config.pretrained) if config.pretrained is not None else None,
        rows=rows,
        seconds=time.monotonic() - started,
    )


def summarise(method: str, results: Sequence[Metrics]) -> BenchmarkRow:
    """Mean and sample standard deviation (0 for one run) of the paper metric and macro-F1 over runs."""
    paper = [result.paper for result in results]
    macro = [result.macro_f1 for result in results]
    tuned = [result.tuned_macro_f1 for result in results if result.tuned_macro_f1 is not None]
    return BenchmarkRow(
        method=method,
        seeds=len(results),
        paper_mean=float(np.mean(paper)),
        paper_std=_std(paper),
        macro_f1_mean=float(np.mean(macro)),
        macro_f1_std=_std(macro),
        paper_values=paper,
        macro_f1_values=macro,
        tuned_macro_f1_mean=float(np.mean(tuned)) if len(tuned) == len(results) else None,
        tuned_macro_f1_std=_std(tuned) if len(tuned) == len(results) else None,
    )


def majority_floor(dataset: TextDataset, paper_metric: PaperMetric | None = None) -> Metrics:
    """Metrics of scoring every text with the training split's class frequencies."""
    metric = paper_metric or paper_metric_for(
        dataset.name, multilabel=dataset.multilabel, num_classes=dataset.num_classes
    )
    labels = dataset.train.labels
    if dataset.multilabel:
        prior = labels.mean(axis=0).astype(np.float64)  # (C,)
    else:
        prior = np.bincount(labels, minlength=dataset.num_classes) / max(len(labels), 1)  # (C,)
    return evaluate_scores(
        dataset.test.labels,
        np.tile(prior, (len(dataset.test), 1)),
        multilabel=dataset.multilabel,
        paper_metric=metric,
        val_targets=dataset.val.labels,
        val_scores=np.tile(prior, (len(dataset.val), 1)),
    )


def tfidf_floor(dataset: TextDataset, paper_metric: PaperMetric | None = None) -> Metrics:
    """The TF-IDF + logistic regression floor of `fourfold.deepmoji.features` (word 1-2 grams and character 2-5
    grams, balanced class weights, C chosen on validation), scored with this table's metrics."""
    from fourfold.deepmoji.features import tfidf_scores

    metric = paper_metric or paper_metric_for(
        dataset.name, multilabel=dataset.multilabel, num_classes=dataset.num_classes
    )
    fit = tfidf_scores(dataset)
    return evaluate_scores(
        dataset.test.labels,
        fit.test_scores,
        multilabel=dataset.multilabel,
        paper_metric=metric,
        val_targets=dataset.val.labels,
        val_scores=fit.val_scores,
    )


def _std(values: Sequence[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _mean_std(mean: float, std: float, count: int) -> str:
    return f"{mean:.4f} ± {std:.4f}" if count > 1 else f"{mean:.4f}"
