"""Weights stored in 8 bits: a shipped file half the size of float16, read back as float32.

A matrix ``W`` is stored as ``W.int8`` (int8) and ``W.int8_scale`` (float16), one scale per
index of its shorter axis, so each scale covers a whole slice of the longer one: a LoRA factor
(rank × width or width × rank) then costs ``r`` scales, not one per row of its width. Vectors
(biases, norms) stay as they are: their bytes do not matter, their precision might.
"""

from __future__ import annotations

import torch

from ..errors import CheckpointError

VALUES, SCALES = ".int8", ".int8_scale"


def quantize(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each float matrix as int8 values and float16 scales; everything else as it is (the
    scales of a state already quantized too, so that quantizing twice changes nothing)."""
    out = {}
    for name, tensor in state.items():
        if not (tensor.is_floating_point() and tensor.dim() == 2) or name.endswith(SCALES):
            out[name] = tensor
            continue
        values = tensor.float()
        axis = 1 if values.shape[0] <= values.shape[1] else 0  # reduce over the longer axis
        scale = (values.abs().amax(dim=axis, keepdim=True) / 127).clamp_min(1e-12).half()
        out[name + VALUES] = torch.round(values / scale.float()).clamp(-127, 127).to(torch.int8)
        out[name + SCALES] = scale
    return out


def dequantize(state: dict[str, torch.Tensor], source: object = "") -> dict[str, torch.Tensor]:
    """The float32 matrices of a state saved by ``quantize``; other tensors pass through."""
    out = {name: tensor for name, tensor in state.items() if not name.endswith((VALUES, SCALES))}
    for name in state:
        if not name.endswith(VALUES):
            continue
        base = name[: -len(VALUES)]
        scale = state.get(base + SCALES)
        values = state[name]
        if scale is None or values.dtype != torch.int8 or scale.dim() != 2:
            raise CheckpointError(f"{source}: 8-bit weight {base!r} has no valid scale (the file is damaged)")
        try:
            out[base] = values.float() * scale.float()
        except RuntimeError as exc:
            raise CheckpointError(f"{source}: 8-bit weight {base!r} does not fit its scale: {exc}") from exc
    orphans = [n for n in state if n.endswith(SCALES) and n[: -len(SCALES)] + VALUES not in state]
    if orphans:
        names = ", ".join(orphans[:3])
        raise CheckpointError(f"{source}: scales without 8-bit weights ({names}): the file is damaged")
    return out


def quantize_file(path) -> None:
    """Rewrite a safetensors file with its matrices in 8 bits (for shipping weights in git)."""
    from safetensors.torch import load_file, save_file

    save_file(quantize(load_file(str(path))), str(path))
