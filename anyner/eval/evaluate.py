"""Run a model over labelled examples and score it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..data.example import Example
from ..text.labels import parse_labels
from ..text.words import Words
from .metrics import Report, score


def words_of(example: Example) -> Words:
    """Pre-split words, placed as if joined by single spaces."""
    starts, pos = [], 0
    for w in example.words:
        starts.append(pos)
        pos += len(w) + 1
    return Words(
        list(example.words), starts, [s + len(w) for s, w in zip(starts, example.words, strict=True)]
    )


def evaluate(
    model,
    examples: Sequence[Example],
    labels: Sequence[str] | Mapping[str, str] | None = None,
    threshold: float = 0.5,
    flat_ner: bool = True,
    batch_size: int = 8,
) -> Report:
    """``labels``: the types asked for (a list, or {label: what the model reads}); by default
    every label in the gold data. Gold labels outside them count as misses."""
    if labels is None:
        labels = sorted({label for ex in examples for _, _, label in ex.spans})
    labelset = parse_labels(labels)
    found = model._predictor.predict_words(
        [words_of(ex) for ex in examples], [labelset] * len(examples), threshold, flat_ner, False, batch_size
    )
    predicted = [[(s, e, labelset.names[c]) for s, e, c, _ in spans] for spans in found]
    return score([ex.spans for ex in examples], predicted)
