"""Training batches: encoder inputs plus the target and mask of every span × type pair
(span head) or every word × type × {start, end, inside} (token head)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..config import Architecture
from ..data.example import Example
from ..runtime.batching import collate
from ..text.prompt import PromptBuilder


@dataclass(frozen=True)
class TrainBatch:
    inputs: dict[str, torch.Tensor]  # the model's forward arguments
    targets: torch.Tensor
    mask: torch.Tensor  # which target entries count in the loss

    def to(self, device: torch.device) -> TrainBatch:
        if device.type == "cpu":
            return self
        return TrainBatch(
            {k: v.to(device, non_blocking=True) for k, v in self.inputs.items()},
            self.targets.to(device, non_blocking=True),
            self.mask.to(device, non_blocking=True),
        )


def build_batch(
    examples: Sequence[Example],
    types: Sequence[Sequence[str]],
    builder: PromptBuilder,
    pad_id: int,
    architecture: Architecture,
    max_width: int,
    prompts: Sequence[Sequence[str]] | None = None,
) -> TrainBatch:
    """``types``: the labels asked for in each example (targets follow them); ``prompts``: what
    the encoder reads for each (a label, a synonym or a definition), by default the labels."""
    encoded = []
    for ex, shown in zip(examples, prompts if prompts is not None else types, strict=True):
        doc = builder.encode_words(ex.words)
        encoded.append(builder.build(doc, 0, len(ex.words), shown))
    tensors = collate(encoded, pad_id).tensors()  # the forward arguments plus type_counts
    type_counts = tensors.pop("type_counts")
    lengths = tensors["word_lengths"]
    b, w, c = len(examples), int(lengths.max()), max(int(type_counts.max()), 1)
    word_ok = torch.arange(w) < lengths[:, None]  # (B, W)
    type_ok = torch.arange(c) < type_counts[:, None]  # (B, C)
    if architecture is Architecture.SPAN:
        targets = torch.zeros(b, w, max_width, c)
        ends = torch.arange(w)[:, None] + torch.arange(max_width)  # (W, K)
        span_ok = ends[None] < lengths[:, None, None]  # (B, W, K)
        mask = span_ok[..., None] & type_ok[:, None, None, :]
        for i, (ex, labels) in enumerate(zip(examples, types, strict=True)):
            index = {label: j for j, label in enumerate(labels)}
            for s, e, label in ex.spans:
                if label in index and e - s < max_width:
                    targets[i, s, e - s, index[label]] = 1.0
    else:
        targets = torch.zeros(b, w, c, 3)
        mask = (word_ok[:, :, None] & type_ok[:, None, :])[..., None].expand(-1, -1, -1, 3)
        for i, (ex, labels) in enumerate(zip(examples, types, strict=True)):
            index = {label: j for j, label in enumerate(labels)}
            for s, e, label in ex.spans:
                if label in index:
                    j = index[label]
                    targets[i, s, j, 0] = 1.0
                    targets[i, e, j, 1] = 1.0
                    targets[i, s : e + 1, j, 2] = 1.0
    return TrainBatch(tensors, targets, mask)
