"""The composed networks: a text encoder -> word vectors (-> BiLSTM) -> head -> logits, with
type vectors taken from the same encoder pass (:class:`JointModel`, the uni-encoder) or from
a separate label encoder (:class:`BiEncoderModel`)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..config import ModelConfig
from .encoder import Encoder
from .fusion import CrossFuser
from .layers import BiLSTM


def length_mask(size: int, lengths: torch.Tensor) -> torch.Tensor:
    """(B, size) True for the first ``lengths[b]`` positions of item ``b``."""
    return torch.arange(size, device=lengths.device) < lengths.unsqueeze(1)


def gather_positions(hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """(B, T, D) states, (B, N) positions -> (B, N, D)."""
    return hidden.gather(1, positions.unsqueeze(-1).expand(-1, -1, hidden.size(-1)))


class NERModel(nn.Module):
    """What every variant shares: the text encoder, the optional BiLSTM and the head."""

    def __init__(
        self, config: ModelConfig, backbone: nn.Module, build_head: Callable[[ModelConfig], nn.Module]
    ):
        super().__init__()
        self.config = config
        self.encoder = Encoder(backbone, config.hidden_size)
        self.rnn = BiLSTM(config.hidden_size, config.num_rnn_layers) if config.num_rnn_layers else None
        self.head = build_head(config)  # last: a seed gives the same initial weights as before variants

    def word_vectors(
        self, hidden: torch.Tensor, word_positions: torch.Tensor, word_lengths: torch.Tensor
    ) -> torch.Tensor:
        """Word ``i`` of item ``b`` is the sub-token at ``word_positions[b, i]`` (its first one).
        Padded words are zeroed before the BiLSTM."""
        words = gather_positions(hidden, word_positions)
        words = words * length_mask(words.size(1), word_lengths).unsqueeze(-1).to(words.dtype)
        if self.rnn is not None:
            words = self.rnn(words, word_lengths)
        return words


class JointModel(NERModel):
    """The uni-encoder: ``[ENT] t1 … [SEP] words`` in one pass; type ``c`` is the [ENT] marker
    at ``type_positions[b, c]``. Padded types give logits the decoder ignores."""

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        word_positions: torch.Tensor,
        word_lengths: torch.Tensor,
        type_positions: torch.Tensor,
    ) -> torch.Tensor:
        """Logits: (B, W, K, C) for the span head, (B, W, C, 3) for the token head."""
        hidden = self.encoder(input_ids, attention_mask)
        words = self.word_vectors(hidden, word_positions, word_lengths)
        return self.head(words, gather_positions(hidden, type_positions))


class BiEncoderModel(NERModel):
    """The bi-encoder: the text alone through the text encoder; each label through the label
    encoder, mean-pooled over its tokens (GLiNER's bi-encoder), once per label."""

    def __init__(
        self,
        config: ModelConfig,
        backbone: nn.Module,
        build_head: Callable[[ModelConfig], nn.Module],
        labels_backbone: nn.Module,
    ):
        super().__init__(config, backbone, build_head)
        self.labels_encoder = Encoder(labels_backbone, config.hidden_size)
        self.fuser = (
            CrossFuser(
                config.hidden_size,
                config.encoder.get("num_attention_heads", 8),
                config.num_post_fusion_layers,
                config.dropout,
                config.post_fusion_schema,
            )
            if config.post_fusion_schema
            else None
        )

    def encode_labels(
        self, label_input_ids: torch.Tensor, label_attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """(L, T) label tokens -> (L, D) label vectors."""
        hidden = self.labels_encoder(label_input_ids, label_attention_mask)
        mask = label_attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        word_positions: torch.Tensor,
        word_lengths: torch.Tensor,
        label_vectors: torch.Tensor | None = None,
        type_index: torch.Tensor | None = None,
        type_counts: torch.Tensor | None = None,
        *,
        label_input_ids: torch.Tensor | None = None,
        label_attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits as :class:`JointModel`'s. ``label_vectors`` (L, D): the batch's distinct labels,
        from :meth:`encode_labels`, or encoded in this very pass from ``label_*`` tokens in
        training (so the label encoder can learn); ``type_index`` (B, C): which of them each
        item asks for, the first ``type_counts`` (B,) of them. Without post-fusion, what the
        head needs of a label is computed once per distinct label."""
        if label_vectors is None:
            label_vectors = self.encode_labels(label_input_ids, label_attention_mask)
        hidden = self.encoder(input_ids, attention_mask)
        words = self.word_vectors(hidden, word_positions, word_lengths)
        label_vectors = label_vectors.to(words.dtype)
        if self.fuser is None:
            side = self.head.type_side(label_vectors)
            return self.head.score(words, tuple(t[type_index] for t in side))
        # post-fusion: each text's labels attend to its words (and back), so they are per item
        type_mask = length_mask(type_index.size(1), type_counts)
        types = label_vectors[type_index] * type_mask.unsqueeze(-1).to(words.dtype)
        types, words = self.fuser(types, words, type_mask, length_mask(words.size(1), word_lengths))
        return self.head(words, types * type_mask.unsqueeze(-1).to(types.dtype))
