"""The composed network: encoder -> word and type vectors -> BiLSTM -> head -> logits."""

from __future__ import annotations

import torch
from torch import nn

from ..config import Architecture, ModelConfig
from .encoder import Encoder
from .heads import SpanHead, TokenHead
from .layers import BiLSTM


def gather_positions(hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """(B, T, D) states, (B, N) positions -> (B, N, D)."""
    return hidden.gather(1, positions.unsqueeze(-1).expand(-1, -1, hidden.size(-1)))


class NERModel(nn.Module):
    def __init__(self, config: ModelConfig, backbone: nn.Module):
        super().__init__()
        self.config = config
        self.encoder = Encoder(backbone, config.hidden_size)
        self.rnn = BiLSTM(config.hidden_size, config.num_rnn_layers) if config.num_rnn_layers else None
        if config.architecture is Architecture.SPAN:
            self.head: nn.Module = SpanHead(config.hidden_size, config.max_width, config.dropout)
        else:
            self.head = TokenHead(config.hidden_size, config.dropout)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        word_positions: torch.Tensor,
        word_lengths: torch.Tensor,
        type_positions: torch.Tensor,
    ) -> torch.Tensor:
        """Logits: (B, W, K, C) for the span head, (B, W, C, 3) for the token head.

        Word ``i`` of item ``b`` is the sub-token at ``word_positions[b, i]`` (its first one);
        type ``c`` is the [ENT] marker at ``type_positions[b, c]``. Padded words are zeroed
        before the BiLSTM; padded types give logits the decoder ignores.
        """
        hidden = self.encoder(input_ids, attention_mask)
        words = gather_positions(hidden, word_positions)
        word_mask = torch.arange(words.size(1), device=words.device) < word_lengths.unsqueeze(1)
        words = words * word_mask.unsqueeze(-1).to(words.dtype)
        if self.rnn is not None:
            words = self.rnn(words, word_lengths)
        types = gather_positions(hidden, type_positions)
        return self.head(words, types)
