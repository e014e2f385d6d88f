"""Tokenizers: GPT-2's ids against transformers' GPT2TokenizerFast, round trips, char errors, trained BPE."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
import tokenizers

from fourfold.core.errors import FourfoldError
from fourfold.gpt.tokenizer import (
    EOT_TEXT,
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    TokenizerError,
    save_tokenizer_files,
    tokenizer_from_dict,
    train_bpe,
)

# Text that byte-level BPE must get exactly right: emoji (with ZWJ and skin tone), CJK, combining marks, tabs,
# CRLF, runs of spaces, zero-width characters, an RTL script, and the end-of-text token inside the text.
AWKWARD = (
    "Hello, world!  Two  spaces,\tand a tab.\r\nWindows line\r\n\r\n"
    "emoji: 😀 👩‍👩‍👧 👍🏽 🇫🇷\n"
    "CJK: 漢字かなカナ 한국어\n"
    "combining: e\u0301 a\u0308 n\u0303 Z\u0335\u0327\n"
    "zero width: a\u200bb\u200cc\u200dd\ufeffe\n"
    "Arabic: مرحبا بالعالم\n"
    "      leading spaces and trailing spaces      \n"
    f"before{EOT_TEXT}after {EOT_TEXT} spaced\n"
    "\x00 control \x1b[31m and \u2028 line separator \u00a0nbsp"
)


def _random_text(rng: random.Random, length: int) -> str:
    """A string over a wide range of Unicode: ASCII, controls, marks, CJK, emoji, astral planes."""
    ranges = [
        (0x20, 0x7E),
        (0x00, 0x20),
        (0x80, 0x24F),
        (0x300, 0x36F),
        (0x2000, 0x206F),
        (0x4E00, 0x9FFF),
        (0x1F300, 0x1FAFF),
        (0x10000, 0x10FFFF),
        (0xE000, 0xFFFF),
    ]
    characters = []
    for _ in range(length):
        low, high = rng.choice(ranges)
        characters.append(chr(rng.randint(low, high)))
    return "".join(characters)


@pytest.fixture(scope="module")
def gpt2() -> BPETokenizer:
    return BPETokenizer.gpt2()


@pytest.fixture(scope="module")
def gpt2_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GPT-2's files under the names Hugging Face uses (vocab.json, merges.txt)."""
    source = BPETokenizer.gpt2_files()
    folder = tmp_path_factory.mktemp("gpt2")
    shutil.copy(source / "encoder.json", folder / "vocab.json")
    shutil.copy(source / "vocab.bpe", folder / "merges.txt")
    return folder


@pytest.fixture(scope="module")
def oracle(gpt2_folder: Path) -> Any:
    """transformers' GPT2TokenizerFast built from the same files (with from_pretrained on the folder:
    transformers 5 ignores `vocab_file=`/`merges_file=` keyword arguments and builds an empty vocabulary)."""
    transformers = pytest.importorskip("transformers")
    reference = transformers.GPT2TokenizerFast.from_pretrained(str(gpt2_folder))
    assert len(reference) == 50257
    return reference


def test_gpt2_shape(gpt2: BPETokenizer) -> None:
    assert gpt2.vocab_size == 50257
    assert gpt2.eot_id == 50256
    assert gpt2.encode("Hello world") == [15496, 995]
    assert gpt2.encode(" Hello world") == [18435, 995]  # no prefix space is added


def test_gpt2_matches_transformers_on_tinyshakespeare(gpt2: BPETokenizer, oracle: Any, shared_data: Path) -> None:
    path = shared_data / "tinyshakespeare" / "input.txt"
    if not path.is_file():
        pytest.skip(f"needs {path}")
    text = path.read_text(encoding="utf-8")
    ids = gpt2.encode(text)
    assert ids == oracle.encode(text)
    assert len(ids) == 338025  # nanoGPT's figure for tinyshakespeare with GPT-2's BPE
    assert gpt2.decode(ids) == text


def test_gpt2_matches_transformers_on_awkward_file(gpt2: BPETokenizer, oracle: Any, tmp_path: Path) -> None:
    path = tmp_path / "awkward.txt"
    path.write_bytes(AWKWARD.encode("utf-8"))
    text = path.read_bytes().decode("utf-8")
    ids = gpt2.encode(text)
    assert ids == oracle.encode(text)
    assert ids.count(50256) == 2  # <|endoftext|> in text is the special token, as in GPT2TokenizerFast
    assert gpt2.decode(ids) == text
    assert oracle.decode(ids) == text
    lines = text.split("\n")
    assert gpt2.encode_batch(lines) == [oracle.encode(line) for line in lines]


def test_gpt2_matches_transformers_on_random_text(gpt2: BPETokenizer, oracle: Any) -> None:
    rng = random.Random(0)
    texts = [_random_text(rng, rng.randint(0, 200)) for _ in range(200)]
    assert gpt2.encode_batch(texts) == [oracle.encode(text) for text in texts]


def test_bpe_round_trips_random_text(gpt2: BPETokenizer) -> None:
    rng = random.Random(1)
    trained = train_bpe([_random_text(rng, 2000) for _ in range(5)], 400, min_frequency=1)
    for _ in range(300):
        text = _random_text(rng, rng.randint(0, 120))
        assert gpt2.decode(gpt2.encode(text)) == text
        assert trained.decode(trained.encode(text)) == text


def test_bpe_rejects_lone_surrogate(gpt2: BPETokenizer) -> None:
    with pytest.raises(TokenizerError, match=r"lone surrogate U\+D800 at index 1"):
        gpt2.encode("a\ud800b")
    with pytest.raises(TokenizerError, match="text 1"):
        gpt2.encode_batch(["fine", "x\udfffy"])


def test_gpt2_from_every_folder_layout(gpt2: BPETokenizer, gpt2_folder: Path, tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    written = save_tokenizer_files(gpt2, saved)
    assert sorted(p.name for p in written) == ["merges.txt", "tokenizer.json", "tokenizer_config.json", "vocab.json"]
    only_json = tmp_path / "only_json"
    only_json.mkdir()
    shutil.copy(saved / "tokenizer.json", only_json / "tokenizer.json")
    sample = "Hello<|endoftext|> there,\r\n  friend 😀"
    expected = gpt2.encode(sample)
    for source in (gpt2_folder, only_json, only_json / "tokenizer.json", BPETokenizer.gpt2_files()):
        loaded = BPETokenizer.from_folder(source)
        assert loaded.encode(sample) == expected, source
        assert loaded.eot_id == 50256


def test_saved_gpt2_folder_loads_in_transformers(gpt2: BPETokenizer, oracle: Any, tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    save_tokenizer_files(gpt2, tmp_path)
    (tmp_path / "tokenizer.json").unlink()  # read vocab.json and merges.txt alone
    reloaded = transformers.GPT2TokenizerFast.from_pretrained(str(tmp_path))
    assert reloaded.encode(AWKWARD) == gpt2.encode(AWKWARD)


def test_from_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match="does not exist"):
        BPETokenizer.from_folder(tmp_path / "missing")
    with pytest.raises(TokenizerError, match="holds no tokenizer"):
        BPETokenizer.from_folder(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(TokenizerError, match=r"not a valid tokenizer\.json"):
        BPETokenizer.from_folder(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "vocab.json").write_text('{"a": 0', encoding="utf-8")
    (broken / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    with pytest.raises(TokenizerError, match="cannot read the BPE files"):
        BPETokenizer.from_folder(broken)


def test_char_tokenizer_encodes_sorted_alphabet() -> None:
    tokenizer = CharTokenizer.from_text("hello world")
    assert tokenizer.alphabet == " dehlorw"
    assert tokenizer.vocab_size == 8
    assert tokenizer.eot_id is None
    assert tokenizer.encode("hello") == [3, 2, 4, 4, 5]
    assert tokenizer.encode_batch(["he", "", "w"]) == [[3, 2], [], [7]]
    assert tokenizer.decode(tokenizer.encode("world hello")) == "world hello"


def test_char_tokenizer_round_trips_random_text() -> None:
    rng = random.Random(2)
    texts = [_random_text(rng, 300) for _ in range(20)]
    tokenizer = CharTokenizer.from_texts(texts)
    for text in texts:
        ids = tokenizer.encode(text)
        assert len(ids) == len(text)
        assert tokenizer.decode(ids) == text


def test_char_tokenizer_unknown_character_names_it_and_where() -> None:
    tokenizer = CharTokenizer.from_text("abc")
    with pytest.raises(TokenizerError, match=r"'z' \(U\+007A\) at index 3") as info:
        tokenizer.encode("abcz")
    assert not isinstance(info.value, KeyError)
    assert isinstance(info.value, FourfoldError)
    with pytest.raises(TokenizerError, match=r"U\+1F600\) at index 1"):
        tokenizer.encode("a😀")
    with pytest.raises(TokenizerError, match="outside"):
        tokenizer.decode([3])


def test_char_tokenizer_eot() -> None:
    tokenizer = CharTokenizer.from_text("ab", eot=True)
    assert tokenizer.vocab_size == 3
    assert tokenizer.eot_id == 2
    assert tokenizer.decode([0, 2, 1]) == f"a{EOT_TEXT}b"


def test_char_tokenizer_of_tinyshakespeare(shared_data: Path) -> None:
    path = shared_data / "tinyshakespeare" / "input.txt"
    if not path.is_file():
        pytest.skip(f"needs {path}")
    text = path.read_text(encoding="utf-8")
    tokenizer = CharTokenizer.from_text(text)
    assert tokenizer.vocab_size == 65  # nanoGPT's shakespeare_char
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_train_bpe_gives_vocab_size_and_round_trips() -> None:
    rng = random.Random(3)
    words = ["".join(rng.choices("etaoinshrdlucmfw", k=rng.randint(2, 8))) for _ in range(400)]
    corpus = [" ".join(rng.choice(words) for _ in range(200)) for _ in range(50)]
    tokenizer = train_bpe(corpus, 300)
    assert tokenizer.vocab_size == 300
    assert tokenizer.eot_id == 0
    assert len(tokenizer.encode(corpus[0])) < 0.9 * len(corpus[0])  # merges learned and used
    unseen = "Ünïcode 😀 not in the corpus\r\n\t!"
    assert tokenizer.decode(tokenizer.encode(unseen)) == unseen  # the byte alphabet covers everything
    assert tokenizer.encode(f"{words[0]}{EOT_TEXT}") == [*tokenizer.encode(words[0]), 0]
    again = train_bpe(corpus, 300)
    assert again.to_dict() == tokenizer.to_dict()


def test_train_bpe_rejects_tiny_vocab() -> None:
    with pytest.raises(TokenizerError, match="at least 257"):
        train_bpe(["abc"], 256)


def test_to_dict_round_trip_gives_same_ids(gpt2: BPETokenizer) -> None:
    sample = "To be, or not to be: that is the question.\n"
    kinds: list[Tokenizer] = [
        gpt2,
        train_bpe([sample * 20], 280, min_frequency=1),
        CharTokenizer.from_text(sample, eot=True),
    ]
    for tokenizer in kinds:
        data = json.loads(json.dumps(tokenizer.to_dict()))
        rebuilt = tokenizer_from_dict(data)
        assert type(rebuilt) is type(tokenizer)
        assert rebuilt.encode(sample) == tokenizer.encode(sample)
        assert rebuilt.vocab_size == tokenizer.vocab_size
        assert rebuilt.eot_id == tokenizer.eot_id
        assert rebuilt.to_dict() == tokenizer.to_dict()


def test_tokenizer_from_dict_rejects_unknown_data() -> None:
    for data in ({}, {"kind": "wordpiece"}, {"kind": "char"}, {"kind": "bpe", "json": 3}):
        with pytest.raises(TokenizerError, match="not one fourfold knows"):
            tokenizer_from_dict(data)
    with pytest.raises(TokenizerError, match="not a valid tokenizers JSON"):
        tokenizer_from_dict({"kind": "bpe", "json": "{}"})


def test_char_tokenizer_saved_as_tokenizer_json(tmp_path: Path) -> None:
    text = "First Citizen:\nBefore we proceed any further, hear me speak.\n"
    tokenizer = CharTokenizer.from_text(text, eot=True)
    written = save_tokenizer_files(tokenizer, tmp_path)
    assert [p.name for p in written] == ["tokenizer.json", "tokenizer_config.json"]
    reloaded = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    ids = reloaded.encode(text, add_special_tokens=False).ids
    assert ids == tokenizer.encode(text)
    assert reloaded.decode(ids) == text
    assert reloaded.token_to_id(EOT_TEXT) == tokenizer.eot_id
