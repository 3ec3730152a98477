"""Typed, versioned settings of the adaptation methods, saved in each adapter's manifest."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..train.config import ContrastiveSettings, check_values

# BERT-style names of every linear layer in the text encoder, and the span head's linear layers
# (tiny at rank 8, and the head is where a domain's types meet its spans). peft matches them
# against whole module names: a bi-encoder's label encoder ("labels_encoder.…") is left alone,
# so its cached label vectors stay valid under every adapter.
DEFAULT_TARGETS = (
    r"encoder\.model\..*\.(query|key|value|dense)",
    r"head\.(start|end|type_proj)\.[03]",
)


@dataclass(frozen=True)
class LoraAdaptSettings:
    """LoRA on the encoder and the head, trained on the support set (the base stays frozen)."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: tuple[str, ...] = DEFAULT_TARGETS
    # 60 steps at 6e-4 scored best of (60, 3e-4), (100, 3e-4), (60, 6e-4) on three
    # zeroshot_dev sets at 5 shots (docs/fewshot.md); more steps overfit a handful of texts
    steps: int = 60
    batch_size: int = 8
    lr: float = 6e-4
    seed: int = 0
    contrastive: ContrastiveSettings = field(default_factory=ContrastiveSettings)

    def __post_init__(self) -> None:
        check_values(self, r=self.r > 0, steps=self.steps > 0, batch_size=self.batch_size > 0, lr=self.lr > 0)

    def target_regex(self) -> str:
        """One pattern for peft (a string target_modules is matched as a full regex)."""
        return "|".join(f"(?:{t})" for t in self.target_modules)


@dataclass(frozen=True)
class PrototypeSettings:
    """Type vectors blended with the support mentions' span vectors (BANER §3.2)."""

    blends: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0)  # tried by cross-validation on the support set


@dataclass(frozen=True)
class LoraHubSettings:
    """A weighted composition of library adapters, weights found without gradients."""

    budget: int = 40  # loss evaluations of the search
    l1: float = 0.05  # penalty on |w| (LoraHub's regulariser)
    bound: float = 1.5  # each weight within [-bound, bound]
    max_examples: int = 32  # support texts the loss is computed on
    library: str | None = None  # a folder of adapters to compose; None: the ones shipped with anyner


@dataclass(frozen=True)
class AdaptSettings:
    """Everything ``adapt`` can be told; saved with the adapter."""

    lora: LoraAdaptSettings = field(default_factory=LoraAdaptSettings)
    prototype: PrototypeSettings = field(default_factory=PrototypeSettings)
    lorahub: LoraHubSettings = field(default_factory=LoraHubSettings)
    folds: int = 3  # cross-validation folds of method="auto" and of the report
    threshold: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdaptSettings:
        try:
            lora = dict(data.get("lora", {}))
            lora["contrastive"] = ContrastiveSettings(**lora.get("contrastive", {}))
            lora["target_modules"] = tuple(lora.get("target_modules", DEFAULT_TARGETS))
            proto = dict(data.get("prototype", {}))
            proto["blends"] = tuple(proto.get("blends", PrototypeSettings.blends))
            rest = {k: v for k, v in data.items() if k not in ("lora", "prototype", "lorahub")}
            return cls(
                LoraAdaptSettings(**lora),
                PrototypeSettings(**proto),
                LoraHubSettings(**data.get("lorahub", {})),
                **rest,
            )
        except (TypeError, ValueError) as exc:
            raise InputError(f"invalid adaptation settings: {exc}") from None
