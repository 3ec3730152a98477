"""The uni-span variant: labels and text in one encoder pass, span-level scoring (GLiNER markerV0)."""

from __future__ import annotations

from .base import Variant, register_variant
from .joint import JOINT
from .levels import SPAN

VARIANT = register_variant(Variant("uni-span", SPAN, JOINT, gliner_span_mode="markerV0"))
