"""Validate what callers pass as labels and thresholds."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import InputError

LabelsArg = Sequence[str] | Mapping[str, str]


@dataclass(frozen=True)
class LabelSet:
    """Entity types for one text: the names reported back, and what the model reads for each
    (the name itself, or its description when labels came as ``{label: description}``)."""

    names: tuple[str, ...]
    prompts: tuple[str, ...]


def parse_labels(labels: LabelsArg) -> LabelSet:
    if isinstance(labels, str):
        raise InputError(
            f"labels must be a list of strings, not the string {labels!r}; did you mean [{labels!r}]?"
        )
    if isinstance(labels, Mapping):
        names, prompts = list(labels.keys()), list(labels.values())
        for name, prompt in zip(names, prompts, strict=True):
            if not isinstance(prompt, str) or not prompt.strip():
                raise InputError(
                    f"the description of label {name!r} must be a non-empty string, got {prompt!r}"
                )
    elif isinstance(labels, Sequence):
        names = prompts = list(labels)
    else:
        raise InputError(
            f"labels must be a list of strings or a {{label: description}} dict, got {type(labels).__name__}"
        )
    if not names:
        raise InputError("labels is empty: give at least one entity type, e.g. ['person']")
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str):
            raise InputError(f"every label must be a string, got {name!r} ({type(name).__name__})")
        if not name.strip():
            raise InputError(f"labels must be non-empty strings, got {name!r}")
        if name in seen:
            raise InputError(f"duplicate label {name!r}: give each label once")
        seen.add(name)
    return LabelSet(tuple(names), tuple(p.strip() for p in prompts))


def check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise InputError(f"threshold must be a number in [0, 1], got {threshold!r}")
    if math.isnan(threshold) or not 0.0 <= threshold <= 1.0:
        raise InputError(f"threshold must be in [0, 1], got {threshold!r}")
    return float(threshold)
