"""The 64 emoji of DeepMoji in class order, and finding and stripping emoji in text.

DeepMoji (Felbo et al., EMNLP 2017, section 2.1) predicts which of 64 common emoji a tweet carried. The class
order is that of `data/filtering/wanted_emojis.csv` in bfelbo/DeepMoji (copied in `../shared/data/deepmoji`); the
table below holds it, so nothing here needs the data. Names are the `emoji` package's CLDR short names
(`emoji.demojize`, colons dropped); ♡ (U+2661), which that package does not count as an emoji, is named after its
Unicode name.

Matching follows DeepMoji's `extract_emojis`, which reads an emoji with its variation selector removed, and goes
one step further: a skin-tone modifier is dropped too (👍🏽 counts as 👍), while a ZWJ sequence (❤️‍🔥, 👨‍👩‍👧) is an
emoji of its own and counts as none of the 64.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import emoji as emoji_package

NUM_EMOJIS = 64
"""Number of DeepMoji's emoji classes."""

VARIATION_SELECTORS = "\ufe0e\ufe0f"
"""Text (U+FE0E) and emoji (U+FE0F) presentation selectors: stray ones are left behind when an emoji is cut out."""
ZWJ = "\u200d"
"""Zero-width joiner, the glue of emoji sequences such as 👨‍👩‍👧."""
SKIN_TONES = "\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff"
"""The five Fitzpatrick skin-tone modifiers."""
KEYCAP = "\u20e3"
"""Combining enclosing keycap (the box of 1️⃣)."""


@dataclass(frozen=True)
class Emoji:
    """One of DeepMoji's 64 emoji classes."""

    index: int
    """Class id, 0 to 63, in DeepMoji's order."""
    char: str
    """The emoji: one code point, without variation selector."""
    name: str
    """Short name, e.g. "face_with_tears_of_joy"."""


@dataclass(frozen=True)
class EmojiMatch:
    """One emoji found in a text: `text[start:end] == emoji`."""

    start: int
    end: int
    emoji: str
    """The emoji as written, with any selector, skin tone or joined parts."""
    index: int | None
    """Its DeepMoji class id, or None when it is not one of the 64."""


# (char, name) in DeepMoji's class order: wanted_emojis.csv, one line a class.
_TABLE: tuple[tuple[str, str], ...] = (
    ("\U0001f602", "face_with_tears_of_joy"),
    ("\U0001f612", "unamused_face"),
    ("\U0001f629", "weary_face"),
    ("\U0001f62d", "loudly_crying_face"),
    ("\U0001f60d", "smiling_face_with_heart-eyes"),
    ("\U0001f614", "pensive_face"),
    ("\U0001f44c", "OK_hand"),
    ("\U0001f60a", "smiling_face_with_smiling_eyes"),
    ("\u2764", "red_heart"),
    ("\U0001f60f", "smirking_face"),
    ("\U0001f601", "beaming_face_with_smiling_eyes"),
    ("\U0001f3b6", "musical_notes"),
    ("\U0001f633", "flushed_face"),
    ("\U0001f4af", "hundred_points"),
    ("\U0001f634", "sleeping_face"),
    ("\U0001f60c", "relieved_face"),
    ("\u263a", "smiling_face"),
    ("\U0001f64c", "raising_hands"),
    ("\U0001f495", "two_hearts"),
    ("\U0001f611", "expressionless_face"),
    ("\U0001f605", "grinning_face_with_sweat"),
    ("\U0001f64f", "folded_hands"),
    ("\U0001f615", "confused_face"),
    ("\U0001f618", "face_blowing_a_kiss"),
    ("\u2665", "heart_suit"),
    ("\U0001f610", "neutral_face"),
    ("\U0001f481", "person_tipping_hand"),
    ("\U0001f61e", "disappointed_face"),
    ("\U0001f648", "see-no-evil_monkey"),
    ("\U0001f62b", "tired_face"),
    ("\u270c", "victory_hand"),
    ("\U0001f60e", "smiling_face_with_sunglasses"),
    ("\U0001f621", "enraged_face"),
    ("\U0001f44d", "thumbs_up"),
    ("\U0001f622", "crying_face"),
    ("\U0001f62a", "sleepy_face"),
    ("\U0001f60b", "face_savoring_food"),
    ("\U0001f624", "face_with_steam_from_nose"),
    ("\u270b", "raised_hand"),
    ("\U0001f637", "face_with_medical_mask"),
    ("\U0001f44f", "clapping_hands"),
    ("\U0001f440", "eyes"),
    ("\U0001f52b", "water_pistol"),
    ("\U0001f623", "persevering_face"),
    ("\U0001f608", "smiling_face_with_horns"),
    ("\U0001f613", "downcast_face_with_sweat"),
    ("\U0001f494", "broken_heart"),
    ("\u2661", "white_heart_suit"),
    ("\U0001f3a7", "headphone"),
    ("\U0001f64a", "speak-no-evil_monkey"),
    ("\U0001f609", "winking_face"),
    ("\U0001f480", "skull"),
    ("\U0001f616", "confounded_face"),
    ("\U0001f604", "grinning_face_with_smiling_eyes"),
    ("\U0001f61c", "winking_face_with_tongue"),
    ("\U0001f620", "angry_face"),
    ("\U0001f645", "person_gesturing_NO"),
    ("\U0001f4aa", "flexed_biceps"),
    ("\U0001f44a", "oncoming_fist"),
    ("\U0001f49c", "purple_heart"),
    ("\U0001f496", "sparkling_heart"),
    ("\U0001f499", "blue_heart"),
    ("\U0001f62c", "grimacing_face"),
    ("\u2728", "sparkles"),
)

EMOJIS: tuple[Emoji, ...] = tuple(Emoji(index, char, name) for index, (char, name) in enumerate(_TABLE))
"""DeepMoji's 64 emoji in class order."""
EMOJI_CHARS: tuple[str, ...] = tuple(char for char, _ in _TABLE)
"""The 64 characters in class order (`EMOJI_CHARS[i]` is class i)."""
EMOJI_NAMES: tuple[str, ...] = tuple(name for _, name in _TABLE)
"""The 64 names in class order."""

_INDEX: dict[str, int] = {char: index for index, char in enumerate(EMOJI_CHARS)}
# Classes the emoji package does not recognise as emoji (♡): found by a plain character scan.
_UNRECOGNISED = "".join(char for char in EMOJI_CHARS if not emoji_package.is_emoji(char))
_UNRECOGNISED_RE = re.compile(f"[{re.escape(_UNRECOGNISED)}][{VARIATION_SELECTORS}]?") if _UNRECOGNISED else None
_CLASS_CHARS = frozenset(EMOJI_CHARS)
_DECORATIONS = str.maketrans("", "", VARIATION_SELECTORS + SKIN_TONES)
# Leftovers of a removed emoji: selectors, skin tones and keycaps anywhere, a joiner not between two word characters.
_STRAY_RE = re.compile(f"[{VARIATION_SELECTORS}{SKIN_TONES}{KEYCAP}]|(?<!\\w){ZWJ}|{ZWJ}(?!\\w)")
_SPACES_RE = re.compile(r"[ \t]+")


def emoji_index(emoji: str) -> int | None:
    """DeepMoji class id of `emoji` (variation selectors and skin tones ignored), or None if not one of the 64."""
    return _INDEX.get(emoji.translate(_DECORATIONS))


def find_emoji(text: str) -> list[EmojiMatch]:
    """All emoji in `text`, in order: what the `emoji` package finds, plus ♡.

    Args:
        text: any text.

    Returns:
        One match per emoji (a ZWJ sequence or an emoji with its skin tone is one match), with its class id.
    """
    if text.isascii():  # no emoji is ASCII: the common case, skipped fast
        return []
    matches = [
        EmojiMatch(found["match_start"], found["match_end"], found["emoji"], emoji_index(found["emoji"]))
        for found in emoji_package.emoji_list(text)
    ]
    if _UNRECOGNISED_RE is not None and any(char in text for char in _UNRECOGNISED):
        extra = [
            EmojiMatch(hit.start(), hit.end(), hit.group(), emoji_index(hit.group()))
            for hit in _UNRECOGNISED_RE.finditer(text)
        ]
        matches = sorted(matches + extra, key=lambda match: match.start)
    return matches


def emoji_classes(text: str) -> list[int]:
    """The distinct DeepMoji classes of the emoji in `text`, in order of first appearance."""
    if _CLASS_CHARS.isdisjoint(text):  # none of the 64 characters: skip the full emoji scan
        return []
    classes: list[int] = []
    for match in find_emoji(text):
        if match.index is not None and match.index not in classes:
            classes.append(match.index)
    return classes


def strip_selectors(text: str) -> str:
    """`text` without variation selectors U+FE0E and U+FE0F (TweetEval's emoji task leaves them behind)."""
    return text.replace("\ufe0f", "").replace("\ufe0e", "")


def strip_emoji(text: str) -> str:
    """`text` without its emoji and without the stray selectors, skin tones, keycaps and joiners they leave.

    Each emoji becomes a space, so words on both sides stay apart; where anything was removed, runs of spaces and
    tabs shrink to one space and the ends are trimmed. A text with nothing to remove comes back unchanged.
    """
    matches = find_emoji(text)
    if not matches and not _STRAY_RE.search(text):
        return text
    pieces: list[str] = []
    position = 0
    for match in matches:
        pieces.append(text[position : match.start])
        pieces.append(" ")
        position = match.end
    pieces.append(text[position:])
    stripped = _STRAY_RE.sub("", "".join(pieces))
    return "\n".join(_SPACES_RE.sub(" ", line).strip() for line in stripped.split("\n")).strip()
