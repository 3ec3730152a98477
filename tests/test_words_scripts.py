"""Words in every script: offsets exact, ordered, non-overlapping, covering every non-space
character; marks stay on their letter; Thai, Lao, Khmer and Myanmar cut by a dictionary (ICU)
when it is installed, else one character with its marks per word."""

from __future__ import annotations

import logging
import re
import sys
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anyner.runtime import auto
from anyner.text import segment
from anyner.text.marks import MARK_RANGES, UNICODE_VERSION
from anyner.text.words import count_words, split_words

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SCRIPTS = {
    "latin": [(0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x300, 0x36F)],
    "cyrillic": [(0x400, 0x4FF)],
    "arabic": [(0x600, 0x6FF)],
    "devanagari": [(0x900, 0x97F)],
    "cjk": [(0x3040, 0x30FF), (0x4E00, 0x9FFF)],
    "hangul": [(0x1100, 0x11FF), (0xAC00, 0xD7A3)],
    "thai": [(0xE00, 0xE7F)],
    "lao": [(0xE80, 0xEFF)],
    "khmer": [(0x1780, 0x17FF), (0x19E0, 0x19FF)],
    "myanmar": [(0x1000, 0x109F), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F)],
}
SEPARATORS = [
    " ",
    "  ",
    "\t",
    "\n",
    "\u00a0",
    "\u3000",
    "\u200b",
    ".",
    ",",
    "!",
    "(",
    ")",
    "-",
    "_",
    "1",
    "42",
]
# real words, so that the dictionary has something to find
LEXICON = {
    "thai": ["ผม", "กิน", "ข้าว", "ที่", "ร้าน", "อาหาร", "ใน", "กรุงเทพมหานคร", "ประเทศ", "ไทย"],
    "lao": ["ສະບາຍດີ", "ປະເທດ", "ລາວ", "ນະຄອນ", "ຫຼວງ", "ວຽງຈັນ"],
    "khmer": ["ខ្ញុំ", "ស្រឡាញ់", "ប្រទេស", "កម្ពុជា", "ភ្នំពេញ"],
    "myanmar": ["မြန်မာ", "နိုင်ငံ", "သည်", "ရန်ကုန်", "မြို့"],
}


def _chars(script: str) -> st.SearchStrategy[str]:
    return st.one_of(*(st.characters(min_codepoint=a, max_codepoint=b) for a, b in SCRIPTS[script]))


def _text(*scripts: str) -> st.SearchStrategy[str]:
    pieces = st.one_of(*(_chars(s) for s in scripts), st.sampled_from(SEPARATORS))
    return st.lists(pieces, max_size=80).map("".join)


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")


def assert_words_slice(text: str) -> None:
    w = split_words(text)
    assert len(w.words) == len(w.starts) == len(w.ends)
    covered: list[int] = []
    previous_end = 0
    for word, start, end in zip(w.words, w.starts, w.ends, strict=True):
        assert text[start:end] == word, (text, word, start, end)
        assert start >= previous_end and end > start  # ordered, never overlapping, never empty
        assert not any(ch.isspace() for ch in word)
        covered.extend(range(start, end))
        previous_end = end
    assert covered == [i for i, ch in enumerate(text) if not ch.isspace()]
    assert count_words(text) >= len(w)


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_each_script_slices_exactly(script):
    @SETTINGS
    @given(text=_text(script))
    def check(text):
        assert_words_slice(text)

    check()


@SETTINGS
@given(text=_text(*SCRIPTS))
def test_mixed_scripts_slice_exactly(text):
    assert_words_slice(text)


@SETTINGS
@given(text=st.text(max_size=200))
def test_any_string_slices_exactly(text):
    assert_words_slice(text)


@pytest.mark.parametrize("script", list(LEXICON))
def test_real_words_without_spaces_slice_exactly(script):
    words = st.lists(st.sampled_from(LEXICON[script]), min_size=1, max_size=12).map("".join)

    @SETTINGS
    @given(parts=st.lists(st.one_of(words, st.sampled_from([" ", ". ", "-", "2024"])), max_size=6))
    def check(parts):
        text = "".join(parts)
        assert_words_slice(text)
        if segment.has_dictionary():  # the dictionary never cuts a lexicon word it knows in two
            assert all(not _is_mark(text[s]) for s in split_words(text).starts)

    check()


SPACED = st.sampled_from([" ", "\n", "\u00a0", ". ", ", ", "! "])


@pytest.mark.parametrize("script", ["latin", "cyrillic", "arabic", "devanagari", "hangul", "thai", "khmer"])
def test_a_word_never_starts_with_a_mark(script):
    """A letter's marks stay on it: only a text's first character, or one after a space, can
    begin a word with a mark."""

    @SETTINGS
    @given(text=st.lists(st.one_of(_chars(script), SPACED), max_size=60).map("".join))
    def check(text):
        for start in split_words(text).starts:
            if _is_mark(text[start]):
                assert start == 0 or text[start - 1].isspace(), (text, start)

    check()


# -- what the words are ----------------------------------------------------------------------
def test_marks_stay_on_their_letter():
    assert split_words("हिन्दी भाषा").words == ["हिन्दी", "भाषा"]
    assert split_words("مُحَمَّد رسول").words == ["مُحَمَّد", "رسول"]
    assert split_words("e\u0301te\u0301 ❤\ufe0f!").words == ["e\u0301te\u0301", "❤\ufe0f", "!"]
    assert split_words("Москва, Россия").words == ["Москва", ",", "Россия"]


def test_old_rule_is_kept_where_marks_and_new_scripts_are_absent():
    gliner = re.compile(r"\w+(?:[-_]\w+)*|\S")
    text = "  Dr. Smith (MIT) — naïve café; Zürich 東京タワー 서울 특별시 state-of-the-art «ok»"
    w = split_words(text)
    expected = []
    for m in gliner.finditer(text):
        if re.search("[\u3040-\u30ff\u4e00-\u9fff]", m.group()):
            expected += list(m.group())
        else:
            expected.append(m.group())
    assert w.words == expected


@pytest.mark.skipif(not segment.has_dictionary(), reason="no ICU (pip install 'anyner[multilingual]')")
def test_dictionary_words():
    assert split_words("ผมกินข้าวที่ร้านอาหาร").words == ["ผม", "กิน", "ข้าว", "ที่", "ร้าน", "อาหาร"]
    assert split_words("ສະບາຍດີປະເທດລາວ").words == ["ສະບາຍດີ", "ປະເທດ", "ລາວ"]
    assert split_words("ខ្ញុំស្រឡាញ់ប្រទេសកម្ពុជា").words == ["ខ្ញុំ", "ស្រឡាញ់", "ប្រទេស", "កម្ពុជា"]
    assert split_words("မြန်မာနိုင်ငံသည်").words == ["မြန်မာနိုင်ငံ", "သည်"]
    text = "Bangkok (กรุงเทพมหานคร) 2024年, hi"
    assert split_words(text).words == ["Bangkok", "(", "กรุงเทพมหานคร", ")", "2024", "年", ",", "hi"]


def test_without_a_dictionary_each_character_with_its_marks_is_a_word(monkeypatch, caplog):
    monkeypatch.setattr(segment, "_breaker", lambda: None)
    auto._note.cache_clear()
    with caplog.at_level(logging.WARNING, logger="anyner"):
        assert split_words("ผมกินข้าว ok").words == ["ผ", "ม", "กิ", "น", "ข้", "า", "ว", "ok"]
        assert split_words("ខ្ញុំ").words == ["ខ្", "ញុំ"]
    notes = [r.getMessage() for r in caplog.records if "Thai, Lao, Khmer and Myanmar" in r.getMessage()]
    assert len(notes) == 1 and "anyner[multilingual]" in notes[0]


def test_cost_estimate_bounds_the_word_count():
    for text in ["a東b", "東京-タワー2024年", "ผมกินข้าว-ok", "hello", "हिन्दी"]:
        assert count_words(text) >= len(split_words(text)), text


def test_mark_table_is_the_running_pythons():
    listed = {cp for a, b in MARK_RANGES for cp in range(a, b + 1)}
    marks = {cp for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)).startswith("M")}
    if unicodedata.unidata_version == UNICODE_VERSION:
        assert listed == marks
    else:  # a newer Unicode adds marks: the table's are still marks
        assert listed <= marks
