"""method="prototype": type vectors blended with the support mentions' span vectors (BANER
§3.2, prototypical networks), with no gradient step.

The span head scores span vector ``v`` against type vector ``t`` by ``t · v``. For each label,
the support gives the mean vector P of its mentions and the mean vector N of non-mention
spans; the prototype direction d = P − N separates the two. The label's type vector becomes
``t + o`` with ``o = β·MARGIN·2d/|d|²``, and its score is shifted by ``−o · (P + N)/2``: the
added logit is 0 halfway between the two means, +β·MARGIN at P and −β·MARGIN at N, whatever
the scale of the span vectors. β = 0 is the model as it was; the blend is chosen by
cross-validation on the support set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data.example import Example
from .lora_fit import asked_types, support_batch

RANDOM_SPANS = 8  # non-mention spans sampled per support text
MARGIN = 4.0  # logit added at a label's mean mention (σ(4) = 0.98) when β = 1


def prototype_problem(ner) -> str | None:
    """Why prototypes cannot work on this model, or None: they shift the type side of a span
    head that reads its types from the text's own pass (the uni-span variant)."""
    variant = ner.pipeline.variant
    if variant.two_stage or not hasattr(ner.model.head, "type_proj") or not hasattr(ner.model.head, "start"):
        return (
            f"prototypes need a span-level uni-encoder (uni-span); this model is {variant.name}: "
            "use method='lora'"
        )
    return None


@dataclass
class SupportVectors:
    """Per support window: its mentions' span vectors, and non-mention spans' vectors."""

    mentions: list[list[tuple[str, np.ndarray]]]  # (label, span vector)
    others: list[list[np.ndarray]]


def support_vectors(
    ner, model: nn.Module, windows: Sequence[Example], labels: Sequence[str]
) -> SupportVectors:
    """Run ``model`` (the base model, or the view with an adapter active) over the support."""
    head = model.head
    rng = np.random.default_rng(0)
    seen: list[torch.Tensor] = []
    handle = head.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    out = SupportVectors([], [])
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for i in range(0, len(windows), 8):
                chunk = list(windows[i : i + 8])
                types = [asked_types(ex, labels, rng) for ex in chunk]
                batch = support_batch(ner, chunk, types)
                seen.clear()
                model(**batch.inputs)
                words = seen[-1]
                for b, (ex, asked) in enumerate(zip(chunk, types, strict=True)):
                    where = {label: c for c, label in enumerate(asked)}
                    out.mentions.append(
                        [(label, _span(head, words[b], s, e)) for s, e, label in ex.spans if label in where]
                    )
                    taken = {(s, e) for s, e, _ in ex.spans}
                    n = len(ex.words)
                    spans = set()
                    for _ in range(RANDOM_SPANS * 3):
                        s = int(rng.integers(0, n))
                        e = min(n - 1, s + int(rng.integers(0, ner.config.max_width)))
                        if (s, e) not in taken:
                            spans.add((s, e))
                    out.others.append([_span(head, words[b], s, e) for s, e in sorted(spans)[:RANDOM_SPANS]])
    finally:
        handle.remove()
        model.train(was_training)
    return out


def _span(head: nn.Module, words: torch.Tensor, s: int, e: int) -> np.ndarray:
    rep = torch.cat([head.start(words[s].float()), head.end(words[e].float())], dim=-1).relu()
    return head.out(rep).numpy()


def prototypes_from(vectors: SupportVectors, rows: Sequence[int], blend: float):
    """(offsets, shifts) per label from the support windows ``rows``."""
    from .store import Prototypes

    others = [v for r in rows for v in vectors.others[r]]
    protos = Prototypes()
    if not others:
        return protos
    negative = np.mean(others, axis=0)
    by_label: dict[str, list[np.ndarray]] = {}
    for r in rows:
        for label, span in vectors.mentions[r]:
            by_label.setdefault(label, []).append(span)
    for label, spans in by_label.items():
        positive = np.mean(spans, axis=0)
        direction = positive - negative
        offset = (blend * MARGIN * 2 * direction / max(float(direction @ direction), 1e-6)).astype(np.float32)
        protos.offsets[label] = offset
        protos.shifts[label] = float(-offset @ (positive + negative) / 2)
    return protos
