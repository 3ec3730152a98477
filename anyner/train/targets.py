"""Training batches: the variant's encoder inputs plus the target and mask of every span ×
type pair (span level) or every word × type × {start, end, inside} (token level)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..data.example import Example
from ..text.label_tokens import LabelTokenizer
from ..text.prompt import PromptBuilder


@dataclass(frozen=True)
class TrainBatch:
    inputs: dict[str, torch.Tensor]  # the model's forward arguments
    targets: torch.Tensor
    mask: torch.Tensor  # which target entries count in the loss
    # per example: (start word, end word, index of its type among those asked): for the
    # boundary-aware contrastive loss
    gold: list[list[tuple[int, int, int]]] = field(default_factory=list)

    def to(self, device: torch.device) -> TrainBatch:
        if device.type == "cpu":
            return self
        return TrainBatch(
            {k: v.to(device, non_blocking=True) for k, v in self.inputs.items()},
            self.targets.to(device, non_blocking=True),
            self.mask.to(device, non_blocking=True),
            self.gold,
        )


def build_batch(
    examples: Sequence[Example],
    types: Sequence[Sequence[str]],
    builder: PromptBuilder,
    pad_id: int,
    variant,
    max_width: int,
    prompts: Sequence[Sequence[str]] | None = None,
    labels_tokenizer: LabelTokenizer | None = None,
) -> TrainBatch:
    """``types``: the labels asked for in each example (targets follow them); ``prompts``: what
    the model reads for each (a label, a synonym or a definition), by default the labels.
    ``variant``: an anyner.variants.Variant; a two-stage one needs ``labels_tokenizer``."""
    shown = prompts if prompts is not None else types
    inputs, lengths, type_counts = variant.encoding.train_inputs(
        examples, shown, builder, pad_id, labels_tokenizer
    )
    targets, mask = variant.level.targets(examples, types, lengths, type_counts, max_width)
    return TrainBatch(inputs, targets, mask, gold_spans(examples, types))


def gold_spans(
    examples: Sequence[Example], types: Sequence[Sequence[str]]
) -> list[list[tuple[int, int, int]]]:
    """Each example's mentions of the types it is asked for, with the type's index."""
    out = []
    for ex, asked in zip(examples, types, strict=True):
        where = {label: i for i, label in enumerate(asked)}
        out.append([(s, e, where[label]) for s, e, label in ex.spans if label in where])
    return out
