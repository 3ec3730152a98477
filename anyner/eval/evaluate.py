"""Run a model over labelled examples and score it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..data.example import Example
from ..options import DEFAULT_OPTIONS, DecodeOptions
from .metrics import Report, score


def evaluate(
    model,
    examples: Sequence[Example],
    labels: Sequence[str] | Mapping[str, str] | None = None,
    options: DecodeOptions = DEFAULT_OPTIONS,
    **predict_options,
) -> Report:
    """``labels``: the types asked for (a list, or {label: what the model reads}); by default
    every label in the gold data. Gold labels outside them count as misses.
    ``predict_options``: further arguments of ``batch_predict_words`` (e.g. ``adapter``)."""
    if labels is None:
        labels = sorted({label for ex in examples for _, _, label in ex.spans})
    found = model.batch_predict_words(
        [ex.words for ex in examples], labels, **options.as_kwargs(), **predict_options
    )
    predicted = [[(s, e, label) for s, e, label, _ in spans] for spans in found]
    return score([ex.spans for ex in examples], predicted)
