"""Read the CLI's input as a stream of records: plain text (one text per line) or JSONL.

Files are read as bytes, one line at a time, and each line is decoded on its own: memory stays
flat on big files, only ``\\n`` ends a record (``str.splitlines`` would also split on form feeds
and U+2028, shifting the output against the input), and a decoding error can name its line.
A line longer than :class:`LineLimit` allows is never held whole: it is skipped with a warning
naming it, or stops the run.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

from .data.lines import MAX_LINE_BYTES, bounded_lines, decode_line, too_long
from .data.safe_json import loads
from .errors import InputError

STDIN = "-"


class Format(str, Enum):
    auto = "auto"
    text = "text"
    jsonl = "jsonl"


@dataclass(frozen=True)
class Record:
    id: Any  # the "id" given in JSONL, else the 1-based line number
    text: str
    line: int  # the 1-based input line it came from, for error messages


@dataclass(frozen=True)
class LineLimit:
    """Most bytes in one input line, and what a longer line does: skipped with a warning that
    names it (``stop=False``), or the run stops there with an error."""

    max_bytes: int = MAX_LINE_BYTES
    stop: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.max_bytes, bool) or not isinstance(self.max_bytes, int) or self.max_bytes < 1:
            raise InputError(f"the line limit must be a positive number of bytes, got {self.max_bytes!r}")


def _warn(message: str) -> None:
    print("warning: " + message, file=sys.stderr, flush=True)


def display_name(path: str) -> str:
    return "<stdin>" if path == STDIN else path


def resolve_format(path: str, fmt: Format) -> Format:
    if fmt is not Format.auto:
        return fmt
    return Format.jsonl if path.lower().endswith((".jsonl", ".ndjson")) else Format.text


def open_input(path: str) -> BinaryIO:
    """Open early, so a missing file fails before the model is loaded (seconds)."""
    return sys.stdin.buffer if path == STDIN else open(path, "rb")  # the caller closes it


def count_records(path: str, fmt: Format, limit: LineLimit) -> int | None:
    """Records in a regular file, for the progress bar's total; None for stdin, pipes, devices."""
    if path == STDIN or not Path(path).is_file():
        return None
    with open(path, "rb") as f:
        lines = bounded_lines(f, limit.max_bytes)
        return sum(1 for line in lines if line.raw is not None and (fmt is Format.text or line.raw.strip()))


def check_records(path: str, fmt: Format, limit: LineLimit) -> int | None:
    """Read a regular file through once, as ``--resume`` will, so that a bad line or a repeated
    id fails now rather than hours into the run. Returns the record count (the progress bar's
    total); None for stdin, pipes, devices, whose records are checked as they stream."""
    if path == STDIN or not Path(path).is_file():
        return None
    with open(path, "rb") as f:
        return sum(1 for _ in keyed_records(f, path, fmt, limit, warn=lambda _: None))


def keyed_records(
    stream: BinaryIO, name: str, fmt: Format, limit: LineLimit, warn: Callable[[str], None] = _warn
) -> Iterator[Record]:
    """``read_records`` for ``--resume``: JSONL ids must be unique (line numbers always are)."""
    records = read_records(stream, name, fmt, limit, warn)
    return unique_ids(records, name) if fmt is Format.jsonl else records


def id_key(record_id: Any) -> str:
    """A record's identity: its id as JSON, so 4 and "4" differ and any JSON value works."""
    return json.dumps(record_id, sort_keys=True, ensure_ascii=False)


def unique_ids(records: Iterable[Record], name: str) -> Iterator[Record]:
    """Pass records through, failing on an id seen before: ``--resume`` keys records by id."""
    seen: set[bytes] = set()  # 16-byte digests: memory per record stays small however long the ids
    for record in records:
        digest = hashlib.blake2b(id_key(record.id).encode(), digest_size=16).digest()
        if digest in seen:
            raise InputError(
                f"{name} line {record.line}: id {id_key(record.id)} was used by an earlier record "
                "(records without an id are keyed by line number); --resume needs unique ids"
            )
        seen.add(digest)
        yield record


def read_records(
    stream: BinaryIO, name: str, fmt: Format, limit: LineLimit, warn: Callable[[str], None] = _warn
) -> Iterator[Record]:
    """Records in input order; ``fmt`` must be resolved (text or jsonl). Raises InputError
    naming ``name`` and the line for undecodable bytes, malformed JSONL, or (``limit.stop``) a
    line over the limit; without ``stop``, such a line is skipped and ``warn`` told."""
    for read in bounded_lines(stream, limit.max_bytes):
        number, raw = read.number, read.raw
        if raw is None:
            message = f"{name} line {number}: {too_long(read, limit.max_bytes)}"
            if limit.stop:
                raise InputError(f"{message}; raise --max-line-bytes, or split the text")
            warn(f"{message}: skipped (raise --max-line-bytes to read it)")
            continue
        try:
            line = decode_line(raw, number)
        except UnicodeDecodeError as exc:
            where = f"{name} line {number}"
            raise InputError(f"{where}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
        if fmt is Format.text:
            yield Record(number, line, number)
        elif line.strip():  # blank lines in JSONL carry nothing
            yield _json_record(line, name, number)


def _json_record(line: str, name: str, number: int) -> Record:
    where = f"{name} line {number}"
    try:
        obj = loads(line)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    if not isinstance(obj, dict):
        raise InputError(f'{where}: expected a JSON object with a "text" field, got {type(obj).__name__}')
    text = obj.get("text")
    if not isinstance(text, str):
        got = 'no "text" field' if "text" not in obj else f'"text" is {type(text).__name__}'
        raise InputError(f'{where}: {got}; each line needs a string "text"')
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # "\ud800"-style escapes: lone surrogates no tokenizer can take
        raise InputError(f'{where}: "text" has an unpaired surrogate at character {exc.start}') from exc
    return Record(obj.get("id", number), text, number)
