"""Character-offset JSONL: ``{"text": ..., "entities": [{"start", "end", "label"}]}``, end
exclusive. Reading splits the text with ``split_words``; an entity that cuts a word is widened
to the words it touches (a warning), since spans are made of whole words. Writing joins the
words with single spaces, so the text written is the words' text, not the original spacing."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Any

from ..text.words import Words, split_words
from .example import Example, Span, text_problem, type_name
from .issues import IssueLog
from .jsonfile import extra_fields, read_id, shown, with_fields

OWN_FIELDS = ("text", "entities")
ENTITY_FIELDS = ("start", "end", "label")


def from_objects(items: Iterable[tuple[int, Any]], log: IssueLog) -> list[Example]:
    examples = []
    unkept: set[str] = set()  # entity fields already reported as not kept: once per file, not per entity
    for line, obj in items:
        if (example := _example(line, obj, log, unkept)) is not None:
            examples.append(example)
    return examples


def _example(line: int, obj: Any, log: IssueLog, unkept: set[str]) -> Example | None:
    """The example on ``line``, or None after reporting every error in it."""
    if not isinstance(obj, dict):
        log.error(line, f'expected an object with "text" and "entities", got {type_name(obj)}')
        return None
    errors_before = log.error_count
    words = _words(line, obj, log)
    entities = obj.get("entities")
    if "entities" not in obj or not isinstance(entities, list):
        got = "missing" if "entities" not in obj else type_name(entities)
        log.error(line, f'"entities" is {got}; give an array of {{"start", "end", "label"}} ([] for none)')
        entities = []
    spans = []
    for i, entity in enumerate(entities):
        if (span := _span(line, i, entity, obj.get("text"), words, log, unkept)) is not None:
            spans.append(span)
    example_id = read_id(obj, line, log)
    if words is None or log.error_count > errors_before:
        return None
    return Example(words.words, spans, example_id, extra_fields(obj, OWN_FIELDS))


def _words(line: int, obj: dict[str, Any], log: IssueLog) -> Words | None:
    text = obj.get("text")
    if (problem := text_problem(text)) is not None:
        hint = " (it has \"tokenized_text\": read it with format='gliner')" if "tokenized_text" in obj else ""
        log.error(line, f'"text" {"is missing" if "text" not in obj else problem}{hint}')
        return None
    return split_words(text)


def _span(
    line: int, i: int, entity: Any, text: Any, words: Words | None, log: IssueLog, unkept: set[str]
) -> Span | None:
    """The entity as a word span, or None after reporting why it is unusable."""
    where = f"entity {i} {shown(entity)}"
    if not isinstance(entity, dict) or any(key not in entity for key in ENTITY_FIELDS):
        log.error(line, f'{where} is not an object with "start", "end" and "label"')
        return None
    if new := set(entity) - set(ENTITY_FIELDS) - unkept:
        unkept |= new
        log.warning(line, f"entity field(s) {sorted(new)} are not kept (reported once per file)")
    start, end, label = entity["start"], entity["end"], entity["label"]
    if (problem := text_problem(label)) is not None:
        log.error(line, f"{where}: label {problem}")
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        log.error(line, f"{where}: start and end must be integer character offsets")
        return None
    if words is None:
        return None  # the text is broken (already reported): offsets cannot be checked
    if not 0 <= start < end <= len(text):
        log.error(
            line, f"{where}: needs 0 <= start < end <= {len(text)}, the text's length (end is exclusive)"
        )
        return None
    first = bisect_right(words.ends, start)  # the first word ending after start
    last = bisect_left(words.starts, end) - 1  # the last word starting before end
    if first > last:
        log.error(line, f"{where}: covers no word, only {text[start:end]!r}")
        return None
    new_start, new_end = words.starts[first], words.ends[last]
    if (new_start, new_end) != (start, end):
        log.warning(
            line,
            f"{where}: {text[start:end]!r} does not fall on word boundaries; "
            f"widened to the words {text[new_start:new_end]!r} [{new_start}, {new_end})",
        )
    return first, last, label


def to_object(example: Example) -> dict[str, Any]:
    starts, offset = [], 0
    for word in example.words:
        starts.append(offset)
        offset += len(word) + 1  # the word and one space
    entities = [
        {"start": starts[s], "end": starts[e] + len(example.words[e]), "label": label}
        for s, e, label in example.spans
    ]
    return with_fields(example.id, {"text": " ".join(example.words), "entities": entities}, example.extra)
