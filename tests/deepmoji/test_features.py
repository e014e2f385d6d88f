"""The language-model route: the TF-IDF floor learns a toy task, GPT features pool exactly the text's own hidden
states whatever the padding, the whole route runs from a saved GPT, and the corpus file holds no test text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fourfold.core.checkpoint import save_checkpoint
from fourfold.deepmoji.corpus import CorpusError, write_corpus
from fourfold.deepmoji.data import Split, TextDataset
from fourfold.deepmoji.features import (
    FeaturesConfig,
    FeaturesError,
    features,
    gpt_features,
    load_gpt,
    tfidf_floor,
)
from fourfold.gpt.config import GPTConfig
from fourfold.gpt.model import GPT
from fourfold.gpt.tokenizer import CharTokenizer

WORDS = {
    "joy": ["happy", "love", "great", "wonderful", "smile", "fun"],
    "anger": ["hate", "angry", "awful", "furious", "rage", "stupid"],
    "sadness": ["sad", "cry", "alone", "miss", "tears", "lost"],
}
FILLER = ["the", "day", "was", "so", "today", "i", "feel", "this", "is", "really"]


def toy_texts(count: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Texts of a few filler words and two words of their class."""
    rng = np.random.default_rng(seed)
    names = list(WORDS)
    texts, labels = [], []
    for _ in range(count):
        label = int(rng.integers(len(names)))
        chosen = list(rng.choice(FILLER, 4)) + list(rng.choice(WORDS[names[label]], 2))
        rng.shuffle(chosen)
        texts.append(" ".join(chosen))
        labels.append(label)
    return texts, np.array(labels, dtype=np.int64)


def toy_dataset(multilabel: bool = False) -> TextDataset:
    splits = []
    for count, seed in ((240, 0), (60, 1), (90, 2)):
        texts, labels = toy_texts(count, seed)
        if multilabel:
            labels = np.eye(len(WORDS), dtype=np.float32)[labels]  # (N, K)
        splits.append(Split(texts, labels))
    return TextDataset.from_splits("toy", splits, list(WORDS), multilabel=multilabel)


def tiny_gpt(tokenizer: CharTokenizer, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, context_length=48, num_layers=1, num_heads=2, embed_dim=16)
    return GPT(config).eval()


def test_tfidf_floor_learns_a_toy_task() -> None:
    result = tfidf_floor(toy_dataset(), c_values=(1.0, 4.0))
    assert result.method == "tfidf" and result.threshold is None and result.test_positive_f1 is None
    assert result.test_macro_f1 > 0.9 and result.test_accuracy > 0.9
    assert result.c in (1.0, 4.0) and result.features > 0


def test_tfidf_floor_on_a_multilabel_set_tunes_a_threshold() -> None:
    result = tfidf_floor(toy_dataset(multilabel=True), c_values=(4.0,))
    assert result.threshold is not None and 0 < result.threshold < 1
    assert result.test_macro_f1 > 0.8


def test_gpt_features_pool_the_texts_own_states() -> None:
    texts = ["hello there", "a much longer text than the first one", "", "hi"]
    tokenizer = CharTokenizer.from_texts(texts)
    model = tiny_gpt(tokenizer)
    mean = gpt_features(model, tokenizer, texts, "mean", batch_size=4)  # (N, C)
    last = gpt_features(model, tokenizer, texts, "last", batch_size=4)
    assert mean.shape == last.shape == (4, 16) and mean.dtype == np.float32
    with torch.no_grad():
        states = model.transformer(torch.tensor([tokenizer.encode(texts[0])]))[0]  # (T, C): alone, no padding
    np.testing.assert_allclose(mean[0], states.mean(dim=0).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(last[0], states[-1].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(mean[2], 0.0)  # no tokens, zero vector
    alone = gpt_features(model, tokenizer, texts[:1], "mean", batch_size=1)
    np.testing.assert_allclose(alone[0], mean[0], rtol=1e-4, atol=1e-5)  # padding in a batch changes nothing
    unseen = gpt_features(model, tokenizer, ["hello\u2764 there"], "mean")  # a character outside the alphabet
    np.testing.assert_allclose(unseen[0], mean[0], rtol=1e-4, atol=1e-5)
    with pytest.raises(FeaturesError, match="pooling must be"):
        gpt_features(model, tokenizer, texts, "max")  # type: ignore[arg-type]


def write_toy_folder(folder: Path) -> None:
    folder.mkdir()
    dataset = toy_dataset()
    for name in ("train", "val", "test"):
        split = dataset.split(name)
        names = [list(WORDS)[int(label)] for label in split.labels]
        lines = [json.dumps({"text": t, "label": y}) for t, y in zip(split.texts, names, strict=True)]
        (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_features_from_a_saved_gpt(tmp_path: Path) -> None:
    write_toy_folder(tmp_path / "toy")
    texts = toy_dataset().train.texts
    tokenizer = CharTokenizer.from_texts(texts)
    model = tiny_gpt(tokenizer)
    run = tmp_path / "gpt-run"
    save_checkpoint(
        run / "checkpoints" / "step_00000010",
        model=model.state_dict(),
        config=model.config,
        state={"tokenizer": tokenizer.to_dict()},
        kind="gpt",
    )
    _, loaded_tokenizer = load_gpt(run)  # a run folder: its latest checkpoint
    assert loaded_tokenizer.vocab_size == tokenizer.vocab_size
    summary = features(
        FeaturesConfig(dataset=str(tmp_path / "toy"), gpt_checkpoint=run, pooling="last", c_values=(1.0,))
    )
    assert [r.method for r in summary.results] == ["tfidf", "gpt-last"]
    assert summary.num_classes == 3 and not summary.multilabel and summary.train == 240
    gpt = summary.results[1]
    assert gpt.features == 16 and 0.0 <= gpt.test_macro_f1 <= 1.0
    with pytest.raises(FeaturesError, match="no GPT at"):
        load_gpt(tmp_path / "missing")
    with pytest.raises(FeaturesError, match="nothing to fit"):
        features(FeaturesConfig(dataset=str(tmp_path / "toy"), tfidf=False))
    small = features(FeaturesConfig(dataset=str(tmp_path / "toy"), max_train=30, c_values=(1.0,)))
    assert small.train == 30


def test_corpus_holds_distinct_train_and_val_texts(tmp_path: Path) -> None:
    write_toy_folder(tmp_path / "toy")
    dataset = toy_dataset()
    summary = write_corpus([str(tmp_path / "toy")], tmp_path / "corpus.jsonl")
    lines = [json.loads(line)["text"] for line in (tmp_path / "corpus.jsonl").read_text().splitlines()]
    expected = list(dict.fromkeys(dataset.train.texts + dataset.val.texts))
    assert lines == expected and summary.texts == len(expected)
    plain = write_corpus([str(tmp_path / "toy")], tmp_path / "corpus.txt", splits=("test",))
    assert (tmp_path / "corpus.txt").read_text().splitlines() == list(dict.fromkeys(dataset.test.texts))
    assert plain.texts == len(set(dataset.test.texts))
    with pytest.raises(CorpusError, match="unknown split 'dev'"):
        write_corpus([str(tmp_path / "toy")], tmp_path / "x.txt", splits=("dev",))
