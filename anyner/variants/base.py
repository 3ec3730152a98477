"""What a model variant declares, and the registry that maps names to variants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ..config import ModelConfig
    from ..data.example import Example
    from ..decode import Candidates


class Level(Protocol):
    """What the head scores: spans (GLiNER span level) or start/end/inside per word."""

    name: str
    uses_max_width: bool  # whether mentions longer than max_width words are out of reach

    def build_head(self, config: ModelConfig) -> nn.Module: ...

    def candidates(
        self, probs: np.ndarray, word_lengths: np.ndarray, type_counts: np.ndarray, threshold: float
    ) -> Candidates: ...

    def targets(
        self,
        examples: Sequence[Example],
        types: Sequence[Sequence[str]],
        lengths,
        type_counts,
        max_width: int,
    ) -> tuple[torch.Tensor, torch.Tensor]: ...

    def output_axes(self) -> dict[int, str]: ...


class Encoding(Protocol):
    """How text and labels meet: in one joint pass, or through a separate label encoder."""

    name: str
    two_stage: bool  # labels are encoded apart (and cached) before texts are scored
    uses_markers: bool  # the text's prompt holds [ENT] and [SEP] markers

    def build_model(
        self, config: ModelConfig, backbone: nn.Module, build_head, labels_backbone: nn.Module | None
    ): ...

    def gliner_prefixes(self) -> list[tuple[str, str | None]]: ...

    def gliner_overrides(self, cfg: dict[str, Any]) -> dict[str, Any]: ...

    def plan(self, predictor, doc: int, words, labels) -> list: ...  # the encoder passes of a text

    def batch(self, predictor, passes: list, labelsets) -> Any: ...  # passes -> a runner's Batch

    def train_inputs(self, examples, prompts, builder, pad_id, labels_tokenizer=None) -> tuple: ...


@dataclass(frozen=True)
class Variant:
    name: str  # e.g. "uni-span": saved in the model config
    level: Level
    encoding: Encoding
    gliner_span_mode: str | None = None  # gliner's span_mode for this level, if gliner has it

    @property
    def two_stage(self) -> bool:
        return self.encoding.two_stage

    def build_model(self, config: ModelConfig, backbone: nn.Module, labels_backbone: nn.Module | None = None):
        return self.encoding.build_model(config, backbone, self.level.build_head, labels_backbone)

    def gliner_prefixes(self) -> list[tuple[str, str | None]]:
        """gliner weight-name prefix -> anyner prefix (None: dropped, with the reason in the
        encoding); a weight matching none of them is unexpected."""
        return self.encoding.gliner_prefixes()


_REGISTRY: dict[str, Variant] = {}


def register_variant(variant: Variant, *, replace: bool = False) -> Variant:
    if variant.name in _REGISTRY and not replace:
        raise ValueError(f"a model variant named {variant.name!r} is registered already")
    _REGISTRY[variant.name] = variant
    return variant


def unregister_variant(name: str) -> None:
    _REGISTRY.pop(name, None)


def get_variant(name: str) -> Variant:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown model variant {name!r}; known: {', '.join(variant_names())}") from None


def variant_names() -> list[str]:
    return sorted(_REGISTRY)


def gliner_variant(config: dict[str, Any]) -> Variant | None:
    """The variant a gliner config describes: its span_mode, with or without a labels encoder."""
    two_stage = bool(config.get("labels_encoder"))
    for variant in _REGISTRY.values():
        if variant.gliner_span_mode == config.get("span_mode") and variant.two_stage == two_stage:
            return variant
    return None
