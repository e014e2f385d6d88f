"""`fourfold gpt export`: a fourfold GPT checkpoint as a Hugging Face GPT-2 folder that transformers loads."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from fourfold.gpt.config import ExportConfig
from fourfold.gpt.hf import export_hf_gpt2
from fourfold.gpt.pretrained import load_pretrained
from fourfold.gpt.tokenizer import save_tokenizer_files


@dataclass
class ExportSummary:
    """Where the Hugging Face folder was written, and what it holds."""

    out: str
    files: list[str]
    parameters: int


def export(config: ExportConfig) -> ExportSummary:
    """Write `config.checkpoint`'s model and tokenizer to `config.out` in Hugging Face GPT-2 format."""
    pretrained = load_pretrained(config.checkpoint)
    with tempfile.TemporaryDirectory() as scratch:
        save_tokenizer_files(pretrained.tokenizer, Path(scratch))
        tokenizer_files = {p.name: p.read_bytes() for p in sorted(Path(scratch).iterdir())}
    out = export_hf_gpt2(
        pretrained.model, config.out, tokenizer_files=tokenizer_files, eot_id=pretrained.tokenizer.eot_id
    )
    return ExportSummary(
        out=str(out), files=sorted(p.name for p in out.iterdir()), parameters=pretrained.model.num_parameters()
    )
