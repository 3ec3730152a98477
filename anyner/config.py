"""Typed, versioned model configuration, saved next to the weights."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

from .errors import CheckpointError

CONFIG_VERSION = 1


class Architecture(str, enum.Enum):
    """Which scoring head sits on top of the encoder."""

    SPAN = "span"  # GLiNER span level: markerV0 span vectors · type vectors
    TOKEN = "token"  # GLiNER multi-task: start/end/inside per word and type


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model around its encoder.

    ``encoder`` holds the backbone's own Hugging Face config (``config.to_dict()``), so a
    checkpoint rebuilds its encoder without reaching any hub.
    """

    architecture: Architecture = Architecture.SPAN
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
    version: int = CONFIG_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "architecture", Architecture(self.architecture))
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
        data["architecture"] = self.architecture.value
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
    """Bring a saved config dict up to CONFIG_VERSION (one step per version)."""
    version = data.get("version", CONFIG_VERSION)
    if not isinstance(version, int) or version > CONFIG_VERSION:
        raise CheckpointError(
            f"model config version {version!r} is newer than this anyner understands ({CONFIG_VERSION}); "
            "upgrade anyner"
        )
    return data
