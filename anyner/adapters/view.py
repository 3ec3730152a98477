"""The adapted view of a model: a structural copy that shares every weight of the base and
carries the LoRA adapters (peft, unmerged, one active at a time) and prototype offsets.

The base model itself is never touched: with no adapter selected its outputs stay bit for
bit what they were, its exports and saves hold no adapter, and the view costs only the
adapters' own weights."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


def shared_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model``'s modules whose parameters and buffers are the very same tensors."""
    memo = {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}
    return copy.deepcopy(model, memo)


class TypeOffsets:
    """Per-type additions to a span head's type side (prototypes): the head scores span ``v``
    against type ``t`` as ``t · v``; with an offset ``(o, b)`` it scores ``(t + o) · v + b``."""

    def __init__(self, head: nn.Module):
        self.head = head
        self.current: tuple[torch.Tensor, torch.Tensor] | None = None  # (B, C, D), (B, C)
        plain = head.type_side

        def type_side(types: torch.Tensor):
            weight, bias = plain(types)
            if self.current is None:
                return weight, bias
            offset, shift = (t.to(weight.dtype) for t in self.current)
            last = head.out[3]
            return weight + offset @ last.weight, bias + offset @ last.bias + shift

        head.type_side = type_side  # on the view's own head only

    @contextmanager
    def applied(self, offsets: tuple[torch.Tensor, torch.Tensor] | None) -> Iterator[None]:
        self.current = offsets
        try:
            yield
        finally:
            self.current = None
