"""Strict entity-level precision, recall and F1: a prediction counts only with the exact
span and type. Micro over all mentions, per type, and macro over types."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

Span = tuple[int, int, str]


@dataclass(frozen=True)
class Scores:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(100 * self.precision, 2),
            "recall": round(100 * self.recall, 2),
            "f1": round(100 * self.f1, 2),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass
class Report:
    micro: Scores
    per_type: dict[str, Scores] = field(default_factory=dict)

    @property
    def macro_f1(self) -> float:
        return sum(s.f1 for s in self.per_type.values()) / len(self.per_type) if self.per_type else 0.0

    def as_dict(self) -> dict:
        return {
            "micro": self.micro.as_dict(),
            "macro_f1": round(100 * self.macro_f1, 2),
            "per_type": {k: v.as_dict() for k, v in sorted(self.per_type.items())},
        }


def score(gold: Iterable[Iterable[Span]], predicted: Iterable[Iterable[Span]]) -> Report:
    """``gold`` and ``predicted``: for each example, its (start, end inclusive, label) spans."""
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    for g, p in zip(gold, predicted, strict=True):
        g, p = set(g), set(p)
        for _, _, label in g & p:
            tp[label] += 1
        for _, _, label in p - g:
            fp[label] += 1
        for _, _, label in g - p:
            fn[label] += 1
    labels = set(tp) | set(fp) | set(fn)
    per_type = {label: Scores(tp[label], fp[label], fn[label]) for label in labels}
    micro = Scores(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return Report(micro, per_type)
