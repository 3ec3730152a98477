"""The bi-span variant: a separate, cached label encoder, span-level scoring (GLiNER markerV0)."""

from __future__ import annotations

from .base import Variant, register_variant
from .bi import BI
from .levels import SPAN

VARIANT = register_variant(Variant("bi-span", SPAN, BI, gliner_span_mode="markerV0"))
