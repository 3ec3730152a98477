"""BIO tag schemes decoded and encoded by hand-written cases: exact spans and warnings."""

from __future__ import annotations

import random

import pytest

from anyner.data import TagScheme, decode_tags, encode_tags


def _decode(tags: str, scheme: str) -> tuple[list[tuple[int, int, str]], list[int]]:
    spans, warnings = decode_tags(tags.split(), scheme)
    return spans, [index for index, _ in warnings]


@pytest.mark.parametrize(
    ("tags", "spans", "warned"),
    [
        ("B-PER I-PER O B-LOC", [(0, 1, "PER"), (3, 3, "LOC")], []),
        ("B-PER B-PER I-PER", [(0, 0, "PER"), (1, 2, "PER")], []),
        ("B-PER B-LOC", [(0, 0, "PER"), (1, 1, "LOC")], []),
        # an I- after O or after another type: counted, starts a mention
        ("O I-PER I-PER", [(1, 2, "PER")], [1]),
        ("I-PER O", [(0, 0, "PER")], [0]),
        ("B-PER I-PER I-LOC I-LOC O", [(0, 1, "PER"), (2, 3, "LOC")], [2]),
        ("B-PER I-LOC B-LOC", [(0, 0, "PER"), (1, 1, "LOC"), (2, 2, "LOC")], [1]),
        ("O O", [], []),
    ],
)
def test_iob2(tags: str, spans: list[tuple[int, int, str]], warned: list[int]) -> None:
    assert _decode(tags, "iob2") == (spans, warned)


@pytest.mark.parametrize(
    ("tags", "spans", "warned"),
    [
        # I- starts a mention after O or another type; B- only splits two mentions of one type
        ("I-PER I-PER B-PER O I-LOC", [(0, 1, "PER"), (2, 2, "PER"), (4, 4, "LOC")], []),
        ("I-PER I-LOC I-LOC", [(0, 0, "PER"), (1, 2, "LOC")], []),
        ("I-PER B-PER B-PER", [(0, 0, "PER"), (1, 1, "PER"), (2, 2, "PER")], []),
        # B- elsewhere is not IOB1: still a mention, with a warning
        ("O B-PER I-PER", [(1, 2, "PER")], [1]),
        ("I-PER B-LOC", [(0, 0, "PER"), (1, 1, "LOC")], [1]),
        ("B-PER", [(0, 0, "PER")], [0]),
    ],
)
def test_iob1(tags: str, spans: list[tuple[int, int, str]], warned: list[int]) -> None:
    assert _decode(tags, "iob1") == (spans, warned)


def test_iob1_warning_suggests_iob2() -> None:
    _, warnings = decode_tags(["O", "B-PER"], TagScheme.iob1)
    assert warnings == [(1, warnings[0][1])]
    assert "B-PER after O" in warnings[0][1] and "scheme='iob2'" in warnings[0][1]


def test_iob2_warning_names_the_previous_tag() -> None:
    _, warnings = decode_tags(["B-PER", "I-LOC"], "iob2")
    assert "I-LOC after B-PER starts a new mention" in warnings[0][1]


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        ("I-PER I-PER O I-LOC I-PER", [(0, 1, "PER"), (3, 3, "LOC"), (4, 4, "PER")]),
        # bare types, as in Few-NERD; a hyphen inside a type is not a prefix
        ("person-actor person-actor O location", [(0, 1, "person-actor"), (3, 3, "location")]),
        ("I-PER PER", [(0, 1, "PER")]),
    ],
)
def test_io(tags: str, spans: list[tuple[int, int, str]]) -> None:
    assert _decode(tags, "io") == (spans, [])


@pytest.mark.parametrize(
    ("tag", "scheme", "message"),
    [
        ("E-PER", "iob2", "unknown prefix E-"),
        ("S-PER", "iob1", "unknown prefix S-"),
        ("PER", "iob2", "no B-/I- prefix"),
        ("o", "iob2", "no B-/I- prefix"),
        ("B-", "iob2", "no type after B-"),
        ("B-PER", "io", "scheme='iob2'"),
    ],
)
def test_bad_tags_raise(tag: str, scheme: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        decode_tags(["O", tag], scheme)


def test_encode_each_scheme() -> None:
    spans = [(0, 1, "PER"), (2, 2, "PER"), (4, 4, "LOC")]
    assert encode_tags(5, spans, "iob2") == ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
    assert encode_tags(5, spans, "iob1") == ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
    with pytest.raises(ValueError, match="IO would merge them"):
        encode_tags(5, spans, "io")
    assert encode_tags(5, [(0, 1, "PER"), (4, 4, "LOC")], "io") == ["I-PER", "I-PER", "O", "O", "I-LOC"]


def test_encode_refuses_overlaps() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        encode_tags(4, [(0, 2, "ORG"), (1, 1, "LOC")], "iob2")


@pytest.mark.parametrize("scheme", list(TagScheme))
def test_encode_then_decode_is_identity(scheme: TagScheme) -> None:
    rng = random.Random(0)
    for _ in range(300):
        n, spans, pos = rng.randint(1, 12), [], 0
        while pos < n:
            if rng.random() < 0.4:
                end = rng.randint(pos, n - 1)
                label = rng.choice(["A", "B", "geo entity"])
                adjacent = spans and spans[-1][1] == pos - 1 and spans[-1][2] == label
                if not (scheme is TagScheme.io and adjacent):
                    spans.append((pos, end, label))
                pos = end + 1
            else:
                pos += 1
        assert decode_tags(encode_tags(n, spans, scheme), scheme) == (spans, [])
