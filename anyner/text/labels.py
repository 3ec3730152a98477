"""Validate what callers pass as labels and thresholds."""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .words import readable

LabelsArg = Sequence[str] | Mapping[str, str]


@dataclass(frozen=True, eq=False)
class LabelSet:
    """Entity types for one text: the names reported back, and what the model reads for each
    (the name itself, or its description when labels came as ``{label: description}``); for a
    bi-encoder, possibly their label vectors already (from ``model.encode_labels``)."""

    names: tuple[str, ...]
    prompts: tuple[str, ...]
    vectors: np.ndarray | None = None  # (C, D) float32


class LabelVectors(LabelSet):
    """What ``model.encode_labels(labels)`` returns: pass it in place of the labels."""

    def __repr__(self) -> str:
        shape = None if self.vectors is None else self.vectors.shape
        return f"LabelVectors(names={list(self.names)!r}, vectors={shape})"


def parse_labels(labels: LabelsArg, control_tokens: Collection[str] = ()) -> LabelSet:
    """Checked labels. What the model reads has unpaired surrogates replaced (see ``readable``)
    and must not hold any of ``control_tokens`` (the prompt's markers, e.g. "[CLS]", "<<ENT>>"),
    which the tokenizer would read as markers rather than words."""
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
    read = tuple(readable(p.strip()) for p in prompts)
    what = "the description of label {!r}" if isinstance(labels, Mapping) else "label {!r}"
    for name, prompt in zip(names, read, strict=True):
        _check_no_control_token(what.format(name), prompt, control_tokens)
    return LabelSet(tuple(names), read)


def _check_no_control_token(what: str, prompt: str, control_tokens: Collection[str]) -> None:
    for token in control_tokens:
        if token in prompt:
            raise InputError(
                f"{what} contains {token!r}, one of the model's control tokens, which would be read as "
                "a marker of the prompt, not as words: remove or reword it"
            )


def check_threshold(threshold: float) -> float:
    """A number in [0, 1] as a float; numpy scalars (``np.float32(0.5)``) count as numbers."""
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise InputError(f"threshold must be a number in [0, 1], got {threshold!r}")
    if math.isnan(threshold) or not 0.0 <= threshold <= 1.0:
        raise InputError(f"threshold must be in [0, 1], got {threshold!r}")
    return float(threshold)
