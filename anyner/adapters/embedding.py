"""Sentence vectors for routing: the base text encoder's token states over the plain text (no
prompt), mean-pooled over its tokens, as e5 pools (no adapter: every input gets the same
encoder before the router has chosen)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

CHUNK = 32  # texts per encoder call
MAX_TOKENS = 128  # enough of a text to tell its language or domain


def sentence_vectors(ner, texts: Sequence[str]) -> np.ndarray:
    encoder = ner.model.encoder
    out = []
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.inference_mode():
            for i in range(0, len(texts), CHUNK):
                chunk = [t if t.strip() else "." for t in texts[i : i + CHUNK]]
                enc = ner.tokenizer(
                    chunk, truncation=True, max_length=MAX_TOKENS, padding=True, return_tensors="pt"
                )
                hidden = encoder(enc["input_ids"], enc["attention_mask"]).float()
                mask = enc["attention_mask"].unsqueeze(-1).float()
                out.append(((hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)).numpy())
    finally:
        encoder.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, ner.config.hidden_size), np.float32)
