"""DeepMoji's tokenizer and vocabulary: text to words, words to padded id arrays.

The rules are those of bfelbo/DeepMoji (`deepmoji/tokenizer.py`, `word_generator.py`, `filter_utils.py`;
Felbo et al. 2017, section 2.1), rewritten here:

- the text is stripped and lower-cased; line breaks (a newline, a carriage return, a literal `\\n` or `\\r`,
  `<br>`) become the word `CUSTOM_BREAK`; variation selectors go (and, here, skin tones and joiners too);
- words that are not ASCII are NFKC-normalised and their Unicode punctuation (’ “ – …) becomes ASCII;
- the tokenizer picks, at each place, the first of: URL, e-mail, words joined by `-` or `_`, #hashtag,
  @mention, heart (`<3`), emoticon (`:-)`, `>:(`, `^_^`…), contraction, title (`mr.`), abbreviation
  (`a.m.`), number, word, a run of one repeated symbol, emoji, any other character; whitespace separates;
- a character repeated three times or more is cut to two (`loooool` and `looool` are both `lool`, the
  paper's example);
- a number becomes `CUSTOM_NUMBER`, a word holding a mention (@user, an e-mail address) `CUSTOM_AT`, a URL
  `CUSTOM_URL`; hashtags stay words (`#blessed`), emoji and emoticons stay tokens.

Deliberate differences from the original: words are runs of Unicode letters, not only ASCII letters, so
`café` is one word (DeepMoji's model dropped or split such text); a retained emoji loses its skin tone; special
tokens are recognised before repeats are cut (DeepMoji cut first, so `www.x.com` became `ww.x.com`, no URL).

The vocabulary has DeepMoji's ten special tokens first (`CUSTOM_MASK` = 0 pads, `CUSTOM_UNKNOWN` = 1 for
words not in it), then words by descending count; `extend` appends a target set's new words, so existing ids
keep their meaning (the embedding grows at the end, as in the paper's transfer).

Shapes: N texts, T `max_length` tokens.
"""

from __future__ import annotations

import json
import math
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fourfold.core.errors import FourfoldError

SPECIAL_TOKENS: tuple[str, ...] = (
    "CUSTOM_MASK",
    "CUSTOM_UNKNOWN",
    "CUSTOM_AT",
    "CUSTOM_URL",
    "CUSTOM_NUMBER",
    "CUSTOM_BREAK",
    "CUSTOM_BLANK_6",
    "CUSTOM_BLANK_7",
    "CUSTOM_BLANK_8",
    "CUSTOM_BLANK_9",
)
"""DeepMoji's special tokens, ids 0 to 9 of every vocabulary (the blanks are reserved)."""
MASK_ID = 0
UNKNOWN_ID = 1
AT_TOKEN, URL_TOKEN, NUMBER_TOKEN, BREAK_TOKEN = SPECIAL_TOKENS[2:6]
MAX_REPEAT = 2
"""A character repeated more than this is cut to this many (DeepMoji's `shorten_word`)."""
MAX_WORD_LENGTH = 30
"""Longer words are never put in a vocabulary (DeepMoji's `word_length_limit`)."""
DEFAULT_VOCAB_SIZE = 50_000
"""DeepMoji's vocabulary size, special tokens included."""
VOCAB_FORMAT = "fourfold.deepmoji.vocabulary"
VOCAB_VERSION = 1


class VocabularyError(FourfoldError):
    """A vocabulary file is missing or damaged, or a vocabulary was asked for something impossible."""


# --- The token patterns (in order of preference at each position) ---------------------------------------------

_LETTERS = r"[^\W\d_]+"  # a run of Unicode letters
_URL = r"(?:https?://|www\.)[0-9A-Za-z!$%&'()*+,\-./:;<=>?@\[\\\]^_]+"
_EMAIL = r"\b[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9.-]+\b"
_JOINED = rf"{_LETTERS}[-_]{_LETTERS}"
_HASHTAG = r"#\w+"
_MENTION = r"@\w+"
_HEART = r"(?:<+/?3+)+"
_CONTRACTION = rf"{_LETTERS}'{_LETTERS}"
_TITLE = r"(?i:mrs|mr|ms|dr|prof)\."
_ABBREVIATION = r"\b(?<!\.)(?:[^\W\d_]\.){2,}"
_NUMBER = r"[0-9]+"
_EMOJI = r"[\U0001F300-\U0001F64F\U0001F680-\U0001F6FF\u2600-\u26FF\u2700-\u27BF]"


def _emoticon_pattern() -> str:
    """Emoticons: eyes, an optional nose, a mouth repeated (`:-)))`), and a few fixed faces."""
    fixed = ["-_-", "x_x", "^_^", "o.o", "o_o", "(:", "):", ");", "(;"]
    eyes = "|".join(re.escape(eye) for eye in (">:", ":", "=", ";"))
    noses = "".join(re.escape(nose) for nose in "-,^'\"")
    mouths = "|".join(f"{re.escape(mouth)}+" for mouth in "DdpPv)oO(3/|\\")
    return "|".join([*(re.escape(face) for face in fixed), f"(?:{eyes})[{noses}]?(?:{mouths})"])


def _symbol_pattern() -> str:
    """A run of one repeated symbol (`!!`, `...`); `#`/`@` runs leave the last one to a hashtag or mention."""
    symbols = "()<!?.,/'\"-_=\\§|´ˇ°[]<>{}~$^&*;:%+£€`"
    runs = [f"{re.escape(symbol)}+" for symbol in dict.fromkeys(symbols)]
    runs += [r"#+(?=#\w)", r"@+(?=@\w)", "#+", "@+"]
    return "|".join(runs)


_TOKEN_PATTERNS = (
    _URL,
    _EMAIL,
    _JOINED,
    _HASHTAG,
    _MENTION,
    _HEART,
    _emoticon_pattern(),
    _CONTRACTION,
    _TITLE,
    _ABBREVIATION,
    _NUMBER,
    _LETTERS,
    _symbol_pattern(),
    _EMOJI,
    r"\S",
)
_TOKEN_RE = re.compile("|".join(f"(?:{pattern})" for pattern in _TOKEN_PATTERNS))
_MENTION_RE = re.compile(_MENTION)
_URL_RE = re.compile(_URL, re.IGNORECASE)
_REPEAT_RE = re.compile(rf"(.)\1{{{MAX_REPEAT},}}", re.DOTALL)
_BREAKS = ("\\\\n", "\\n", "\n", "\\\\r", "\\r", "\r", "<br>")
# Variation selectors U+FE00-FE0F, skin tones, zero-width joiner: decorations of emoji, not tokens.
_DECORATION_RE = re.compile("[\ufe00-\ufe0f\U0001f3fb-\U0001f3ff\u200d]")
# Unicode punctuation that DeepMoji (through unidecode) turned into ASCII.
_ASCII_PUNCTUATION = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "--",
        "―": "--",
        "−": "-",
        "«": "<<",
        "»": ">>",
        "‹": "<",
        "›": ">",
        "⁉": "!?",
        "⁈": "?!",
    }
)


def tokenize(text: str) -> list[str]:
    """Split `text` into DeepMoji's raw tokens (no lower-casing, no special tokens; see `words`).

    Example:
        >>> tokenize("I <3 you :-) #love")
        ['I', '<3', 'you', ':-)', '#love']
    """
    return _TOKEN_RE.findall(text)


def words(text: str) -> list[str]:
    """The words DeepMoji's model sees for `text`: cleaned, tokenized, shortened, special tokens substituted.

    Example:
        >>> words("@Bob LOOOOOL it's 42 http://x.co ❤️")
        ['CUSTOM_AT', 'lool', "it's", 'CUSTOM_NUMBER', 'CUSTOM_URL', '❤']
    """
    text = text.strip().lower()
    for newline in _BREAKS:
        if newline in text:
            text = text.replace(newline, f" {BREAK_TOKEN} ")
    text = _DECORATION_RE.sub("", text)
    if not text.isascii():
        text = " ".join(_ascii_punctuation(word) for word in text.split())
    return [_special(token) or _shorten(token) for token in tokenize(text)]


def _ascii_punctuation(word: str) -> str:
    """A non-ASCII word, NFKC-normalised (`…` → `...`) with its Unicode punctuation made ASCII."""
    if word.isascii():
        return word
    return unicodedata.normalize("NFKC", word).translate(_ASCII_PUNCTUATION)


def _shorten(token: str) -> str:
    """Cut every run of three or more identical characters to two (`!!!!` → `!!`)."""
    return _REPEAT_RE.sub(lambda run: run.group(1) * MAX_REPEAT, token)


def _special(token: str) -> str | None:
    """DeepMoji's `detect_special_tokens`: numbers, words holding a mention, URLs; None for other tokens.

    Checked before shortening (DeepMoji shortened first, so `www.x.com` became `ww.x.com`, no URL)."""
    if token.isdecimal():
        return NUMBER_TOKEN
    if _MENTION_RE.search(token):
        return AT_TOKEN
    if _URL_RE.search(token):
        return URL_TOKEN
    return None


@dataclass(frozen=True)
class Vocabulary:
    """Words and their ids: `words[i]` has id i; the first ten are `SPECIAL_TOKENS`.

    Build one with `Vocabulary.build(texts)`, encode with `encode`, grow with `extend`, store with `save`/`load`.
    """

    words: tuple[str, ...]
    """All entries in id order, special tokens first."""
    counts: tuple[int, ...]
    """How often each entry was seen in the corpus it was built from (0 for the special tokens)."""
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.words[: len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
            raise VocabularyError(f"a vocabulary must start with DeepMoji's special tokens {', '.join(SPECIAL_TOKENS)}")
        if len(self.counts) != len(self.words):
            raise VocabularyError(f"a vocabulary has {len(self.words)} words but {len(self.counts)} counts")
        index = {word: i for i, word in enumerate(self.words)}
        if len(index) != len(self.words):
            raise VocabularyError("a vocabulary lists a word twice")
        object.__setattr__(self, "index", index)

    def __len__(self) -> int:
        return len(self.words)

    @property
    def size(self) -> int:
        """Number of entries, special tokens included (the embedding's row count)."""
        return len(self.words)

    @classmethod
    def build(cls, texts: Iterable[str], *, max_size: int = DEFAULT_VOCAB_SIZE, min_count: int = 1) -> Vocabulary:
        """The `max_size` most frequent words of `texts` seen at least `min_count` times (ties: alphabetical)."""
        return cls.from_counts(count_words(texts), max_size=max_size, min_count=min_count)

    @classmethod
    def from_counts(cls, counts: Counter[str], *, max_size: int = DEFAULT_VOCAB_SIZE, min_count: int = 1) -> Vocabulary:
        """A vocabulary of the most frequent words of `counts` (see `build`)."""
        if max_size < len(SPECIAL_TOKENS):
            raise VocabularyError(f"max_size must be at least {len(SPECIAL_TOKENS)} (got {max_size})")
        if min_count < 1:
            raise VocabularyError(f"min_count must be at least 1 (got {min_count})")
        chosen = _most_frequent(counts, set(SPECIAL_TOKENS), max_size - len(SPECIAL_TOKENS), min_count)
        return cls(
            SPECIAL_TOKENS + tuple(word for word, _ in chosen),
            (0,) * len(SPECIAL_TOKENS) + tuple(count for _, count in chosen),
        )

    def extend(self, texts: Iterable[str], *, max_new_words: int = 10_000, min_count: int = 1) -> Vocabulary:
        """This vocabulary plus up to `max_new_words` words of `texts` it lacks, most frequent first, at the end.

        Existing ids keep their meaning; the model's embedding grows by `len(new) - len(self)` rows.
        """
        if max_new_words < 0:
            raise VocabularyError(f"max_new_words must be 0 or more (got {max_new_words})")
        chosen = _most_frequent(count_words(texts), set(self.words), max_new_words, max(min_count, 1))
        return Vocabulary(
            self.words + tuple(word for word, _ in chosen), self.counts + tuple(count for _, count in chosen)
        )

    def ids(self, text: str) -> list[int]:
        """The ids of the words of `text`, unknown words as `UNKNOWN_ID`, no padding, no length limit."""
        return [self.index.get(word, UNKNOWN_ID) for word in words(text)]

    def encode(self, texts: Sequence[str], max_length: int) -> np.ndarray:
        """Texts as a padded id array (N, T) int64: the first `max_length` words, then `MASK_ID` (0).

        A text without words is a row of zeros; a row's length is its count of non-zero ids.
        """
        if max_length < 1:
            raise VocabularyError(f"max_length must be at least 1 (got {max_length})")
        out = np.zeros((len(texts), max_length), dtype=np.int64)  # (N, T)
        for row, text in enumerate(texts):
            ids = self.ids(text)[:max_length]
            out[row, : len(ids)] = ids
        return out

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The words of ids, padding dropped."""
        return [self.words[i] for i in ids if i != MASK_ID]

    def known_word_rate(self, texts: Iterable[str]) -> float:
        """Share of the words of `texts` that the vocabulary knows (special tokens count as known; DeepMoji's
        `coverage`). 1.0 when the texts hold no words."""
        known = total = 0
        for text in texts:
            for word in words(text):
                total += 1
                known += word in self.index
        return known / total if total else 1.0

    def save(self, path: str | Path) -> Path:
        """Write the vocabulary as JSON (via a temporary file, renamed when complete)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": VOCAB_FORMAT, "version": VOCAB_VERSION, "words": self.words, "counts": self.counts}
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        temporary.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read a vocabulary written by `save`."""
        path = Path(path)
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise VocabularyError(f"no vocabulary at {path}; build one with Vocabulary.build or pretraining") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise VocabularyError(f"the vocabulary {path} is damaged ({error}); rebuild it") from None
        if not isinstance(payload, dict) or payload.get("format") != VOCAB_FORMAT:
            raise VocabularyError(f"{path} is not a fourfold DeepMoji vocabulary (no format {VOCAB_FORMAT!r})")
        if payload.get("version") != VOCAB_VERSION:
            raise VocabularyError(f"{path} has vocabulary version {payload.get('version')}, expected {VOCAB_VERSION}")
        entries, counts = payload.get("words"), payload.get("counts")
        if not (isinstance(entries, list) and all(isinstance(word, str) for word in entries)):
            raise VocabularyError(f"the vocabulary {path} is damaged: 'words' is not a list of strings")
        if not (isinstance(counts, list) and all(isinstance(count, int) for count in counts)):
            raise VocabularyError(f"the vocabulary {path} is damaged: 'counts' is not a list of integers")
        try:
            return cls(tuple(entries), tuple(counts))
        except VocabularyError as error:
            raise VocabularyError(f"the vocabulary {path} is damaged: {error}") from None


def count_words(texts: Iterable[str]) -> Counter[str]:
    """How often each word of `texts` occurs (words longer than `MAX_WORD_LENGTH` left out, as DeepMoji did)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word for word in words(text) if len(word) <= MAX_WORD_LENGTH)
    return counts


def suggested_max_length(texts: Iterable[str], *, percentile: float = 80.0, multiple: int = 10) -> int:
    """DeepMoji's `maxlen` for a data set: the `percentile` of word counts, rounded up to a `multiple` (≥ 1)."""
    lengths = [len(words(text)) for text in texts]
    if not lengths:
        return multiple
    value = float(np.percentile(lengths, percentile))
    return max(multiple, math.ceil(value / multiple) * multiple)


def _most_frequent(counts: Counter[str], exclude: set[str], limit: int, min_count: int) -> list[tuple[str, int]]:
    """Up to `limit` (word, count) pairs not in `exclude`, count ≥ `min_count`, by count then alphabetically."""
    candidates = [(word, count) for word, count in counts.items() if count >= min_count and word not in exclude]
    candidates.sort(key=lambda pair: (-pair[1], pair[0]))
    return candidates[:limit]
