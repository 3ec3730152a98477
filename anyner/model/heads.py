"""Scoring heads: span × type logits (GLiNER span level) or start/end/inside per word × type."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import mlp


class SpanHead(nn.Module):
    """GLiNER's "markerV0": project start and end words, concatenate, project again; then
    score every span of width 1..max_width against every type vector by a dot product.
    The type vector is an FFN over the [ENT] output.

    Computed in a factored but equal form: ReLU of a concatenation is the concatenation of
    ReLUs, so the first layer of ``out`` splits into a start half and an end half applied
    once per word; and ``out``'s last layer is linear, so it moves onto the (few) type
    vectors. Per span and type only a ReLU and a dot product remain.
    """

    def __init__(self, hidden_size: int, max_width: int, dropout: float):
        super().__init__()
        self.max_width = max_width
        self.start = mlp(hidden_size, dropout)
        self.end = mlp(hidden_size, dropout)
        self.out = mlp(hidden_size * 2, dropout, hidden_size)
        self.type_proj = mlp(hidden_size, dropout)

    def forward(self, words: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        """(B, W, D) words, (B, C, D) types -> (B, W, K, C) logits."""
        return self.score(words, self.type_side(types))

    def type_side(self, types: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the logits need of the types alone, (…, C, 4D) and (…, C): a bi-encoder computes
        it once per distinct label of a batch rather than once per text."""
        types = self.type_proj(types)
        last = self.out[3]
        return types @ last.weight, types @ last.bias

    def score(self, words: torch.Tensor, type_side: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """(B, W, D) words and (B, C, …) type sides -> (B, W, K, C) logits."""
        w, d = words.size(1), words.size(2)
        first, _, drop, _ = self.out
        # dropout acts on the per-word halves: on the (B, W, K, 4D) sum it would cost K times more
        start = drop(F.linear(self.start(words).relu(), first.weight[:, :d], first.bias))  # (B, W, 4D)
        end = drop(F.linear(self.end(words).relu(), first.weight[:, d:]))
        device = words.device
        ends = torch.arange(w, device=device)[:, None] + torch.arange(self.max_width, device=device)
        ends = ends.clamp_(max=w - 1)  # spans past the text end are masked at decoding
        hidden = (start.unsqueeze(2) + end[:, ends]).relu()  # (B, W, K, 4D)
        type_weight, type_bias = type_side
        logits = torch.einsum("bwkh,bch->bwkc", hidden, type_weight)
        return logits + type_bias[:, None, None, :]


class TokenHead(nn.Module):
    """GLiNER multi-task's scorer: for each word and type, start, end and inside logits
    from [word, type, word ⊙ type] projections."""

    def __init__(self, hidden_size: int, dropout: float):
        super().__init__()
        self.proj_token = nn.Linear(hidden_size, hidden_size * 2)
        self.proj_label = nn.Linear(hidden_size, hidden_size * 2)
        self.out_mlp = nn.Sequential(
            nn.Linear(hidden_size * 3, hidden_size * 4),
            nn.Dropout(dropout),
            nn.ReLU(),
            nn.Linear(hidden_size * 4, 3),
        )

    def forward(self, words: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        """-> (B, W, C, 3) logits: start, end, inside."""
        return self.score(words, self.type_side(types))

    def type_side(self, types: torch.Tensor) -> tuple[torch.Tensor]:
        """The label projection, (…, C, 2D): see :meth:`SpanHead.type_side`."""
        return (self.proj_label(types),)

    def score(self, words: torch.Tensor, type_side: tuple[torch.Tensor]) -> torch.Tensor:
        b, w, d = words.shape
        c = type_side[0].size(1)
        tok = self.proj_token(words).view(b, w, 1, 2, d)
        lab = type_side[0].view(b, 1, c, 2, d)
        tok0, tok1 = tok[..., 0, :].expand(-1, -1, c, -1), tok[..., 1, :]
        lab0, lab1 = lab[..., 0, :].expand(-1, w, -1, -1), lab[..., 1, :]
        return self.out_mlp(torch.cat([tok0, lab0, tok1 * lab1], dim=-1))
