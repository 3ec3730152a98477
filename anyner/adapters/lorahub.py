"""method="lorahub": a weighted composition of the library's domain adapters (LoraHub, Huang
et al. 2023, as BANER §3.2.3 uses it): for every LoRA layer, A = Σ wᵢ·Aᵢ and B = Σ wᵢ·Bᵢ, with
the weights w found without gradients by minimising the span × type loss on the support set
plus an L1 penalty on w (scipy's Powell search, within bounds). The loss weighs mentions and
non-mentions equally (see :func:`balanced_loss`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data.example import Example
from ..errors import InputError
from .config import LoraHubSettings
from .lora_fit import asked_types, support_batch
from .manifest import AdapterManifest
from .store import AdapterStore

LIBRARY = Path(__file__).resolve().parent.parent / "weights" / "adapters"
HUB_PREFIX = "_hub_"  # library adapters in the peft model; no user name can start with "_"


def library_folders(root: Path = LIBRARY) -> list[Path]:
    return sorted(p.parent for p in root.glob("*/adapter_manifest.json"))


def library_for(store: AdapterStore, root: Path = LIBRARY) -> list[tuple[Path, AdapterManifest]]:
    """The library adapters made for this base model."""
    found = [(folder, AdapterManifest.read(folder)) for folder in library_folders(root)]
    return [(folder, m) for folder, m in found if m.base_hash == store.base_hash()]


def load_library(store: AdapterStore, root: Path = LIBRARY) -> list[str]:
    """The library adapters made for this base model, loaded into the peft model once."""
    names = []
    for folder, manifest in library_for(store, root):
        name = HUB_PREFIX + manifest.name
        if not store.has_lora(name):
            store.load_lora(name, folder)
        names.append(name)
    if not names:
        raise InputError(
            f"method='lorahub' composes the library adapters in {root}, and none of them was made for this "
            "base model (they fit the shipped default model): use method='lora' or 'prototype'"
        )
    return names


def compose(store: AdapterStore, name: str, sources: Sequence[str], weights: np.ndarray) -> None:
    """Set LoRA adapter ``name``'s matrices to the weighted sums of the sources' matrices."""
    from peft.tuners.lora import LoraLayer

    with torch.no_grad():
        for module in store.view.modules():
            if isinstance(module, LoraLayer) and name in module.lora_A:
                for attr in ("lora_A", "lora_B"):
                    target = getattr(module, attr)[name].weight
                    target.zero_()
                    for w, src in zip(weights.tolist(), sources, strict=True):
                        target.add_(getattr(module, attr)[src].weight, alpha=w)


def balanced_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean BCE over the mentions plus mean BCE over everything else. The summed loss of
    training is dominated by the many non-mention pairs, so a search over a few weights finds
    compositions that predict nothing; weighing both sides equally rules that out."""
    loss = F.binary_cross_entropy_with_logits(logits.float(), targets, reduction="none") * mask
    positive = (targets * mask).bool()
    negative = mask.bool() & ~positive
    return (
        float(loss[positive].mean() + loss[negative].mean())
        if positive.any()
        else float(loss[negative].mean())
    )


def fit_lorahub(
    ner,
    store: AdapterStore,
    name: str,
    examples: Sequence[Example],
    labels: Sequence[str],
    settings: LoraHubSettings,
    library: Path = LIBRARY,
) -> np.ndarray:
    """Add LoRA adapter ``name`` composed from the adapters in ``library``; returns the weights."""
    from peft import LoraConfig
    from scipy.optimize import minimize

    from .lora_fit import support_windows

    sources = load_library(store, library)
    first = store.lora_config(sources[0])
    config = LoraConfig(
        r=first.r, lora_alpha=first.lora_alpha, lora_dropout=0.0, target_modules=first.target_modules
    )
    store.new_lora_with(name, config)
    rng = np.random.default_rng(0)
    windows = support_windows(ner, examples)[: settings.max_examples]
    batches = []
    for i in range(0, len(windows), 8):
        chunk = windows[i : i + 8]
        types = [asked_types(ex, labels, rng) for ex in chunk]
        batches.append(support_batch(ner, chunk, types))
    view = store.view
    view.eval()

    def objective(weights: np.ndarray) -> float:
        compose(store, name, sources, weights)
        with torch.inference_mode():
            loss = sum(balanced_loss(view(**b.inputs), b.targets, b.mask) for b in batches) / len(batches)
        return loss + settings.l1 * float(np.abs(weights).sum())

    store.select_lora(name)
    bounds = [(-settings.bound, settings.bound)] * len(sources)
    found = minimize(
        objective,
        np.zeros(len(sources)),
        method="Powell",
        bounds=bounds,
        options={"maxfev": settings.budget, "xtol": 1e-2},
    )
    best = found.x if objective(found.x) <= objective(np.zeros(len(sources))) else np.zeros(len(sources))
    compose(store, name, sources, best)
    return best
