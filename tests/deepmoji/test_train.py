"""Pretraining (`fourfold deepmoji pretrain`): a toy emoji task learned end to end, the run folder it leaves,
exact resumption, joined emoji sets, and one clear sentence for bad input."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch

from fourfold.core.checkpoint import latest_checkpoint, load_checkpoint
from fourfold.core.config import ConfigError
from fourfold.core.errors import FourfoldError
from fourfold.core.runlog import RunError, read_metrics
from fourfold.deepmoji.classifier import load_classifier
from fourfold.deepmoji.data import DatasetError
from fourfold.deepmoji.emojis import EMOJI_CHARS
from fourfold.deepmoji.train import PretrainConfig, pretrain, pretraining_dataset

# A word in the text decides the emoji; the rest is filler shared by all classes.
TOY_KEYS = {"pizza": "😋", "rain": "😢", "love": "❤", "haha": "😂"}
FILLER = ["the", "a", "today", "so", "my", "this", "just", "really", "we", "you", "it", "very"]


def toy_texts(count: int, seed: int, keys: dict[str, str] = TOY_KEYS) -> list[tuple[str, str]]:
    """(text, emoji) pairs: three to eight filler words with the class's key word somewhere among them."""
    rng = np.random.default_rng(seed)
    names = list(keys)
    rows = []
    for _ in range(count):
        key = names[int(rng.integers(len(names)))]
        text = [FILLER[int(i)] for i in rng.integers(0, len(FILLER), int(rng.integers(3, 9)))]
        text.insert(int(rng.integers(len(text) + 1)), key)
        rows.append((" ".join(text), keys[key]))
    return rows


def write_set(folder: Path, sizes: Sequence[int] = (600, 100, 100), keys: dict[str, str] = TOY_KEYS) -> Path:
    """A JSONL data set folder (train/val/test.jsonl, labels.txt) of toy emoji texts."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = list(dict.fromkeys(keys.values()))
    (folder / "labels.txt").write_text("".join(f"{label}\n" for label in labels), encoding="utf-8")
    for seed, (split, size) in enumerate(zip(("train", "val", "test"), sizes, strict=True)):
        lines = [json.dumps({"text": text, "label": label}) for text, label in toy_texts(size, seed, keys)]
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def tiny_config(data: Path, out: Path, **changes: object) -> PretrainConfig:
    settings: dict[str, object] = {
        "dataset": str(data),
        "out": out,
        "preset": "tiny",
        "max_length": 12,
        "batch_size": 32,
        "learning_rate": 1e-2,
        "max_epochs": 6,
        "patience": 2,
        "device": "cpu",
        "threads": 1,
        "progress": False,
    }
    settings.update(changes)
    return PretrainConfig(**settings)  # type: ignore[arg-type]


def test_learns_a_toy_emoji_task_and_leaves_a_loadable_run(tmp_path: Path) -> None:
    data = write_set(tmp_path / "toy")
    summary = pretrain(tiny_config(data, tmp_path / "run"))
    assert summary.test.accuracy is not None and summary.test.accuracy >= 0.9
    assert summary.val.macro_f1 >= 0.9
    assert summary.classes == 4 and summary.train_examples == 600
    assert 1 <= summary.best_epoch <= summary.epochs <= 6
    run = tmp_path / "run"
    for name in ("config.json", "metrics.jsonl", "vocabulary.json", "summary.json"):
        assert (run / name).is_file(), name
    # the folder loads as a classifier, with the best epoch's weights, and predicts the key word's emoji
    classifier = load_classifier(run)
    assert classifier.label_names == ["😋", "😢", "❤", "😂"] and not classifier.multilabel
    scores = classifier.probabilities(["so pizza today", "we love it", "rain rain", "haha you"])
    assert list(scores.argmax(axis=1)) == [0, 2, 1, 3]
    metrics = read_metrics(run / "metrics.jsonl")
    val_losses = [line["val/loss"] for line in metrics if "val/loss" in line]
    assert len(val_losses) == summary.epochs
    assert min(val_losses) == pytest.approx(summary.best_val_loss)
    assert any("test/top5_accuracy" not in line and "test/accuracy" in line for line in metrics)


def test_resume_continues_exactly(tmp_path: Path) -> None:
    data = write_set(tmp_path / "toy", sizes=(200, 40, 40))
    straight = pretrain(tiny_config(data, tmp_path / "straight", max_epochs=3, patience=5))
    pretrain(tiny_config(data, tmp_path / "resumed", max_epochs=1, patience=5))
    resumed = pretrain(tiny_config(data, tmp_path / "resumed", max_epochs=3, patience=5, resume=True))
    assert (resumed.epochs, resumed.best_epoch) == (straight.epochs, straight.best_epoch)
    assert resumed.best_val_loss == straight.best_val_loss
    for name in ("straight", "resumed"):
        assert latest_checkpoint(tmp_path / name / "checkpoints") is not None
    a = load_checkpoint(latest_checkpoint(tmp_path / "straight" / "checkpoints"))  # type: ignore[arg-type]
    b = load_checkpoint(latest_checkpoint(tmp_path / "resumed" / "checkpoints"))  # type: ignore[arg-type]
    assert a.step == b.step
    for key, tensor in a.model.items():
        assert torch.equal(tensor, b.model[key]), key
    for key, tensor in a.state["current_model"].items():
        assert torch.equal(tensor, b.state["current_model"][key]), key
    losses = [
        [line["val/loss"] for line in read_metrics(tmp_path / name / "metrics.jsonl") if "val/loss" in line]
        for name in ("straight", "resumed")
    ]
    assert losses[0] == losses[1]


def test_joined_sets_map_to_deepmojis_64_classes(tmp_path: Path) -> None:
    first = write_set(tmp_path / "a", sizes=(40, 10, 10))
    second = write_set(tmp_path / "b", sizes=(40, 10, 10), keys={"fire": "🔥", "cool": "😎"})  # 🔥 is not among the 64
    joined = pretraining_dataset(f"{first}+{second}")
    assert joined.label_names == list(EMOJI_CHARS)
    labels = np.concatenate([joined.train.labels, joined.val.labels, joined.test.labels])
    present = {EMOJI_CHARS[i] for i in labels}
    assert present <= {"😋", "😢", "❤", "😂", "😎"} and "😎" in present
    texts = joined.train.texts + joined.val.texts + joined.test.texts
    assert not any("fire" in text.split() for text in texts)
    assert len(set(zip(texts, labels.tolist(), strict=True))) == len(texts)  # no repeated pair


def test_bad_input_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown data set 'no-such-set'"):
        pretraining_dataset("no-such-set")
    with pytest.raises(DatasetError, match="empty data set"):
        pretraining_dataset("harvest+")
    multi = tmp_path / "multi"
    multi.mkdir()
    (multi / "train.jsonl").write_text('{"text": "a b", "label": ["x", "y"]}\n', encoding="utf-8")
    for split in ("val", "test"):
        (multi / f"{split}.jsonl").write_text('{"text": "c", "label": ["x"]}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="multi-label"):
        pretraining_dataset(str(multi))
    data = write_set(tmp_path / "toy", sizes=(30, 10, 10))
    with pytest.raises(ConfigError, match="preset"):
        tiny_config(data, tmp_path / "run", preset="huge")
    with pytest.raises(FourfoldError, match="nothing to resume"):
        pretrain(tiny_config(data, tmp_path / "never", resume=True))
    pretrain(tiny_config(data, tmp_path / "run", max_epochs=1))
    with pytest.raises(RunError, match="already exists"):
        pretrain(tiny_config(data, tmp_path / "run", max_epochs=1))
    with pytest.raises(ConfigError, match="seed=0"):
        pretrain(tiny_config(data, tmp_path / "run", max_epochs=2, resume=True, seed=1))


@pytest.mark.usefixtures("shared_data")
def test_harvest_and_tweeteval_join_into_one_64_class_set() -> None:
    joined = pretraining_dataset("harvest+tweeteval/emoji")
    harvest = pretraining_dataset("harvest")
    assert joined.num_classes == harvest.num_classes == 64
    assert len(joined.train) > 5 * len(harvest.train)
