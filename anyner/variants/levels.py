"""The two scoring levels: spans of up to ``max_width`` words (GLiNER's "markerV0") and
start/end/inside per word (GLiNER's "token_level")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..decode import Candidates, span_candidates, token_candidates


@dataclass(frozen=True)
class SpanLevel:
    name: str = "span"
    uses_max_width: bool = True

    def build_head(self, config):
        from ..model.heads import SpanHead

        return SpanHead(config.hidden_size, config.max_width, config.dropout)

    def candidates(self, probs, word_lengths, type_counts, threshold: float) -> Candidates:
        return span_candidates(probs, word_lengths, type_counts, threshold)

    def targets(
        self, examples: Sequence, types: Sequence[Sequence[str]], lengths, type_counts, max_width: int
    ):
        """(B, W, K, C) targets and mask: 1 where span (s, width k) has type c."""
        import torch

        b, w, c = len(examples), int(lengths.max()), max(int(type_counts.max()), 1)
        targets = torch.zeros(b, w, max_width, c)
        ends = torch.arange(w)[:, None] + torch.arange(max_width)  # (W, K)
        span_ok = ends[None] < lengths[:, None, None]  # (B, W, K)
        type_ok = torch.arange(c) < type_counts[:, None]
        mask = span_ok[..., None] & type_ok[:, None, None, :]
        for i, (ex, labels) in enumerate(zip(examples, types, strict=True)):
            index = {label: j for j, label in enumerate(labels)}
            for s, e, label in ex.spans:
                if label in index and e - s < max_width:
                    targets[i, s, e - s, index[label]] = 1.0
        return targets, mask

    def output_axes(self) -> dict[int, str]:
        return {0: "batch", 1: "words", 3: "types"}


@dataclass(frozen=True)
class TokenLevel:
    name: str = "token"
    uses_max_width: bool = False

    def build_head(self, config):
        from ..model.heads import TokenHead

        return TokenHead(config.hidden_size, config.dropout)

    def candidates(self, probs, word_lengths, type_counts, threshold: float) -> Candidates:
        return token_candidates(probs, word_lengths, type_counts, threshold)

    def targets(
        self, examples: Sequence, types: Sequence[Sequence[str]], lengths, type_counts, max_width: int
    ):
        """(B, W, C, 3) targets and mask: start, end and inside of each mention's words."""
        import torch

        b, w, c = len(examples), int(lengths.max()), max(int(type_counts.max()), 1)
        word_ok = torch.arange(w) < lengths[:, None]
        type_ok = torch.arange(c) < type_counts[:, None]
        targets = torch.zeros(b, w, c, 3)
        mask = (word_ok[:, :, None] & type_ok[:, None, :])[..., None].expand(-1, -1, -1, 3)
        for i, (ex, labels) in enumerate(zip(examples, types, strict=True)):
            index = {label: j for j, label in enumerate(labels)}
            for s, e, label in ex.spans:
                if label in index:
                    j = index[label]
                    targets[i, s, j, 0] = 1.0
                    targets[i, e, j, 1] = 1.0
                    targets[i, s : e + 1, j, 2] = 1.0
        return targets, mask

    def output_axes(self) -> dict[int, str]:
        return {0: "batch", 1: "words", 2: "types"}


SPAN = SpanLevel()
TOKEN = TokenLevel()

__all__ = ["SPAN", "TOKEN", "SpanLevel", "TokenLevel"]
