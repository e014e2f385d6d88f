"""`fourfold deepmoji transfer`: a pretrained DeepMoji model adapted to a target task by one of the paper's methods.

DeepMoji (Felbo et al. 2017, section 3.3; bfelbo/DeepMoji `finetuning.py`) compares four ways to transfer:

- `last`: only a new head is trained; everything else stays as pretrained (Adam, 1e-3);
- `full`: a new head, then the whole network trained at once (1e-4);
- `new`: the same network trained from scratch on the target set (1e-3);
- `chain-thaw`: the new head alone (1e-3), then each layer alone from the first to the last — the embedding, each
  LSTM layer, the attention — and finally all of them (1e-4 each). Each stage trains with early stopping on the
  validation loss and ends by reloading the best weights seen; a stage that never beats the loss it started from
  leaves the model as it found it (the original's `ModelCheckpoint(save_best_only)` kept its best across stages).

Before training, the vocabulary is extended with up to `extend_vocabulary` words of the target's training texts
that it lacks (new embedding rows at the end, initialised as at the start; DeepMoji's `extend_with=10000`), except
for `last`, whose embedding is frozen and would leave the new rows random. Texts are cut to DeepMoji's `maxlen`:
the 80th percentile of the training texts' word counts rounded up to a multiple of ten. The head is replaced for
the target's classes: a softmax trained with cross-entropy for single-label sets, one sigmoid per class with
binary cross-entropy for multi-label sets (the paper trained one binary model per emotion instead).

An epoch is at least `epoch_size` texts (DeepMoji: 5,000), here as whole passes over the training texts in shuffled,
length-bucketed batches (the original drew 5,000 texts with replacement), so a set of 200 texts gets as many steps
between two validation checks as the paper gave it; `patience` epochs without a lower validation loss end a stage.
The result is evaluated on the test split with `fourfold.deepmoji.evaluate` (the paper's metric, macro-F1,
thresholds tuned on validation) and saved to `--out` in the layout of `fourfold.deepmoji.classifier`, which
`fourfold deepmoji predict` loads.

Shapes: N texts, T max_length tokens, C classes.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import torch

from fourfold.core.config import ConfigError, require
from fourfold.core.device import setup_runtime
from fourfold.core.errors import FourfoldError
from fourfold.core.progress import ProgressBar
from fourfold.core.runlog import RunMode, open_run, run_directory
from fourfold.core.seeding import seed_everything
from fourfold.deepmoji.classifier import Classifier, load_classifier, save_classifier
from fourfold.deepmoji.config import preset
from fourfold.deepmoji.data import DatasetError, TextDataset, load_dataset
from fourfold.deepmoji.evaluate import Metrics, evaluate_scores, paper_metric_for
from fourfold.deepmoji.model import DeepMoji
from fourfold.deepmoji.tokenizer import Vocabulary, suggested_max_length
from fourfold.deepmoji.train import (
    SUMMARY_FILE,
    SYSTEM,
    Encoded,
    encode_split,
    mean_loss,
    predict_scores,
    train_epoch,
)

Method = Literal["last", "full", "new", "chain-thaw"]
METHODS: tuple[Method, ...] = ("last", "full", "new", "chain-thaw")
HEAD_LEARNING_RATE = 1e-3
"""DeepMoji's rate for a new head alone (`last`, chain-thaw's first stage) and for `new`."""
BODY_LEARNING_RATE = 1e-4
"""DeepMoji's rate whenever pretrained layers train (`full`, chain-thaw after its first stage)."""


@dataclass
class TransferConfig:
    """Adapt a pretrained DeepMoji model to a labelled text set (or train one from scratch with --method new)."""

    dataset: str
    """Target data: a name (deepmoji/SS-Twitter, deepmoji/SE0714, tweeteval/emotion, goemotions, ...) or a path."""
    pretrained: Path | None = None
    """The pretrained model's folder (made by fourfold deepmoji pretrain); optional for --method new."""
    method: Method = "chain-thaw"
    """last (new head only), full (everything at once), new (from scratch) or chain-thaw (layer by layer)."""
    out: Path | None = None
    """Folder to write the transferred model to (default: <runs>/deepmoji/<name>)."""
    name: str | None = None
    """Run name (default: <data set>-<method>-s<seed>)."""
    runs: Path = Path("runs")
    """Folder holding all runs."""
    preset: str = "small"
    """Network size for --method new without --pretrained."""
    vocab_size: int = 50_000
    """Vocabulary cap for --method new without --pretrained (built from the target's training texts)."""
    extend_vocabulary: int = 10_000
    """Most words of the target's training texts added to the pretrained vocabulary (DeepMoji: 10,000)."""
    max_length: int | None = None
    """Tokens kept per text (default: DeepMoji's rule, the 80th percentile of the training texts rounded up to 10)."""
    batch_size: int = 32
    """Texts per optimizer step."""
    learning_rate: float | None = None
    """Adam's step size for all stages (default: the paper's, 1e-3 for a new head or from scratch, 1e-4 else)."""
    grad_clip: float = 1.0
    """Clip the global gradient norm of the trained parameters to this (DeepMoji: 1); 0 for none."""
    embed_l2: float = 1e-6
    """L2 penalty on the embedding while it trains (DeepMoji: 1e-6)."""
    epoch_size: int = 5000
    """Texts per epoch, rounded up to whole passes over the training texts (DeepMoji: 5,000); 0: one pass."""
    max_epochs: int = 50
    """Most epochs per stage."""
    patience: int = 5
    """End a stage after this many epochs without a lower validation loss (DeepMoji: 5)."""
    seed: int = 0
    """Seed of the new head, the batch order and dropout."""
    device: str = "auto"
    """auto (cuda when available, else cpu), cpu, cuda, cuda:N or mps."""
    threads: int | None = None
    """CPU threads for torch (default: the cores this process may use)."""
    overwrite: bool = False
    """Replace an existing output folder."""
    progress: bool = True
    """Show a progress bar (on stderr)."""

    def __post_init__(self) -> None:
        require(self.method in METHODS, "method", f"must be one of {', '.join(METHODS)} (got {self.method!r})")
        preset(self.preset)
        require(self.vocab_size >= 11, "vocab_size", f"must be at least 11 (got {self.vocab_size})")
        require(self.extend_vocabulary >= 0, "extend_vocabulary", f"must be 0 or more (got {self.extend_vocabulary})")
        require(self.max_length is None or self.max_length >= 1, "max_length", "must be at least 1")
        require(self.batch_size >= 1, "batch_size", f"must be at least 1 (got {self.batch_size})")
        require(self.learning_rate is None or self.learning_rate > 0, "learning_rate", "must be positive")
        require(self.grad_clip >= 0, "grad_clip", f"must be 0 or more (got {self.grad_clip})")
        require(self.embed_l2 >= 0, "embed_l2", f"must be 0 or more (got {self.embed_l2})")
        require(self.epoch_size >= 0, "epoch_size", f"must be 0 or more (got {self.epoch_size})")
        require(self.max_epochs >= 1, "max_epochs", f"must be at least 1 (got {self.max_epochs})")
        require(self.patience >= 1, "patience", f"must be at least 1 (got {self.patience})")
        require(
            self.method == "new" or self.pretrained is not None,
            "pretrained",
            f"method {self.method} starts from a pretrained model: pass --pretrained DIR (make one with "
            "`fourfold deepmoji pretrain --out DIR`), or use --method new",
        )

    @property
    def run_name(self) -> str:
        """The output folder's name."""
        if self.name is not None:
            return self.name
        stem = Path(self.dataset).name if Path(self.dataset).exists() else self.dataset.replace("/", "-")
        stem = Path(stem).stem if stem.endswith((".pickle", ".csv", ".jsonl")) else stem
        return f"{stem}-{self.method}-s{self.seed}"


class Stage(NamedTuple):
    """One step of a method: which layer groups train, at what rate."""

    name: str
    groups: tuple[str, ...]
    """Names from `DeepMoji.layer_groups` that train in this stage; all others are frozen."""
    learning_rate: float


@dataclass
class StageResult:
    """How one stage went."""

    name: str
    trainable: tuple[str, ...]
    """The layer groups whose every parameter had requires_grad during the stage (read from the model)."""
    changed: tuple[str, ...]
    """The layer groups whose weights differ after the stage (a stage that never improved changes none)."""
    learning_rate: float
    epochs: int
    best_epoch: int
    """0: no epoch beat the loss the stage started from, so the stage left the model unchanged."""
    start_val_loss: float
    best_val_loss: float


@dataclass
class TransferSummary:
    """What a transfer run reached on the target's test split."""

    out: str
    dataset: str
    method: str
    pretrained: str | None
    classes: int
    multilabel: bool
    train_examples: int
    vocab_size: int
    added_words: int
    """Words of the target's training texts added to the vocabulary."""
    max_length: int
    stages: list[StageResult]
    test: Metrics
    seconds: float

    def __str__(self) -> str:
        lines = [
            f"{self.method} on {self.dataset} ({self.train_examples:,} training texts, {self.classes} classes"
            f"{', multi-label' if self.multilabel else ''}); vocabulary {self.vocab_size:,} (+{self.added_words:,})",
        ]
        for stage in self.stages:
            lines.append(
                f"  {stage.name:<10} lr {stage.learning_rate:g}: {stage.epochs} epochs, val loss "
                f"{stage.start_val_loss:.4f} -> {stage.best_val_loss:.4f}"
            )
        test = self.test
        lines.append(
            f"test: {test.paper_metric} {test.paper:.4f}, macro-F1 {test.macro_f1:.4f} ({test.examples} texts)"
        )
        lines.append(f"model: {self.out} ({self.seconds:.1f} s)")
        return "\n".join(lines)


@dataclass
class Transferred:
    """A transferred model in memory, with what it was made of and what it reached."""

    model: DeepMoji
    vocabulary: Vocabulary
    added_words: int
    stages: list[StageResult]
    test: Metrics
    steps: int


def transfer(config: TransferConfig) -> TransferSummary:
    """Transfer as `config` says, evaluate on the test split and save the model to the output folder."""
    started = time.monotonic()
    # 1. Runtime, data and the pretrained model; refuse an existing output folder before any training.
    runtime = setup_runtime(config.device, config.threads)
    directory = config.out if config.out is not None else run_directory(SYSTEM, config.run_name, config.runs)
    dataset = load_dataset(config.dataset)
    pretrained = load_classifier(config.pretrained) if config.pretrained is not None else None
    mode: RunMode = "overwrite" if config.overwrite else "new"
    with open_run(SYSTEM, config.run_name, config, root=config.runs, mode=mode, directory=directory) as run:
        # 2. Transfer: the method's stages, then the test metrics.
        with ProgressBar(None, f"transfer {config.method}", unit="epoch", enabled=config.progress) as bar:
            result = transfer_model(config, dataset, pretrained, device=runtime.device, bar=bar, log=run.log)
        run.log(result.steps, {f"test/{key}": value for key, value in result.test.as_dict().items()})
        # 3. Save the model where `load_classifier` finds it.
        save_classifier(
            directory,
            result.model,
            result.vocabulary,
            dataset.label_names,
            dataset.multilabel,
            step=result.steps,
            dataset=dataset.name,
        )
    summary = TransferSummary(
        out=str(directory),
        dataset=dataset.name,
        method=config.method,
        pretrained=str(config.pretrained) if config.pretrained is not None else None,
        classes=dataset.num_classes,
        multilabel=dataset.multilabel,
        train_examples=len(dataset.train),
        vocab_size=result.vocabulary.size,
        added_words=result.added_words,
        max_length=result.model.config.context_length,
        stages=result.stages,
        test=result.test,
        seconds=time.monotonic() - started,
    )
    (directory / SUMMARY_FILE).write_text(json.dumps(asdict(summary), indent=2) + "\n", encoding="utf-8")
    return summary


def transfer_model(
    config: TransferConfig,
    dataset: TextDataset,
    pretrained: Classifier | None,
    *,
    device: torch.device | None = None,
    bar: ProgressBar | None = None,
    log: Callable[[int, dict[str, float]], None] | None = None,
) -> Transferred:
    """Run `config.method` on `dataset` from `pretrained` (left untouched: it is copied) and evaluate on test.

    Writes nothing; `transfer` saves the result, `fourfold.deepmoji.benchmark` calls this once per seed.
    """
    if len(dataset.train) == 0 or len(dataset.val) == 0 or len(dataset.test) == 0:
        raise DatasetError(
            f"{dataset.name} needs non-empty train, validation and test splits for transfer (early stopping uses "
            f"validation); it has {len(dataset.train)}, {len(dataset.val)} and {len(dataset.test)} texts"
        )
    if config.method != "new" and pretrained is None:
        raise ConfigError("pretrained", f"method {config.method} needs a pretrained model (--pretrained DIR)")
    seed_everything(config.seed)

    # 1. Vocabulary and network: the pretrained ones, extended with the target's words (or fresh for `new`).
    train_texts = dataset.train.texts
    if pretrained is not None:
        vocabulary, model = pretrained.vocabulary, copy.deepcopy(pretrained.model)
        if config.method != "last" and config.extend_vocabulary > 0:
            vocabulary = vocabulary.extend(train_texts, max_new_words=config.extend_vocabulary)
            model.extend_vocabulary(vocabulary.size)
        if config.method == "new":
            model.reset_parameters()  # the pretrained shape and words, none of its weights
        added = vocabulary.size - pretrained.vocabulary.size
    else:
        vocabulary = Vocabulary.build(train_texts, max_size=config.vocab_size)
        model = DeepMoji(preset(config.preset).replace(vocab_size=vocabulary.size, num_classes=dataset.num_classes))
        added = 0
    model.replace_head(dataset.num_classes)
    max_length = config.max_length or suggested_max_length(train_texts)
    model.config = model.config.replace(context_length=max_length)
    model.to(device or torch.device("cpu"))
    train, val, test = (encode_split(dataset.split(s), vocabulary, max_length) for s in ("train", "val", "test"))

    # 2. The method's stages, each with early stopping and the best weights reloaded.
    stages = stage_plan(config.method, tuple(model.layer_groups()), config.learning_rate)
    results: list[StageResult] = []
    steps = 0
    for index, stage in enumerate(stages):
        result, stage_steps = fit_stage(
            model, stage, train, val, config, dataset.multilabel, seed=[config.seed, index], bar=bar
        )
        steps += stage_steps
        results.append(result)
        if log is not None:
            log(steps, {f"{stage.name}/epochs": result.epochs, f"{stage.name}/val_loss": result.best_val_loss})
    for parameter in model.parameters():
        parameter.requires_grad_(True)

    # 3. Test metrics, thresholds tuned on validation.
    metric = paper_metric_for(dataset.name, multilabel=dataset.multilabel, num_classes=dataset.num_classes)
    metrics = evaluate_scores(
        test.targets,
        predict_scores(model, test.ids, multilabel=dataset.multilabel),
        multilabel=dataset.multilabel,
        paper_metric=metric,
        val_targets=val.targets,
        val_scores=predict_scores(model, val.ids, multilabel=dataset.multilabel),
    )
    return Transferred(model.cpu().eval(), vocabulary, added, results, metrics, steps)


def stage_plan(method: Method, groups: tuple[str, ...], learning_rate: float | None = None) -> list[Stage]:
    """The stages of `method` over the layer groups (bottom to top, the head last, as `DeepMoji.layer_groups`).

    Args:
        method: one of `METHODS`.
        groups: the model's group names, e.g. ("embedding", "lstm_0", "lstm_1", "attention", "head").
        learning_rate: one rate for every stage; None: the paper's rates.
    """
    if method not in METHODS:
        raise ConfigError("method", f"must be one of {', '.join(METHODS)} (got {method!r})")
    if not groups or groups[-1] != "head":
        raise FourfoldError(f"a DeepMoji model's layer groups end with the head; got {', '.join(groups)}")
    head, body = HEAD_LEARNING_RATE, BODY_LEARNING_RATE
    if learning_rate is not None:
        head = body = learning_rate
    if method == "last":
        return [Stage("head", ("head",), head)]
    if method == "new":
        return [Stage("all", groups, head)]
    if method == "full":
        return [Stage("all", groups, body)]
    layers = [Stage(group, (group,), body) for group in groups[:-1]]
    return [Stage("head", ("head",), head), *layers, Stage("all", groups, body)]


def fit_stage(
    model: DeepMoji,
    stage: Stage,
    train: Encoded,
    val: Encoded,
    config: TransferConfig,
    multilabel: bool,
    *,
    seed: list[int],
    bar: ProgressBar | None = None,
) -> tuple[StageResult, int]:
    """Train the stage's groups (all others frozen) until `config.patience` epochs bring no lower validation loss,
    then reload the best weights; returns the stage's record and the optimizer steps taken."""
    groups = model.layer_groups()
    unknown = [name for name in stage.groups if name not in groups]
    if unknown:
        raise FourfoldError(f"stage {stage.name} names layer groups the model lacks: {', '.join(unknown)}")
    for name, parameters in groups.items():
        for parameter in parameters:
            parameter.requires_grad_(name in stage.groups)
    trainable = tuple(name for name, params in groups.items() if all(p.requires_grad for p in params))
    before = {name: [p.detach().clone() for p in params] for name, params in groups.items()}
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=stage.learning_rate, fused=True)

    start_loss = best_loss = mean_loss(model, val, multilabel=multilabel)
    best_state = copy.deepcopy(model.state_dict())
    best_epoch, bad_epochs, epochs, steps = 0, 0, 0, 0
    rng = np.random.default_rng(seed)
    passes = max(1, math.ceil(config.epoch_size / max(len(train.ids), 1)))
    while epochs < config.max_epochs and bad_epochs < config.patience:
        for _ in range(passes):
            _, pass_steps = train_epoch(
                model,
                optimizer,
                train,
                multilabel=multilabel,
                batch_size=config.batch_size,
                rng=rng,
                grad_clip=config.grad_clip,
                embed_l2=config.embed_l2,
            )
            steps += pass_steps
        epochs += 1
        loss = mean_loss(model, val, multilabel=multilabel)
        if loss < best_loss:
            best_loss, best_epoch, bad_epochs = loss, epochs, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
        if bar is not None:
            bar.advance()
            bar.set_postfix(f"{stage.name} · epoch {epochs} · val {loss:.4f} (best {best_loss:.4f})")
    model.load_state_dict(best_state)
    changed = tuple(
        name
        for name, params in groups.items()
        if any(not torch.equal(p.detach(), old) for p, old in zip(params, before[name], strict=True))
    )
    result = StageResult(
        name=stage.name,
        trainable=trainable,
        changed=changed,
        learning_rate=stage.learning_rate,
        epochs=epochs,
        best_epoch=best_epoch,
        start_val_loss=start_loss,
        best_val_loss=best_loss if math.isfinite(best_loss) else start_loss,
    )
    return result, steps
