"""Distant supervision on made-up texts, the written folder read back, and the harvest of the real data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fourfold.core.config import ConfigError
from fourfold.core.data import DataNotFoundError
from fourfold.deepmoji.data import DatasetError, load_dataset
from fourfold.deepmoji.emojis import EMOJI_CHARS
from fourfold.deepmoji.label import (
    Example,
    LabelConfig,
    distant_labels,
    harvest,
    harvest_texts,
    is_content_word,
    label,
    read_texts,
)

JOY, HEART, THUMBS = EMOJI_CHARS.index("😂"), EMOJI_CHARS.index("❤"), EMOJI_CHARS.index("👍")


def test_one_example_per_distinct_emoji_without_the_emoji() -> None:
    examples, counts = distant_labels(["I love this 😂😂 ❤️ so much 😂", "no emoji here", "great 👍🏽"])
    assert examples == [
        Example("I love this so much", JOY),
        Example("I love this so much", HEART),
        Example("great", THUMBS),
    ]
    assert (counts.texts, counts.with_emoji, counts.examples) == (3, 2, 3)


def test_the_papers_filters() -> None:
    texts = [
        "RT @user: so funny 😂",  # retweet
        "look at this http://t.co/abc 😂",  # URL
        "www.example.com 😂",  # URL
        "@user 😂 !!! 2017",  # no content word: a mention, punctuation, a number
        "🔥 lit",  # not one of the 64
        "❤️‍🔥 heart on fire",  # a ZWJ sequence is not ❤
        "So funny 😂",
        "so   FUNNY 😂😂",  # the same words and label: a duplicate
        "so funny ❤",  # same words, another label: kept
        "",
    ]
    examples, counts = distant_labels(texts)
    assert examples == [Example("So funny", JOY), Example("so funny", HEART)]
    assert (counts.texts, counts.with_emoji) == (9, 7)
    assert (counts.retweets, counts.urls, counts.short, counts.duplicates) == (1, 2, 1, 1)
    kept, _ = distant_labels(texts, drop_urls=False, drop_retweets=False, deduplicate=False, min_tokens=0)
    assert len(kept) == 7


def test_min_tokens_counts_content_words() -> None:
    assert [is_content_word(w) for w in ("hello", "!!", "CUSTOM_AT", "😂", "#tag", ":)")] == [
        True,
        False,
        False,
        False,
        True,
        False,
    ]
    examples, counts = distant_labels(["one two 😂", "one two three 😂"], min_tokens=3)
    assert [e.text for e in examples] == ["one two three"] and counts.short == 1


def test_label_writes_a_folder_that_loads_as_64_classes(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("best day ever 😂\nso sad 😭 💔\nhttp://x.co 😂\n", encoding="utf-8")
    lines = [{"body": f"tweet {chr(97 + i % 26)} {chr(97 + i // 26)} 😍"} for i in range(30)]
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), "utf-8")
    inputs = (str(tmp_path / "a.txt"), str(tmp_path / "b.jsonl"))
    with pytest.raises(DatasetError, match=r"b\.jsonl, line 1: no text in field 'text'"):
        label(LabelConfig(inputs=inputs, out=str(tmp_path / "out")))
    summary = label(LabelConfig(inputs=inputs, out=str(tmp_path / "out"), text_field="body"))
    assert summary.counts.urls == 1 and summary.counts.examples == 33 and summary.counts.duplicates == 0
    assert summary.train + summary.val + summary.test == 33
    assert summary.classes_present == 4 and summary.class_counts[EMOJI_CHARS.index("😍")] == 30
    written = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert written["counts"]["examples"] == 33
    data = load_dataset(tmp_path / "out")
    assert data.label_names == list(EMOJI_CHARS) and data.num_classes == 64 and not data.multilabel
    texts = data.train.texts + data.val.texts + data.test.texts
    labels = np.concatenate([data.train.labels, data.val.labels, data.test.labels]).tolist()
    pairs = set(zip(texts, labels, strict=True))
    sob, broken = EMOJI_CHARS.index("😭"), EMOJI_CHARS.index("💔")
    assert {("best day ever", JOY), ("so sad", sob), ("so sad", broken), ("tweet h a", 4)} <= pairs
    assert len(pairs) == 33


def test_label_config_checks() -> None:
    with pytest.raises(ConfigError, match="min_tokens"):
        LabelConfig(inputs=("x.txt",), min_tokens=-1)
    with pytest.raises(ConfigError, match="val_fraction"):
        LabelConfig(inputs=("x.txt",), val_fraction=1.5)
    with pytest.raises(ConfigError, match="must be below 1"):
        LabelConfig(inputs=("x.txt",), val_fraction=0.5, test_fraction=0.5)


def test_read_texts_formats(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text('id,text\n1,"hi, you 😂"\n2,yo\n', encoding="utf-8")
    assert read_texts(tmp_path / "t.csv") == ["hi, you 😂", "yo"]
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe")
    with pytest.raises(DatasetError, match=r"bad\.txt is not UTF-8"):
        read_texts(tmp_path / "bad.txt")
    with pytest.raises(DatasetError, match="no such file"):
        read_texts(tmp_path / "missing.txt")


def test_harvest_a_made_up_data_folder(tmp_path: Path) -> None:
    task = tmp_path / "tweeteval" / "irony"
    task.mkdir(parents=True)
    (task / "train_text.txt").write_text("yeah right 😒\nplain\n", encoding="utf-8")
    (task / "test_text.txt").write_text("test tweet 😂\n", encoding="utf-8")
    goemotions = tmp_path / "goemotions" / "original"
    goemotions.mkdir(parents=True)
    (goemotions / "train.tsv").write_text("love it ❤️\t0\tid1\nmeh\t27\tid2\n", encoding="utf-8")
    assert harvest_texts(tmp_path) == ["yeah right 😒", "plain", "test tweet 😂", "love it ❤️", "meh"]
    assert harvest_texts(tmp_path, splits=("train",)) == ["yeah right 😒", "plain", "love it ❤️", "meh"]
    data = harvest(tmp_path)
    texts = data.train.texts + data.val.texts + data.test.texts
    assert sorted(texts) == ["love it", "test tweet", "yeah right"] and data.num_classes == 64
    with pytest.raises(DataNotFoundError, match="no TweetEval or GoEmotions texts under"):
        harvest_texts(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="unknown split 'dev'"):
        harvest_texts(tmp_path, splits=("dev",))


def test_harvest_of_the_real_data(shared_data: Path) -> None:
    if not (shared_data / "tweeteval").is_dir():
        pytest.skip(f"needs {shared_data / 'tweeteval'}")
    data = harvest(shared_data)
    sizes = (len(data.train), len(data.val), len(data.test))
    assert 4000 <= sum(sizes) <= 5500  # 3649 / 465 / 505 with emoji 2.16
    assert len(data.train) > 6 * len(data.test) > 0
    labels = np.concatenate([data.train.labels, data.val.labels, data.test.labels])
    assert np.bincount(labels, minlength=64).min() > 0  # every one of the 64 emoji occurs
    assert int(np.argmax(np.bincount(labels))) == JOY  # 😂 is the most common, as on Twitter
    assert not any(ch in text for text in data.train.texts for ch in ("😂", "❤", "\ufe0f"))


def test_duplicates_ignore_case_repeats_mentions_and_numbers() -> None:
    examples, counts = distant_labels(["Call @bob at 5 NOOOW 😂", "call @alice at 7 nooooow 😂", "call at 7 😂"])
    assert [e.text for e in examples] == ["Call @bob at 5 NOOOW", "call at 7"] and counts.duplicates == 1
