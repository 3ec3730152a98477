"""Windows of words over texts too long for one encoder pass.

Neighbouring windows overlap. Each word position is *owned* by exactly one window: the
boundary between two windows sits in the middle of their overlap. A window keeps only the
spans that start in the part it owns, so an entity seen by two windows is kept once, and
every kept span has at least half an overlap of context before its start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    start: int  # first word (document index)
    end: int  # one past the last word
    own_start: int  # spans starting in [own_start, own_end) belong to this window
    own_end: int


def plan_windows(token_counts: Sequence[int], max_tokens: int, max_words: int, overlap: int) -> list[Window]:
    """Cover ``len(token_counts)`` words with windows of at most ``max_tokens`` sub-tokens
    and ``max_words`` words. Every single word must fit in ``max_tokens`` on its own."""
    n = len(token_counts)
    if n == 0:
        return []
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        end, used = start, 0
        while end < n and end - start < max_words and used + token_counts[end] <= max_tokens:
            used += token_counts[end]
            end += 1
        if end == start:
            raise ValueError(f"word {start} has {token_counts[start]} sub-tokens, more than {max_tokens}")
        spans.append((start, end))
        if end == n:
            break
        start = max(end - overlap, start + 1)
    windows = []
    for i, (start, end) in enumerate(spans):
        own_start = 0 if i == 0 else (start + spans[i - 1][1]) // 2
        own_end = n if i == len(spans) - 1 else (spans[i + 1][0] + end) // 2
        windows.append(Window(start, end, own_start, own_end))
    return windows
