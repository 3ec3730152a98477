"""Small building blocks shared by the heads."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def mlp(in_dim: int, dropout: float, out_dim: int | None = None) -> nn.Sequential:
    """GLiNER's projection: expand 4x, ReLU, dropout, project back."""
    out_dim = in_dim if out_dim is None else out_dim
    return nn.Sequential(
        nn.Linear(in_dim, out_dim * 4), nn.ReLU(), nn.Dropout(dropout), nn.Linear(out_dim * 4, out_dim)
    )


class BiLSTM(nn.Module):
    """A bidirectional LSTM over word vectors that ignores padding.

    It always runs in fp32, also inside a bf16 autocast region: oneDNN's bf16 LSTM refuses to
    run on CPUs without native bf16 (AVX2 only), and the LSTM is a small part of the work."""

    def __init__(self, hidden_size: int, num_layers: int):
        super().__init__()
        self.lstm = nn.LSTM(
            hidden_size, hidden_size // 2, num_layers=num_layers, bidirectional=True, batch_first=True
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x.float(), lengths.cpu(), batch_first=True, enforce_sorted=False)
        with torch.autocast(x.device.type, enabled=False):
            out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
        return out
