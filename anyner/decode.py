"""From probabilities to entities: candidates above the threshold, then a greedy choice.

Candidates are found with numpy operations over all spans × types at once. The greedy choice
then walks only the candidates, best score first (ties: leftmost, shortest, first label), and
keeps a span unless it clashes with one already kept:

- flat: no two kept spans share a word;
- nested: kept spans may nest, but never partly overlap;
- multi-label (with either): the very same span may be kept under several labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Candidates:
    """One row per (span, type) above the threshold, in window-local word indices."""

    item: np.ndarray
    start: np.ndarray
    end: np.ndarray  # inclusive
    type: np.ndarray
    score: np.ndarray

    @staticmethod
    def from_lists(item, start, end, type_, score) -> Candidates:
        cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
        return Candidates(
            cat(item, np.int64),
            cat(start, np.int64),
            cat(end, np.int64),
            cat(type_, np.int64),
            cat(score, np.float32),
        )


def span_candidates(
    probs: np.ndarray, word_lengths: np.ndarray, type_counts: np.ndarray, threshold: float
) -> Candidates:
    """(B, W, K, C) span probabilities -> candidates above the threshold."""
    bi, si, ki, ci = np.nonzero(probs > threshold)
    # spans past the text's end and padded types score too: drop them
    valid = (si + ki < word_lengths[bi]) & (ci < type_counts[bi])
    bi, si, ki, ci = bi[valid], si[valid], ki[valid], ci[valid]
    return Candidates(bi, si, si + ki, ci, probs[bi, si, ki, ci])


def token_candidates(
    probs: np.ndarray, word_lengths: np.ndarray, type_counts: np.ndarray, threshold: float
) -> Candidates:
    """(B, W, C, 3) start/end/inside probabilities -> candidate spans.

    A span [s, e] of type c is a candidate when start(s) and end(e) exceed the threshold and
    no inside score in [s, e] falls below it; its score is the least of all those scores.
    All spans × types of an item at once, from the words where some type may start.
    """
    rows: list[list[np.ndarray]] = [[], [], [], [], []]
    for b in range(len(probs)):
        n, c = int(word_lengths[b]), int(type_counts[b])
        start, end, inside = np.moveaxis(probs[b, :n, :c], -1, 0)  # (n, C) each
        is_start, is_end = start > threshold, end > threshold
        starts = np.flatnonzero(is_start.any(-1))
        if starts.size == 0 or not is_end.any():
            continue
        # running[i, e, c] = min(inside[starts[i]..e, c]), +inf before the start
        before = np.arange(n)[None, :, None] < starts[:, None, None]
        running = np.minimum.accumulate(np.where(before, np.inf, inside[None]), axis=1)
        score = np.minimum(np.minimum(running, start[starts][:, None, :]), end[None])
        ok = is_start[starts][:, None, :] & is_end[None] & ~before & (running >= threshold)
        # enumerate as (start, type, end)
        si, ci, ei = np.nonzero(ok.transpose(0, 2, 1))
        for out, values in zip(
            rows, (np.full_like(si, b), starts[si], ei, ci, score[si, ei, ci]), strict=True
        ):
            out.append(values)
    return Candidates.from_lists(*rows)


def select(
    start: np.ndarray, end: np.ndarray, label: np.ndarray, score: np.ndarray, flat: bool, multi_label: bool
) -> np.ndarray:
    """Indices of the spans kept by the greedy choice, ordered by start (equal starts: best first)."""
    if len(score) == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort((label, end, start, -score))
    kept = (
        _select_flat(start, end, order, multi_label)
        if flat
        else _select_nested(start, end, order, multi_label)
    )
    kept = np.asarray(kept, dtype=np.int64)
    return kept[np.argsort(start[kept], kind="stable")]


def _select_flat(start: np.ndarray, end: np.ndarray, order: np.ndarray, multi_label: bool) -> list[int]:
    taken = bytearray(int(end.max()) + 2)
    kept_spans: set[tuple[int, int]] = set()
    kept: list[int] = []
    starts, ends = start.tolist(), end.tolist()
    for i in order.tolist():
        s, e = starts[i], ends[i]
        if any(taken[s : e + 1]) and not (multi_label and (s, e) in kept_spans):
            continue
        taken[s : e + 1] = b"\x01" * (e - s + 1)
        kept_spans.add((s, e))
        kept.append(i)
    return kept


def _select_nested(start: np.ndarray, end: np.ndarray, order: np.ndarray, multi_label: bool) -> list[int]:
    """O(C log n) for C candidates over n words: a kept span [a, b] clashes with [s, e] when
    a < s <= b < e (it ends inside, starting before) or s < a <= e < b (it starts inside, ending
    after). Two segment trees answer "least start of the spans ending in [s, e)" and "greatest
    end of the spans starting in (s, e]"."""
    size = int(end.max()) + 1
    first_start = _Tree(size, min, size)  # by end position: the least start of a kept span
    last_end = _Tree(size, max, -1)  # by start position: the greatest end of a kept span
    kept_spans: set[tuple[int, int]] = set()
    kept: list[int] = []
    starts, ends = start.tolist(), end.tolist()
    for i in order.tolist():
        s, e = starts[i], ends[i]
        if (s, e) in kept_spans and not multi_label:
            continue
        if first_start.query(s, e) < s or last_end.query(s + 1, e + 1) > e:
            continue
        first_start.update(e, s)
        last_end.update(s, e)
        kept_spans.add((s, e))
        kept.append(i)
    return kept


class _Tree:
    """A segment tree over positions [0, n): point updates folding in a value, range queries."""

    def __init__(self, n: int, fold, empty: int):
        self.n, self.fold, self.empty = n, fold, empty
        self.values = [empty] * (2 * n)

    def update(self, pos: int, value: int) -> None:
        pos += self.n
        values, fold = self.values, self.fold
        values[pos] = fold(values[pos], value)
        while pos > 1:
            pos >>= 1
            values[pos] = fold(values[2 * pos], values[2 * pos + 1])

    def query(self, lo: int, hi: int) -> int:
        """The fold over positions [lo, hi)."""
        out, values, fold = self.empty, self.values, self.fold
        lo, hi = lo + self.n, min(hi, self.n) + self.n
        while lo < hi:
            if lo & 1:
                out = fold(out, values[lo])
                lo += 1
            if hi & 1:
                hi -= 1
                out = fold(out, values[hi])
            lo >>= 1
            hi >>= 1
        return out
