"""Lines of a byte stream in bounded memory: a line longer than the limit is never held whole,
only measured, so a 50 MB line costs no more memory than a short one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

MAX_LINE_BYTES = 1 << 20  # 1 MiB: the default limit on one line (one text, one record)
_CHUNK = 1 << 16  # how much of an over-long line is read at a time while skipping it


@dataclass(frozen=True)
class Line:
    number: int  # 1-based
    raw: bytes | None  # the line with its break; None when it is longer than the limit
    size: int  # its bytes, break included


def bounded_lines(stream: BinaryIO, max_bytes: int = MAX_LINE_BYTES) -> Iterator[Line]:
    """Each line of ``stream``; one of more than ``max_bytes`` bytes (not counting its ``\\n``)
    comes with ``raw=None`` after being read past in chunks."""
    number = 0
    while raw := stream.readline(max_bytes + 1):
        number += 1
        if len(raw) <= max_bytes or raw.endswith(b"\n"):
            yield Line(number, raw, len(raw))
            continue
        size = len(raw)
        del raw
        while chunk := stream.readline(_CHUNK):
            size += len(chunk)
            if chunk.endswith(b"\n"):
                break
        yield Line(number, None, size)


def too_long(line: Line, max_bytes: int) -> str:
    """What to say about a line over the limit."""
    return f"the line is {line.size} bytes, over the limit of {max_bytes} bytes per line"


def decode_line(raw: bytes, number: int) -> str:
    """The text of line ``number`` (1-based): UTF-8 (``UnicodeDecodeError`` otherwise), without its
    line break (LF or CRLF), and without the byte-order mark a first line may start with."""
    line = raw.decode("utf-8")
    if number == 1:
        line = line.removeprefix("\ufeff")  # a byte-order mark is not part of the text
    return line.removesuffix("\n").removesuffix("\r")
