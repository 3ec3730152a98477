"""Reading weight files and loading them strictly: a missing or unexpected weight is an error."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError
from .int8 import dequantize


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or truncated files raise many different errors
        raise CheckpointError(f"cannot read weights from {path}: {exc} (is the file complete?)") from exc
    # shipped files may hold 8-bit matrices (checkpoints/int8.py)
    return dequantize(state, path) if isinstance(state, dict) else state


def load_strict(model: nn.Module, state: dict[str, torch.Tensor], source: Path) -> None:
    expected = set(model.state_dict())
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing weight(s) {_names(missing)}")
        if unexpected:
            parts.append(f"unexpected weight(s) {_names(unexpected)}")
        raise CheckpointError(f"{source}: {'; '.join(parts)}. The checkpoint does not match its config")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{source}: weights do not fit the model: {exc}") from exc


def _names(names: list[str], limit: int = 8) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
