"""The backbone: any Hugging Face encoder, plus a projection when its width differs."""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig


def build_backbone(encoder_config: dict) -> nn.Module:
    """An encoder with random weights from its saved config (no hub access)."""
    config: PretrainedConfig = AutoConfig.for_model(**encoder_config)
    return AutoModel.from_config(config)


class Encoder(nn.Module):
    def __init__(self, backbone: nn.Module, hidden_size: int):
        super().__init__()
        self.model = backbone
        width = backbone.config.hidden_size
        self.projection = nn.Linear(width, hidden_size) if width != hidden_size else None

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.projection(hidden) if self.projection is not None else hidden
