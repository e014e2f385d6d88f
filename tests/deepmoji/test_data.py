"""Loaders: split sizes pinned to the data README, the formats' quirks, and one clear sentence per bad input."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from fourfold.core.data import DataNotFoundError
from fourfold.deepmoji.data import (
    DatasetError,
    Split,
    TextDataset,
    hash_split,
    load_dataset,
    load_deepmoji_pickle,
    load_goemotions,
    load_table,
    load_tweeteval,
)

# (name, train, val, test, classes, multilabel): the data README and the published split sizes.
PINNED = [
    ("deepmoji/SS-Twitter", 800, 100, 1213, 2, False),
    ("deepmoji/SE0714", 200, 50, 1000, 3, True),
    ("deepmoji/SCv1", 800, 100, 1095, 2, False),
    ("deepmoji/kaggle-insults", 4450, 495, 1237, 2, False),
    ("tweeteval/emoji", 45000, 5000, 50000, 20, False),
    ("tweeteval/emotion", 3257, 374, 1421, 4, False),
    ("tweeteval/hate", 9000, 1000, 2970, 2, False),
    ("tweeteval/irony", 2862, 955, 784, 2, False),
    ("tweeteval/offensive", 11916, 1324, 860, 2, False),
    ("goemotions", 43410, 5426, 5427, 28, True),
]


@pytest.mark.parametrize(("name", "train", "val", "test", "classes", "multilabel"), PINNED)
def test_split_sizes_are_pinned(
    shared_data: Path, name: str, train: int, val: int, test: int, classes: int, multilabel: bool
) -> None:
    data = load_dataset(name, download=False)
    assert (len(data.train), len(data.val), len(data.test)) == (train, val, test)
    assert (data.num_classes, data.multilabel) == (classes, multilabel)
    for split in (data.train, data.val, data.test):
        if multilabel:
            assert split.labels.dtype == np.float32 and split.labels.shape == (len(split), classes)
            assert set(np.unique(split.labels).tolist()) <= {0.0, 1.0}
        else:
            assert split.labels.dtype == np.int64 and split.labels.shape == (len(split),)


def test_tweeteval_emoji_loses_its_stray_selectors(shared_data: Path) -> None:
    data = load_dataset("tweeteval/emoji", download=False)
    assert data.label_names[:3] == ["❤", "😍", "😂"]
    raw = (shared_data / "tweeteval" / "emoji" / "train_text.txt").read_text(encoding="utf-8")
    assert "\ufe0f" in raw  # the quirk is there in the files ...
    assert not any("\ufe0f" in text for split in (data.train, data.val, data.test) for text in split.texts)


def test_deepmoji_pickles_labels_and_repair(shared_data: Path) -> None:
    se = load_dataset("deepmoji/SE0714", download=False)
    assert se.label_names == ["fear", "joy", "sadness"]
    scv1 = load_dataset(shared_data / "deepmoji" / "SCv1")  # a folder path works as the name does
    texts = scv1.train.texts + scv1.val.texts + scv1.test.texts
    assert not any("â\x80" in text for text in texts)  # latin1 mojibake of UTF-8 repaired ...
    assert any("“" in text or "’" in text or "—" in text for text in texts)  # ... into the real characters
    assert scv1.label_names == ["not sarcastic", "sarcastic"]


def test_goemotions_is_multi_label_with_28_names(shared_data: Path) -> None:
    data = load_dataset("goemotions", download=False)
    assert data.label_names[0] == "admiration" and data.label_names[-1] == "neutral"
    assert data.train.labels.sum(axis=1).max() > 1  # some comments carry several emotions
    assert load_dataset("goemotions/ekman", download=False).num_classes == 7


def test_missing_named_data_says_what_to_fetch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOURFOLD_DATA", str(tmp_path))
    monkeypatch.setenv("FOURFOLD_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataNotFoundError, match=r"raw\.githubusercontent\.com/bfelbo/DeepMoji"):
        load_dataset("deepmoji/SS-Twitter", download=False)
    with pytest.raises(DatasetError, match="unknown data set 'tweeteval/nope'"):
        load_dataset("tweeteval/nope")


# --- Made-up files in each format -----------------------------------------------------------------------------


def _tweeteval(folder: Path, mapping: str, splits: dict[str, tuple[list[str], list[str]]]) -> Path:
    folder.mkdir(parents=True)
    (folder / "mapping.txt").write_text(mapping, encoding="utf-8")
    for split, (texts, labels) in splits.items():
        (folder / f"{split}_text.txt").write_text("".join(f"{t}\n" for t in texts), encoding="utf-8")
        (folder / f"{split}_labels.txt").write_text("".join(f"{v}\n" for v in labels), encoding="utf-8")
    return folder


def test_tweeteval_folder(tmp_path: Path) -> None:
    mapping = "0\t❤\t_red_heart_\t\n1\t😂\t_face_with_tears_of_joy_\t\n"
    split = (["so happy \ufe0f \ufe0f", "lol \ufe0f"], ["0", "1"])
    folder = _tweeteval(tmp_path / "emoji", mapping, {"train": split, "val": split, "test": split})
    data = load_tweeteval(folder)
    assert data.name == "tweeteval/emoji" and data.label_names == ["❤", "😂"]
    assert data.train.texts == ["so happy  ", "lol "] and data.train.labels.tolist() == [0, 1]

    splits = ("train", "val", "test")
    bad = _tweeteval(tmp_path / "t2", "0\tneg\n1\tpos\n", {s: (["a", "b"], ["0", "2"]) for s in splits})
    with pytest.raises(DatasetError, match=r"train_labels\.txt, line 2: label '2' is outside the mapping of 2 labels"):
        load_tweeteval(bad)
    short = _tweeteval(tmp_path / "t3", "0\tneg\n", {s: (["a", "b"], ["0"]) for s in splits})
    with pytest.raises(DatasetError, match="has 1 labels for 2 texts"):
        load_tweeteval(short)
    (tmp_path / "t4").mkdir()
    with pytest.raises(DatasetError, match=r"lacks mapping\.txt"):
        load_tweeteval(tmp_path / "t4")


def _pickle(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(data, protocol=2))
    return path


def _benchmark(labels: list[object], texts: list[str] | None = None) -> dict[str, object]:
    texts = texts or [f"text {i}" for i in range(len(labels))]
    return {
        "texts": texts,
        "info": [{"label": label} for label in labels],
        "train_ind": [0, 1],
        "val_ind": [2],
        "test_ind": [3],
    }


def test_deepmoji_pickle_formats(tmp_path: Path) -> None:
    ints = load_deepmoji_pickle(_pickle(tmp_path / "mine" / "raw.pickle", _benchmark([np.int64(0), 1, 2, 1])))
    assert ints.label_names == ["0", "1", "2"] and ints.train.labels.tolist() == [0, 1]
    assert ints.test.texts == ["text 3"] and not ints.multilabel
    vectors = _benchmark([[True, False], [0, 1], [1, 1], [0, 0]])
    multi = load_deepmoji_pickle(_pickle(tmp_path / "multi" / "raw.pickle", vectors))
    assert multi.multilabel and multi.train.labels.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    mojibake = "it’s".encode().decode("latin1")
    repaired = load_deepmoji_pickle(_pickle(tmp_path / "r" / "raw.pickle", _benchmark([0, 1, 0, 1], [mojibake] * 4)))
    assert repaired.train.texts[0] == "it’s"


def test_deepmoji_pickle_of_the_wrong_shape(tmp_path: Path) -> None:
    cases: list[tuple[object, str]] = [
        ([1, 2, 3], r"is not a DeepMoji data set: expected a dict with texts, info .* found list"),
        ({"texts": []}, "is not a DeepMoji data set: expected a dict"),
        ({**_benchmark([0, 1, 0, 1]), "info": [{"x": 1}] * 4}, "'info' is not one dict with a label per text"),
        (_benchmark([0, [0, 1], 0, 1]), "labels must be all ints or all 0/1 vectors of one length"),
        ({**_benchmark([0, 1, 0, 1]), "test_ind": [9]}, "test_ind points outside the 4 texts"),
    ]
    for i, (data, message) in enumerate(cases):
        with pytest.raises(DatasetError, match=message):
            load_deepmoji_pickle(_pickle(tmp_path / str(i) / "raw.pickle", data))
    known = _pickle(tmp_path / "SS-Twitter" / "raw.pickle", _benchmark([0, 1, 2, 1]))
    with pytest.raises(DatasetError, match="label 2 is outside SS-Twitter's 2 labels"):
        load_deepmoji_pickle(known)
    (tmp_path / "junk.pickle").write_bytes(b"not a pickle at all")
    with pytest.raises(DatasetError, match="is not a readable pickle"):
        load_deepmoji_pickle(tmp_path / "junk.pickle")


def test_deepmoji_pickle_refuses_code(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pwned",))

    with pytest.raises(DatasetError, match=r"asks to load \w+\.print; only DeepMoji-format pickles"):
        load_deepmoji_pickle(_pickle(tmp_path / "evil" / "raw.pickle", {"texts": Evil()}))


def _goemotions(folder: Path, rows: list[str]) -> Path:
    folder.mkdir(parents=True)
    (folder / "labels.txt").write_text("joy\nanger\nneutral\n", encoding="utf-8")
    for name in ("train.tsv", "dev.tsv", "test.tsv"):
        (folder / name).write_text("".join(f"{row}\n" for row in rows), encoding="utf-8")
    return folder


def test_goemotions_folder(tmp_path: Path) -> None:
    data = load_goemotions(_goemotions(tmp_path / "original", ["yay\t0,2\tid1", "grr\t1\tid2"]))
    assert data.multilabel and data.train.labels.tolist() == [[1, 0, 1], [0, 1, 0]]
    with pytest.raises(DatasetError, match=r"train\.tsv, line 1: label '3' is outside the mapping of 3 labels"):
        load_goemotions(_goemotions(tmp_path / "b", ["yay\t3\tid1"]))
    with pytest.raises(DatasetError, match=r"train\.tsv, line 1: the text is empty"):
        load_goemotions(_goemotions(tmp_path / "c", [" \t0\tid1"]))
    with pytest.raises(DatasetError, match="expected text, label ids and id separated by tabs"):
        load_goemotions(_goemotions(tmp_path / "d", ["no tabs here"]))


def _jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_table_folder_csv_with_sorted_labels(tmp_path: Path) -> None:
    folder = tmp_path / "reviews"
    folder.mkdir()
    (folder / "train.csv").write_text('text,label\n"good, really",pos\nbad,neg\n', encoding="utf-8")
    (folder / "dev.csv").write_text("text,label\nmeh,neutral\n", encoding="utf-8")
    (folder / "test.csv").write_text("text,label\nfine,pos\n", encoding="utf-8")
    data = load_dataset(folder)
    assert data.name == "reviews" and data.label_names == ["neg", "neutral", "pos"]
    assert data.train.texts == ["good, really", "bad"] and data.train.labels.tolist() == [2, 0]
    assert data.val.labels.tolist() == [1]
    (folder / "labels.txt").write_text("pos\nneg\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"dev\.csv, line 2: label 'neutral' is outside the mapping of 2 labels"):
        load_table(folder)


def test_table_jsonl_file_is_split_by_hash(tmp_path: Path) -> None:
    records: list[dict[str, object]] = [{"text": f"message {i}", "label": i % 3} for i in range(300)]
    data = load_dataset(_jsonl(tmp_path / "all.jsonl", records))
    assert data.label_names == ["0", "1", "2"] and len(data.train) + len(data.val) + len(data.test) == 300
    assert all(hash_split(text) == "test" for text in data.test.texts)
    assert 15 <= len(data.test) <= 45 and 15 <= len(data.val) <= 45
    multi = load_table(_jsonl(tmp_path / "m.jsonl", [{"text": "a", "label": ["x", "y"]}, {"text": "b", "label": "y"}]))
    assert multi.multilabel and multi.label_names == ["x", "y"]
    both = np.concatenate([s.labels for s in (multi.train, multi.val, multi.test)])
    assert sorted(both.sum(axis=1).tolist()) == [1.0, 2.0]


def test_table_bad_input(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"e\.jsonl, line 2: the text is empty"):
        load_table(_jsonl(tmp_path / "e.jsonl", [{"text": "ok", "label": 1}, {"text": "  ", "label": 1}]))
    with pytest.raises(DatasetError, match=r"f\.jsonl, line 1: no text in field 'text'"):
        load_table(_jsonl(tmp_path / "f.jsonl", [{"body": "ok", "label": 1}]))
    with pytest.raises(DatasetError, match=r"g\.jsonl, line 1: no label in field 'label'"):
        load_table(_jsonl(tmp_path / "g.jsonl", [{"text": "ok"}]))
    (tmp_path / "latin1.csv").write_bytes("text,label\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"latin1\.csv is not UTF-8 \(byte 0xe9 at offset 14\); convert it"):
        load_dataset(tmp_path / "latin1.csv")
    (tmp_path / "h.jsonl").write_text('{"text": "ok"\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"h\.jsonl, line 1: not valid JSON"):
        load_table(tmp_path / "h.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no data set this loader knows"):
        load_dataset(tmp_path / "empty")


def test_dataset_checks_its_labels() -> None:
    split = Split(["a", "b"], np.array([0, 5], dtype=np.int64))
    with pytest.raises(DatasetError, match="the train labels are not int64 ids below 2"):
        TextDataset("x", split, split, split, label_names=["n", "p"], multilabel=False)
    with pytest.raises(DatasetError, match="2 texts but 1 labels"):
        Split(["a", "b"], np.zeros(1, dtype=np.int64))
