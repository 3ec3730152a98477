"""The registry of model variants: what differs between a uni-encoder and a bi-encoder, and
between span-level and token-level scoring, declared in one place per variant.

A variant is a level (:mod:`.levels`: the head, how candidates are found, training targets,
the export's output axes) combined with an encoding (:mod:`.joint` or :mod:`.bi`: how type
vectors are made, the model's inputs, the gliner weight names). Adding a variant is one new
module that calls :func:`register_variant`; nothing else in the tree branches on the kind.
"""

from __future__ import annotations

# the built-in variants register themselves on import
from . import bi_span, bi_token, uni_span, uni_token  # noqa: F401
from .base import Variant, get_variant, gliner_variant, register_variant, variant_names

__all__ = ["Variant", "get_variant", "gliner_variant", "register_variant", "variant_names"]
