"""Text generation with a key/value cache: greedy decoding and sampling (temperature, top-k, top-p, repetition penalty).

Decoding feeds the prompt once (the prefill) and then one token per step, each step attending over the keys and
values cached by the earlier ones (`fourfold.core.nn.KVCache`), so a step costs one position's worth of compute.
Each step's logits go through the repetition penalty of CTRL (Keskar et al. 2019, section 4.1), then, unless
decoding is greedy, temperature scaling, top-k (Fan et al. 2018, "Hierarchical Neural Story Generation") and top-p,
the nucleus (Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration"): Hugging Face's order.

Batches: prompts of different lengths are left-padded to the longest and run as one batch; the cache numbers each
row's positions from its first real token and masks the padding, so every row computes exactly what it would alone
(up to float rounding order). A row that finishes (a stop token, a stop string, its token budget or the context)
is dropped from the batch, cache included, so it costs nothing afterwards.

Context: a prompt longer than the model's context_length is cut from the left, with a warning. The token predicted
from a full context window is returned and the row then stops (with a warning): no sliding window, which would
change what the model conditions on without saying so.

Shapes:
    B batch (rows still generating), T tokens, V vocab_size.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TextIO

import torch
from torch import Tensor

from fourfold.core.config import require
from fourfold.core.errors import FourfoldError

if TYPE_CHECKING:
    from fourfold.gpt.model import GPT

TokenCallback = Callable[[int, int], bool | None]
"""`stream(row, token)`: called with each new token of prompt `row`; returning True ends that row."""


class GenerationError(FourfoldError):
    """A prompt or an argument of generation that cannot be used."""


class TextTokenizer(Protocol):
    """What `generate_text` needs of a tokenizer; an `eot_id: int | None` attribute, if present, stops a row."""

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...


@dataclass(frozen=True)
class Sampling:
    """How each next token is chosen; the keyword arguments of `generate`, validated."""

    max_new_tokens: int = 256
    """At most this many new tokens per prompt."""
    temperature: float = 1.0
    """Divides the logits before sampling; 0 picks the most likely token (greedy, deterministic)."""
    top_k: int | None = None
    """Sample among the k most likely tokens only; None: all."""
    top_p: float | None = None
    """Sample within the smallest set of most likely tokens whose probability reaches p; None: all."""
    repetition_penalty: float = 1.0
    """CTRL's penalty on tokens already in the row (prompt included): above 1 discourages repeats; 1: off."""
    seed: int | None = None
    """Seed of the sampling's random generator, for reproducible samples; None: torch's global generator."""

    def __post_init__(self) -> None:
        require(self.max_new_tokens >= 0, "max_new_tokens", f"must be 0 or more (got {self.max_new_tokens})")
        require(self.temperature >= 0.0, "temperature", f"must be 0 or more (got {self.temperature})")
        require(self.top_k is None or self.top_k >= 1, "top_k", f"must be at least 1 or None (got {self.top_k})")
        require(self.top_p is None or 0.0 < self.top_p <= 1.0, "top_p", f"must be in (0, 1] (got {self.top_p})")
        require(
            self.repetition_penalty > 0.0,
            "repetition_penalty",
            f"must be positive (got {self.repetition_penalty})",
        )


def generate(
    model: GPT,
    prompts: list[list[int]],
    *,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    repetition_penalty: float = 1.0,
    stop_token_ids: Sequence[int] = (),
    seed: int | None = None,
    stream: TokenCallback | None = None,
) -> list[list[int]]:
    """Continue each prompt (token ids) with up to `max_new_tokens` new tokens; all prompts run as one batch.

    Runs under `torch.inference_mode()` with the model in eval mode (its mode is restored afterwards).

    Args:
        model: the GPT to sample from.
        prompts: one list of token ids per prompt, each non-empty.
        max_new_tokens: at most this many new tokens per prompt.
        temperature: 0 for greedy decoding (top_k, top_p and seed then play no part); otherwise the logits are
            divided by it before sampling.
        top_k: keep only the k most likely tokens (None: all).
        top_p: keep only the nucleus of probability p (None: all).
        repetition_penalty: CTRL's penalty on tokens already in the row (1: none).
        stop_token_ids: a row ends when it produces one of these; the stop token is not returned.
        seed: seeds the sampling for reproducible output (None: torch's global generator).
        stream: called as `stream(row, token)` for each new token as it is chosen; returning True ends the row.

    Returns:
        The new tokens of each prompt, in prompt order.

    Raises:
        GenerationError: an empty prompt or a token id outside the vocabulary.
        ConfigError: a sampling argument out of range.
    """
    sampling = Sampling(max_new_tokens, temperature, top_k, top_p, repetition_penalty, seed)
    rows = _checked_prompts(prompts, model.config.vocab_size, model.config.context_length)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            return _decode(model, rows, sampling, frozenset(stop_token_ids), stream)
    finally:
        model.train(was_training)


def generate_text(
    model: GPT,
    tokenizer: TextTokenizer,
    prompts: list[str],
    *,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    repetition_penalty: float = 1.0,
    stop: Sequence[str] = (),
    seed: int | None = None,
    stream_to: TextIO | None = None,
) -> list[str]:
    """Continue each text prompt; the text-level face of `generate`.

    A row ends at the tokenizer's `eot_id` (if it has one), at the first of the `stop` strings (the text is cut
    before it), or after `max_new_tokens` tokens. An empty prompt starts from `eot_id` (GPT-2's unconditional
    samples).

    Args:
        model: the GPT to sample from.
        tokenizer: turns text into ids and back (see `TextTokenizer`).
        prompts: the texts to continue.
        max_new_tokens, temperature, top_k, top_p, repetition_penalty, seed: as in `generate`.
        stop: strings that end a row; neither they nor anything after them is returned.
        stream_to: write the continuation there as it is generated (one prompt only). The whole continuation is
            decoded after each token and only its new, settled suffix written, so a character whose bytes span
            several tokens is written once whole, and a partial stop string is held back until it is ruled out.

    Returns:
        The continuation of each prompt, without the prompt.

    Raises:
        GenerationError: `stream_to` with several prompts, or an empty prompt and no `eot_id`.
    """
    if stream_to is not None and len(prompts) != 1:
        raise GenerationError(f"stream_to streams one prompt, but {len(prompts)} were given; pass one prompt")
    eot_id: int | None = getattr(tokenizer, "eot_id", None)
    ids = []
    for number, prompt in enumerate(prompts):
        if prompt:
            ids.append(tokenizer.encode(prompt))
        elif eot_id is not None:
            ids.append([eot_id])
        else:
            raise GenerationError(f"prompt {number} is empty and the tokenizer has no eot_id to start from")
    tokens: list[list[int]] = [[] for _ in prompts]
    texts = ["" for _ in prompts]
    written = [""]  # what stream_to has received so far (one prompt)

    def on_token(row: int, token: int) -> bool:
        tokens[row].append(token)
        texts[row] = tokenizer.decode(tokens[row])
        cut = _first_stop(texts[row], stop)
        if cut is not None:
            texts[row] = texts[row][:cut]
        if stream_to is not None:
            _write_settled(stream_to, written, texts[row], stop, final=cut is not None)
        return cut is not None

    generate(
        model,
        ids,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        repetition_penalty=repetition_penalty,
        stop_token_ids=() if eot_id is None else (eot_id,),
        seed=seed,
        stream=on_token,
    )
    if stream_to is not None:
        _write_settled(stream_to, written, texts[0], stop, final=True)
    return texts


def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """Logits (B, V) with all but the k largest of each row set to -inf (ties with the k-th are kept)."""
    k = min(k, logits.shape[-1])
    kth = torch.topk(logits, k, dim=-1).values[:, -1:]  # (B, 1)
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """Logits (B, V) keeping, per row, the smallest set of most likely tokens whose probability reaches p.

    A token is dropped when the tokens more likely than it already reach p; the most likely token always stays.
    """
    ordered, order = torch.sort(logits, dim=-1, descending=True)  # (B, V), (B, V)
    probabilities = torch.softmax(ordered, dim=-1)  # (B, V)
    before = torch.cumsum(probabilities, dim=-1) - probabilities  # (B, V): probability of the more likely tokens
    drop_ordered = before >= p  # (B, V), in sorted order
    drop = torch.zeros_like(drop_ordered).scatter(-1, order, drop_ordered)  # (B, V), back in vocabulary order
    return logits.masked_fill(drop, float("-inf"))


def apply_repetition_penalty(logits: Tensor, seen: Tensor, penalty: float) -> Tensor:
    """CTRL's repetition penalty: logits (B, V) of seen tokens (B, V bool) are divided by it if positive, else
    multiplied, so a penalty above 1 always makes a repeat less likely."""
    penalised = torch.where(logits > 0, logits / penalty, logits * penalty)  # (B, V)
    return torch.where(seen, penalised, logits)


def next_tokens(logits: Tensor, seen: Tensor, sampling: Sampling, generator: torch.Generator | None) -> Tensor:
    """Choose one token per row (B,) from the last position's logits (B, V); `seen` marks each row's tokens."""
    logits = logits.float()
    if sampling.repetition_penalty != 1.0:
        logits = apply_repetition_penalty(logits, seen, sampling.repetition_penalty)
    if sampling.temperature == 0.0:
        return logits.argmax(dim=-1)  # (B,)
    logits = logits / sampling.temperature
    if sampling.top_k is not None:
        logits = top_k_filter(logits, sampling.top_k)
    if sampling.top_p is not None and sampling.top_p < 1.0:
        logits = top_p_filter(logits, sampling.top_p)
    probabilities = torch.softmax(logits, dim=-1)  # (B, V)
    return torch.multinomial(probabilities, 1, generator=generator)[:, 0]  # (B, 1) -> (B,)


def _decode(
    model: GPT,
    prompts: list[list[int]],
    sampling: Sampling,
    stop_ids: frozenset[int],
    stream: TokenCallback | None,
) -> list[list[int]]:
    """The decoding loop: prefill every prompt as one left-padded batch, then one token per step for all rows."""
    device = model.lm_head.weight.device
    context = model.config.context_length
    lengths = [len(prompt) for prompt in prompts]
    longest = max(lengths)
    # Row i may add budgets[i] tokens: the last is predicted from a full context and never fed back.
    budgets = [min(sampling.max_new_tokens, context - length + 1) for length in lengths]
    outputs: list[list[int]] = [[] for _ in prompts]
    if max(budgets) == 0:
        return outputs

    # 1. Prefill: the prompts, left-padded with token 0 (masked out), through the model once.
    padding = [longest - length for length in lengths]
    idx = torch.tensor([[0] * pad + prompt for pad, prompt in zip(padding, prompts, strict=True)], device=device)
    cache = model.new_cache(len(prompts), longest + max(budgets) - 1, padding=padding)
    logits = model.lm_head(model.transformer(idx, cache=cache)[:, -1])  # (B, T, C) -> (B, C) -> (B, V)
    seen = torch.zeros(len(prompts), model.config.vocab_size, dtype=torch.bool, device=device)  # (B, V)
    if sampling.repetition_penalty != 1.0:
        for row, prompt in enumerate(prompts):
            seen[row, prompt] = True
    generator = None
    if sampling.seed is not None and sampling.temperature > 0.0:
        generator = torch.Generator(device=device).manual_seed(sampling.seed)

    # 2. Decode: choose a token for every active row, record it, drop finished rows, feed the rest.
    active = list(range(len(prompts)))  # the prompt number of each batch row
    full_rows = []
    while True:
        chosen = next_tokens(logits, seen, sampling, generator)  # (B,)
        keep = []
        for row, (number, token) in enumerate(zip(active, chosen.tolist(), strict=True)):
            if token in stop_ids:
                continue
            outputs[number].append(token)
            ended = stream(number, token) if stream is not None else None
            if len(outputs[number]) < budgets[number] and not ended:
                keep.append(row)
            elif len(outputs[number]) < sampling.max_new_tokens and not ended:
                full_rows.append(number)
        if not keep:
            break
        if len(keep) < len(active):
            cache.select(keep)
            rows = torch.tensor(keep, device=device)
            chosen, seen = chosen[rows], seen[rows]  # (B,) -> (B',), (B, V) -> (B', V)
            active = [active[row] for row in keep]
        if sampling.repetition_penalty != 1.0:
            seen[torch.arange(len(active), device=device), chosen] = True
        logits = model.lm_head(model.transformer(chosen[:, None], cache=cache)[:, -1])  # (B, 1) -> (B, V)
    if full_rows:
        warnings.warn(
            f"prompts {sorted(full_rows)} stopped before max_new_tokens ({sampling.max_new_tokens}) because they "
            f"filled the model's context of {context} tokens",
            stacklevel=3,
        )
    return outputs


def _checked_prompts(prompts: list[list[int]], vocab_size: int, context: int) -> list[list[int]]:
    """The prompts as lists of ints, each cut from the left to the context length (with a warning)."""
    if not prompts:
        raise GenerationError("no prompts were given; pass at least one list of token ids")
    checked = []
    for number, prompt in enumerate(prompts):
        ids = [int(token) for token in prompt]
        if not ids:
            raise GenerationError(f"prompt {number} is empty; start it with a token, e.g. the end-of-text token")
        bad = next((token for token in ids if not 0 <= token < vocab_size), None)
        if bad is not None:
            raise GenerationError(
                f"prompt {number} has token id {bad}, outside the model's vocabulary of {vocab_size}; "
                "was it encoded with another tokenizer?"
            )
        if len(ids) > context:
            warnings.warn(
                f"prompt {number} has {len(ids)} tokens but the model's context is {context}; its first "
                f"{len(ids) - context} tokens were dropped",
                stacklevel=3,
            )
            ids = ids[-context:]
        checked.append(ids)
    return checked


def _first_stop(text: str, stop: Sequence[str]) -> int | None:
    """Where the earliest stop string in `text` begins, or None."""
    found = [index for index in (text.find(s) for s in stop if s) if index >= 0]
    return min(found) if found else None


def _held_back(text: str, stop: Sequence[str]) -> int:
    """How many characters at the end of `text` could still grow into a stop string (so are not written yet)."""
    longest = 0
    for s in stop:
        for size in range(min(len(s) - 1, len(text)), longest, -1):
            if s.startswith(text[len(text) - size :]):
                longest = size
                break
    return longest


def _write_settled(stream_to: TextIO, written: list[str], text: str, stop: Sequence[str], final: bool) -> None:
    """Write the part of `text` beyond `written[0]` that can no longer change.

    Not yet settled: a trailing replacement character (a character whose remaining bytes are in tokens still to
    come) and a trailing partial stop string. If an earlier part changed after being written (a tokenizer whose
    decoding is not prefix-stable), nothing more is written rather than something wrong.
    """
    if not final:
        text = text.rstrip("\ufffd")
        text = text[: len(text) - _held_back(text, stop)]
    if text.startswith(written[0]) and len(text) > len(written[0]):
        stream_to.write(text[len(written[0]) :])
        stream_to.flush()
        written[0] = text
