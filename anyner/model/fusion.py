"""Post-fusion of a bi-encoder (GLiNER's "poly-encoder"): after both encoders, attention among
the labels (``l2l``), from labels to words (``l2t``), among the words (``t2t``) and from words
to labels (``t2l``), in the order a schema such as "l2l-l2t" gives, repeated per layer.

The arithmetic and the weight names follow gliner 0.2.29's ``CrossFuser``, so its checkpoints
load as they are: each block normalises its query first, attends, adds the result back and
normalises again; the self-attention blocks project queries, keys and values twice (a block
projection, then the attention's own).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SCHEMA_PARTS = ("l2l", "l2t", "t2t", "t2l")


class Attention(nn.Module):
    def __init__(self, d_model: int, num_heads: int, dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.query_layer = nn.Linear(d_model, d_model)
        self.key_layer = nn.Linear(d_model, d_model)
        self.value_layer = nn.Linear(d_model, d_model)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.num_heads, d // self.num_heads).transpose(1, 2)

    def forward(self, query, key, value, mask: torch.Tensor) -> torch.Tensor:
        """``mask`` (B, Q, K): True where a query may look at a key."""
        q, k, v = (
            self._heads(self.query_layer(query)),
            self._heads(self.key_layer(key)),
            self._heads(self.value_layer(value)),
        )
        p = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, mask.unsqueeze(1), dropout_p=p)
        return out.transpose(1, 2).reshape(query.shape)


class SelfBlock(nn.Module):
    def __init__(self, d_model: int, num_heads: int, dropout: float):
        super().__init__()
        self.self_attn = Attention(d_model, num_heads, dropout)
        self.pre_norm = nn.LayerNorm(d_model)
        self.post_norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.pre_norm(x)
        out = self.self_attn(self.q_proj(x), self.k_proj(x), self.v_proj(x), mask)
        return self.post_norm(x + self.dropout(out))


class CrossBlock(nn.Module):
    def __init__(self, d_model: int, num_heads: int, dropout: float):
        super().__init__()
        self.cross_attn = Attention(d_model, num_heads, dropout)
        self.pre_norm = nn.LayerNorm(d_model)
        self.post_norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.v_proj = nn.Linear(d_model, d_model)

    def forward(self, query: torch.Tensor, key: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        query = self.pre_norm(query)
        out = self.cross_attn(query, key, self.v_proj(key), mask)
        return self.post_norm(query + self.dropout(out))


class CrossFuser(nn.Module):
    def __init__(self, d_model: int, num_heads: int, num_layers: int, dropout: float, schema: str):
        super().__init__()
        self.schema = schema.split("-")
        unknown = [s for s in self.schema if s not in SCHEMA_PARTS]
        if unknown:
            raise ValueError(f"post-fusion schema parts {unknown} unknown; known: {', '.join(SCHEMA_PARTS)}")
        block = {"l2l": SelfBlock, "t2t": SelfBlock, "l2t": CrossBlock, "t2l": CrossBlock}
        self.layers = nn.ModuleList(
            nn.ModuleList(block[s](d_model, num_heads, dropout) for s in self.schema)
            for _ in range(num_layers)
        )

    def forward(
        self, labels: torch.Tensor, words: torch.Tensor, label_mask: torch.Tensor, word_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, D) labels and (B, W, D) words, each with a (B, ·) validity mask -> both fused."""
        pair = lambda a, b: a.unsqueeze(-1) & b.unsqueeze(-2)  # noqa: E731  (B, A, B) allowed pairs
        for layer in self.layers:
            for kind, block in zip(self.schema, layer, strict=True):
                if kind == "l2l":
                    labels = block(labels, pair(label_mask, label_mask))
                elif kind == "t2t":
                    words = block(words, pair(word_mask, word_mask))
                elif kind == "l2t":
                    labels = block(labels, words, pair(label_mask, word_mask))
                else:
                    words = block(words, labels, pair(word_mask, label_mask))
        return labels, words
