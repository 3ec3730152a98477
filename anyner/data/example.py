"""The one in-memory record every reader returns and every writer takes, and its checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeGuard

Span = tuple[int, int, str]  # (first word, last word inclusive, label): GLiNER's convention


@dataclass(frozen=True)
class Example:
    """One sentence or passage with its labelled mentions.

    ``extra`` keeps the fields of a JSON record that are not part of the format (e.g. ``lang``),
    so that reading and writing a file loses nothing.
    """

    words: list[str]
    spans: list[Span]
    id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def type_name(value: object) -> str:
    """The JSON name of a value's type, for messages: most values that readers check come from JSON."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def text_problem(value: object) -> str | None:
    """Why a word or label is unusable, or None. Lone surrogates (from ``"\\ud800"`` escapes in
    JSON) are refused here because no tokenizer or UTF-8 writer can take them later."""
    if not isinstance(value, str):
        return f"is {type_name(value)}, not a string"
    if not value.strip():
        return "is empty or only whitespace"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"has an unpaired surrogate at character {exc.start}"
    return None


def span_problem(start: object, end: object, n_words: int | None) -> str | None:
    """Why a (start, end inclusive) word span is out of range, or None. With ``n_words`` None
    (the words themselves are broken) only the upper bound goes unchecked."""
    if not _is_index(start):
        return f"start {start!r} is not an integer word index"
    if not _is_index(end):
        return f"end {end!r} is not an integer word index"
    if start < 0:
        return f"start {start} is negative"
    if start > end:
        return f"start {start} is after end {end} (end is inclusive)"
    if n_words is not None and end >= n_words:
        return f"end {end} is past the last word (index {n_words - 1}; end is inclusive)"
    return None


def _is_index(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)  # True is an int to Python


def example_problem(example: Example) -> str | None:
    """The first reason a writer cannot write ``example``, or None."""
    if not example.words:
        return "it has no words"
    for i, word in enumerate(example.words):
        if (problem := text_problem(word)) is not None:
            return f"word {i} {problem}"
    for i, (start, end, label) in enumerate(example.spans):
        problem = span_problem(start, end, len(example.words))
        if problem is None and (reason := text_problem(label)) is not None:
            problem = f"label {reason}"
        if problem is not None:
            return f"span {i} {(start, end, label)!r}: {problem}"
    return None
