"""Named adapters on one base model: few-shot domain adaptation in the style of BANER
(boundary-aware contrastive LoRA, prototypes, LoraHub composition). Importing this package
needs no torch; fitting and running adapters do."""

from .config import AdaptSettings, ContrastiveSettings, LoraAdaptSettings, LoraHubSettings, PrototypeSettings
from .manifest import AdapterManifest

__all__ = [
    "AdaptSettings",
    "AdapterManifest",
    "ContrastiveSettings",
    "LoraAdaptSettings",
    "LoraHubSettings",
    "PrototypeSettings",
]
