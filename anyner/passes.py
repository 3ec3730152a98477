"""One encoder pass of the inference pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from .text.prompt import EncoderInput
from .text.windows import Window


@dataclass(frozen=True)
class Pass:
    """A window of one document with the labels it is scored against (a group of them, for a
    uni-encoder whose prompt holds only so many; all of them, for a bi-encoder)."""

    doc: int
    window: Window
    labels: list[int]  # indices into the document's LabelSet
    inputs: EncoderInput
