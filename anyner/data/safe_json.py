"""``json.loads`` for files nobody has looked at: every way a value can fail to load (bad syntax,
an integer too long for Python to convert, nesting deeper than the interpreter's stack) is one
:class:`InputError` whose message the caller prefixes with the file and line."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..errors import InputError


def loads(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except (RecursionError, ValueError) as exc:
        raise InputError(reason(exc)) from None


def reason(exc: RecursionError | ValueError) -> str:
    """What a failure of ``json.loads`` or ``JSONDecoder.raw_decode`` means, in one line."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc})"
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
    if isinstance(exc, RecursionError):
        return f"JSON nested too deeply (Python reads at most about {sys.getrecursionlimit()} levels)"
    # ValueError: "Exceeds the limit (4300 digits) for integer string conversion"
    return (
        f"a JSON integer has more than {sys.get_int_max_str_digits()} digits, more than Python reads; "
        "write it as a string"
    )
