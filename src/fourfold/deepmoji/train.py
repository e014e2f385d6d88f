"""`fourfold deepmoji pretrain`: DeepMoji's pretraining on emoji prediction, in one explicit loop.

DeepMoji (Felbo et al. 2017, section 3.1) learned its representation by predicting which of 64 emoji a tweet
carried. Here: a vocabulary of the training texts' most frequent words (capped at `vocab_size`), a DeepMoji network
of a preset size (`small` for CPUs, `full` is the paper's), Adam with the global gradient norm clipped to 1 and
the paper's L2 of 1e-6 on the embedding (bfelbo/DeepMoji `model_def.py`, `finetuning.py`), the paper's dropout
(0.25 on embedding channels, 0.5 before the head; `ModelConfig`), and early stopping on the validation loss: after
`patience` epochs without a better validation loss training stops, and the model kept is the best one.

Data (`--dataset`): any single-label set whose labels are emoji, by name or path, or several joined with `+`.
- `harvest` (the default): the 64-class set that `fourfold.deepmoji.label.harvest` distils from every TweetEval and
  GoEmotions text found under $FOURFOLD_DATA. The default because it is DeepMoji's own task — its 64 emoji, so the
  model is the paper's emoji predictor and `fourfold deepmoji predict` shows DeepMoji's emoji — and because a CPU
  trains on it in seconds an epoch; but on the shared data it is small (about 3,600 training texts).
- `tweeteval/emoji`: TweetEval's 20-emoji task (45,000 training tweets; 14 of the 20 are among DeepMoji's 64).
  Pretraining on it directly gives the TweetEval emoji figure (macro-F1 on its official test split).
- `harvest+tweeteval/emoji`: the two joined in DeepMoji's 64 classes (TweetEval examples whose emoji is not one of
  the 64 are left out; texts stripped of emoji, repeats removed, re-split 80/10/10 by a hash of the text): about
  65,000 training texts, eighteen times the harvest, for when minutes of pretraining are affordable. The parts'
  official test texts are mixed into training, so do not report TweetEval figures from it.

The run folder (`--out DIR`, else `runs/deepmoji/<name>`) is laid out by `fourfold.deepmoji.classifier`:
`config.json` (this `PretrainConfig`), `metrics.jsonl`, `vocabulary.json`, `summary.json`, and `checkpoints/step_N`
written at every epoch's end. A checkpoint's weights are the best model so far (so `load_classifier(DIR)` gives
the early-stopped model even from a killed run); its state holds what `--resume` needs to continue exactly: the
current weights, Adam's state, the RNG states and the early-stopping counters. Each epoch's batches are a pure
function of (seed, epoch), so a resumed run trains on what the uninterrupted one would have.

Shapes: N texts, T max_length tokens, B batch, C classes.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from fourfold.core.checkpoint import load_checkpoint
from fourfold.core.config import ConfigError, load_config, require
from fourfold.core.device import setup_runtime
from fourfold.core.errors import FourfoldError
from fourfold.core.progress import ProgressBar
from fourfold.core.runlog import CONFIG_FILE, RunMode, open_run, run_directory
from fourfold.core.seeding import capture_rng_state, restore_rng_state, seed_everything
from fourfold.deepmoji.batching import iterate_batches, predict_logits
from fourfold.deepmoji.classifier import KIND, load_classifier, save_classifier
from fourfold.deepmoji.config import preset
from fourfold.deepmoji.data import DatasetError, Split, TextDataset, hash_split, load_dataset
from fourfold.deepmoji.emojis import EMOJI_CHARS, emoji_index, strip_emoji
from fourfold.deepmoji.evaluate import Metrics, evaluate_scores, paper_metric_for, probabilities
from fourfold.deepmoji.model import DeepMoji
from fourfold.deepmoji.tokenizer import Vocabulary

SYSTEM = "deepmoji"
DEFAULT_DATASET = "harvest"
"""The pretraining set when none is named (see the module docstring for the choice)."""
DEFAULT_NAME = "pretrained"
"""The default run name: `runs/deepmoji/pretrained` is where `fourfold deepmoji predict` looks."""
SUMMARY_FILE = "summary.json"
EVAL_BATCH_SIZE = 256


@dataclass
class PretrainConfig:
    """Pretrain DeepMoji on emoji prediction (a set of texts labelled by the emoji they carried)."""

    dataset: str = DEFAULT_DATASET
    """Emoji-labelled data: harvest (DeepMoji's 64 classes), tweeteval/emoji (20), a path, or names joined by +
    (e.g. harvest+tweeteval/emoji, joined in DeepMoji's 64 classes)."""
    out: Path | None = None
    """Run folder to write (default: <runs>/deepmoji/<name>)."""
    name: str = DEFAULT_NAME
    """Run name: written to <runs>/deepmoji/<name>/."""
    runs: Path = Path("runs")
    """Folder holding all runs."""
    preset: str = "small"
    """Network size: full (DeepMoji's 22.4M parameters at 50k words), small (CPU minutes), tiny (tests)."""
    vocab_size: int = 50_000
    """Most words in the vocabulary built from the training texts, DeepMoji's ten special tokens included."""
    min_count: int = 1
    """Fewest occurrences in the training texts for a word to enter the vocabulary."""
    max_length: int | None = None
    """Tokens kept per text (default: the preset's context_length, 50)."""
    batch_size: int = 64
    """Texts per optimizer step."""
    learning_rate: float = 1e-3
    """Adam's step size (DeepMoji: 1e-3)."""
    grad_clip: float = 1.0
    """Clip the global gradient norm to this (DeepMoji: Adam's clipnorm=1); 0 for none."""
    embed_l2: float = 1e-6
    """L2 penalty on the embedding weights added to the loss (DeepMoji: 1e-6)."""
    max_epochs: int = 20
    """Most passes over the training texts."""
    patience: int = 3
    """Stop after this many epochs without a lower validation loss (early stopping)."""
    time_budget_seconds: float | None = None
    """Stop after the epoch during which this many seconds have passed (default: no limit)."""
    seed: int = 0
    """Seed of the initialisation, the batch order and dropout."""
    device: str = "auto"
    """auto (cuda when available, else cpu), cpu, cuda, cuda:N or mps."""
    threads: int | None = None
    """CPU threads for torch (default: the cores this process may use)."""
    resume: bool = False
    """Continue the run from its latest checkpoint, exactly as if it had not stopped (more --max-epochs extend it)."""
    overwrite: bool = False
    """Delete an existing run folder and start again."""
    keep_checkpoints: int = 2
    """Newest checkpoints kept."""
    progress: bool = True
    """Show a progress bar (on stderr)."""

    def __post_init__(self) -> None:
        preset(self.preset)  # raises ConfigError naming the presets
        require(
            self.vocab_size >= 11,
            "vocab_size",
            f"must be at least 11: ten special tokens and a word (got {self.vocab_size})",
        )
        require(self.min_count >= 1, "min_count", f"must be at least 1 (got {self.min_count})")
        require(self.max_length is None or self.max_length >= 1, "max_length", "must be at least 1")
        require(self.batch_size >= 1, "batch_size", f"must be at least 1 (got {self.batch_size})")
        require(self.learning_rate > 0, "learning_rate", f"must be positive (got {self.learning_rate})")
        require(self.grad_clip >= 0, "grad_clip", f"must be 0 or more (got {self.grad_clip})")
        require(self.embed_l2 >= 0, "embed_l2", f"must be 0 or more (got {self.embed_l2})")
        require(self.max_epochs >= 1, "max_epochs", f"must be at least 1 (got {self.max_epochs})")
        require(self.patience >= 1, "patience", f"must be at least 1 (got {self.patience})")
        require(self.keep_checkpoints >= 1, "keep_checkpoints", f"must be at least 1 (got {self.keep_checkpoints})")
        require(not (self.resume and self.overwrite), "resume", "cannot be combined with --overwrite")


@dataclass
class PretrainSummary:
    """What a pretraining run reached (the best epoch's model, evaluated on validation and test)."""

    run_dir: str
    dataset: str
    classes: int
    train_examples: int
    vocab_size: int
    parameters: int
    epochs: int
    """Epochs trained in all invocations of the run."""
    best_epoch: int
    """The epoch whose model was kept (lowest validation loss)."""
    stopped: str
    """Why training ended: "early stopping", "max epochs" or "time budget"."""
    best_val_loss: float
    val: Metrics
    test: Metrics
    known_word_rate: float
    """Share of the test texts' words that the vocabulary knows."""
    texts_per_second: float
    """Training texts per second in this invocation."""
    seconds: float

    def __str__(self) -> str:
        def line(split: str, metrics: Metrics) -> str:
            top5 = f", top-5 {metrics.top5_accuracy:.3f}" if metrics.top5_accuracy is not None else ""
            tuned = (
                f" ({metrics.tuned_macro_f1:.3f} with class offsets tuned on val)"
                if metrics.tuned_macro_f1 is not None
                else ""
            )
            return f"{split}: top-1 {metrics.accuracy or 0.0:.3f}{top5}, macro-F1 {metrics.macro_f1:.3f}{tuned}"

        return "\n".join(
            [
                f"pretrained DeepMoji on {self.dataset} ({self.train_examples:,} texts, {self.classes} classes, "
                f"{self.vocab_size:,} words, {self.parameters:,} parameters)",
                f"{self.epochs} epochs ({self.stopped}); best epoch {self.best_epoch}, val loss "
                f"{self.best_val_loss:.4f}; {self.texts_per_second:,.0f} texts/s, {self.seconds:.1f} s",
                line("val", self.val),
                line("test", self.test),
                f"known-word rate (test): {self.known_word_rate:.3f}",
                f"model: {self.run_dir}",
            ]
        )


class Encoded(NamedTuple):
    """One split as the network takes it: token ids (N, T) and targets (int64 (N,) or float32 (N, C))."""

    ids: np.ndarray
    targets: np.ndarray


def pretrain(config: PretrainConfig) -> PretrainSummary:
    """Pretrain DeepMoji as `config` says (or resume the run) and evaluate the early-stopped model."""
    started = time.monotonic()
    # 1. Runtime and data.
    runtime = setup_runtime(config.device, config.threads)
    seed_everything(config.seed)
    directory = run_folder(config)
    dataset = pretraining_dataset(config.dataset)
    if len(dataset.train) == 0 or len(dataset.val) == 0:
        raise DatasetError(f"{dataset.name} needs training and validation texts for pretraining; its splits are empty")

    # 2. Vocabulary and network: fresh, or the run's latest checkpoint (best weights, and the current ones in
    #    its state) with the optimizer, RNG and early-stopping state.
    state: dict[str, Any] | None = None
    if config.resume:
        best_model, vocabulary, state = _resume(directory, config, dataset)
        model = copy.deepcopy(best_model)
        model.load_state_dict(state["current_model"])
    else:
        vocabulary = Vocabulary.build(dataset.train.texts, max_size=config.vocab_size, min_count=config.min_count)
        shape = preset(config.preset).replace(
            vocab_size=vocabulary.size,
            num_classes=dataset.num_classes,
            context_length=config.max_length or preset(config.preset).context_length,
        )
        model = DeepMoji(shape)
        best_model = copy.deepcopy(model)
    model.to(runtime.device)
    best_model.to(runtime.device)
    max_length = model.config.context_length
    train, val, test = (encode_split(dataset.split(s), vocabulary, max_length) for s in ("train", "val", "test"))

    # 3. Optimizer and loop state.
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, fused=True)
    loop = {"epoch": 0, "step": 0, "best_epoch": 0, "bad_epochs": 0, "best_val_loss": math.inf}
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        restore_rng_state(state["rng"])
        loop.update(state["loop"])
    start_epoch = int(loop["epoch"])

    # 4. Run folder.
    mode: RunMode = "resume" if config.resume else "overwrite" if config.overwrite else "new"
    run = open_run(
        SYSTEM, config.name, config, root=config.runs, mode=mode, resume_step=int(loop["step"]), directory=directory
    )

    # 5. The loop: an epoch of length-bucketed batches, the validation loss, early stopping, a checkpoint.
    batches_per_epoch = math.ceil(len(train.ids) / config.batch_size)
    trained_texts, train_seconds = 0, 0.0
    stopped = "max epochs"
    with (
        run,
        ProgressBar(config.max_epochs * batches_per_epoch, "pretrain", unit="batch", enabled=config.progress) as bar,
    ):
        bar.advance(start_epoch * batches_per_epoch)
        while int(loop["epoch"]) < config.max_epochs:
            if int(loop["bad_epochs"]) >= config.patience:
                stopped = "early stopping"
                break
            if config.time_budget_seconds is not None and time.monotonic() - started > config.time_budget_seconds:
                stopped = "time budget"
                break
            epoch = int(loop["epoch"])
            epoch_started = time.monotonic()
            train_loss, steps = train_epoch(
                model,
                optimizer,
                train,
                multilabel=False,
                batch_size=config.batch_size,
                rng=np.random.default_rng([config.seed, epoch]),
                grad_clip=config.grad_clip,
                embed_l2=config.embed_l2,
                bar=bar,
            )
            train_seconds += time.monotonic() - epoch_started
            trained_texts += len(train.ids)
            val_loss = mean_loss(model, val, multilabel=False)
            loop["epoch"], loop["step"] = epoch + 1, int(loop["step"]) + steps
            if val_loss < float(loop["best_val_loss"]):
                best_model.load_state_dict(model.state_dict())
                loop["best_val_loss"], loop["best_epoch"], loop["bad_epochs"] = val_loss, epoch + 1, 0
            else:
                loop["bad_epochs"] = int(loop["bad_epochs"]) + 1
            bar.set_postfix(f"epoch {epoch + 1} · loss {train_loss:.4f} · val {val_loss:.4f}")
            run.log(
                int(loop["step"]),
                {
                    "train/epoch": epoch + 1,
                    "train/loss": train_loss,
                    "val/loss": val_loss,
                    "train/texts_per_second": len(train.ids) / max(time.monotonic() - epoch_started, 1e-9),
                },
            )
            save_classifier(
                directory,
                best_model,
                vocabulary,
                dataset.label_names,
                False,
                step=int(loop["step"]),
                dataset=dataset.name,
                state={
                    "current_model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "rng": capture_rng_state(),
                    "loop": dict(loop),
                },
                keep=config.keep_checkpoints,
            )
        else:
            if int(loop["bad_epochs"]) >= config.patience:
                stopped = "early stopping"

        # 6. Evaluate the kept (best) model on validation and test.
        metric = paper_metric_for(dataset.name, multilabel=False, num_classes=dataset.num_classes)
        val_scores = predict_scores(best_model, val.ids, multilabel=False)
        test_scores = predict_scores(best_model, test.ids, multilabel=False)
        val_metrics = evaluate_scores(val.targets, val_scores, multilabel=False, paper_metric=metric)
        test_metrics = (
            evaluate_scores(
                test.targets,
                test_scores,
                multilabel=False,
                paper_metric=metric,
                val_targets=val.targets,
                val_scores=val_scores,
            )
            if len(test.ids)
            else val_metrics
        )
        run.log(
            int(loop["step"]),
            {
                **{f"val/{key}": value for key, value in val_metrics.as_dict().items()},
                **{f"test/{key}": value for key, value in test_metrics.as_dict().items()},
            },
        )
    summary = PretrainSummary(
        run_dir=str(directory),
        dataset=dataset.name,
        classes=dataset.num_classes,
        train_examples=len(dataset.train),
        vocab_size=vocabulary.size,
        parameters=sum(p.numel() for p in model.parameters()),
        epochs=int(loop["epoch"]),
        best_epoch=int(loop["best_epoch"]),
        stopped=stopped,
        best_val_loss=float(loop["best_val_loss"]),
        val=val_metrics,
        test=test_metrics,
        known_word_rate=vocabulary.known_word_rate(dataset.test.texts or dataset.val.texts),
        texts_per_second=trained_texts / train_seconds if train_seconds > 0 else 0.0,
        seconds=time.monotonic() - started,
    )
    (directory / SUMMARY_FILE).write_text(json.dumps(asdict(summary), indent=2) + "\n", encoding="utf-8")
    return summary


def run_folder(config: PretrainConfig) -> Path:
    """Where `pretrain(config)` writes: --out, else <runs>/deepmoji/<name>."""
    return config.out if config.out is not None else run_directory(SYSTEM, config.name, config.runs)


def pretraining_dataset(name: str) -> TextDataset:
    """The emoji-labelled set called `name`: one set (a name or path), or several joined with `+`.

    Raises:
        DatasetError: a part is unknown or malformed, the set is multi-label, or a joined part has no label
            among DeepMoji's 64 emoji.
    """
    parts = [name] if Path(name).expanduser().exists() else [part.strip() for part in name.split("+")]
    if not all(parts):
        raise DatasetError(f"{name!r} names an empty data set; join names like harvest+tweeteval/emoji")
    datasets = [load_dataset(part) for part in parts]
    for part, dataset in zip(parts, datasets, strict=True):
        if dataset.multilabel:
            raise DatasetError(f"{part} is multi-label; emoji pretraining needs one emoji label per text")
    return datasets[0] if len(datasets) == 1 else join_emoji_sets(datasets, name)


def join_emoji_sets(datasets: list[TextDataset], name: str) -> TextDataset:
    """Emoji sets joined in DeepMoji's 64 classes, emoji stripped from the texts, re-split by a hash of the text.

    Examples whose emoji is not among the 64 are left out, as are repeated (text, emoji) pairs.
    """
    seen: set[tuple[str, int]] = set()
    grouped: dict[str, tuple[list[str], list[int]]] = {split: ([], []) for split in ("train", "val", "test")}
    for dataset in datasets:
        mapping = [emoji_index(label_name) for label_name in dataset.label_names]
        if all(index is None for index in mapping):
            raise DatasetError(
                f"{dataset.name} has no label among DeepMoji's 64 emoji ({', '.join(dataset.label_names[:5])}, …); "
                "only emoji-labelled sets can be joined"
            )
        for split in (dataset.train, dataset.val, dataset.test):
            for text, label in zip(split.texts, split.labels.tolist(), strict=True):
                index = mapping[label]
                text = strip_emoji(text)
                if index is None or not text or (text, index) in seen:
                    continue
                seen.add((text, index))
                texts, labels = grouped[hash_split(text)]
                texts.append(text)
                labels.append(index)
    splits = [Split(texts, np.array(labels, dtype=np.int64)) for texts, labels in grouped.values()]
    return TextDataset.from_splits(name, splits, list(EMOJI_CHARS), multilabel=False)


def encode_split(split: Split, vocabulary: Vocabulary, max_length: int) -> Encoded:
    """A split's texts as token ids (N, T) and its labels as targets."""
    return Encoded(vocabulary.encode(split.texts, max_length), split.labels)


def loss_function(logits: Tensor, targets: Tensor, multilabel: bool) -> Tensor:
    """Mean loss of logits (B, C): cross-entropy against class ids (B,), or binary cross-entropy per class
    against multi-hot rows (B, C) for multi-label sets."""
    if multilabel:
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype))
    return torch.nn.functional.cross_entropy(logits, targets)


def train_epoch(
    model: DeepMoji,
    optimizer: torch.optim.Optimizer,
    data: Encoded,
    *,
    multilabel: bool,
    batch_size: int,
    rng: np.random.Generator,
    grad_clip: float,
    embed_l2: float,
    bar: ProgressBar | None = None,
) -> tuple[float, int]:
    """One pass over `data` in shuffled length-bucketed batches; returns the mean loss and the steps taken.

    Only parameters with `requires_grad` are clipped and (through the optimizer) changed; the embedding's L2
    penalty is added while the embedding trains.
    """
    model.train()
    device = model.head.weight.device
    trainable = [p for p in model.parameters() if p.requires_grad]
    all_targets = torch.from_numpy(data.targets)
    total = torch.zeros((), dtype=torch.float64, device=device)
    steps = 0
    for rows, ids, lengths in iterate_batches(data.ids, batch_size, rng=rng):
        targets = all_targets[torch.from_numpy(rows)].to(device)  # (B,) or (B, C)
        loss = loss_function(model(ids.to(device), lengths), targets, multilabel)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        embedding = model.embedding.weight
        if embed_l2 > 0 and embedding.requires_grad and embedding.grad is not None:
            # the gradient of embed_l2 * sum(w**2), added directly: a tenth of the cost of back-propagating it
            embedding.grad.add_(embedding.detach(), alpha=2.0 * embed_l2)
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(trainable, grad_clip)
        optimizer.step()
        total += loss.detach().double() * len(rows)
        steps += 1
        if bar is not None:
            bar.advance()
    return float(total) / max(len(data.ids), 1), steps


def mean_loss(model: DeepMoji, data: Encoded, *, multilabel: bool, batch_size: int = EVAL_BATCH_SIZE) -> float:
    """The mean loss over `data` in eval mode (no dropout, no penalty)."""
    logits = predict_logits(model, data.ids, batch_size)  # (N, C)
    return float(loss_function(logits, torch.from_numpy(data.targets), multilabel))


def predict_scores(model: DeepMoji, ids: np.ndarray, *, multilabel: bool) -> np.ndarray:
    """Probabilities (N, C) of token ids (N, T): softmax, or sigmoids for multi-label sets."""
    return probabilities(predict_logits(model, ids, EVAL_BATCH_SIZE).numpy(), multilabel=multilabel)


def _resume(
    directory: Path, config: PretrainConfig, dataset: TextDataset
) -> tuple[DeepMoji, Vocabulary, dict[str, Any]]:
    """The best model, vocabulary and training state of the run's latest checkpoint, checked against `config`."""
    saved = load_config(PretrainConfig, directory / CONFIG_FILE) if (directory / CONFIG_FILE).is_file() else None
    if saved is None:
        raise FourfoldError(f"nothing to resume: {directory} holds no pretraining run; start it without --resume")
    for field in ("dataset", "preset", "seed", "vocab_size", "max_length", "batch_size"):
        if getattr(saved, field) != getattr(config, field):
            raise ConfigError(
                "resume",
                f"run {directory} was started with {field}={getattr(saved, field)!r}; resume it with the same value",
            )
    classifier = load_classifier(directory)
    if list(classifier.label_names) != list(dataset.label_names):
        raise ConfigError("resume", f"run {directory} was trained on other labels than {dataset.name}'s")
    state = load_checkpoint(classifier.checkpoint, kind=KIND, verify=False).state
    if not all(key in state for key in ("current_model", "optimizer", "rng", "loop")):
        raise FourfoldError(f"checkpoint {classifier.checkpoint} holds no training state; it cannot be resumed")
    return classifier.model, classifier.vocabulary, state
