"""Transfer (`fourfold deepmoji transfer`) and the benchmark: what each method trains at each stage, vocabulary
extension, single- and multi-label heads, pretrain → transfer → benchmark on toy data, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.deepmoji.test_train import tiny_config, toy_texts, write_set

from fourfold.core.checkpoint import CheckpointError, latest_checkpoint
from fourfold.core.config import ConfigError
from fourfold.deepmoji.benchmark import BenchmarkConfig, benchmark, majority_floor, tfidf_floor
from fourfold.deepmoji.classifier import Classifier, ClassifierError, load_classifier
from fourfold.deepmoji.data import DatasetError, load_dataset
from fourfold.deepmoji.train import pretrain
from fourfold.deepmoji.transfer import (
    BODY_LEARNING_RATE,
    HEAD_LEARNING_RATE,
    TransferConfig,
    stage_plan,
    transfer,
    transfer_model,
)

GROUPS = ("embedding", "lstm_0", "lstm_1", "attention", "head")
# The target task: new words (never seen in pretraining) and the pretrained ones decide a sentiment.
TARGET_KEYS = {"pizza": "pos", "love": "pos", "delicious": "pos", "rain": "neg", "awful": "neg", "haha": "pos"}


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny emoji model pretrained on the toy emoji task."""
    root = tmp_path_factory.mktemp("pretrained")
    pretrain(tiny_config(write_set(root / "toy"), root / "run"))
    return root / "run"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_set(tmp_path_factory.mktemp("target") / "sentiment", sizes=(300, 60, 80), keys=TARGET_KEYS)


def target_config(target: Path, pretrained: Path | None, **changes: object) -> TransferConfig:
    settings: dict[str, object] = {
        "dataset": str(target),
        "pretrained": pretrained,
        "epoch_size": 0,
        "max_epochs": 4,
        "patience": 2,
        "batch_size": 32,
        "device": "cpu",
        "threads": 1,
        "progress": False,
    }
    settings.update(changes)
    return TransferConfig(**settings)  # type: ignore[arg-type]


def test_stage_plans_follow_the_paper() -> None:
    assert stage_plan("last", GROUPS) == [("head", ("head",), HEAD_LEARNING_RATE)]
    assert stage_plan("full", GROUPS) == [("all", GROUPS, BODY_LEARNING_RATE)]
    assert stage_plan("new", GROUPS) == [("all", GROUPS, HEAD_LEARNING_RATE)]
    chain = stage_plan("chain-thaw", GROUPS)
    assert [stage.groups for stage in chain] == [("head",), *((group,) for group in GROUPS[:-1]), GROUPS]
    assert [stage.learning_rate for stage in chain] == [HEAD_LEARNING_RATE] + [BODY_LEARNING_RATE] * 5
    assert {stage.learning_rate for stage in stage_plan("chain-thaw", GROUPS, 3e-3)} == {3e-3}


def test_chain_thaw_trains_exactly_one_group_per_stage_then_all(pretrained: Path, target: Path) -> None:
    classifier = load_classifier(pretrained)
    before = {name: [p.detach().clone() for p in params] for name, params in classifier.model.layer_groups().items()}
    result = transfer_model(target_config(target, pretrained), load_dataset(target), classifier)
    assert [stage.name for stage in result.stages] == ["head", *GROUPS[:-1], "all"]
    for stage in result.stages:
        expected = GROUPS if stage.name == "all" else (stage.name,)
        assert stage.trainable == expected, stage.name  # requires_grad read from the model during the stage
        assert set(stage.changed) <= set(expected), stage.name  # frozen groups did not move
        if stage.best_epoch > 0:  # the stage kept a trained epoch: every trained group moved
            assert stage.changed == expected, stage.name
        assert stage.best_val_loss <= stage.start_val_loss
    assert result.stages[0].changed == ("head",)  # a fresh head always improves on its first epochs
    assert all(p.requires_grad for p in result.model.parameters())  # nothing left frozen
    # the pretrained model handed in is untouched
    for name, params in classifier.model.layer_groups().items():
        assert all(torch.equal(p, old) for p, old in zip(params, before[name], strict=True)), name


def test_vocabulary_extension_and_methods(pretrained: Path, target: Path) -> None:
    classifier = load_classifier(pretrained)
    dataset = load_dataset(target)
    full = transfer_model(target_config(target, pretrained, method="full"), dataset, classifier)
    assert "delicious" not in classifier.vocabulary.index and "delicious" in full.vocabulary.index
    assert full.added_words > 0
    assert full.vocabulary.size == classifier.vocabulary.size + full.added_words
    assert full.model.embedding.weight.shape[0] == full.vocabulary.size
    assert full.model.head.out_features == 2
    old_rows = classifier.vocabulary.size
    # last: no extension (a frozen embedding would keep new rows random), only the head changes
    last = transfer_model(target_config(target, pretrained, method="last"), dataset, classifier)
    assert last.added_words == 0 and last.vocabulary.size == old_rows
    assert last.stages[0].trainable == ("head",)
    assert torch.equal(last.model.embedding.weight, classifier.model.embedding.weight)
    # new: the pretrained shape and words, fresh weights
    new = transfer_model(target_config(target, pretrained, method="new"), dataset, classifier)
    assert new.vocabulary.size == full.vocabulary.size
    assert not torch.equal(new.model.embedding.weight[:old_rows], classifier.model.embedding.weight)
    # the target's key words decide its label: chain-thaw from the pretrained model learns it
    chain = transfer_model(target_config(target, pretrained, max_epochs=8), dataset, classifier)
    assert chain.test.accuracy is not None and chain.test.accuracy >= 0.85


def test_an_epoch_is_at_least_epoch_size_texts_in_whole_passes(pretrained: Path, target: Path) -> None:
    classifier, dataset = load_classifier(pretrained), load_dataset(target)
    batches_per_pass = -(-len(dataset.train) // 32)  # 300 texts fit one sorting window: ceil(300 / 32)
    for epoch_size, passes in ((0, 1), (300, 1), (301, 2), (900, 3)):
        config = target_config(target, pretrained, method="last", max_epochs=1, epoch_size=epoch_size)
        assert transfer_model(config, dataset, classifier).steps == passes * batches_per_pass


def test_new_without_pretrained_and_multilabel_heads(tmp_path: Path) -> None:
    folder = tmp_path / "multi"
    folder.mkdir()
    (folder / "labels.txt").write_text("food\nweather\n", encoding="utf-8")
    keys = {"pizza": ["food"], "rain": ["weather"], "picnic": ["food", "weather"], "hello": []}
    for seed, (split, size) in enumerate((("train", 300), ("val", 60), ("test", 60))):
        rows = toy_texts(size, seed, {key: key for key in keys})
        lines = [json.dumps({"text": text, "label": keys[key]}) for text, key in rows]
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    dataset = load_dataset(folder)
    assert dataset.multilabel
    config = target_config(folder, None, method="new", preset="tiny", max_epochs=15, learning_rate=1e-2)
    result = transfer_model(config, dataset, None)
    assert result.test.paper_metric == "f1" and result.test.tuned_f1 is not None
    assert result.test.tuned_f1 >= 0.9 and len(result.test.thresholds) == 2
    assert result.test.accuracy is None


def test_transfer_saves_a_loadable_model_and_benchmark_tabulates(
    pretrained: Path, target: Path, tmp_path: Path
) -> None:
    summary = transfer(target_config(target, pretrained, out=tmp_path / "sentiment"))
    loaded = load_classifier(tmp_path / "sentiment")
    assert isinstance(loaded, Classifier) and loaded.label_names == ["pos", "neg"]
    assert loaded.max_length == summary.max_length and loaded.vocabulary.size == summary.vocab_size
    dataset = load_dataset(target)
    scores = loaded.probabilities(dataset.test.texts)
    accuracy = float(np.mean(scores.argmax(axis=1) == dataset.test.labels))
    assert accuracy == pytest.approx(summary.test.accuracy)
    assert json.loads((tmp_path / "sentiment" / "summary.json").read_text())["method"] == "chain-thaw"

    table = benchmark(
        BenchmarkConfig(
            dataset=str(target),
            pretrained=pretrained,
            method=("chain-thaw", "new"),
            seeds=2,
            epoch_size=0,
            max_epochs=3,
            patience=2,
            device="cpu",
            threads=1,
            progress=False,
        )
    )
    assert [row.method for row in table.rows] == ["chain-thaw", "new", "majority", "tfidf+lr"]
    assert [row.seeds for row in table.rows] == [2, 2, 1, 1]
    for row in table.rows:
        assert 0.0 <= row.paper_mean <= 1.0 and row.paper_std >= 0.0
        assert row.paper_mean == pytest.approx(np.mean(row.paper_values))
    assert table.paper_metric == "macro_f1" and "chain-thaw" in str(table)
    majority = majority_floor(dataset)
    assert majority.accuracy == pytest.approx(
        np.mean(dataset.test.labels == np.bincount(dataset.train.labels).argmax())
    )
    assert tfidf_floor(dataset).accuracy >= 0.9  # type: ignore[operator]


def test_bad_input_is_one_sentence(pretrained: Path, target: Path, tmp_path: Path) -> None:
    with pytest.raises(ClassifierError, match=r"no DeepMoji emoji model at .*fourfold deepmoji pretrain"):
        transfer(target_config(target, tmp_path / "missing", out=tmp_path / "a"))
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in pretrained.iterdir():
        if item.is_file():
            (broken / item.name).write_bytes(item.read_bytes())
    checkpoint = latest_checkpoint(pretrained / "checkpoints")
    assert checkpoint is not None
    copy = broken / "checkpoints" / checkpoint.name
    copy.mkdir(parents=True)
    for item in checkpoint.iterdir():
        (copy / item.name).write_bytes(item.read_bytes())
    weights = copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated
    with pytest.raises(CheckpointError):
        transfer(target_config(target, broken, out=tmp_path / "b"))
    with pytest.raises(ConfigError, match="pretrained"):
        target_config(target, None, method="chain-thaw")
    with pytest.raises(ConfigError, match="method"):
        target_config(target, pretrained, method="thaw")
    bad_labels = write_set(tmp_path / "bad", sizes=(20, 5, 5), keys=TARGET_KEYS)
    with (bad_labels / "test.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"text": "so so", "label": "meh"}) + "\n")
    with pytest.raises(DatasetError, match="label 'meh' is outside the mapping"):
        transfer(target_config(bad_labels, pretrained, out=tmp_path / "c"))
    with pytest.raises(DatasetError, match="unknown data set"):
        transfer(target_config("deepmoji/NoSuchSet", pretrained, out=tmp_path / "d"))  # type: ignore[arg-type]
