"""Label texts into label-encoder inputs (a bi-encoder's label stage): each label tokenized
with the label encoder's own tokenizer, special tokens included, padded to the longest
label, as GLiNER's bi-encoder does."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tokenizers import Tokenizer

from ..errors import CheckpointError

MAX_LABEL_TOKENS = 512


class LabelTokenizer:
    def __init__(self, tokenizer: Tokenizer, max_tokens: int = MAX_LABEL_TOKENS):
        tok = Tokenizer.from_str(tokenizer.to_str())  # a private copy: padding off, our truncation
        tok.no_padding()
        tok.enable_truncation(max_tokens)
        self._tok = tok
        self.tokenizer = tokenizer  # as given, for saving
        self.pad_id = self._pad_id()

    def _pad_id(self) -> int:
        vocab = self._tok.get_vocab()
        for name in ("[PAD]", "<pad>", "<PAD>"):
            if name in vocab:
                return vocab[name]
        raise CheckpointError("the label tokenizer has no padding token ([PAD] or <pad>)")

    def encode(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(L, T) token ids and attention mask, int64."""
        encodings = self._tok.encode_batch(list(prompts), add_special_tokens=True)
        longest = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), longest), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), longest), dtype=np.int64)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        return ids, mask
