"""The analyser on tiny random models: top emoji are probabilities in order, leave-one-word-out gives one exact
drop per word, attention covers the words, files go in and out, and a missing model names the command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fourfold.deepmoji.classifier import ClassifierError, load_classifier, save_classifier
from fourfold.deepmoji.config import preset
from fourfold.deepmoji.emojis import EMOJI_CHARS, EMOJI_NAMES
from fourfold.deepmoji.model import DeepMoji
from fourfold.deepmoji.predict import PredictConfig, PredictError, explain, predict, readable_name
from fourfold.deepmoji.tokenizer import Vocabulary, words

TEXTS = ("I love you so much", "worst day ever, I hate rain", "lol what")
CORPUS = [*TEXTS, "so happy today", "feeling sad and alone", "this is hilarious lol"]


def save_tiny(path: Path, labels: list[str], *, multilabel: bool = False, seed: int = 0) -> Path:
    vocabulary = Vocabulary.build(CORPUS)
    config = preset("tiny").replace(vocab_size=vocabulary.size, num_classes=len(labels), context_length=12)
    torch.manual_seed(seed)
    save_classifier(path, DeepMoji(config), vocabulary, labels, multilabel)
    return path


@pytest.fixture
def emoji_model(tmp_path: Path) -> Path:
    return save_tiny(tmp_path / "emoji", list(EMOJI_CHARS[:8]))


def test_top_emoji_are_ordered_probabilities(emoji_model: Path) -> None:
    summary = predict(PredictConfig(texts=TEXTS, model=emoji_model, top_k=3))
    classifier = load_classifier(emoji_model)
    full = classifier.probabilities(list(TEXTS))  # (N, 8)
    np.testing.assert_allclose(full.sum(axis=1), 1.0, rtol=1e-5)
    assert len(summary.predictions) == len(TEXTS) and summary.classifier is None
    for prediction, row in zip(summary.predictions, full, strict=True):
        assert len(prediction.emoji) == 3
        probabilities = [score.probability for score in prediction.emoji]
        assert probabilities == sorted(probabilities, reverse=True)
        np.testing.assert_allclose(probabilities, np.sort(row)[::-1][:3], rtol=1e-6)
        top = prediction.emoji[0]
        assert top.name == EMOJI_NAMES[EMOJI_CHARS.index(top.label)]
    assert "emoji:" in str(summary)


def test_leave_one_word_out_is_exact_and_attention_covers_the_words(emoji_model: Path) -> None:
    classifier = load_classifier(emoji_model)
    text = TEXTS[1]
    influences = explain(classifier, text)
    tokens = words(text)
    assert [w.word for w in influences] == tokens  # one entry per word, in order
    assert sum(w.attention for w in influences) == pytest.approx(1.0, abs=1e-5)
    full = classifier.probabilities([text])[0]
    top = int(np.argmax(full))
    ids = classifier.vocabulary.ids(text)
    for position in (0, len(tokens) - 1):
        without = torch.tensor([ids[:position] + ids[position + 1 :]])
        with torch.no_grad():
            reduced = torch.softmax(classifier.model(without), dim=1)[0, top].item()
        assert influences[position].drop == pytest.approx(full[top] - reduced, abs=1e-5)


def test_a_transferred_classifier_adds_labels(tmp_path: Path, emoji_model: Path) -> None:
    emotion = save_tiny(tmp_path / "emotion", ["anger", "joy", "sadness"], multilabel=True, seed=1)
    summary = predict(PredictConfig(texts=TEXTS[:1], model=emoji_model, classifier=emotion, top_k=5))
    prediction = summary.predictions[0]
    assert sorted(score.label for score in prediction.labels) == ["anger", "joy", "sadness"]  # top_k above C
    assert prediction.predicted == [s.label for s in prediction.labels if s.probability >= 0.5]
    assert len(prediction.label_words) == len(words(TEXTS[0]))


def test_files_in_and_out(tmp_path: Path, emoji_model: Path) -> None:
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(TEXTS) + "\n\n", encoding="utf-8")  # a blank line is skipped
    summary = predict(PredictConfig(file=source, model=emoji_model, top_k=2, out=tmp_path / "out.csv"))
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["text"] for row in rows] == list(TEXTS) and summary.out == str(tmp_path / "out.csv")
    assert rows[0]["emoji_1"] == summary.predictions[0].emoji[0].label and "emoji_2_p" in rows[0]

    records = tmp_path / "texts.jsonl"
    records.write_text("".join(json.dumps({"body": t}) + "\n" for t in TEXTS), encoding="utf-8")
    predict(PredictConfig(file=records, text_field="body", model=emoji_model, out=tmp_path / "out.jsonl"))
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["text"] for line in lines] == list(TEXTS) and len(lines[0]["emoji_words"]) == len(words(TEXTS[0]))


def test_missing_model_says_which_command_makes_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no runs/deepmoji/pretrained here
    with pytest.raises(ClassifierError, match=r"no DeepMoji emoji model at runs/deepmoji/pretrained; make one with "):
        predict(PredictConfig(texts=("hello",)))
    with pytest.raises(ClassifierError, match="fourfold deepmoji transfer"):
        predict(PredictConfig(texts=("hello",), classifier=tmp_path / "nothing"))


def test_bad_input_is_one_sentence(tmp_path: Path, emoji_model: Path) -> None:
    with pytest.raises(PredictError, match="no text to analyse"):
        predict(PredictConfig(model=emoji_model))
    with pytest.raises(PredictError, match=r"text 2 \('  '\) is empty"):
        predict(PredictConfig(texts=("fine", "  "), model=emoji_model))
    with pytest.raises(PredictError, match=r"must end in \.jsonl or \.csv"):
        predict(PredictConfig(texts=("fine",), model=emoji_model, out=tmp_path / "out.xlsx"))


def test_readable_names() -> None:
    assert readable_name("😂") == "face_with_tears_of_joy"
    assert readable_name("❤️") == "red_heart"  # the selector is ignored
    assert readable_name("joy") == "joy"
