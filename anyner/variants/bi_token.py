"""The bi-token variant: a separate, cached label encoder, token-level scoring (GLiNER token_level)."""

from __future__ import annotations

from .base import Variant, register_variant
from .bi import BI
from .levels import TOKEN

VARIANT = register_variant(Variant("bi-token", TOKEN, BI, gliner_span_mode="token_level"))
