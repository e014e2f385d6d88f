"""DeepMoji's tokenizer rules (the cases of bfelbo/DeepMoji's tests/test_tokenizer.py) and the vocabulary."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from fourfold.deepmoji.tokenizer import (
    MASK_ID,
    SPECIAL_TOKENS,
    UNKNOWN_ID,
    Vocabulary,
    VocabularyError,
    count_words,
    suggested_max_length,
    tokenize,
    words,
)

# (text, tokens) pairs of the original project's tokenizer tests: the rules this port must keep.
TOKENIZE_CASES = [
    ("200K words!", ["200", "K", "words", "!"]),
    ("i \U0001f496 you to the moon and back", ["i", "\U0001f496", "you", "to", "the", "moon", "and", "back"]),
    (
        "i\U0001f496you to the \u2605's and back",
        ["i", "\U0001f496", "you", "to", "the", "\u2605", "'", "s", "and", "back"],
    ),
    ("~<3~", ["~", "<3", "~"]),
    ("<333", ["<333"]),
    (":-)", [":-)"]),
    (">:-(", [">:-("]),
    (
        "\u266b\u266a\u2605\u2606\u2665\u2764\u2661",
        ["\u266b", "\u266a", "\u2605", "\u2606", "\u2665", "\u2764", "\u2661"],
    ),
    ("www.sample.com", ["www.sample.com"]),
    ("http://endless.horse", ["http://endless.horse"]),
    ("https://github.mit.edu", ["https://github.mit.edu"]),
    ("#blacklivesmatter", ["#blacklivesmatter"]),
    ("#99_percent.", ["#99_percent", "."]),
    ("the#99%", ["the", "#99", "%"]),
    ("@golden_zenith", ["@golden_zenith"]),
    ("@99_percent", ["@99_percent"]),
    ("latte-express@mit.edu", ["latte-express@mit.edu"]),
    ("518)528-0252", ["518", ")", "528", "-", "0252"]),
    ("1200.0221.0234", ["1200", ".", "0221", ".", "0234"]),
    ("2:00pm", ["2", ":", "00", "pm"]),
    ("9/14/16", ["9", "/", "14", "/", "16"]),
    ("517.933\xa3", ["517", ".", "933", "\xa3"]),
    ("$517.87", ["$", "517", ".", "87"]),
    ("10,00\u20ac", ["10", ",", "00", "\u20ac"]),
    ("1200pesos", ["1200", "pesos"]),
    ("1202o-east", ["1202", "o-east"]),
    ("120'/5", ["120", "'", "/", "5"]),
    ("1200's,)", ["1200", "'", "s", ",", ")"]),
    ("don''t", ["don", "''", "t"]),
    ("don'tcha", ["don'tcha"]),
    ("no?!?!;", ["no", "?", "!", "?", "!", ";"]),
    ("no??!!..", ["no", "??", "!!", ".."]),
    ("a.m.", ["a.m."]),
    (".s.u", [".", "s", ".", "u"]),
    ("!!i..n__", ["!!", "i", "..", "n", "__"]),
    ("lv(<3)w(3>)u Mr.!", ["lv", "(", "<3", ")", "w", "(", "3", ">", ")", "u", "Mr.", "!"]),
    ("-->", ["--", ">"]),
    ("<--", ["<", "--"]),
    ("hello (@person)", ["hello", "(", "@person", ")"]),
    ("##hello", ["#", "#hello"]),
    (":)(", [":)", "("]),
]


@pytest.mark.parametrize(("text", "expected"), TOKENIZE_CASES)
def test_tokenize_follows_deepmoji(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_words_apply_the_papers_rules() -> None:
    # lower case; mentions, URLs and numbers become special tokens; hashtags and emoticons stay
    assert words("@User LOVE it!! http://t.co/x 2017 #Blessed :D") == [
        "CUSTOM_AT",
        "love",
        "it",
        "!!",
        "CUSTOM_URL",
        "CUSTOM_NUMBER",
        "#blessed",
        ":d",
    ]
    assert words("@user") == ["CUSTOM_AT"]  # TweetEval's anonymised mention
    assert words("www.example.com and bob@mail.org") == ["CUSTOM_URL", "and", "CUSTOM_AT"]


def test_repeated_characters_are_cut_to_two() -> None:
    # the paper's example: 'loool' and 'looooool' are the same token
    assert words("loool") == words("looooool") == ["lool"]
    assert words("sooo gooood!!!!!! <3333") == ["soo", "good", "!!", "<33"]
    assert words("yes") == ["yes"] and words("cool") == ["cool"]


def test_breaks_selectors_and_unicode_punctuation() -> None:
    assert words("one\ntwo\\nthree<br>four") == [
        "one",
        "CUSTOM_BREAK",
        "two",
        "CUSTOM_BREAK",
        "three",
        "CUSTOM_BREAK",
        "four",
    ]
    assert words("love ❤️ 👍🏽") == ["love", "❤", "👍"]
    assert words("I’m “fine” — ok…") == ["i'm", '"', "fine", '"', "--", "ok", ".."]
    assert words("Café naïve") == ["café", "naïve"]  # Unicode letters stay one word
    assert words("") == [] and words("   ") == []


def _vocab(texts: list[str], **kwargs: int) -> Vocabulary:
    return Vocabulary.build(texts, **kwargs)


def test_build_orders_by_count_then_alphabet_after_special_tokens() -> None:
    vocab = _vocab(["b a b c", "b a @x d"])
    assert vocab.words[: len(SPECIAL_TOKENS)] == SPECIAL_TOKENS
    assert vocab.words[len(SPECIAL_TOKENS) :] == ("b", "a", "c", "d")  # CUSTOM_AT is not added twice
    assert vocab.counts[len(SPECIAL_TOKENS) :] == (3, 2, 1, 1)
    assert vocab.index["b"] == 10 and vocab.size == len(vocab) == 14


def test_build_caps_size_and_count() -> None:
    texts = ["a a a b b c", "d " * 40 + "x" * 31]
    assert _vocab(texts, max_size=12).words[10:] == ("d", "a")
    assert _vocab(texts, min_count=2).words[10:] == ("d", "a", "b")
    assert "x" * 31 not in _vocab(texts).index  # longer than 30 characters: never a word of the vocabulary
    with pytest.raises(VocabularyError, match="max_size must be at least 10"):
        _vocab(texts, max_size=5)
    with pytest.raises(VocabularyError, match="min_count must be at least 1"):
        _vocab(texts, min_count=0)


def test_encode_pads_truncates_and_marks_unknown_words() -> None:
    vocab = _vocab(["i love cats", "i love dogs"])
    ids = vocab.encode(["I love CATS", "i hate dogs so much", ""], max_length=4)
    assert ids.dtype == np.int64 and ids.shape == (3, 4)
    i, love, cats, dogs = (vocab.index[w] for w in ("i", "love", "cats", "dogs"))
    assert ids.tolist() == [[i, love, cats, MASK_ID], [i, UNKNOWN_ID, dogs, UNKNOWN_ID], [0, 0, 0, 0]]
    assert vocab.decode(ids[0].tolist()) == ["i", "love", "cats"]
    with pytest.raises(VocabularyError, match="max_length must be at least 1"):
        vocab.encode(["x"], max_length=0)


def test_extend_appends_new_words_and_keeps_ids() -> None:
    vocab = _vocab(["a b c"])
    bigger = vocab.extend(["z y y x a", "y z"], max_new_words=2)
    assert bigger.words[: vocab.size] == vocab.words
    assert bigger.words[vocab.size :] == ("y", "z")  # most frequent new words first, at most two
    assert vocab.extend(["a b"], max_new_words=5) == vocab
    assert bigger.extend(["x"], max_new_words=10).words[-1] == "x"


def test_known_word_rate() -> None:
    vocab = _vocab(["the cat sat"])
    assert vocab.known_word_rate(["the dog sat", "cat @bob"]) == pytest.approx(4 / 5)  # CUSTOM_AT is known
    assert vocab.known_word_rate([]) == 1.0


def test_save_load_round_trip(tmp_path: Path) -> None:
    vocab = _vocab(["héllo wörld 😂 #tag", "hello"]).extend(["new words"])
    path = vocab.save(tmp_path / "sub" / "vocabulary.json")
    loaded = Vocabulary.load(path)
    assert loaded == vocab and loaded.index == vocab.index
    assert loaded.encode(["héllo 😂 new"], 5).tolist() == vocab.encode(["héllo 😂 new"], 5).tolist()


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match="no vocabulary at"):
        Vocabulary.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(VocabularyError, match="is damaged"):
        Vocabulary.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"a": 1}), encoding="utf-8")
    with pytest.raises(VocabularyError, match="not a fourfold DeepMoji vocabulary"):
        Vocabulary.load(tmp_path / "other.json")
    payload = json.loads(_vocab(["a"]).save(tmp_path / "v.json").read_text(encoding="utf-8"))
    payload["words"] = payload["words"][1:]
    (tmp_path / "v.json").write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(VocabularyError, match="must start with DeepMoji's special tokens"):
        Vocabulary.load(tmp_path / "v.json")


def test_count_words_and_suggested_max_length() -> None:
    assert count_words(["a a b", "b"]) == Counter({"a": 2, "b": 2})
    texts = ["w " * n for n in range(1, 101)]
    assert suggested_max_length(texts) == 90  # 80th percentile of 1..100 is 80.2, rounded up to tens
    assert suggested_max_length([]) == 10
