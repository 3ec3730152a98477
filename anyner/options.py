"""How entities are chosen and how encoder passes are batched: one frozen, validated object that
the Python API, the CLI, the server, spaCy, Ray and evaluation all build and pass on."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .errors import InputError
from .runtime.batching import DEFAULT_BATCH_TOKENS
from .text.labels import check_threshold


@dataclass(frozen=True)
class DecodeOptions:
    threshold: float = 0.5  # least score of an entity, in [0, 1]
    flat_ner: bool = True  # no two entities share a word; else nesting, never partial overlap
    multi_label: bool = False  # one span may carry several labels
    batch_size: int = 8  # encoder passes per forward call
    batch_tokens: int = DEFAULT_BATCH_TOKENS  # padded tokens per forward call

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", check_threshold(self.threshold))
        for name in ("flat_ner", "multi_label"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise InputError(f"{name} must be True or False, got {value!r}")
        for name in ("batch_size", "batch_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")

    def as_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``batch_predict_entities`` and friends."""
        return asdict(self)


DEFAULT_OPTIONS = DecodeOptions()  # threshold 0.5, flat, one label per span
