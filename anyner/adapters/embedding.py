"""Sentence vectors for routing: the base text encoder's token states over the plain text (no
prompt), mean-pooled over its tokens, as e5 pools (no adapter: every input gets the same
encoder before the router has chosen).

``layers`` stops the pass after that many encoder layers: the routing pass is paid on top of
the NER pass, and the lower layers tell languages apart at least as well as the top ones
(measured in docs/multilingual.md), for a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..train.contrastive import encoder_layers

CHUNK = 32  # texts per encoder call
MAX_TOKENS = 128  # enough of a text to tell its language or domain


class _Enough(Exception):
    """Raised by the hook on the last layer wanted: the layers above it never run."""


def sentence_vectors(ner, texts: Sequence[str], layers: int | None = None) -> np.ndarray:
    encoder = ner.model.encoder
    blocks = encoder_layers(encoder.model) if layers is not None else None
    out = []
    # texts of like length share a chunk: less padding to run through the layers
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.inference_mode():
            for i in range(0, len(texts), CHUNK):
                chunk = [texts[j] if texts[j].strip() else "." for j in order[i : i + CHUNK]]
                enc = ner.tokenizer(
                    chunk, truncation=True, max_length=MAX_TOKENS, padding=True, return_tensors="pt"
                )
                hidden = _states(encoder, blocks, layers, enc).float()
                mask = enc["attention_mask"].unsqueeze(-1).float()
                out.append(((hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)).numpy())
    finally:
        encoder.train(was_training)
    if not out:
        return np.zeros((0, ner.config.hidden_size), np.float32)
    vectors = np.empty((len(texts), out[0].shape[1]), np.float32)
    vectors[order] = np.concatenate(out)
    return vectors


def _states(encoder, blocks, layers: int | None, enc) -> torch.Tensor:
    if blocks is None or layers >= len(blocks):
        return encoder(enc["input_ids"], enc["attention_mask"])
    seen: list[torch.Tensor] = []

    def stop(_module, _inputs, output):
        seen.append(output[0] if isinstance(output, tuple) else output)
        raise _Enough

    handle = blocks[layers - 1].register_forward_hook(stop)
    try:
        encoder(enc["input_ids"], enc["attention_mask"])
    except _Enough:
        pass
    finally:
        handle.remove()
    return seen[0]
