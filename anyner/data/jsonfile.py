"""JSON containers shared by the GLiNER and character-offset formats: one object per line
(JSONL), or one JSON array. Both yield ``(line number, object)`` so issues can name the line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing
from itertools import chain
from pathlib import Path
from typing import Any

from ..errors import InputError
from .example import type_name
from .files import atomic_writer, decoded_lines, open_binary
from .issues import IssueLog
from .safe_json import loads, reason


def read_objects(path: Path, log: IssueLog) -> Iterator[tuple[int, Any]]:
    """The file's JSON values with their lines. The container is chosen by content, not by
    extension: a file whose first non-blank line starts with ``[`` is an array."""
    is_array = False
    with closing(decoded_lines(path, log)) as lines:
        for number, line in lines:
            if line is not None and not line.strip():
                continue
            is_array = line is not None and line.lstrip().startswith("[")
            if not is_array:
                yield from _jsonl_items(chain([(number, line)], lines), log)
            break
    if is_array:  # read again, whole: the array's items may span lines
        yield from _array_items(path, log)


def _jsonl_items(lines: Iterable[tuple[int, str | None]], log: IssueLog) -> Iterator[tuple[int, Any]]:
    for number, line in lines:
        if line is None or not line.strip():  # undecodable lines are already reported
            continue
        try:
            yield number, loads(line)
        except InputError as exc:
            log.error(number, str(exc))


def _array_items(path: Path, log: IssueLog) -> Iterator[tuple[int, Any]]:
    """Items of a top-level array, each with the line it starts on. ``raw_decode`` one item at a
    time gives those lines; ``json.load`` would not. A syntax error ends the read (nothing after
    it can be trusted), and the issue says so."""
    with open_binary(path) as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        log.error(line, f"not valid UTF-8 ({exc.reason}); a JSON array is read whole, so nothing was read")
        return
    lines = _LineCounter(text)
    decoder = json.JSONDecoder()
    pos = _skip_space(text, text.index("[") + 1)
    while not text.startswith("]", pos):
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            log.error(exc.lineno, f"not valid JSON ({exc.msg}); the rest of the file was not read")
            return
        except (RecursionError, ValueError) as exc:  # nested too deeply, an integer too long
            log.error(lines.at(pos), f"{reason(exc)}; the rest of the file was not read")
            return
        yield lines.at(pos), item
        pos = _skip_space(text, end)
        if text.startswith(",", pos):
            pos = _skip_space(text, pos + 1)
        elif not text.startswith("]", pos):
            log.error(lines.at(pos), "expected ',' or ']' after an item; the rest was not read")
            return
    pos = _skip_space(text, pos + 1)  # past the closing "]"
    if pos < len(text):
        log.error(lines.at(pos), "unexpected text after the closing ']' was not read")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


class _LineCounter:
    """Line numbers of increasing positions, counting each newline once (not O(n) per item)."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.line = text, 0, 1

    def at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def write_objects(path: Path, objects: Iterable[dict[str, Any]]) -> None:
    """JSONL, or a JSON array with one item per line for a ``.json`` path (so that issues found
    when it is read back name useful lines)."""
    with atomic_writer(path) as f:
        if path.suffix.lower() != ".json":
            for obj in objects:
                f.write(json.dumps(obj, ensure_ascii=False) + "\n")
            return
        f.write("[")
        for i, obj in enumerate(objects):
            f.write(("\n" if i == 0 else ",\n") + json.dumps(obj, ensure_ascii=False))
        f.write("\n]\n")


def shown(value: object, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_id(obj: Mapping[str, Any], line: int, log: IssueLog) -> str | None:
    """The record's optional "id"; an integer id becomes its decimal string."""
    value = obj.get("id")
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    log.error(line, f'"id" is {type_name(value)}; give a string or an integer')
    return None


def extra_fields(obj: Mapping[str, Any], own: Iterable[str]) -> dict[str, Any]:
    """Fields the format does not define (e.g. "lang"), kept so that writing loses nothing."""
    return {key: value for key, value in obj.items() if key not in own and key != "id"}


def with_fields(example_id: str | None, obj: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """The record to write: "id" (if any), the format's fields, then the extra fields. Raises
    ValueError for an extra field that would overwrite one of the others."""
    head = {} if example_id is None else {"id": example_id}
    clash = sorted((set(obj) | set(head)) & set(extra))
    if clash:
        raise ValueError(f"extra field(s) {clash} clash with the format's own fields; rename them")
    return {**head, **obj, **extra}
