"""GLiNER's format: ``{"tokenized_text": [words], "ner": [[start, end_inclusive, label], ...]}``,
one object per line (JSONL) or in a JSON array. Other fields (e.g. "lang") are kept in
``Example.extra``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .example import Example, Span, span_problem, text_problem, type_name
from .issues import IssueLog
from .jsonfile import extra_fields, read_id, shown, with_fields

OWN_FIELDS = ("tokenized_text", "ner")


def from_objects(items: Iterable[tuple[int, Any]], log: IssueLog) -> list[Example]:
    examples = []
    for line, obj in items:
        if (example := _example(line, obj, log)) is not None:
            examples.append(example)
    return examples


def _example(line: int, obj: Any, log: IssueLog) -> Example | None:
    """The example on ``line``, or None after reporting every error in it."""
    if not isinstance(obj, dict):
        log.error(line, f'expected an object with "tokenized_text" and "ner", got {type_name(obj)}')
        return None
    errors_before = log.error_count
    words = _words(line, obj, log)
    spans = _spans(line, obj, None if words is None else len(words), log)
    example_id = read_id(obj, line, log)
    if words is None or spans is None or log.error_count > errors_before:
        return None
    return Example(words, spans, example_id, extra_fields(obj, OWN_FIELDS))


def _words(line: int, obj: dict[str, Any], log: IssueLog) -> list[str] | None:
    if "tokenized_text" not in obj:
        hint = "; it has \"text\": read it as character-offset JSONL (format='char')" if "text" in obj else ""
        log.error(line, f'no "tokenized_text" field{hint}')
        return None
    words = obj["tokenized_text"]
    if not isinstance(words, list) or not words:
        got = "empty" if words == [] else type_name(words)
        log.error(line, f'"tokenized_text" is {got}; give a non-empty array of words')
        return None
    for i, word in enumerate(words):
        if (problem := text_problem(word)) is not None:
            log.error(line, f"word {i} {shown(word)} {problem}")
    return words


def _spans(line: int, obj: dict[str, Any], n_words: int | None, log: IssueLog) -> list[Span] | None:
    """The entities; their ranges are checked only when the words could be read."""
    if "ner" not in obj:
        log.error(line, 'no "ner" field; give "ner": [] for a sentence without mentions')
        return None
    entities = obj["ner"]
    if not isinstance(entities, list):
        log.error(line, f'"ner" is {type_name(entities)}; give an array of [start, end, label]')
        return None
    spans: list[Span] = []
    for i, entity in enumerate(entities):
        if not isinstance(entity, list) or len(entity) != 3:
            log.error(line, f"entity {i} {shown(entity)} is not a [start, end_inclusive, label] array")
            continue
        start, end, label = entity
        problem = span_problem(start, end, n_words)
        if problem is None and (label_problem := text_problem(label)) is not None:
            problem = f"label {label_problem}"
        if problem is not None:
            log.error(line, f"entity {i} {shown(entity)}: {problem}")
            continue
        spans.append((start, end, label))
    return spans


def to_object(example: Example) -> dict[str, Any]:
    ner = [[start, end, label] for start, end, label in example.spans]
    return with_fields(example.id, {"tokenized_text": example.words, "ner": ner}, example.extra)
