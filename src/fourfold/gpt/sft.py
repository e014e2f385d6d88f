"""Supervised fine-tuning examples: prompt/response and chat records as token ids with a loss mask.

A JSONL file holds one record a line, either `{"prompt": ..., "response": ...}` or a chat
`{"messages": [{"role": "system" | "user" | "assistant", "content": ...}, ...]}`. A prompt/response record
is rendered as (the format of the Alpaca-style instruction data sets, `<eot>` being the tokenizer's
end-of-text id, e.g. GPT-2's `<|endoftext|>`, left out when the tokenizer has none):

    ### Prompt
    {prompt}

    ### Response
    {response}<eot>

and a chat as one block per message, headed by its role, blocks separated by a blank line:

    ### System
    {content}

    ### User
    {content}

    ### Assistant
    {content}<eot>

The loss is taken only on the response (every assistant turn) and the end-of-text id after it: the model
learns to answer and to stop, not to write prompts. After fine-tuning, generate from `format_prompt(prompt)`
(or `format_chat(messages)`) and stop at the end-of-text id.

Each piece of text is tokenized on its own, so the ids of a prompt are those that generation from
`format_prompt` starts with.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fourfold.core.errors import FourfoldError
from fourfold.gpt.tokenizer import EOT_TEXT, Tokenizer

if TYPE_CHECKING:
    import torch

IGNORE_INDEX = -100
"""The target of positions without loss (prompt tokens and padding)."""
ROLE_HEADINGS = {"system": "System", "user": "User", "assistant": "Assistant"}
"""The heading of each chat role."""


class SFTError(FourfoldError):
    """An SFT file is missing or holds a malformed record."""


@dataclass(frozen=True)
class SFTExample:
    """One record as ids and a loss mask of the same length."""

    ids: list[int]
    mask: list[bool]
    """True on response (assistant) tokens and the end-of-text id after each: the tokens with loss."""
    line: int
    """The line of the record in its file."""
    cut: bool = False
    """True when the record was longer than the context and was cut."""


def format_prompt(prompt: str) -> str:
    """The text to generate a response from after fine-tuning on prompt/response records."""
    return f"### Prompt\n{prompt}\n\n### Response\n"


def format_chat(messages: Sequence[Mapping[str, str]], eot_text: str = EOT_TEXT) -> str:
    """The text to generate the next assistant turn from, after fine-tuning on chats.

    Args:
        messages: the conversation so far, as in the records.
        eot_text: written after each assistant turn; `<|endoftext|>` encodes to the end-of-text id with BPE
            tokenizers (a character tokenizer cannot encode it: pass "").
    """
    blocks = []
    for message in messages:
        role, content = message["role"], message["content"]
        if role not in ROLE_HEADINGS:
            raise SFTError(f"unknown chat role {role!r}; use one of {', '.join(ROLE_HEADINGS)}")
        ending = eot_text if role == "assistant" else ""
        blocks.append(f"### {ROLE_HEADINGS[role]}\n{content}{ending}\n\n")
    return "".join(blocks) + "### Assistant\n"


def load_sft(path: str | Path, tokenizer: Tokenizer, context_length: int) -> list[SFTExample]:
    """Read an SFT JSONL file into examples, in file order.

    An example longer than `context_length + 1` ids (inputs and targets of T positions) is cut so that its
    response survives: when everything from the first response token on fits, the start of the prompt is
    dropped; otherwise the prompt keeps its last tokens (at most half the context) and the end of the response
    is dropped. A warning says how many examples were cut; `SFTExample.cut` marks them.

    Raises:
        SFTError: the file is missing or unreadable, holds no record, or a record is malformed (the message
            names file and line).
    """
    path = Path(path)
    if context_length < 1:
        raise SFTError(f"context_length must be at least 1 (got {context_length})")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SFTError(f"no such SFT file: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SFTError(f"cannot read SFT file {path} ({error})") from None
    limit = context_length + 1
    examples: list[SFTExample] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            segments = _segments(_parse(line))
            ids, mask = _encode(segments, tokenizer)
        except FourfoldError as error:
            raise SFTError(f"{path}:{number}: {error}") from None
        if not any(mask):
            raise SFTError(f"{path}:{number}: the response is empty and the tokenizer has no end-of-text id")
        if len(ids) > limit:
            ids, mask = _cut(ids, mask, limit)
            examples.append(SFTExample(ids, mask, number, cut=True))
        else:
            examples.append(SFTExample(ids, mask, number))
    if not examples:
        raise SFTError(f"{path} holds no records; write one JSON object a line")
    num_cut = sum(example.cut for example in examples)
    if num_cut:
        warnings.warn(
            f"{path}: {num_cut} of {len(examples)} examples were longer than {limit} tokens "
            f"(context_length + 1) and were cut, keeping their responses",
            stacklevel=2,
        )
    return examples


def sft_batch(
    examples: Sequence[SFTExample],
    step: int,
    *,
    batch_size: int,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The SFT batch of `step`: inputs x and targets y (x shifted by one), padded to the longest row.

    A pure function of its arguments, like `fourfold.gpt.data.batch`: the global batch is rows
    `step·G … step·G + G - 1` (G = batch_size · world_size) of an endless stream that visits every example
    once per epoch, in the order `np.random.default_rng([seed, epoch]).permutation(len(examples))`; rank r
    takes rows r·B … (r+1)·B - 1. y is -100 where the target is not a response token and on padding; inputs
    are padded with 0 at the end, which causal attention keeps from affecting the real positions.

    Returns:
        x, y: int64 tensors of shape (B, T), T the longest example of this rank's rows less one.
    """
    import torch

    if not examples:
        raise SFTError("there are no SFT examples to draw a batch from")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size) (got rank {rank}, world_size {world_size})")
    first = step * batch_size * world_size + rank * batch_size
    orders: dict[int, np.ndarray] = {}
    rows: list[SFTExample] = []
    for position in range(first, first + batch_size):
        epoch, index = divmod(position, len(examples))
        if epoch not in orders:
            orders[epoch] = np.random.default_rng([seed, epoch]).permutation(len(examples))
        rows.append(examples[int(orders[epoch][index])])
    t = max(len(example.ids) for example in rows) - 1
    x = np.zeros((batch_size, t), dtype=np.int64)
    y = np.full((batch_size, t), IGNORE_INDEX, dtype=np.int64)
    for row, example in enumerate(rows):
        ids = np.asarray(example.ids, dtype=np.int64)  # (L,)
        k = len(ids) - 1
        x[row, :k] = ids[:-1]
        y[row, :k] = np.where(np.asarray(example.mask[1:], dtype=bool), ids[1:], IGNORE_INDEX)
    return torch.from_numpy(x), torch.from_numpy(y)


def _parse(line: str) -> dict[str, Any]:
    """The record of one line: a JSON object with prompt and response strings, or with chat messages."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise SFTError(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(record, dict):
        raise SFTError(f"expected a JSON object, got {type(record).__name__}")
    if "messages" in record:
        messages = record["messages"]
        if not isinstance(messages, list) or not messages:
            raise SFTError('"messages" must be a non-empty list of {"role", "content"} objects')
        for number, message in enumerate(messages):
            if not (isinstance(message, dict) and isinstance(message.get("content"), str)):
                raise SFTError(f'message {number} must be an object with a "content" string')
            if message.get("role") not in ROLE_HEADINGS:
                raise SFTError(
                    f"message {number} has role {message.get('role')!r}; use one of {', '.join(ROLE_HEADINGS)}"
                )
        if not any(message["role"] == "assistant" for message in messages):
            raise SFTError("the chat has no assistant message to learn from")
        return record
    if isinstance(record.get("prompt"), str) and isinstance(record.get("response"), str):
        return record
    raise SFTError('expected {"prompt": str, "response": str} or {"messages": [...]}')


def _segments(record: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """The record's text as (text, is_response) pieces in order; each response is followed by the eot id."""
    if "messages" not in record:
        return [(format_prompt(record["prompt"]), False), (record["response"], True)]
    segments: list[tuple[str, bool]] = []
    context = ""
    for number, message in enumerate(record["messages"]):
        context += ("\n\n" if number else "") + f"### {ROLE_HEADINGS[message['role']]}\n"
        if message["role"] == "assistant":
            segments += [(context, False), (message["content"], True)]
            context = ""
        else:
            context += message["content"]
    if context:
        segments.append((context, False))
    return segments


def _encode(segments: Sequence[tuple[str, bool]], tokenizer: Tokenizer) -> tuple[list[int], list[bool]]:
    """Ids and loss mask of the pieces; the tokenizer's eot id (if any) ends each response, in the loss."""
    ids: list[int] = []
    mask: list[bool] = []
    for text, is_response in segments:
        piece = tokenizer.encode(text)
        if is_response and tokenizer.eot_id is not None:
            piece.append(tokenizer.eot_id)
        ids += piece
        mask += [is_response] * len(piece)
    return ids, mask


def _cut(ids: list[int], mask: list[bool], limit: int) -> tuple[list[int], list[bool]]:
    """At most `limit` ids that keep the first response token (see `load_sft`)."""
    first = mask.index(True)
    # Everything from the first response token on fits: drop the start of the prompt. Otherwise keep the end
    # of the prompt (at most half the context) and drop the end of the response.
    start = len(ids) - limit if len(ids) - first <= limit else first - min(first, limit // 2)
    return ids[start : start + limit], mask[start : start + limit]
