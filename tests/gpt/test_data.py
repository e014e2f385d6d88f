"""GPT data: shards decode back to the documents; splits, pure batches, exact eval windows."""

from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np
import pytest
import torch

from fourfold.gpt.corpus import DataError
from fourfold.gpt.data import IGNORE_INDEX, TokenData, batch, count_eval_windows, eval_windows, write_shards
from fourfold.gpt.tokenizer import BPETokenizer, CharTokenizer


def _write_docs(folder: Path, texts: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts):
        (folder / f"doc{i:02d}.txt").write_bytes(text.encode("utf-8"))
    return folder


def _letter_docs(lengths: list[int]) -> list[str]:
    """Document i is one letter repeated, so a window that crosses documents shows two letters."""
    return [string.ascii_letters[i] * n for i, n in enumerate(lengths)]


def _split_texts(data: TokenData, tokenizer: CharTokenizer) -> list[str]:
    """The documents of a split, decoded, without their end-of-text ids."""
    texts = []
    for i in range(data.num_documents):
        ids = data.document(i).tolist()
        assert ids[-1] == tokenizer.eot_id
        texts.append(tokenizer.decode(ids[:-1]))
    return texts


def test_write_shards_writes_shards_that_decode_back(tmp_path: Path) -> None:
    texts = [f"document {i}: " + "é€😀 line\r\n" * (i + 1) for i in range(10)]
    folder = _write_docs(tmp_path / "corpus", texts)
    tokenizer = CharTokenizer.from_texts(texts, eot=True)
    summary = write_shards([folder], tmp_path / "out", tokenizer, seed=3, progress=False)

    assert summary.dtype == "uint16"
    assert (summary.train.documents, summary.val.documents) == (9, 1)
    meta = json.loads((tmp_path / "out" / "meta.json").read_text(encoding="utf-8"))
    assert meta["tokenizer"] == tokenizer.to_dict()
    assert meta["train"]["tokens"] == summary.train.tokens
    decoded = []
    for split in ("train", "val"):
        data = TokenData.open(tmp_path / "out", split)
        stats = summary.split(split)
        assert data.tokens.dtype == np.uint16
        assert (tmp_path / "out" / f"{split}.bin").stat().st_size == 2 * stats.tokens
        offsets = np.load(tmp_path / "out" / f"{split}.idx.npy")
        assert offsets.dtype == np.int64
        assert offsets[0] == 0 and offsets[-1] == stats.tokens == data.num_tokens
        assert np.all(np.diff(offsets) > 0)
        split_texts = _split_texts(data, tokenizer)
        assert stats.bytes == sum(len(t.encode("utf-8")) for t in split_texts)
        assert data.num_bytes == stats.bytes
        decoded += split_texts
    assert sorted(decoded) == sorted(texts)  # every document once, byte-exact (\r\n kept)


def test_write_shards_uses_uint32_for_large_vocabularies(tmp_path: Path) -> None:
    alphabet = "".join(chr(c) for c in range(0x10000, 0x10000 + 70_000))
    texts = [alphabet[:35_000], alphabet[35_000:], "abc"]
    tokenizer = CharTokenizer.from_texts(texts)
    assert tokenizer.vocab_size > 65536
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    summary = write_shards([tmp_path / "docs.jsonl"], tmp_path / "out", tokenizer, progress=False)
    assert summary.dtype == "uint32"
    decoded = []
    for split in ("train", "val"):
        data = TokenData.open(tmp_path / "out", split)
        assert data.tokens.dtype == np.uint32
        decoded += [tokenizer.decode(data.document(i).tolist()) for i in range(data.num_documents)]
    assert sorted(decoded) == sorted(texts)


def test_split_is_deterministic_and_seeded(tmp_path: Path) -> None:
    texts = [f"text number {i}\n" for i in range(40)]
    folder = _write_docs(tmp_path / "corpus", texts)
    tokenizer = CharTokenizer.from_texts(texts, eot=True)

    def val_texts(seed: int, name: str) -> list[str]:
        write_shards([folder], tmp_path / name, tokenizer, seed=seed, val_fraction=0.25, progress=False)
        return _split_texts(TokenData.open(tmp_path / name, "val"), tokenizer)

    first = val_texts(0, "a")
    assert len(first) == 10
    assert val_texts(0, "b") == first
    assert (tmp_path / "a" / "train.bin").read_bytes() == (tmp_path / "b" / "train.bin").read_bytes()
    assert val_texts(1, "c") != first


def test_single_document_is_split_inside_it(tmp_path: Path) -> None:
    text = "To be, or not to be, that is the question:\n" * 50
    (tmp_path / "one.txt").write_text(text, encoding="utf-8")
    tokenizer = CharTokenizer.from_text(text)
    summary = write_shards([tmp_path / "one.txt"], tmp_path / "out", tokenizer, progress=False)
    assert summary.split_inside_document
    train, val = TokenData.open(tmp_path / "out", "train"), TokenData.open(tmp_path / "out", "val")
    assert train.num_tokens == int(len(text) * 0.9)
    whole = np.concatenate([train.tokens, val.tokens]).tolist()
    assert tokenizer.decode(whole) == text
    assert train.num_bytes + val.num_bytes == len(text.encode("utf-8"))
    assert train.num_bytes == len(tokenizer.decode(train.tokens.tolist()).encode("utf-8"))


def test_tinyshakespeare_splits_as_nanogpt(tmp_path: Path, shared_data: Path) -> None:
    path = shared_data / "tinyshakespeare" / "input.txt"
    if not path.is_file():
        pytest.skip(f"needs {path}")
    tokenizer = CharTokenizer.from_text(path.read_text(encoding="utf-8"))
    summary = write_shards([path], tmp_path, tokenizer, progress=False)
    # nanoGPT's shakespeare_char/prepare.py: "train has 1,003,854 tokens, val has 111,540 tokens"
    assert (summary.train.tokens, summary.val.tokens) == (1_003_854, 111_540)


@pytest.mark.slow
def test_stdlib_with_gpt2_gives_over_a_million_tokens(tmp_path: Path) -> None:
    summary = write_shards(["stdlib"], tmp_path, BPETokenizer.gpt2(), progress=False)
    assert summary.train.tokens + summary.val.tokens > 1_000_000
    assert summary.train.bytes > 3 * summary.train.tokens / 2  # Python source: about 2 bytes a GPT-2 token
    data = TokenData.open(tmp_path, "val")
    assert data.tokenizer().decode(data.document(0).tolist()).endswith("<|endoftext|>")


def test_write_shards_errors(tmp_path: Path) -> None:
    tokenizer = CharTokenizer.from_text("abc")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="the corpus is empty"):
        write_shards([tmp_path / "empty.txt"], tmp_path / "out", tokenizer, progress=False)
    with pytest.raises(DataError, match=r"no such file or folder: .*missing\.txt"):
        write_shards([tmp_path / "missing.txt"], tmp_path / "out", tokenizer, progress=False)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1\.txt is not UTF-8"):
        write_shards([tmp_path / "latin1.txt"], tmp_path / "out", tokenizer, progress=False)
    (tmp_path / "other.txt").write_text("abcd", encoding="utf-8")
    with pytest.raises(DataError, match=r"other\.txt: character 'd' \(U\+0064\) at index 3"):
        write_shards([tmp_path / "other.txt"], tmp_path / "out", tokenizer, progress=False)
    with pytest.raises(DataError, match="val_fraction"):
        write_shards([tmp_path / "empty.txt"], tmp_path / "out", tokenizer, val_fraction=1.0, progress=False)
    with pytest.raises(DataError, match="no sources"):
        write_shards([], tmp_path / "out", tokenizer, progress=False)
    assert not (tmp_path / "out" / "meta.json").exists()


def test_open_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no prepared data"):
        TokenData.open(tmp_path, "train")
    texts = ["abc", "cab", "bca"]
    write_shards(
        [_write_docs(tmp_path / "c", texts)],
        tmp_path / "out",
        CharTokenizer.from_texts(texts),
        progress=False,
    )
    with pytest.raises(DataError, match="no split 'test'"):
        TokenData.open(tmp_path / "out", "test")
    with (tmp_path / "out" / "train.bin").open("ab") as handle:
        handle.write(b"\0\0")
    with pytest.raises(DataError, match="not 6 tokens long"):
        TokenData.open(tmp_path / "out", "train")
    (tmp_path / "out" / "meta.json").write_text("{", encoding="utf-8")
    with pytest.raises(DataError, match="damaged"):
        TokenData.open(tmp_path / "out", "train")


@pytest.fixture
def letters(tmp_path: Path) -> TokenData:
    """Train split of 30 one-letter documents of 3 to 60 tokens (with end-of-text)."""
    lengths = [2 + (7 * i) % 58 for i in range(30)]
    texts = _letter_docs(lengths)
    tokenizer = CharTokenizer.from_texts(texts, eot=True)
    write_shards([_write_docs(tmp_path / "c", texts)], tmp_path / "out", tokenizer, val_fraction=0.1, progress=False)
    return TokenData.open(tmp_path / "out", "train")


def test_batch_is_a_pure_function_of_step(letters: TokenData) -> None:
    x, y = batch(letters, 5, batch_size=4, context_length=16, seed=7)
    assert x.dtype == y.dtype == torch.int64 and x.shape == y.shape == (4, 16)
    again_x, again_y = batch(letters, 5, batch_size=4, context_length=16, seed=7)
    assert torch.equal(x, again_x) and torch.equal(y, again_y)
    assert not torch.equal(x, batch(letters, 6, batch_size=4, context_length=16, seed=7)[0])
    assert not torch.equal(x, batch(letters, 5, batch_size=4, context_length=16, seed=8)[0])


def test_rank_slices_equal_the_global_batch(letters: TokenData) -> None:
    whole_x, whole_y = batch(letters, 3, batch_size=6, context_length=16, seed=0)
    for rank in range(3):
        x, y = batch(letters, 3, batch_size=2, context_length=16, seed=0, rank=rank, world_size=3)
        assert torch.equal(x, whole_x[2 * rank : 2 * rank + 2])
        assert torch.equal(y, whole_y[2 * rank : 2 * rank + 2])


def test_windows_stay_inside_documents_and_pad_short_ones(letters: TokenData) -> None:
    eot = letters.meta.eot_id
    assert eot is not None
    lengths = set(np.diff(letters.offsets).tolist())
    seen_padding = False
    for step in range(50):
        x, y = batch(letters, step, batch_size=8, context_length=24, seed=1)
        for row_x, row_y in zip(x.tolist(), y.tolist(), strict=True):
            real = [i for i, target in enumerate(row_y) if target != IGNORE_INDEX]
            assert real == list(range(len(real)))  # targets first, then only padding
            assert len({row_x[i] for i in real}) == 1  # one document's letter: no window crosses documents
            assert row_x[1 : len(real)] == row_y[: len(real) - 1]  # y is x shifted by one
            if len(real) < 24:
                seen_padding = True
                assert len(real) + 1 in lengths  # a whole short document: its L - 1 targets, ending in eot
                assert row_y[len(real) - 1] == eot
                assert all(token == eot for token in row_x[len(real) :])
    assert seen_padding


def test_straddle_windows_cross_documents(letters: TokenData) -> None:
    x, y = batch(letters, 0, batch_size=32, context_length=40, seed=2, straddle=True)
    assert (y != IGNORE_INDEX).all()
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert any(len(set(row.tolist())) > 2 for row in x)  # two letters and an eot between them


def test_eval_windows_cover_every_target_once(letters: TokenData) -> None:
    batches = list(eval_windows(letters, context_length=8, batch_size=5))
    targets = [t for _, y in batches for row in y.tolist() for t in row if t != IGNORE_INDEX]
    expected = [t for i in range(letters.num_documents) for t in letters.document(i)[1:].tolist()]
    assert targets == expected
    rows = sum(len(x) for x, _ in batches)
    assert rows == count_eval_windows(letters, 8)
    assert all(len(x) == 5 for x, _ in batches[:-1]) and 1 <= len(batches[-1][0]) <= 5
    for x, y in batches:
        assert torch.equal(x[:, 1:][y[:, :-1] != IGNORE_INDEX], y[:, :-1][y[:, :-1] != IGNORE_INDEX])


def test_batches_need_documents_of_two_tokens(tmp_path: Path) -> None:
    (tmp_path / "tiny.jsonl").write_text('{"text": "a"}\n{"text": "b"}\n', encoding="utf-8")
    write_shards([tmp_path / "tiny.jsonl"], tmp_path / "out", CharTokenizer.from_text("ab"), progress=False)
    data = TokenData.open(tmp_path / "out", "train")
    with pytest.raises(DataError, match="no document of two tokens"):
        batch(data, 0, batch_size=2, context_length=4, seed=0)
    assert list(eval_windows(data, 4, 2)) == []


def test_tokenizer_is_rebuilt_from_meta(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    texts = ["hello there", "general kenobi"]
    tokenizer = CharTokenizer.from_texts(texts, eot=True)
    write_shards([_write_docs(tmp_path / "c", texts)], tmp_path / "out", tokenizer)
    assert "tokenize" in capsys.readouterr().err  # the progress bar
    rebuilt = TokenData.open(tmp_path / "out", "train").tokenizer()
    assert rebuilt.encode("hello kenobi") == tokenizer.encode("hello kenobi")
    assert rebuilt.eot_id == tokenizer.eot_id
