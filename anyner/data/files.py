"""Reading data files line by line and writing them atomically.

Lines are read as bytes and decoded one at a time: memory stays flat on big files, only ``\\n``
ends a line (``str.splitlines`` would also split on U+2028 and shift every line number after
it), and invalid UTF-8 is reported on its own line instead of failing the whole file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

from ..errors import InputError
from .issues import IssueLog
from .lines import decode_line


def open_binary(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")  # the caller closes it
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder; pass a data file (.jsonl, .json, .conll, ...)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None


def decoded_lines(path: Path, log: IssueLog) -> Iterator[tuple[int, str | None]]:
    """(1-based line number, text without its line break), or None for a line that is not UTF-8
    (already reported in ``log``), so that the caller can drop the example it belongs to."""
    with open_binary(path) as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = decode_line(raw, number)
            except UnicodeDecodeError as exc:
                log.error(number, f"not valid UTF-8 ({exc.reason} at byte offset {exc.start} of the line)")
                yield number, None
                continue
            yield number, line


@contextmanager
def atomic_writer(path: Path) -> Iterator[TextIO]:
    """A text file that replaces ``path`` only when the block succeeds: a crash or an invalid
    example midway leaves the old file (or no file) rather than half a file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")  # same folder: os.replace is atomic
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 so the umask applies
    except FileNotFoundError:
        raise InputError(f"{path.parent}: no such folder; create it before writing {path.name}") from None
    try:
        with open(fd, "w", encoding="utf-8", newline="\n") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the name points at it
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
