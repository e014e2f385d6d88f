"""The DeepMoji model folder: a save/load round trip of weights, words and labels, and one sentence for each way a
folder can be missing or not fit together."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fourfold.core.checkpoint import CheckpointError, save_checkpoint
from fourfold.deepmoji.classifier import (
    ClassifierError,
    is_model_folder,
    load_classifier,
    save_classifier,
    vocabulary_digest,
)
from fourfold.deepmoji.config import preset
from fourfold.deepmoji.model import DeepMoji
from fourfold.deepmoji.tokenizer import Vocabulary

TEXTS = ["i love this so much", "rain again, i hate it", "best day ever with friends", "so tired of waiting"]
LABELS = ["joy", "anger", "sadness"]


def tiny(vocabulary: Vocabulary, classes: int = 3, seed: int = 0) -> DeepMoji:
    torch.manual_seed(seed)
    config = preset("tiny").replace(vocab_size=vocabulary.size, num_classes=classes, context_length=10)
    return DeepMoji(config).eval()


def test_round_trip_keeps_weights_words_and_labels(tmp_path: Path) -> None:
    vocabulary = Vocabulary.build(TEXTS)
    model = tiny(vocabulary)
    folder = save_classifier(tmp_path / "run", model, vocabulary, LABELS, True, step=7, dataset="toy")
    assert folder == tmp_path / "run" / "checkpoints" / "step_00000007"
    assert is_model_folder(tmp_path / "run") and is_model_folder(folder)

    for path in (tmp_path / "run", folder):  # a run folder and one checkpoint folder both load
        loaded = load_classifier(path)
        assert loaded.label_names == LABELS and loaded.multilabel and loaded.dataset == "toy" and loaded.step == 7
        assert loaded.vocabulary.words == vocabulary.words
        assert loaded.model.config == model.config and not loaded.model.training
        ids = torch.from_numpy(loaded.encode(TEXTS))
        torch.testing.assert_close(loaded.model(ids), model(ids), rtol=0, atol=0)

    probabilities = load_classifier(tmp_path / "run").probabilities(TEXTS)  # multi-label: one sigmoid per class
    expected = torch.sigmoid(model(torch.from_numpy(vocabulary.encode(TEXTS, 10)))).detach().numpy()
    np.testing.assert_allclose(probabilities, expected, rtol=1e-6)


def test_latest_checkpoint_is_loaded_and_old_ones_pruned(tmp_path: Path) -> None:
    vocabulary = Vocabulary.build(TEXTS)
    for step, seed in ((1, 0), (2, 1), (3, 2)):
        save_classifier(tmp_path, tiny(vocabulary, seed=seed), vocabulary, LABELS, False, step=step, keep=2)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_00000002", "step_00000003"]
    loaded = load_classifier(tmp_path)
    assert loaded.step == 3
    probabilities = loaded.probabilities(TEXTS)  # single-label: a softmax
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_missing_model_names_the_command_that_makes_one(tmp_path: Path) -> None:
    with pytest.raises(ClassifierError, match=r"no DeepMoji emoji model at .*fourfold deepmoji pretrain --out"):
        load_classifier(tmp_path / "absent")
    with pytest.raises(ClassifierError, match="fourfold deepmoji transfer"):
        load_classifier(tmp_path / "absent", what="emotion")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ClassifierError, match=r"holds no DeepMoji checkpoint.*fourfold deepmoji pretrain"):
        load_classifier(tmp_path / "empty")


def test_a_vocabulary_of_another_model_is_refused(tmp_path: Path) -> None:
    vocabulary = Vocabulary.build(TEXTS)
    save_classifier(tmp_path, tiny(vocabulary), vocabulary, LABELS, False)
    other = Vocabulary(vocabulary.words[:10] + tuple(reversed(vocabulary.words[10:])), vocabulary.counts)
    assert vocabulary_digest(other) != vocabulary_digest(vocabulary)
    other.save(tmp_path / "vocabulary.json")
    with pytest.raises(ClassifierError, match=r"is not the vocabulary the model .* was trained with"):
        load_classifier(tmp_path)
    (tmp_path / "vocabulary.json").unlink()
    with pytest.raises(ClassifierError, match=r"has no vocabulary\.json"):
        load_classifier(tmp_path)


def test_save_refuses_parts_that_do_not_fit(tmp_path: Path) -> None:
    vocabulary = Vocabulary.build(TEXTS)
    model = tiny(vocabulary)
    with pytest.raises(ClassifierError, match="embedding rows beside a vocabulary"):
        save_classifier(tmp_path, model, Vocabulary.build(TEXTS[:1]), LABELS, False)
    with pytest.raises(ClassifierError, match="2 label names for 3 outputs"):
        save_classifier(tmp_path, model, vocabulary, LABELS[:2], False)


def test_a_checkpoint_of_another_kind_is_refused(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "checkpoints" / "step_00000001", model={"w": torch.zeros(1)}, kind="gpt")
    with pytest.raises(CheckpointError, match="is a 'gpt' checkpoint, expected 'deepmoji'"):
        load_classifier(tmp_path)
