"""A trained DeepMoji classifier on disk: the one place that knows how a DeepMoji run folder is laid out.

Pretraining (`fourfold deepmoji pretrain`) and transfer (`fourfold deepmoji transfer`) both leave a run folder that
`load_classifier` reads back whole, weights, words and labels together:

    <run>/
      vocabulary.json             the `Vocabulary` (words in id order, counts; `Vocabulary.save`)
      config.json                 the training command's own config (written by `fourfold.core.runlog`; not read here)
      checkpoints/step_00001234/  a `fourfold.core.checkpoint` folder of kind "deepmoji":
        config.json                 a `ClassifierConfig`: the network's `ModelConfig`, the label names in class order,
                                    single- or multi-label, the data set it was trained on, the vocabulary's digest
        model.safetensors           the `DeepMoji` state dict
        state.*                     whatever extra state the trainer keeps (optimizer, RNG), unread here

`save_classifier` writes exactly this (the vocabulary, then the checkpoint at `step`); `load_classifier` takes the
run folder (its latest checkpoint) or one checkpoint folder (the vocabulary is looked up beside it, then in the run
folder two levels up). The digest of the vocabulary's words is kept in the checkpoint, so a vocabulary.json that
belongs to another model is caught with one sentence instead of silently mapping words to the wrong rows.

A missing model is reported with the command that makes one (`MAKE_PRETRAINED`), the default place of the emoji
model being `DEFAULT_PRETRAINED`.

Shapes: N texts, T context_length tokens, C classes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fourfold.core.checkpoint import (
    MANIFEST,
    CheckpointError,
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    load_model_state,
    prune_checkpoints,
    save_checkpoint,
)
from fourfold.core.config import from_jsonable
from fourfold.core.errors import FourfoldError
from fourfold.deepmoji.config import ModelConfig
from fourfold.deepmoji.tokenizer import Vocabulary

if TYPE_CHECKING:  # torch is imported where used
    import torch

    from fourfold.deepmoji.model import DeepMoji

KIND = "deepmoji"
"""The `kind` of every DeepMoji checkpoint (`fourfold.core.checkpoint`)."""
VOCABULARY_FILE = "vocabulary.json"
CHECKPOINTS_DIR = "checkpoints"
DEFAULT_PRETRAINED = Path("runs/deepmoji/pretrained")
"""Where `fourfold deepmoji predict` looks for the emoji model when none is named (`pretrain --out` default)."""
MAKE_PRETRAINED = "fourfold deepmoji pretrain --out {path}"
"""The command that makes an emoji model at `path`, for the message when there is none."""
MAKE_TRANSFERRED = "fourfold deepmoji transfer --pretrained DIR --dataset NAME --out {path}"
"""The command that makes an emotion (transferred) model at `path`."""


class ClassifierError(FourfoldError):
    """A DeepMoji model folder is missing, incomplete, or its parts do not belong together."""


@dataclass(frozen=True)
class ClassifierConfig:
    """What a DeepMoji checkpoint's config.json holds: enough to rebuild the network and name its outputs."""

    model: ModelConfig
    """The network's shape; `vocab_size` equals the vocabulary's size and `num_classes` the label count."""
    label_names: tuple[str, ...]
    """Class names in output order (for emoji models, the emoji themselves)."""
    multilabel: bool = False
    """True: each output is a separate yes/no (sigmoid); False: one class per text (softmax)."""
    dataset: str = ""
    """The data set the head was trained on, e.g. "harvest" or "tweeteval/emotion" (informative)."""
    vocabulary_sha256: str = ""
    """Digest of the vocabulary's words in id order (`vocabulary_digest`); empty: not checked."""

    def __post_init__(self) -> None:
        if len(self.label_names) != self.model.num_classes:
            raise ClassifierError(
                f"a DeepMoji classifier has {len(self.label_names)} label names for {self.model.num_classes} "
                "outputs; give one name per class"
            )


@dataclass
class Classifier:
    """A DeepMoji network ready to use: in eval mode on the CPU, with its vocabulary and label names."""

    model: DeepMoji
    vocabulary: Vocabulary
    label_names: list[str]
    multilabel: bool
    dataset: str
    """The data set it was trained on (as saved)."""
    checkpoint: Path
    """The checkpoint folder it was read from."""
    step: int
    """The training step of that checkpoint."""

    @property
    def max_length(self) -> int:
        """T, the tokens kept per text (the model's `context_length`)."""
        return self.model.config.context_length

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Texts as padded token ids (N, T) for this model."""
        return self.vocabulary.encode(texts, self.max_length)

    def probabilities(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Class probabilities (N, C), float32: softmax over classes, or a sigmoid per class when multi-label."""
        import torch

        from fourfold.deepmoji.batching import predict_logits

        logits = predict_logits(self.model, self.encode(texts), batch_size)  # (N, C)
        probabilities = torch.sigmoid(logits) if self.multilabel else torch.softmax(logits, dim=1)
        result: np.ndarray = probabilities.numpy().astype(np.float32)
        return result


def vocabulary_digest(vocabulary: Vocabulary) -> str:
    """sha256 of the vocabulary's words in id order (counts left out: they do not change the mapping)."""
    digest = hashlib.sha256()
    for word in vocabulary.words:
        digest.update(word.encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()


def save_classifier(
    path: str | Path,
    model: DeepMoji,
    vocabulary: Vocabulary,
    label_names: Sequence[str],
    multilabel: bool,
    *,
    step: int = 0,
    dataset: str = "",
    state: Mapping[str, Any] | None = None,
    keep: int | None = None,
) -> Path:
    """Write `model` into the run folder `path`: `vocabulary.json` and the checkpoint `checkpoints/step_<step>`.

    Args:
        path: the run folder (created if absent); a later `load_classifier(path)` reads its latest checkpoint.
        model: the network; its config must match the vocabulary's size and the number of labels.
        vocabulary: the words the model's embedding rows stand for (after any extension).
        label_names: class names in output order.
        multilabel: whether outputs are independent yes/no labels (sigmoid) rather than one class (softmax).
        step: the training step, naming the checkpoint folder.
        dataset: the data set trained on (recorded in the config).
        state: extra state for resuming (optimizer, RNG, data position), saved beside the weights.
        keep: after saving, keep only this many newest checkpoints; None keeps all.

    Returns:
        The checkpoint folder written.

    Raises:
        ClassifierError: the model, vocabulary and labels do not fit together, or `path` is a file.
        CheckpointError: the disk refused a write.
    """
    path = Path(path)
    config = model.config
    if config.vocab_size != vocabulary.size:
        raise ClassifierError(
            f"cannot save a DeepMoji model with {config.vocab_size} embedding rows beside a vocabulary of "
            f"{vocabulary.size} words; extend the model's vocabulary (extend_vocabulary) first"
        )
    if path.exists() and not path.is_dir():
        raise ClassifierError(f"cannot save a DeepMoji model to {path}: it is a file; choose a folder")
    classifier_config = ClassifierConfig(
        model=config,
        label_names=tuple(label_names),
        multilabel=multilabel,
        dataset=dataset,
        vocabulary_sha256=vocabulary_digest(vocabulary),
    )
    vocabulary_path = path / VOCABULARY_FILE
    if not vocabulary_path.is_file() or _saved_words(vocabulary_path) != vocabulary.words:
        vocabulary.save(vocabulary_path)
    weights = {name: tensor.detach() for name, tensor in model.state_dict().items()}
    folder = save_checkpoint(
        checkpoint_path(path / CHECKPOINTS_DIR, step),
        model=weights,
        config=classifier_config,
        state=state,
        step=step,
        kind=KIND,
    )
    if keep is not None:
        prune_checkpoints(path / CHECKPOINTS_DIR, keep)
    return folder


def load_classifier(path: str | Path, *, device: str | torch.device = "cpu", what: str = "emoji") -> Classifier:
    """Read the DeepMoji model in `path`: a run folder (its latest checkpoint) or one checkpoint folder.

    Args:
        path: the run folder `save_classifier` wrote, or one of its `checkpoints/step_N` folders.
        device: where to put the model.
        what: "emoji" or "emotion": which command the missing-model message suggests.

    Raises:
        ClassifierError: nothing is there (the message names the command that makes a model), the folder holds
            no checkpoint or no vocabulary, or the vocabulary does not belong to the weights.
        CheckpointError: the checkpoint is damaged or not a DeepMoji one.
    """
    from fourfold.deepmoji.model import DeepMoji

    path = Path(path)
    folder = _checkpoint_folder(path, what)
    checkpoint = load_checkpoint(folder, kind=KIND)
    if checkpoint.config is None:
        raise CheckpointError(f"checkpoint {folder} has no config.json, so the model's shape is unknown; it is damaged")
    try:
        config = from_jsonable(ClassifierConfig, checkpoint.config)
    except FourfoldError as error:
        raise CheckpointError(
            f"checkpoint {folder} has a config.json that is not a DeepMoji classifier's ({error}); "
            "pass a folder made by fourfold deepmoji pretrain or transfer"
        ) from None
    vocabulary_path = _vocabulary_path(folder, path)
    vocabulary = Vocabulary.load(vocabulary_path)
    if vocabulary.size != config.model.vocab_size or (
        config.vocabulary_sha256 and vocabulary_digest(vocabulary) != config.vocabulary_sha256
    ):
        raise ClassifierError(
            f"{vocabulary_path} ({vocabulary.size} words) is not the vocabulary the model in {folder} was trained "
            f"with ({config.model.vocab_size} words); put that model's own vocabulary.json beside it"
        )
    model = DeepMoji(config.model)
    load_model_state(model, checkpoint.model, str(folder))
    model.to(device).eval()
    return Classifier(
        model=model,
        vocabulary=vocabulary,
        label_names=list(config.label_names),
        multilabel=config.multilabel,
        dataset=config.dataset,
        checkpoint=folder,
        step=checkpoint.step,
    )


def missing_model_message(path: str | Path, what: str = "emoji") -> str:
    """The sentence for a model that is not there: where it was looked for and the command that makes one."""
    command = (MAKE_TRANSFERRED if what == "emotion" else MAKE_PRETRAINED).format(path=path)
    return f"no DeepMoji {what} model at {path}; make one with `{command}`"


def is_model_folder(path: str | Path) -> bool:
    """Whether `path` looks like a DeepMoji run folder or checkpoint (without reading the weights)."""
    path = Path(path)
    return (path / MANIFEST).is_file() or latest_checkpoint(path / CHECKPOINTS_DIR) is not None


def _checkpoint_folder(path: Path, what: str) -> Path:
    """The checkpoint folder to read for `path`: itself if it is one, else the run folder's latest."""
    if not path.exists():
        raise ClassifierError(missing_model_message(path, what))
    if (path / MANIFEST).is_file():
        return path
    latest = latest_checkpoint(path / CHECKPOINTS_DIR)
    if latest is None:
        raise ClassifierError(
            f"{path} holds no DeepMoji checkpoint (no {CHECKPOINTS_DIR}/step_N folder): "
            f"{missing_model_message(path, what).split('; ', 1)[1]}"
        )
    return latest


def _vocabulary_path(folder: Path, asked: Path) -> Path:
    """vocabulary.json in the checkpoint folder, the folder asked for, or the run folder above `checkpoints/`."""
    candidates = [folder / VOCABULARY_FILE, asked / VOCABULARY_FILE, folder.parent.parent / VOCABULARY_FILE]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ClassifierError(
        f"the DeepMoji model in {folder} has no {VOCABULARY_FILE} (looked beside it and in {folder.parent.parent}); "
        "copy the whole run folder, not only its checkpoint"
    )


def _saved_words(path: Path) -> tuple[str, ...] | None:
    try:
        return Vocabulary.load(path).words
    except FourfoldError:
        return None
