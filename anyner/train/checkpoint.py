"""Training checkpoints that resume exactly: model, optimizer and scheduler state, and the
step. Data order, type sampling and dropout are derived from (seed, step), so nothing else
is needed. Each checkpoint is written to a temporary folder and renamed into place; a run
killed mid-write leaves the previous checkpoint intact."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..checkpoints.folder import atomic_folder
from ..checkpoints.weights import load_strict
from ..errors import CheckpointError

LATEST = "latest"


def save_checkpoint(root: Path, step: int, model: torch.nn.Module, optimizer, scheduler, keep: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    with atomic_folder(final) as tmp:
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / "model.safetensors"))
        torch.save(
            {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp / "optim.pt"
        )
        (tmp / "state.json").write_text(json.dumps({"step": step}))
    pointer = root / f".{LATEST}.tmp"
    pointer.write_text(final.name)
    os.replace(pointer, root / LATEST)
    for old in sorted(root.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(root: Path) -> Path | None:
    pointer = root / LATEST
    if not pointer.is_file():
        return None
    name = pointer.read_text().strip()
    folder = root / name
    if not name or not (folder / "state.json").is_file():
        raise CheckpointError(f"{pointer} names {name!r}, which is missing or incomplete; {_fix(root, name)}")
    return folder


def checkpoint_step(folder: Path) -> int:
    try:
        return int(json.loads((folder / "state.json").read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(
            f"cannot resume from {folder}: {exc}; {_fix(folder.parent, folder.name)}"
        ) from exc


def load_checkpoint(folder: Path, model: torch.nn.Module, optimizer, scheduler) -> int:
    try:
        state = load_file(str(folder / "model.safetensors"))
        # weights_only: tensors, numbers and containers only; a planted pickle cannot run code
        optim = torch.load(folder / "optim.pt", map_location="cpu", weights_only=True)
        step = json.loads((folder / "state.json").read_text())["step"]
    except Exception as exc:  # any damage to the files means this checkpoint cannot be trusted
        raise CheckpointError(
            f"cannot resume from {folder}: {exc}; {_fix(folder.parent, folder.name)}"
        ) from exc
    try:
        load_strict(model, state, folder)
        optimizer.load_state_dict(optim["optimizer"])
        scheduler.load_state_dict(optim["scheduler"])
    except (CheckpointError, ValueError, KeyError, RuntimeError) as exc:
        # e.g. another architecture, max_width or LoRA setting written into the same output_dir
        raise CheckpointError(
            f"cannot resume from {folder}: it was written by a training run with a different model "
            f"config ({exc}); train into a new output_dir, or delete {folder.parent} to restart"
        ) from exc
    return int(step)


def _fix(root: Path, bad: str) -> str:
    """How to get going again when the checkpoint ``bad`` in ``root`` cannot be used."""
    others = sorted(p.name for p in root.glob("step-*") if p.name != bad and (p / "state.json").is_file())
    if others:
        return (
            f"write the name of another checkpoint ({', '.join(others)}) into {root / LATEST} "
            f"to resume from it, or delete {root} to restart"
        )
    return f"delete {root} to restart"
