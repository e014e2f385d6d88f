"""GPT (Radford et al. 2018, "Improving Language Understanding by Generative Pre-Training"; 2019, "Language Models
are Unsupervised Multitask Learners"): a decoder-only transformer exact to GPT-2, with tokenizers, data
preparation, training, supervised fine-tuning, evaluation, generation and Hugging Face GPT-2 import/export.

`from fourfold.gpt import GPT` works; the model module (and torch) is imported only when `GPT` is first used, so
`fourfold gpt --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fourfold.gpt.model import GPT

__all__ = ["GPT"]


def __getattr__(name: str) -> Any:
    if name == "GPT":
        from fourfold.gpt.model import GPT

        return GPT
    raise AttributeError(f"module 'fourfold.gpt' has no attribute {name!r}")
