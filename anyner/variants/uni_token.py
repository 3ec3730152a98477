"""The uni-token variant: labels and text in one encoder pass, token-level scoring (GLiNER token_level)."""

from __future__ import annotations

from .base import Variant, register_variant
from .joint import JOINT
from .levels import TOKEN

VARIANT = register_variant(Variant("uni-token", TOKEN, JOINT, gliner_span_mode="token_level"))
