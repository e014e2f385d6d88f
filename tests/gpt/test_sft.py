"""SFT examples: loss masks on exactly the response tokens, chats, padding, cutting, pure batches, errors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

from fourfold.gpt.sft import (
    IGNORE_INDEX,
    SFTError,
    SFTExample,
    format_chat,
    format_prompt,
    load_sft,
    sft_batch,
)
from fourfold.gpt.tokenizer import EOT_TEXT, BPETokenizer, CharTokenizer


@pytest.fixture(scope="module")
def gpt2() -> BPETokenizer:
    return BPETokenizer.gpt2()


def _jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _masked_text(example: SFTExample, tokenizer: BPETokenizer) -> str:
    return tokenizer.decode([i for i, m in zip(example.ids, example.mask, strict=True) if m])


def test_prompt_response_mask_covers_exactly_the_response(gpt2: BPETokenizer, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "sft.jsonl", [{"prompt": "Name a colour.", "response": "Blue, like the sea."}])
    (example,) = load_sft(path, gpt2, context_length=64)
    assert gpt2.decode(example.ids) == f"{format_prompt('Name a colour.')}Blue, like the sea.{EOT_TEXT}"
    assert format_prompt("Name a colour.") == "### Prompt\nName a colour.\n\n### Response\n"
    prompt_ids = gpt2.encode(format_prompt("Name a colour."))
    assert example.ids[: len(prompt_ids)] == prompt_ids  # generation from format_prompt starts the same
    assert example.mask == [False] * len(prompt_ids) + [True] * (len(example.ids) - len(prompt_ids))
    assert example.ids[-1] == gpt2.eot_id and example.mask[-1]
    assert _masked_text(example, gpt2) == f"Blue, like the sea.{EOT_TEXT}"
    assert example.line == 1 and not example.cut


def test_chat_masks_every_assistant_turn(gpt2: BPETokenizer, tmp_path: Path) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi!"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4."},
    ]
    path = _jsonl(tmp_path / "chat.jsonl", [{"messages": messages}])
    (example,) = load_sft(path, gpt2, context_length=128)
    text = gpt2.decode(example.ids)
    assert text == (
        f"### System\nBe brief.\n\n### User\nHi!\n\n### Assistant\nHello.{EOT_TEXT}"
        f"\n\n### User\n2+2?\n\n### Assistant\n4.{EOT_TEXT}"
    )
    assert _masked_text(example, gpt2) == f"Hello.{EOT_TEXT}4.{EOT_TEXT}"
    spans = [i for i in range(1, len(example.mask)) if example.mask[i] != example.mask[i - 1]]
    assert len(spans) == 3  # two masked runs: on, off, on
    assert gpt2.encode(format_chat(messages[:4])) == example.ids[: example.mask.index(True, spans[1])]


def test_tokenizer_without_eot_masks_only_the_response(tmp_path: Path) -> None:
    tokenizer = CharTokenizer.from_text(format_prompt("ab") + "ba")
    path = _jsonl(tmp_path / "sft.jsonl", [{"prompt": "ab", "response": "ba"}])
    (example,) = load_sft(path, tokenizer, context_length=64)
    assert tokenizer.decode(example.ids) == format_prompt("ab") + "ba"
    assert example.mask == [False] * len(format_prompt("ab")) + [True, True]


def test_sft_batch_pads_and_ignores_prompt_and_padding(gpt2: BPETokenizer, tmp_path: Path) -> None:
    records = [{"prompt": "Say hi", "response": "hi"}, {"prompt": "Count to five", "response": "1 2 3 4 5"}]
    examples = load_sft(_jsonl(tmp_path / "sft.jsonl", records), gpt2, context_length=64)
    x, y = sft_batch(examples, 0, batch_size=2, seed=0)
    longest = max(len(e.ids) for e in examples)
    assert x.dtype == y.dtype == torch.int64 and x.shape == y.shape == (2, longest - 1)
    for row in range(2):
        example = next(e for e in examples if e.ids[:-1] == x[row, : len(e.ids) - 1].tolist())
        k = len(example.ids) - 1
        expected = [t if m else IGNORE_INDEX for t, m in zip(example.ids[1:], example.mask[1:], strict=True)]
        assert y[row, :k].tolist() == expected
        assert (y[row, k:] == IGNORE_INDEX).all() and (x[row, k:] == 0).all()
    assert {e.ids[-1] for e in examples} == {gpt2.eot_id}


def test_sft_batch_is_pure_and_visits_each_example_once_per_epoch(tmp_path: Path) -> None:
    examples = [SFTExample(ids=[i, i + 1, i + 2], mask=[False, False, True], line=i) for i in range(10)]
    firsts = []
    for step in range(5):
        x, y = sft_batch(examples, step, batch_size=2, seed=4)
        again_x, again_y = sft_batch(examples, step, batch_size=2, seed=4)
        assert torch.equal(x, again_x) and torch.equal(y, again_y)
        firsts += x[:, 0].tolist()
    assert sorted(firsts) == list(range(10))  # one epoch: every example exactly once
    whole_x, whole_y = sft_batch(examples, 7, batch_size=6, seed=4)
    for rank in range(3):
        x, y = sft_batch(examples, 7, batch_size=2, seed=4, rank=rank, world_size=3)
        assert torch.equal(x, whole_x[2 * rank : 2 * rank + 2])
        assert torch.equal(y, whole_y[2 * rank : 2 * rank + 2])
    assert (y[:, 0] == IGNORE_INDEX).all()  # the target of position 0 is a prompt id: no loss
    assert torch.equal(y[:, 1], x[:, 1] + 1)  # y is x shifted by one where the target is in the mask


def test_long_examples_are_cut_keeping_the_response(gpt2: BPETokenizer, tmp_path: Path) -> None:
    long_prompt = "word " * 200
    records = [
        {"prompt": long_prompt, "response": "short answer"},
        {"prompt": "short", "response": "answer " * 200},
        {"prompt": "fits", "response": "fine"},
    ]
    with pytest.warns(UserWarning, match="2 of 3 examples were longer than 33 tokens"):
        cut_prompt, cut_response, fits = load_sft(_jsonl(tmp_path / "s.jsonl", records), gpt2, context_length=32)
    assert cut_prompt.cut and cut_response.cut and not fits.cut
    assert len(cut_prompt.ids) == len(cut_response.ids) == 33
    assert gpt2.decode(cut_prompt.ids).endswith(f"word \n\n### Response\nshort answer{EOT_TEXT}")
    assert _masked_text(cut_prompt, gpt2) == f"short answer{EOT_TEXT}"
    assert gpt2.decode(cut_response.ids).startswith("### Prompt\nshort\n\n### Response\nanswer answer")
    assert cut_response.mask.count(False) <= 16  # the prompt keeps at most half the context
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_sft(_jsonl(tmp_path / "f.jsonl", records[2:]), gpt2, context_length=32)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{oops", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"prompt": "a"}', "expected"),
        ('{"prompt": "a", "response": 3}', "expected"),
        ('{"messages": []}', "non-empty list"),
        ('{"messages": [{"role": "user", "content": "hi"}]}', "no assistant message"),
        ('{"messages": [{"role": "robot", "content": "hi"}]}', "role 'robot'"),
        ('{"messages": [{"role": "assistant"}]}', '"content" string'),
    ],
)
def test_malformed_records_name_file_and_line(gpt2: BPETokenizer, tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "a", "response": "b"}\n\n' + line + "\n", encoding="utf-8")
    with pytest.raises(SFTError, match=rf"bad\.jsonl:3: .*{problem}"):
        load_sft(path, gpt2, context_length=16)


def test_file_level_errors(gpt2: BPETokenizer, tmp_path: Path) -> None:
    with pytest.raises(SFTError, match="no such SFT file"):
        load_sft(tmp_path / "missing.jsonl", gpt2, context_length=16)
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    with pytest.raises(SFTError, match="holds no records"):
        load_sft(tmp_path / "empty.jsonl", gpt2, context_length=16)
    tokenizer = CharTokenizer.from_text(format_prompt("a"))
    path = _jsonl(tmp_path / "chars.jsonl", [{"prompt": "a", "response": "z"}])
    with pytest.raises(SFTError, match=r"chars\.jsonl:1: character 'z'"):
        load_sft(path, tokenizer, context_length=16)
    with pytest.raises(SFTError, match="no SFT examples"):
        sft_batch([], 0, batch_size=1, seed=0)
