"""Encoder passes into batches: sorted by length, cut by a token budget, padded into numpy arrays.

Sorting puts passes of similar length together, so little is padded; the token budget (the
batch's padded size, passes × longest pass) lets many short passes share a forward call while
a few long windows fill one, which keeps the memory of a call bounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from ..text.prompt import EncoderInput

# padded tokens per forward call: two 512-token windows, or 16 sentences of 64 tokens. On a
# 2-core CPU, calls of more long windows ran slower: the span head's activations outgrow the caches
DEFAULT_BATCH_TOKENS = 1024

# the network's inputs: types at [ENT] markers of the same pass (uni-encoder), or the batch's
# distinct label vectors from the label stage and which of them each pass asks for (bi-encoder)
MODEL_INPUTS = ("input_ids", "attention_mask", "word_positions", "word_lengths", "type_positions")
VECTOR_INPUTS = (
    "input_ids",
    "attention_mask",
    "word_positions",
    "word_lengths",
    "label_vectors",
    "type_index",
    "type_counts",
)


@dataclass(frozen=True)
class Batch:
    """Padded encoder passes (int64 arrays; type vectors float32): what every runner takes."""

    input_ids: np.ndarray  # (B, T)
    attention_mask: np.ndarray  # (B, T)
    word_positions: np.ndarray  # (B, W) where each word's first sub-token sits
    word_lengths: np.ndarray  # (B,)
    type_positions: np.ndarray  # (B, C) where each [ENT] marker sits ((B, 0) with label vectors)
    type_counts: np.ndarray  # (B,) only for decoding: the network reads padded types too
    label_vectors: np.ndarray | None = None  # (L, D) the distinct labels' vectors (bi-encoder)
    type_index: np.ndarray | None = None  # (B, C) which label vector each type of a pass is
    inputs: tuple[str, ...] = MODEL_INPUTS  # which arrays the network takes, in order

    def model_inputs(self) -> dict[str, np.ndarray]:
        """The network's forward arguments."""
        return {name: getattr(self, name) for name in self.inputs}

    def tensors(self) -> dict:
        """Every array as a torch tensor (shared memory)."""
        import torch

        return {
            f.name: torch.from_numpy(getattr(self, f.name))
            for f in fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        }


def collate(
    inputs: Sequence[EncoderInput],
    pad_id: int,
    labels: tuple[np.ndarray, Sequence[np.ndarray]] | None = None,
) -> Batch:
    """Pad encoder passes into one batch. ``labels``, for passes whose types come from a label
    encoder: (L, D) distinct label vectors, and per pass the indices of its types among them."""
    n = len(inputs)
    tokens = np.array([len(x.input_ids) for x in inputs], dtype=np.int64)
    words = np.array([len(x.word_positions) for x in inputs], dtype=np.int64)
    types = np.array([len(x.type_positions) for x in inputs], dtype=np.int64)
    input_ids = np.full((n, int(tokens.max())), pad_id, dtype=np.int64)
    word_pos = np.zeros((n, int(words.max())), dtype=np.int64)
    type_pos = np.zeros((n, int(types.max())), dtype=np.int64)
    for i, x in enumerate(inputs):
        input_ids[i, : tokens[i]] = x.input_ids
        word_pos[i, : words[i]] = x.word_positions
        type_pos[i, : types[i]] = x.type_positions
    attention = (np.arange(input_ids.shape[1]) < tokens[:, None]).astype(np.int64)
    if labels is None:
        return Batch(input_ids, attention, word_pos, words, type_pos, types)
    vectors, rows = labels
    counts = np.array([len(r) for r in rows], dtype=np.int64)
    index = np.zeros((n, max(int(counts.max()), 1)), dtype=np.int64)  # padding: label 0, ignored
    for i, r in enumerate(rows):
        index[i, : len(r)] = r
    return Batch(
        input_ids,
        attention,
        word_pos,
        words,
        type_pos,
        counts,
        vectors.astype(np.float32),
        index,
        VECTOR_INPUTS,
    )


def bucket(lengths: Sequence[int], max_passes: int, max_tokens: int) -> list[np.ndarray]:
    """Indices of passes, grouped into batches: shortest first, each batch at most ``max_passes``
    passes and ``max_tokens`` padded tokens (a pass longer than that goes alone)."""
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[np.ndarray] = []
    first = 0
    for i, index in enumerate(order.tolist()):
        size = i - first  # passes already in the batch; this one is the longest so far
        if size and (size == max_passes or (size + 1) * lengths[index] > max_tokens):
            batches.append(order[first:i])
            first = i
    if len(order):
        batches.append(order[first:])
    return batches
