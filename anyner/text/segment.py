"""Words in Thai, Lao, Khmer and Myanmar, scripts written without spaces between words.

A run of these scripts is cut by ICU's dictionary word breaker (``import icu``: PyICU, or the
``pyicu-wheels`` package that ``anyner[multilingual]`` installs, which carries ICU and its
dictionaries for all four scripts; no network). Without it, each character with its marks is a
word of its own (said once on stderr). Either way the pieces cover the run exactly, in order.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from itertools import pairwise

from .marks import MARKS

# Thai, Lao, Myanmar, Khmer, Khmer symbols, Myanmar extended B and A: all in the BMP, so
# ICU's UTF-16 offsets are the run's character offsets
SEA_CLASS = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff\ua9e0-\ua9ff\uaa60-\uaa7f"
INSTALL = "pip install 'anyner[multilingual]'"
_CLUSTER = re.compile(f".[{MARKS}]*", re.DOTALL)  # a character and the marks on it
_local = threading.local()  # an ICU break iterator is not thread-safe: one per thread


@cache
def _icu():
    try:
        import icu
    except ImportError:
        return None
    return icu


def has_dictionary() -> bool:
    """Whether runs are cut by ICU's dictionaries (else one character with its marks per word)."""
    return _icu() is not None


def _breaker():
    it = getattr(_local, "breaker", None)
    if it is None and (icu := _icu()) is not None:
        try:
            it = _local.breaker = icu.BreakIterator.createWordInstance(icu.Locale.getRoot())
        except icu.ICUError:
            return None
    return it


def word_ends(run: str) -> list[int]:
    """Where each word of ``run`` (characters of :data:`SEA_CLASS` only) ends, ascending; the
    last is ``len(run)``."""
    breaker = _breaker()
    if breaker is not None:
        breaker.setText(run)
        ends = [int(p) for p in breaker]  # the boundaries after 0
        if ends and ends[-1] == len(run) and ends[0] > 0 and all(a < b for a, b in pairwise(ends)):
            return ends
    else:
        from ..runtime.auto import note_once

        note_once(
            "Thai, Lao, Khmer and Myanmar text is split into single characters, as no dictionary word "
            f"breaker is installed: {INSTALL} (ICU's) splits it into words"
        )
    return [m.end() for m in _CLUSTER.finditer(run)]
