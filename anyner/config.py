"""Typed, versioned model configuration, saved next to the weights."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .errors import AnyNERError, CheckpointError

CONFIG_VERSION = 2


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model around its encoder.

    ``encoder`` holds the backbone's own Hugging Face config (``config.to_dict()``), so a
    checkpoint rebuilds its encoder without reaching any hub; ``labels_encoder`` the same for a
    bi-encoder's label encoder.
    """

    variant: str = "uni-span"  # a name in anyner.variants (uni-span, uni-token, bi-span, bi-token)
    hidden_size: int = 384
    max_width: int = 12  # longest span, in words (span architecture)
    dropout: float = 0.4
    num_rnn_layers: int = 1  # BiLSTM layers over the word vectors (0: none)
    ent_token: str = "<<ENT>>"
    sep_token: str = "<<SEP>>"
    max_words: int = 384  # words per encoder window; longer texts are windowed, never cut
    window_overlap: int = 32  # words shared by neighbouring windows
    max_tokens: int | None = None  # encoder positions per pass; None: the tokenizer's limit
    backbone: str = ""  # where the encoder came from, for the record
    base: str | None = None  # weights are stored relative to this backbone (see checkpoints.delta)
    encoder: dict[str, Any] = field(default_factory=dict, compare=False)
    labels_encoder: dict[str, Any] = field(default_factory=dict, compare=False)
    # a bi-encoder's post-fusion (gliner's poly-encoder), e.g. "l2l-l2t"; "" for none
    post_fusion_schema: str = ""
    num_post_fusion_layers: int = 1
    version: int = CONFIG_VERSION

    def __post_init__(self) -> None:
        from .variants import get_variant

        try:
            get_variant(self.variant)
        except AnyNERError as exc:
            raise ValueError(str(exc)) from None
        checks = {
            "hidden_size": self.hidden_size > 0,
            "max_width": self.max_width > 0,
            "num_rnn_layers": self.num_rnn_layers >= 0,
            "max_words": self.max_words > 0,
            "window_overlap": 0 <= self.window_overlap < self.max_words,
            "dropout": 0.0 <= self.dropout < 1.0,
            "max_tokens": self.max_tokens is None or self.max_tokens >= 16,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(
                f"invalid model config value(s): {', '.join(f'{b}={getattr(self, b)!r}' for b in bad)}"
            )
        if self.ent_token == self.sep_token:
            raise ValueError("ent_token and sep_token must differ")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("encoder", "labels_encoder"):  # where it was built (a local path) is no model setting
            data[key] = {k: v for k, v in data[key].items() if k != "_name_or_path"}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        data = migrate(dict(data))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CheckpointError(f"unknown model config key(s) {unknown}; known keys: {sorted(known)}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"invalid model config: {exc}") from exc


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a saved config dict up to CONFIG_VERSION, one step per version."""
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CheckpointError(f"model config version must be a positive integer, got {version!r}")
    if version > CONFIG_VERSION:
        raise CheckpointError(
            f"this model's config has version {version}, and this anyner reads versions up to "
            f"{CONFIG_VERSION}: upgrade anyner"
        )
    for step in range(version, CONFIG_VERSION):
        data = _MIGRATIONS[step](data)
    return data


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 named the head ``architecture`` ("span" or "token"); every version-1 model is
    a uni-encoder, so it becomes the variant "uni-span" or "uni-token"."""
    data = dict(data)
    architecture = data.pop("architecture", "span")
    if architecture not in ("span", "token"):
        raise CheckpointError(f"model config (version 1) has an unknown architecture {architecture!r}")
    return {**data, "variant": f"uni-{architecture}", "version": 2}


_MIGRATIONS = {1: _v1_to_v2}
