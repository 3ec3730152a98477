"""Split text into words that keep their character offsets.

The rule follows GLiNER's whitespace splitter (``\\w+(?:[-_]\\w+)*|\\S``): runs of word
characters, joined by inner hyphens or underscores, and every other non-space character on
its own. Beyond ASCII, combining marks belong to the word they sit on (``\\w`` alone would cut
"हिन्दी" or a vowelled Arabic word into pieces), and so to a symbol they follow (an emoji's
variation selector). Scripts written without spaces get their own cut: Han, Hiragana and
Katakana one character per word, since a run of them is a phrase, not a word; Thai, Lao, Khmer
and Myanmar by a dictionary word breaker (see :mod:`anyner.text.segment`). Every word is a
slice of the caller's text, in order, never overlapping, and every non-space character is in
one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .marks import MARKS
from .segment import SEA_CLASS, word_ends

_WORD = re.compile(r"\w+(?:[-_]\w+)*|\S")  # GLiNER's rule: all an ASCII text needs
_LETTERS = f"[\\w{MARKS}]"
_WORD_ANY = re.compile(f"{_LETTERS}+(?:[-_]{_LETTERS}+)*|\\S[{MARKS}]*")
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
_SPECIAL = f"{_CJK_CLASS}{SEA_CLASS}"
_HAS_SPECIAL = re.compile(f"[{_SPECIAL}]")
# Inside a word with characters of those scripts: each CJK character alone, each run of Thai,
# Lao, Khmer or Myanmar for the word breaker, other runs kept together.
_PIECES = re.compile(f"([{_CJK_CLASS}])|([{SEA_CLASS}]+)|[^{_SPECIAL}]+")
# a CJK/SEA character followed by another non-space one: where a piece after it may start
_SPECIAL_EXIT = re.compile(f"[{_SPECIAL}](?=[^{_SPECIAL}\\s])")


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
    """At least ``len(split_words(text))``, found without building the words: what a cost
    estimate needs. A word with CJK, Thai, Lao, Khmer or Myanmar characters splits into at
    most one piece per such character, plus one per run of other characters, each of which
    starts the word or follows such a character."""
    if text.isascii():
        return len(_WORD.findall(text))
    special = len(_HAS_SPECIAL.findall(text))
    return len(_WORD_ANY.findall(text)) + (special + len(_SPECIAL_EXIT.findall(text)) if special else 0)


def split_words(text: str) -> Words:
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    if text.isascii():  # English and the like: GLiNER's rule, nothing else to look for
        for match in _WORD.finditer(text):
            words.append(match.group())
            starts.append(match.start())
            ends.append(match.end())
        return Words(words, starts, ends)
    for match in _WORD_ANY.finditer(text):
        word, start = match.group(), match.start()
        if _HAS_SPECIAL.search(word) is None:
            words.append(word)
            starts.append(start)
            ends.append(match.end())
            continue
        for piece in _PIECES.finditer(word):
            at = start + piece.start()
            run = piece.group(2)
            if run is None or len(run) == 1:
                words.append(piece.group())
                starts.append(at)
                ends.append(start + piece.end())
                continue
            begin = 0
            for end in word_ends(run):
                words.append(run[begin:end])
                starts.append(at + begin)
                ends.append(at + end)
                begin = end
    return Words(words, starts, ends)
