"""Reading and writing examples in any supported format: the entry points of ``anyner.data``.

An example with an error is never used. ``strict=True`` (the default) raises if there is any
error, so nothing is skipped unnoticed; ``strict=False`` returns the good examples with every
issue, for tools that report rather than stop (``validate``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from itertools import chain
from pathlib import Path
from typing import Literal, TypeVar, overload

from ..errors import InputError
from . import char_jsonl, conll, gliner_json
from .example import Example, example_problem
from .files import atomic_writer, open_binary
from .issues import Issue, IssueLog, Severity, format_issues
from .jsonfile import read_objects, write_objects
from .tags import TagScheme

logger = logging.getLogger(__name__)

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
CONLL_SUFFIXES = (".conll", ".bio", ".iob", ".txt", ".tsv")


class DataFormat(str, Enum):
    auto = "auto"  # from the extension; for JSON, "char" if the first record has "text"
    gliner = "gliner"  # {"tokenized_text", "ner"}
    char = "char"  # {"text", "entities": [{"start", "end", "label"}]}
    conll = "conll"  # token and tag columns


PathArg = str | os.PathLike[str]
E = TypeVar("E", bound=Enum)
T = TypeVar("T")


@overload
def read_examples(
    path: PathArg,
    format: DataFormat | str = ...,
    *,
    strict: Literal[True] = ...,
    scheme: TagScheme | str = ...,
    tag_column: int = ...,
) -> list[Example]: ...
@overload
def read_examples(
    path: PathArg,
    format: DataFormat | str = ...,
    *,
    strict: Literal[False],
    scheme: TagScheme | str = ...,
    tag_column: int = ...,
) -> tuple[list[Example], list[Issue]]: ...
def read_examples(
    path: PathArg,
    format: DataFormat | str = DataFormat.auto,
    *,
    strict: bool = True,
    scheme: TagScheme | str = TagScheme.iob2,
    tag_column: int = -1,
) -> list[Example] | tuple[list[Example], list[Issue]]:
    """Examples from ``path``. ``scheme`` and ``tag_column`` (the tag's column, -1 for the last)
    apply to CoNLL files. Raises InputError for a missing file, and in strict mode for any error
    (listing the first ten); warnings are logged in strict mode, returned otherwise."""
    path = Path(path)
    fmt, tag_scheme = _option(DataFormat, format, "format"), _option(TagScheme, scheme, "scheme")
    open_binary(path).close()  # a missing file is named before its extension is judged
    log = IssueLog(str(path))
    examples = _read(path, fmt, log, tag_scheme, tag_column)
    if not examples and log.error_count == 0:
        log.error(None, "the file is empty: it has no examples")
    if not strict:
        return examples, log.issues
    errors = [issue for issue in log.issues if issue.severity is Severity.error]
    if errors:
        raise InputError(
            f"{path}: {len(errors)} error(s), so the file was not read; fix them, or read with "
            f"strict=False to skip the examples that have errors:\n{format_issues(errors)}"
        )
    if log.issues:
        logger.warning("%s: %d warning(s):\n%s", path, len(log.issues), format_issues(log.issues))
    return examples


def _read(path: Path, fmt: DataFormat, log: IssueLog, scheme: TagScheme, tag_column: int) -> list[Example]:
    if fmt is DataFormat.auto:
        fmt = _format_of(path, reading=True)
    if fmt is DataFormat.conll:
        return conll.read_conll(path, log, scheme=scheme, tag_column=tag_column)
    items = read_objects(path, log)
    if fmt is DataFormat.auto:  # JSON: decided by the first record
        first = next(items, None)
        if first is None:
            return []
        items = chain([first], items)
        obj = first[1]
        is_char = isinstance(obj, dict) and "text" in obj and "tokenized_text" not in obj
        fmt = DataFormat.char if is_char else DataFormat.gliner
    parse = char_jsonl.from_objects if fmt is DataFormat.char else gliner_json.from_objects
    return parse(items, log)


def write_examples(
    path: PathArg,
    examples: Iterable[Example],
    format: DataFormat | str = DataFormat.auto,
    *,
    scheme: TagScheme | str = TagScheme.iob2,
) -> None:
    """Write ``examples`` atomically: on any error ``path`` is left as it was. JSON goes to a
    JSON array for ``.json``, else JSONL; CoNLL is written in ``scheme`` (IOB2 by default).
    Raises InputError naming the first example that cannot be written."""
    path = Path(path)
    fmt, tag_scheme = _option(DataFormat, format, "format"), _option(TagScheme, scheme, "scheme")
    if fmt is DataFormat.auto:
        fmt = _format_of(path, reading=False)
    if fmt is DataFormat.conll:
        with atomic_writer(path) as f:
            f.writelines(_converted(examples, lambda e: conll.to_block(e, tag_scheme)))
        return
    to_object = char_jsonl.to_object if fmt is DataFormat.char else gliner_json.to_object
    write_objects(path, _converted(examples, to_object))


def _converted(examples: Iterable[Example], convert: Callable[[Example], T]) -> Iterator[T]:
    for i, example in enumerate(examples):
        problem = example_problem(example)
        if problem is None:
            try:
                record = convert(example)
            except ValueError as exc:
                problem = str(exc)
        if problem is not None:
            name = f"example {i}" + ("" if example.id is None else f" (id {example.id!r})")
            raise InputError(f"cannot write {name}: {problem}; nothing was written")
        yield record


def _format_of(path: Path, *, reading: bool) -> DataFormat:
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        return DataFormat.auto if reading else DataFormat.gliner
    if suffix in CONLL_SUFFIXES:
        return DataFormat.conll
    raise InputError(
        f"{path}: cannot tell the format from the extension {suffix!r}; pass format='gliner', 'char' "
        f"or 'conll' (or name it {', '.join(JSON_SUFFIXES + CONLL_SUFFIXES)})"
    )


def _option(kind: type[E], value: E | str, name: str) -> E:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(repr(member.value) for member in kind)
        raise InputError(f"unknown {name} {value!r}; choose one of {choices}") from None
