"""BIO tag schemes: per-word tags to word spans and back.

All three schemes agree that ``I-X`` right after a word of an ``X`` mention continues it, and
that ``O`` is outside; they differ only in what marks a boundary:

- IOB2: every mention starts with ``B-``. An ``I-X`` that cannot continue (after ``O`` or after
  another type) still starts a mention, with a warning: real files have these.
- IOB1: ``I-`` starts a mention; ``B-X`` only splits two adjacent ``X`` mentions. A ``B-X``
  elsewhere still starts a mention, with a warning (the file may be IOB2).
- IO: no boundaries; adjacent words of one type form one mention. Tags are ``I-X`` or the bare
  type ``X`` (as in Few-NERD); a ``B-`` tag is an error, since the file is then not IO.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from .example import Span


class TagScheme(str, Enum):
    iob2 = "iob2"
    iob1 = "iob1"
    io = "io"


def parse_tag(tag: str, scheme: TagScheme) -> tuple[str, str]:
    """``("O", "")`` or ``(prefix, type)`` with prefix ``B`` or ``I``. Raises ValueError saying
    what is wrong with the tag."""
    if tag == "O":
        return "O", ""
    prefix, dash, label = tag.partition("-")
    if dash and len(prefix) == 1:  # one letter and a dash: a prefixed tag
        if not label:
            raise ValueError(f"tag {tag!r} has no type after {prefix}-")
        if prefix == "I" or (prefix == "B" and scheme is not TagScheme.io):
            return prefix, label
        if prefix == "B":
            raise ValueError(f"tag {tag!r}: IO data has no B- tags; read the file with scheme='iob2'")
        raise ValueError(f"tag {tag!r} has unknown prefix {prefix}-; expected B-, I- or O (not BIOES)")
    if scheme is TagScheme.io:
        return "I", tag
    raise ValueError(f"tag {tag!r} has no B-/I- prefix; {scheme.value.upper()} tags are like B-PER, I-PER, O")


def decode_tags(tags: Sequence[str], scheme: TagScheme | str) -> tuple[list[Span], list[tuple[int, str]]]:
    """Spans ``(start, end inclusive, type)`` in order, and warnings as ``(word index, reason)``.
    Raises ValueError for a tag that ``parse_tag`` refuses."""
    scheme = TagScheme(scheme)
    spans: list[Span] = []
    warnings: list[tuple[int, str]] = []
    start: int | None = None  # the open mention
    open_label = ""
    for i, tag in enumerate(tags):
        prefix, label = parse_tag(tag, scheme)
        after_same = start is not None and open_label == label
        if prefix == "I" and after_same:
            continue
        if start is not None:
            spans.append((start, i - 1, open_label))
        where = "at the start of the sentence" if i == 0 else f"after {tags[i - 1]}"
        if scheme is TagScheme.iob2 and prefix == "I":
            warnings.append((i, f"{tag} {where} starts a new mention (in IOB2 a mention begins with B-)"))
        if scheme is TagScheme.iob1 and prefix == "B" and not after_same:
            reason = f"{tag} {where} starts a new mention, but IOB1 uses B- only between two {label} mentions"
            warnings.append((i, f"{reason}; if the file is IOB2, read it with scheme='iob2'"))
        start, open_label = (None, "") if prefix == "O" else (i, label)
    if start is not None:
        spans.append((start, len(tags) - 1, open_label))
    return spans, warnings


def encode_tags(n_words: int, spans: Sequence[Span], scheme: TagScheme | str) -> list[str]:
    """One tag per word. Raises ValueError for what the scheme cannot hold: overlapping spans,
    and in IO two adjacent mentions of one type (they would read back as one)."""
    scheme = TagScheme(scheme)
    tags = ["O"] * n_words
    for start, end, label in sorted(spans):
        if any(tag != "O" for tag in tags[start : end + 1]):
            raise ValueError(
                f"span {(start, end, label)!r} overlaps another; BIO tags hold flat mentions only"
            )
        after_same = start > 0 and tags[start - 1] != "O" and tags[start - 1][2:] == label
        if scheme is TagScheme.io and after_same:
            raise ValueError(
                f"span {(start, end, label)!r} directly follows another {label!r} mention; IO would "
                "merge them into one, so write scheme='iob2'"
            )
        first = "B" if scheme is TagScheme.iob2 or (scheme is TagScheme.iob1 and after_same) else "I"
        tags[start : end + 1] = [f"{first}-{label}"] + [f"I-{label}"] * (end - start)
    return tags
