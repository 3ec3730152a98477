"""``anyner extract --resume``: find where an interrupted run stopped.

``extract`` writes its output in input order and flushes it to disk after every chunk, so
after an interruption (Ctrl-C, ``kill -9``, a crash, a power cut) the file holds whole
records for a prefix of the input, possibly followed by one torn line without its newline.
Resuming reads the output and the input side by side: each whole output line must be the
record for the next input record (same id, or line number when records have none, and the
same text); anything else means the file belongs to another input, and nothing is written.
The torn line is cut off and rewritten, so no record is lost, repeated or left half-written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..data.safe_json import loads
from ..errors import InputError
from ..io_records import Record, id_key

_START_OVER = "use another --output, or leave out --resume to overwrite it"


@dataclass(frozen=True)
class Resumed:
    done: int  # records already in the output, now skipped in the input
    cut: int  # bytes of a torn last line removed from the output


def skip_done(output: Path, records: Iterator[Record], input_name: str) -> Resumed:
    """Consume from ``records`` those already in ``output`` and cut a torn last line off it."""
    if not output.exists():
        return Resumed(0, 0)
    if not output.is_file():
        raise InputError(f"--resume needs --output to be a regular file; {output} is not")
    done = whole = 0  # records checked, and the bytes they take
    with open(output, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                break  # the line being written when the run stopped
            written = _written_record(raw, output, number)
            record = next(records, None)
            if record is None:
                raise InputError(
                    f"{output} has more records than the {done} in {input_name}: "
                    f"it is not the output for this input; {_START_OVER}"
                )
            _check_same(written, record, output, number, input_name)
            done += 1
            whole += len(raw)
    cut = output.stat().st_size - whole
    if cut:
        os.truncate(output, whole)
    return Resumed(done, cut)


def _written_record(raw: bytes, output: Path, number: int) -> dict:
    try:
        obj = loads(raw)
    except InputError:
        obj = None
    if not isinstance(obj, dict) or not {"id", "text", "entities"} <= obj.keys():
        raise InputError(
            f"{output} line {number}: not a record written by `anyner extract`, so there is nothing "
            f"to resume; {_START_OVER}"
        )
    return obj


def _check_same(written: dict, record: Record, output: Path, number: int, input_name: str) -> None:
    if id_key(written["id"]) != id_key(record.id):
        what = f"id {id_key(written['id'])}, but {input_name} line {record.line} has id {id_key(record.id)}"
    elif written["text"] != record.text:
        what = f"id {id_key(record.id)} with another text than {input_name} line {record.line}"
    else:
        return
    raise InputError(
        f"{output} line {number} holds {what}: it is not the output for this input; {_START_OVER}"
    )
