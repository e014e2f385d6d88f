"""Tests for fourfold.gpt.generate: KV-cache decoding equals full recomputation (alone and in a batch of different
lengths), the sampling filters as defined, stops, the context limits, and the text API with fake tokenizers."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

import pytest
import torch

import fourfold.gpt.generate as generation
from fourfold.core.config import ConfigError
from fourfold.gpt.config import GPTConfig
from fourfold.gpt.generate import (
    GenerationError,
    Sampling,
    apply_repetition_penalty,
    generate,
    generate_text,
    next_tokens,
    top_k_filter,
    top_p_filter,
)
from fourfold.gpt.model import GPT

CONFIG = GPTConfig(vocab_size=40, context_length=48, num_layers=2, num_heads=4, embed_dim=32)


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(0)
    model = GPT(CONFIG).eval()
    with torch.no_grad():  # larger embeddings than at initialisation: peaked logits, far from ties
        model.transformer.wte.weight.mul_(10.0)
    return model


def prompt(length: int, seed: int) -> list[int]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, CONFIG.vocab_size, (length,), generator=generator).tolist()


def recompute_greedy(model: GPT, tokens: list[int], count: int) -> list[int]:
    """Greedy decoding without a cache: the whole sequence through the model for every new token."""
    sequence, new = list(tokens), []
    with torch.no_grad():
        for _ in range(count):
            token = int(model(torch.tensor([sequence]))[0, -1].argmax())
            sequence.append(token)
            new.append(token)
    return new


@pytest.mark.parametrize(("length", "count"), [(1, 20), (7, 30), (30, 18)])
def test_cached_greedy_equals_full_recomputation(model: GPT, length: int, count: int) -> None:
    tokens = prompt(length, seed=length)
    assert generate(model, [tokens], max_new_tokens=count, temperature=0.0)[0] == recompute_greedy(model, tokens, count)


def test_batch_of_different_lengths_equals_each_prompt_alone(model: GPT) -> None:
    prompts = [prompt(3, 1), prompt(17, 2), prompt(1, 3), prompt(9, 4)]
    batched = generate(model, prompts, max_new_tokens=25, temperature=0.0)
    assert batched == [recompute_greedy(model, p, 25) for p in prompts]


def test_top_k_1_sampling_is_greedy(model: GPT) -> None:
    prompts = [prompt(5, 1), prompt(11, 2)]
    sampled = generate(model, prompts, max_new_tokens=20, temperature=1.0, top_k=1, seed=3)
    assert sampled == generate(model, prompts, max_new_tokens=20, temperature=0.0)


def test_seeded_sampling_is_reproducible(model: GPT) -> None:
    prompts = [prompt(5, 1), prompt(2, 2)]
    first = generate(model, prompts, max_new_tokens=30, temperature=1.5, top_p=0.95, seed=7)
    assert first == generate(model, prompts, max_new_tokens=30, temperature=1.5, top_p=0.95, seed=7)
    assert first != generate(model, prompts, max_new_tokens=30, temperature=1.5, top_p=0.95, seed=8)


def test_top_p_keeps_the_smallest_nucleus_reaching_p() -> None:
    probabilities = torch.tensor([[0.15, 0.5, 0.05, 0.3]])  # sorted: 0.5, 0.3, 0.15, 0.05
    logits = probabilities.log()

    def kept(p: float) -> list[bool]:
        return torch.isfinite(top_p_filter(logits, p))[0].tolist()

    assert kept(0.45) == [False, True, False, False]  # the top token alone reaches 0.45
    assert kept(0.7) == [False, True, False, True]  # 0.5 + 0.3
    assert kept(0.9) == [True, True, False, True]  # 0.5 + 0.3 + 0.15
    assert kept(1.0) == [True, True, True, True]
    # At exactly p the nucleus is complete: probabilities 0.5, 0.25, 0.25 (exact in binary) and p = 0.75.
    exact = torch.tensor([[2.0, 1.0, 1.0]]).log()
    assert torch.isfinite(top_p_filter(exact, 0.75))[0].tolist() == [True, True, False]
    kept_values = top_p_filter(logits, 0.7)[0]
    assert kept_values[1] == logits[0, 1] and kept_values[3] == logits[0, 3]  # survivors are unchanged


def test_top_k_keeps_the_k_largest() -> None:
    logits = torch.tensor([[0.1, 3.0, -1.0, 2.0], [5.0, 4.0, 3.0, 2.0]])
    assert torch.isfinite(top_k_filter(logits, 2)).tolist() == [[False, True, False, True], [True, True, False, False]]
    assert torch.isfinite(top_k_filter(logits, 10)).all()


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5, -0.5]])
    seen = torch.tensor([[True, True, False, False]])
    assert apply_repetition_penalty(logits, seen, 2.0).tolist() == [[1.0, -2.0, 0.5, -0.5]]
    # Through token choice: the seen favourite (2.0 -> 1.0) loses to an unseen token (1.5).
    greedy = Sampling(temperature=0.0, repetition_penalty=2.0)
    assert next_tokens(
        torch.tensor([[2.0, 1.5, 0.0]]), torch.tensor([[True, False, False]]), greedy, None
    ).tolist() == [1]


def test_repetition_penalty_counts_the_prompt_and_generated_tokens(model: GPT) -> None:
    tokens = prompt(6, 5)
    plain = generate(model, [tokens], max_new_tokens=30, temperature=0.0)[0]
    penalised = generate(model, [tokens], max_new_tokens=30, temperature=0.0, repetition_penalty=1e6)[0]
    assert penalised != plain
    # With an overwhelming penalty every token is new as long as unseen tokens remain.
    assert len(set(penalised) | set(tokens)) == len(penalised) + len(set(tokens))


def test_stop_token_ends_only_its_row_and_is_not_returned(model: GPT) -> None:
    prompts = [prompt(4, 1), prompt(8, 2)]
    full = generate(model, prompts, max_new_tokens=20, temperature=0.0)
    stop = full[0][5]
    first_stop = full[0].index(stop)
    stopped = generate(model, prompts, max_new_tokens=20, temperature=0.0, stop_token_ids=[stop])
    assert stopped[0] == full[0][:first_stop]
    expected_other = full[1][: full[1].index(stop)] if stop in full[1] else full[1]
    assert stopped[1] == expected_other


def test_stream_sees_every_token_and_can_end_a_row(model: GPT) -> None:
    prompts = [prompt(4, 1), prompt(8, 2)]
    seen: list[tuple[int, int]] = []

    def stream(row: int, token: int) -> bool:
        seen.append((row, token))
        return row == 1 and sum(1 for r, _ in seen if r == 1) == 3  # end row 1 after 3 tokens

    out = generate(model, prompts, max_new_tokens=10, temperature=0.0, stream=stream)
    assert len(out[0]) == 10 and len(out[1]) == 3
    assert [t for r, t in seen if r == 0] == out[0] and [t for r, t in seen if r == 1] == out[1]


def test_long_prompt_is_cut_from_the_left_with_a_warning(model: GPT) -> None:
    tokens = prompt(CONFIG.context_length + 5, 9)
    with pytest.warns(UserWarning, match="its first 5 tokens were dropped"):
        out = generate(model, [tokens], max_new_tokens=1, temperature=0.0)
    assert out[0] == recompute_greedy(model, tokens[5:], 1)


def test_generation_stops_a_row_at_the_context_length(model: GPT) -> None:
    short, near = prompt(3, 1), prompt(CONFIG.context_length - 3, 2)
    with pytest.warns(UserWarning, match=r"prompts \[1\] stopped .* context of 48 tokens"):
        out = generate(model, [short, near], max_new_tokens=10, temperature=0.0)
    assert len(out[0]) == 10
    # The last token is predicted from a full window: 3 more tokens fill it, a 4th comes from it.
    assert len(out[1]) == 4 and out[1] == recompute_greedy(model, near, 4)


def test_no_warning_when_the_context_is_not_reached(model: GPT) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        generate(model, [prompt(CONFIG.context_length - 3, 2)], max_new_tokens=4, temperature=0.0)


def test_zero_new_tokens_gives_empty_continuations(model: GPT) -> None:
    assert generate(model, [prompt(3, 1), prompt(2, 2)], max_new_tokens=0) == [[], []]


def test_bad_prompts_and_arguments_are_refused(model: GPT) -> None:
    with pytest.raises(GenerationError, match="prompt 1 is empty"):
        generate(model, [[1], []], max_new_tokens=2)
    with pytest.raises(GenerationError, match="token id 40, outside the model's vocabulary of 40"):
        generate(model, [[1, 40]], max_new_tokens=2)
    with pytest.raises(GenerationError, match="no prompts"):
        generate(model, [], max_new_tokens=2)
    with pytest.raises(ConfigError, match="temperature"):
        generate(model, [[1]], max_new_tokens=2, temperature=-1.0)
    with pytest.raises(ConfigError, match="top_p"):
        generate(model, [[1]], max_new_tokens=2, top_p=0.0)


def test_model_mode_is_restored(model: GPT) -> None:
    model.train()
    try:
        generate(model, [[1, 2]], max_new_tokens=2, temperature=0.0)
        assert model.training
    finally:
        model.eval()


class CharTokenizer:
    """A character-level tokenizer over a fixed alphabet; its last character is the end-of-text token."""

    alphabet = "abcdefghijklmnopqrstuvwxyz .,!?\n0123456#"

    def __init__(self, eot: bool = True) -> None:
        self.eot_id: int | None = len(self.alphabet) - 1 if eot else None

    def encode(self, text: str) -> list[int]:
        return [self.alphabet.index(c) for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.alphabet[i] for i in ids)


def test_text_api_is_the_token_api_through_the_tokenizer(model: GPT) -> None:
    tokenizer = CharTokenizer(eot=False)
    texts = generate_text(model, tokenizer, ["hello", "a"], max_new_tokens=15, temperature=0.0)
    tokens = generate(model, [tokenizer.encode("hello"), tokenizer.encode("a")], max_new_tokens=15, temperature=0.0)
    assert texts == [tokenizer.decode(t) for t in tokens]


def test_text_stops_at_the_end_of_text_token_and_starts_from_it(model: GPT) -> None:
    tokenizer = CharTokenizer()
    eot = tokenizer.eot_id
    assert eot is not None
    plain = generate(model, [[eot]], max_new_tokens=40, temperature=0.0)[0]
    text = generate_text(model, tokenizer, [""], max_new_tokens=40, temperature=0.0)[0]  # empty: starts from eot
    expected = plain[: plain.index(eot)] if eot in plain else plain
    assert text == tokenizer.decode(expected)
    with pytest.raises(GenerationError, match="no eot_id"):
        generate_text(model, CharTokenizer(eot=False), [""], max_new_tokens=3)


def test_stop_strings_cut_the_text_and_end_the_row(model: GPT) -> None:
    tokenizer = CharTokenizer(eot=False)
    full = generate_text(model, tokenizer, ["hi", "ok"], max_new_tokens=30, temperature=0.0)
    stop = full[0][6:8]
    cut = generate_text(model, tokenizer, ["hi", "ok"], max_new_tokens=30, temperature=0.0, stop=[stop])
    assert cut[0] == full[0][: full[0].index(stop)]
    assert cut[1] == (full[1][: full[1].index(stop)] if stop in full[1] else full[1])


class ByteTokenizer:
    """One token per UTF-8 byte, decoded as GPT-2's byte-level tokenizer does (invalid bytes as U+FFFD)."""

    eot_id = None

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: Sequence[int]) -> str:
        return bytes(ids).decode("utf-8", errors="replace")


class Recorder(io.StringIO):
    """A text stream that keeps each write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def scripted(tokens: list[int], monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make `generate` emit `tokens` (through the stream callback) instead of running a model; returns those sent."""
    sent: list[int] = []

    def fake_generate(model: object, prompts: list[list[int]], **kwargs: object) -> list[list[int]]:
        stream = kwargs["stream"]
        assert callable(stream)
        for token in tokens:
            sent.append(token)
            if stream(0, token):
                break
        return [list(sent)]

    monkeypatch.setattr(generation, "generate", fake_generate)
    return sent


def test_streaming_writes_multibyte_characters_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = list("hé 世界!".encode())  # é is 2 bytes, 世 and 界 3 bytes each
    scripted(tokens, monkeypatch)
    out = Recorder()
    text = generate_text(GPT(CONFIG), ByteTokenizer(), ["x"], max_new_tokens=20, stream_to=out)
    assert text == ["hé 世界!"]
    assert "".join(out.writes) == "hé 世界!"
    assert not any("\ufffd" in write for write in out.writes)
    assert "é" in out.writes and "世" in out.writes  # each written as soon as its last byte arrived


def test_streaming_holds_back_a_partial_stop_string(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = scripted(list(b"ab\nc\n\nnever"), monkeypatch)
    out = Recorder()
    text = generate_text(GPT(CONFIG), ByteTokenizer(), ["x"], max_new_tokens=20, stop=["\n\n"], stream_to=out)
    assert text == ["ab\nc"]
    assert "".join(out.writes) == "ab\nc"
    assert bytes(sent) == b"ab\nc\n\n"  # the row ended at the stop string
    assert out.writes[:2] == ["a", "b"]  # the lone newline waited until "c" ruled out the stop string


def test_streaming_takes_one_prompt(model: GPT) -> None:
    with pytest.raises(GenerationError, match="streams one prompt"):
        generate_text(model, CharTokenizer(), ["a", "b"], max_new_tokens=2, stream_to=io.StringIO())
