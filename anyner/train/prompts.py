"""What the encoder reads for each label while training: mostly the label itself, sometimes
its definition, so that ``{label: description}`` prompts at inference are familiar.

The definitions are a ``{label: definition}`` JSON file (e.g. the Pile-NER definitions in
``train/pilener_slice/definitions.json``). A definition replaces its label only while the
whole prompt stays within the tokens that training reserves for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..text.prompt import PromptBuilder


class LabelPrompts:
    def __init__(self, definitions: Mapping[str, str], prob: float, builder: PromptBuilder, budget: int):
        self.definitions = dict(definitions)
        self.prob = prob
        self.builder = builder
        self.budget = budget  # prompt tokens ([ENT] markers, labels, [SEP]) allowed per example

    def __call__(self, labels: Sequence[str], rng: np.random.Generator) -> list[str]:
        prompts = list(labels)
        if self.prob <= 0 or not self.definitions:
            return prompts
        for i in rng.permutation(len(labels)):
            text = self.definitions.get(labels[i])
            if text is None or rng.random() >= self.prob:
                continue
            trial = [*prompts[:i], text, *prompts[i + 1 :]]
            if self.builder.prompt_length(trial) <= self.budget:
                prompts = trial
        return prompts


def read_definitions(path: str | Path) -> dict[str, str]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"label definitions file {path} does not exist") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"label definitions file {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in data.items()
    ):
        raise InputError(f"label definitions file {path} must be a JSON object of label -> definition text")
    return {k: v.strip() for k, v in data.items()}
