"""Split text into words that keep their character offsets.

The rule follows GLiNER's whitespace splitter (``\\w+(?:[-_]\\w+)*|\\S``): runs of word
characters, joined by inner hyphens or underscores, and every other non-space character on
its own. Scripts written without spaces (Han, Hiragana, Katakana) get one character per word,
since a run of them is a phrase, not a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\w+(?:[-_]\w+)*|\S")
_CJK_CLASS = (
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3005\u3007\u3021-\u3029\u3038-\u303b"  # ideographic iteration marks and numerals
    "\u3040-\u30ff\u31f0-\u31ff"  # Hiragana, Katakana and its extension
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs, extension A, compatibility
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # CJK ideograph extensions B-G
)
# half of a UTF-16 surrogate pair ("\\ud800", as json.loads gives for that escape): no tokenizer
# takes it. U+FFFD is one character too, so offsets into the caller's text stay the same.
_SURROGATE = re.compile("[\ud800-\udfff]")
_HAS_CJK = re.compile(f"[{_CJK_CLASS}]")
# Inside a word that has CJK characters: each CJK character alone, other runs kept together.
_CJK_PIECES = re.compile(f"[{_CJK_CLASS}]|[^{_CJK_CLASS}]+")


@dataclass(frozen=True)
class Words:
    """The words of one text and where each one sits in it (end exclusive)."""

    words: list[str]
    starts: list[int]
    ends: list[int]

    def __len__(self) -> int:
        return len(self.words)


def readable(text: str) -> str:
    """``text`` with each unpaired surrogate replaced by U+FFFD: what the tokenizer is given."""
    return _SURROGATE.sub("\ufffd", text)


def count_words(text: str) -> int:
    """At least ``len(split_words(text))`` (a CJK character counts apart, once more), found
    without building the words: what a cost estimate needs."""
    return len(_WORD.findall(text)) + len(_HAS_CJK.findall(text))


def split_words(text: str) -> Words:
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for match in _WORD.finditer(text):
        word, start = match.group(), match.start()
        if _HAS_CJK.search(word) is None:
            words.append(word)
            starts.append(start)
            ends.append(match.end())
            continue
        for piece in _CJK_PIECES.finditer(word):
            words.append(piece.group())
            starts.append(start + piece.start())
            ends.append(start + piece.end())
    return Words(words, starts, ends)
