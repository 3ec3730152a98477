"""An adapter's manifest: what it is, what it was fitted on and for which base model."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CheckpointError, InputError

if TYPE_CHECKING:
    import torch

MANIFEST_FILE = "adapter_manifest.json"
MANIFEST_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
RESERVED = ("auto",)  # adapter="auto" asks a router to pick


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED:
        raise InputError(
            f"adapter name {name!r} is not allowed: use 1-64 letters, digits, '_' or '-', "
            "starting with a letter or digit; not 'auto'"
        )
    return name


@dataclass(frozen=True)
class AdapterManifest:
    name: str
    method: str  # "prototype", "lora", "lorahub" (what adapt fitted)
    labels: tuple[str, ...]  # the labels of its support set
    base_hash: str  # base_model_hash() of the model it was fitted on
    lora: bool  # holds LoRA weights (peft files beside the manifest)
    prototypes: bool  # holds prototype offsets (prototypes.safetensors)
    settings: dict[str, Any] = field(default_factory=dict)  # AdaptSettings.to_dict()
    report: dict[str, Any] = field(default_factory=dict)  # what adapt measured
    version: int = MANIFEST_VERSION

    def write(self, folder: Path) -> None:
        data = dataclasses.asdict(self)
        (folder / MANIFEST_FILE).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")

    @classmethod
    def read(cls, folder: Path) -> AdapterManifest:
        path = folder / MANIFEST_FILE
        if not path.is_file():
            raise CheckpointError(f"{folder} is no anyner adapter: it has no {MANIFEST_FILE}")
        try:
            data = json.loads(path.read_text("utf-8"))
            if data.get("version", 1) > MANIFEST_VERSION:
                raise CheckpointError(
                    f"{path} has version {data['version']}; this anyner reads up to {MANIFEST_VERSION}: "
                    "upgrade anyner"
                )
            return cls(**{**data, "labels": tuple(data["labels"])})
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise CheckpointError(f"cannot read the adapter manifest {path}: {exc}") from None


def base_model_hash(model: torch.nn.Module) -> str:
    """A digest of the base model's weights: an adapter only fits the weights it was made on."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]
