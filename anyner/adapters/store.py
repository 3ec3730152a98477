"""Named adapters on one loaded model: add, select, save, load, delete.

LoRA weights live in one peft model over the adapted view (see :mod:`.view`), one named
adapter each, unmerged; prototypes are per-label offsets of the type side. The base model is
never modified, so selecting no adapter gives the base model's outputs bit for bit."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError, InputError
from .config import LoraAdaptSettings
from .manifest import AdapterManifest, base_model_hash, check_name
from .view import TypeOffsets, shared_copy

PROTOTYPES_FILE = "prototypes.safetensors"


@dataclass
class Prototypes:
    """Per label: the type-side offset (D,) and its score shift (a scalar)."""

    offsets: dict[str, np.ndarray] = field(default_factory=dict)
    shifts: dict[str, float] = field(default_factory=dict)

    def for_passes(self, names_per_pass: list[list[str]], width: int, dim: int):
        """(B, C, D) offsets and (B, C) shifts for a batch whose pass ``b`` asks for the labels
        ``names_per_pass[b]`` (zeros for labels without a prototype, and for padding)."""
        offsets = np.zeros((len(names_per_pass), width, dim), dtype=np.float32)
        shifts = np.zeros((len(names_per_pass), width), dtype=np.float32)
        for b, names in enumerate(names_per_pass):
            for c, name in enumerate(names):
                if name in self.offsets:
                    offsets[b, c] = self.offsets[name]
                    shifts[b, c] = self.shifts[name]
        return torch.from_numpy(offsets), torch.from_numpy(shifts)


@dataclass
class Adapter:
    manifest: AdapterManifest
    prototypes: Prototypes | None = None


class AdapterStore:
    def __init__(self, model: nn.Module):
        self.base = model
        self.adapters: dict[str, Adapter] = {}
        self._view: nn.Module | None = None
        self._peft = None  # peft.PeftModel over the view, once a LoRA adapter exists
        self._offsets: TypeOffsets | None = None
        self._hash: tuple[object, str] | None = None

    # -- the shared parts --------------------------------------------------------------
    @property
    def view(self) -> nn.Module:
        if self._view is None:
            self._view = shared_copy(self.base)
        return self._view

    def offsets(self) -> TypeOffsets:
        if self._offsets is None:
            self._offsets = TypeOffsets(self.view.head)
        return self._offsets

    def base_hash(self) -> str:
        from ..runtime.auto import weights_stamp

        stamp = weights_stamp(self.base)
        if self._hash is None or self._hash[0] != stamp:
            self._hash = (stamp, base_model_hash(self.base))
        return self._hash[1]

    def get(self, name: str) -> Adapter:
        if name not in self.adapters:
            known = ", ".join(sorted(self.adapters)) or "none loaded"
            raise InputError(f"unknown adapter {name!r} (adapters: {known})")
        return self.adapters[name]

    # -- LoRA weights ------------------------------------------------------------------
    def new_lora(self, name: str, settings: LoraAdaptSettings) -> nn.Module:
        """Add an empty LoRA adapter ``name`` and make it the active one; returns the view."""
        from peft import LoraConfig

        config = LoraConfig(
            r=settings.r,
            lora_alpha=settings.alpha,
            lora_dropout=settings.dropout,
            target_modules=settings.target_regex(),
        )
        return self.new_lora_with(name, config)

    def new_lora_with(self, name: str, config) -> nn.Module:
        """Add an empty LoRA adapter ``name`` from a peft ``LoraConfig``; returns the view."""
        self._add_peft(name, config)
        return self.view

    def load_lora(self, name: str, folder: Path) -> None:
        """Add the LoRA weights saved in ``folder`` (peft's files) as ``name``."""
        from ..model.lora import put_lora, read_lora

        config, state = read_lora(folder)
        self._add_peft(name, config)
        put_lora(self._peft, name, state, folder)

    def has_lora(self, name: str) -> bool:
        return self._peft is not None and name in self._peft.peft_config

    def lora_config(self, name: str):
        return self._peft.peft_config[name]

    def select_lora(self, name: str) -> None:
        """Make LoRA weights ``name`` the active ones, with the LoRA layers on (a prototype-only
        adapter turns them off for its run)."""
        self._peft.base_model.set_adapter(name)
        self._peft.base_model.enable_adapter_layers()

    def _add_peft(self, name: str, config) -> None:
        """Create the peft model on first use (keeping the base's trainable flags as they were)."""
        from peft import PeftModel

        from ..model.lora import quiet_peft

        flags = {p: p.requires_grad for p in self.base.parameters()}
        try:
            with quiet_peft():
                if self._peft is None:
                    self._peft = PeftModel(self.view, config, adapter_name=name)
                else:
                    self._peft.add_adapter(name, config)
            self.select_lora(name)
        finally:
            for p, flag in flags.items():
                p.requires_grad_(flag)

    def merged(self, name: str) -> nn.Module:
        """A standalone copy of the base model with adapter ``name``'s LoRA weights merged in
        (what an ONNX export of the adapted model traces)."""
        import copy

        from peft.tuners.lora import LoraLayer

        if not self.get(name).manifest.lora:
            raise InputError(f"adapter {name!r} has no LoRA weights to merge")
        model = copy.deepcopy(self.base)
        with torch.no_grad():
            for path, module in self.view.named_modules():
                if isinstance(module, LoraLayer) and name in module.lora_A:
                    target = model.get_submodule(path)
                    target.weight += module.get_delta_weight(name).to(target.weight.dtype)
        return model.eval()

    # -- selection ---------------------------------------------------------------------
    @contextmanager
    def active(self, name: str) -> Iterator[nn.Module]:
        """The view with adapter ``name``'s LoRA weights active (none for a prototype-only one)."""
        adapter = self.get(name)
        view = self.view
        if adapter.manifest.lora:
            self.select_lora(name)
        elif self._peft is not None:
            self._peft.base_model.disable_adapter_layers()
        yield view

    def trainable(self, name: str) -> list[nn.Parameter]:
        """The parameters of LoRA adapter ``name`` (made trainable; everything else frozen)."""
        params = []
        for pname, p in self.view.named_parameters():
            mine = f".{name}." in pname and "lora_" in pname
            p.requires_grad_(mine)
            if mine:
                params.append(p)
        return params

    def freeze(self, flags: dict[nn.Parameter, bool]) -> None:
        for p, flag in flags.items():
            p.requires_grad_(flag)

    # -- lifecycle ---------------------------------------------------------------------
    def add(self, adapter: Adapter) -> None:
        self.adapters[adapter.manifest.name] = adapter

    def delete(self, name: str) -> None:
        if self.get(name).manifest.lora:
            self.drop_lora(name)
        del self.adapters[name]

    def drop_lora(self, name: str) -> None:
        """Remove LoRA weights ``name`` from the peft model (a deleted or a trial adapter)."""
        if self._peft is None or name not in self._peft.peft_config:
            return
        with warnings.catch_warnings():  # peft names the adapter it activates instead; we pick per call
            warnings.simplefilter("ignore", UserWarning)
            self._peft.base_model.delete_adapter(name)

    def save(self, name: str, folder: Path) -> None:
        from safetensors.numpy import save_file

        from ..checkpoints.folder import atomic_folder

        adapter = self.get(name)
        with atomic_folder(Path(folder)) as tmp:
            if adapter.manifest.lora:
                self._peft.save_pretrained(str(tmp), selected_adapters=[name])
                nested = tmp / name  # peft nests every adapter but "default" in a folder of its name
                if nested.is_dir():
                    for item in nested.iterdir():
                        shutil.move(str(item), tmp / item.name)
                    nested.rmdir()
                (tmp / "README.md").unlink(
                    missing_ok=True
                )  # peft's model-card template; the manifest says it all
            if adapter.prototypes is not None:
                labels = list(adapter.prototypes.offsets)
                save_file(
                    {
                        "offsets": np.stack([adapter.prototypes.offsets[x] for x in labels]),
                        "shifts": np.array([adapter.prototypes.shifts[x] for x in labels], np.float32),
                    },
                    str(tmp / PROTOTYPES_FILE),
                    metadata={"labels": "\n".join(labels)},
                )
            adapter.manifest.write(tmp)

    def load(self, folder: Path, name: str | None = None) -> str:
        """Add the adapter saved in ``folder`` (as ``name``, else its own name); nothing already
        loaded changes if this fails."""
        folder = Path(folder)
        if not folder.is_dir():
            raise CheckpointError(f"adapter folder {str(folder)!r} does not exist")
        manifest = AdapterManifest.read(folder)
        name = check_name(name or manifest.name)
        if name in self.adapters:
            raise InputError(f"an adapter named {name!r} is loaded already: delete it first or pick a name")
        if manifest.base_hash != self.base_hash():
            raise CheckpointError(
                f"the adapter in {folder} was made for another base model (weights {manifest.base_hash}, "
                f"this model's {self.base_hash()}): adapt this model again, or load the model it was made for"
            )
        prototypes = _read_prototypes(folder) if manifest.prototypes else None
        if manifest.lora:
            try:
                self.load_lora(name, folder)
            except Exception as exc:  # peft and safetensors raise many types for damaged files
                self.drop_lora(name)
                raise CheckpointError(
                    f"cannot load the LoRA weights in {folder}: {type(exc).__name__}: {exc}"
                ) from exc
        self.add(Adapter(AdapterManifest(**{**manifest.__dict__, "name": name}), prototypes))
        return name


def _read_prototypes(folder: Path) -> Prototypes:
    from safetensors import safe_open

    path = folder / PROTOTYPES_FILE
    try:
        with safe_open(str(path), "np") as f:
            labels = f.metadata()["labels"].split("\n")
            offsets, shifts = f.get_tensor("offsets"), f.get_tensor("shifts")
    except Exception as exc:  # safetensors raises several types for damaged files
        raise CheckpointError(f"cannot read the prototypes in {path}: {type(exc).__name__}: {exc}") from exc
    if len(labels) != len(offsets) or len(labels) != len(shifts):
        raise CheckpointError(f"{path} is damaged: {len(labels)} labels for {len(offsets)} prototypes")
    return Prototypes(
        dict(zip(labels, offsets, strict=True)), dict(zip(labels, shifts.tolist(), strict=True))
    )
