"""The shape of a DeepMoji network (`ModelConfig`) and its named presets, from DeepMoji itself to a test-sized toy.

DeepMoji (Felbo et al. 2017, section 3.1; bfelbo/DeepMoji `deepmoji/model_def.py`): a 256-wide embedding squashed
by tanh, two bidirectional LSTM layers of 512 units per direction, an attention layer over the concatenation of
both LSTM outputs and the embedding (a skip connection; 4 x 512 + 256 = 2,304 channels), and a softmax head. At a
50,000-word vocabulary and the 64 emoji this has exactly 22,395,200 parameters: Keras's LSTM has one bias vector
per direction where PyTorch's has two, and `fourfold.deepmoji.model` keeps Keras's count.

Dropout follows the original transfer model (`deepmoji_transfer`): 0.25 on the embedding, dropping whole
channels of a text (Keras's `SpatialDropout1D`), and 0.5 before the head. `small` and `tiny` keep the layout at
widths a laptop CPU trains in minutes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from fourfold.core.config import ConfigError, require

DEEPMOJI_VOCAB_SIZE = 50_000
"""DeepMoji's vocabulary size (`NB_TOKENS`), special tokens included."""
DEEPMOJI_NUM_CLASSES = 64
"""DeepMoji's pretraining classes: its 64 emoji (`NB_EMOJI_CLASSES`)."""


@dataclass(frozen=True)
class ModelConfig:
    """The shape of a DeepMoji network: embedding, bidirectional LSTM layers, attention pooling, linear head."""

    vocab_size: int = DEEPMOJI_VOCAB_SIZE
    """V, rows of the embedding (DeepMoji: 50,000; id 0 is padding)."""
    num_classes: int = DEEPMOJI_NUM_CLASSES
    """C, outputs of the head (DeepMoji pretraining: its 64 emoji)."""
    embed_dim: int = 256
    """E, width of the word embedding (DeepMoji: 256)."""
    hidden_size: int = 512
    """H, units of each LSTM direction; a layer's output is 2H wide (DeepMoji: 512)."""
    num_layers: int = 2
    """Bidirectional LSTM layers (DeepMoji: 2)."""
    embed_dropout: float = 0.25
    """Dropout of whole embedding channels per text while training (DeepMoji transfer: 0.25)."""
    final_dropout: float = 0.5
    """Dropout on the attention-pooled vector before the head while training (DeepMoji transfer: 0.5)."""
    context_length: int = 50
    """T max, tokens kept per text when texts are encoded for this model (tweets rarely reach 50 words)."""

    def __post_init__(self) -> None:
        for name in ("vocab_size", "num_classes", "embed_dim", "hidden_size", "num_layers", "context_length"):
            value = getattr(self, name)
            require(isinstance(value, int) and value >= 1, name, f"must be a whole number of at least 1 (got {value})")
        require(self.vocab_size >= 2, "vocab_size", f"must be at least 2: id 0 is padding (got {self.vocab_size})")
        for name in ("embed_dropout", "final_dropout"):
            value = getattr(self, name)
            require(0.0 <= value < 1.0, name, f"must be in [0, 1) (got {value})")

    @property
    def attention_size(self) -> int:
        """A, channels the attention pools: every LSTM layer's 2H outputs and the embedding (DeepMoji: 2,304)."""
        return 2 * self.hidden_size * self.num_layers + self.embed_dim

    @property
    def num_parameters(self) -> int:
        """Trainable parameters, with one bias per LSTM direction as in Keras (DeepMoji: 22,395,200)."""
        h = self.hidden_size
        total = self.vocab_size * self.embed_dim
        layer_input = self.embed_dim
        for _ in range(self.num_layers):
            total += 2 * (4 * h * (layer_input + h) + 4 * h)  # two directions: input and recurrent weights, bias
            layer_input = 2 * h
        total += self.attention_size  # the attention vector
        total += self.attention_size * self.num_classes + self.num_classes  # the head
        return total

    def replace(self, **changes: object) -> ModelConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


PRESETS: dict[str, ModelConfig] = {
    "full": ModelConfig(),
    "small": ModelConfig(embed_dim=128, hidden_size=256),
    "tiny": ModelConfig(embed_dim=32, hidden_size=32),
}
"""Named model shapes. `vocab_size` and `num_classes` are replaced by the vocabulary's and the data set's."""


def preset(name: str) -> ModelConfig:
    """The preset called `name` ("full" is DeepMoji's network).

    Raises:
        ConfigError: there is no such preset (the message lists them).
    """
    if name not in PRESETS:
        raise ConfigError("preset", f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
