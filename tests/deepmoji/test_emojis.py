"""The 64 emoji table (order, names, the CSV it mirrors) and finding and stripping emoji."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import emoji as emoji_package
import pytest

from fourfold.deepmoji.emojis import (
    EMOJI_CHARS,
    EMOJI_NAMES,
    EMOJIS,
    NUM_EMOJIS,
    emoji_classes,
    emoji_index,
    find_emoji,
    strip_emoji,
    strip_selectors,
)


def test_sixty_four_distinct_emoji_in_class_order() -> None:
    assert NUM_EMOJIS == len(EMOJIS) == len(set(EMOJI_CHARS)) == 64
    assert [e.index for e in EMOJIS] == list(range(64))
    assert all(len(char) == 1 for char in EMOJI_CHARS)
    # Spot checks against DeepMoji's emoji_overview: 😂 first, ❤ ninth, ♡ 48th, ✨ last.
    assert (EMOJI_CHARS[0], EMOJI_CHARS[8], EMOJI_CHARS[47], EMOJI_CHARS[63]) == ("😂", "❤", "♡", "✨")


def test_names_are_the_emoji_package_names() -> None:
    for entry in EMOJIS:
        if emoji_package.is_emoji(entry.char):
            assert entry.name == emoji_package.demojize(entry.char).strip(":"), entry
        else:  # ♡ is not an emoji to the package: its Unicode name
            assert entry.name == unicodedata.name(entry.char).lower().replace(" ", "_")
    assert EMOJI_NAMES[0] == "face_with_tears_of_joy" and EMOJI_NAMES[47] == "white_heart_suit"


def test_table_equals_deepmoji_csv(shared_data: Path) -> None:
    path = shared_data / "deepmoji" / "wanted_emojis.csv"
    if not path.is_file():
        pytest.skip(f"needs {path}")
    lines = path.read_text(encoding="utf-8").split()
    assert tuple(line.encode("ascii").decode("unicode_escape") for line in lines) == EMOJI_CHARS


def test_emoji_index_ignores_selectors_and_skin_tones() -> None:
    assert emoji_index("❤️") == emoji_index("❤") == 8
    assert emoji_index("👍🏽") == 33
    assert emoji_index("🔥") is None
    assert emoji_index("❤️‍🔥") is None  # a ZWJ sequence is an emoji of its own


def test_find_emoji_positions_and_classes() -> None:
    text = "hi ❤️ you 👍🏽 ♡ 🔥 👨‍👩‍👧!"
    found = find_emoji(text)
    assert [text[m.start : m.end] for m in found] == [m.emoji for m in found]
    assert [m.emoji for m in found] == ["❤️", "👍🏽", "♡", "🔥", "👨‍👩‍👧"]
    assert [m.index for m in found] == [8, 33, 47, None, None]
    assert find_emoji("plain ascii :-)") == []


def test_emoji_classes_are_distinct_in_order_of_appearance() -> None:
    assert emoji_classes("😂😂 ok ❤️ ♡ 😂 👍🏽") == [0, 8, 47, 33]
    assert emoji_classes("🔥 ❤️‍🔥 nothing of the 64") == []


def test_strip_emoji_leaves_clean_text() -> None:
    assert strip_emoji("I love you ❤️ so much😂") == "I love you so much"
    assert strip_emoji("love❤️you") == "love you"
    assert strip_emoji("family 👨‍👩‍👧 day 1️⃣") == "family day"
    assert strip_emoji("heart ♡️") == "heart"
    # stray selectors where TweetEval cut the emoji out
    assert strip_emoji("people \ufe0f \ufe0f \ufe0f #friends") == "people #friends"
    assert strip_emoji("two\nlines 😂 here") == "two\nlines here"
    assert strip_emoji("no  emoji here ") == "no  emoji here "  # nothing removed: unchanged
    assert strip_emoji("😂") == ""


def test_strip_selectors_only_removes_selectors() -> None:
    assert strip_selectors("a \ufe0f b\ufe0e ❤") == "a  b ❤"
