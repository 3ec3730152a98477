"""A support set: a data file, or a list of records in GLiNER's word format or with character
offsets, read into examples. Every problem is reported with its record; nothing is dropped."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..data import char_jsonl, gliner_json, read_examples
from ..data.example import Example
from ..data.issues import IssueLog, format_issues
from ..errors import InputError

SupportArg = str | Path | Sequence[Example | dict[str, Any]]


def read_support(support: SupportArg) -> list[Example]:
    if isinstance(support, str | Path):
        path = Path(support)
        if not path.exists():
            raise InputError(f"support file {str(support)!r} does not exist")
        examples = read_examples(path)
    else:
        examples = _from_records(list(support))
    if not any(ex.spans for ex in examples):
        raise InputError(
            "the support set has no labelled mentions: adaptation needs at least one example of "
            "each label to learn"
        )
    return examples


def _from_records(records: list) -> list[Example]:
    log = IssueLog("support")
    examples: list[Example] = []
    for number, record in enumerate(records, 1):
        if isinstance(record, Example):
            examples.append(record)
        elif isinstance(record, dict) and "tokenized_text" in record:
            examples.extend(gliner_json.from_objects([(number, record)], log))
        elif isinstance(record, dict) and "text" in record:
            examples.extend(char_jsonl.from_objects([(number, record)], log))
        else:
            log.error(
                number,
                'a support record is {"tokenized_text": [...], "ner": [[start, end, label], ...]} or '
                '{"text": ..., "entities": [{"start", "end", "label"}]}',
            )
    if log.error_count:
        raise InputError(f"the support set has errors (record numbers from 1):\n{format_issues(log.issues)}")
    if not examples:
        raise InputError("the support set is empty")
    return examples


def support_labels(examples: Sequence[Example]) -> list[str]:
    """Every label of the support set, in order of first mention."""
    return list(dict.fromkeys(label for ex in examples for _, _, label in ex.spans))
