"""K-shot support sets, drawn as Few-NERD does (Ding et al. 2021, greedy): every label of the
data set gets at least ``k`` mentions, with as few sentences as the greedy pass allows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..data.example import Example


def sample_support(examples: Sequence[Example], labels: Sequence[str], k: int, seed: int) -> list[Example]:
    """Sentences in random order are taken while they bring a label still under ``k`` mentions,
    and only if no label goes past ``2k``; then a sentence whose removal keeps every label
    at ``k`` or more is dropped. A label with fewer than ``k`` mentions in ``examples`` gets
    all it has."""
    wanted = set(labels)
    rng = np.random.default_rng(seed)
    counts: Counter[str] = Counter()
    chosen: list[Example] = []
    for i in rng.permutation(len(examples)):
        ex = examples[int(i)]
        own = Counter(label for _, _, label in ex.spans if label in wanted)
        if not own or not any(counts[x] < k for x in own):
            continue
        if any(counts[x] + n > 2 * k for x, n in own.items()):
            continue
        chosen.append(ex)
        counts.update(own)
        if all(counts[x] >= k for x in wanted):
            break
    for ex in list(chosen):
        own = Counter(label for _, _, label in ex.spans if label in wanted)
        if all(counts[x] - n >= k for x, n in own.items()):
            chosen.remove(ex)
            counts.subtract(own)
    return [Example(ex.words, [s for s in ex.spans if s[2] in wanted], ex.id) for ex in chosen]


# -- the harness -----------------------------------------------------------------------------
# name -> (adapt method, settings change): "lora-plain" is LoRA without the contrastive loss
def _plain(settings):
    from dataclasses import replace

    lora = settings.lora
    return replace(settings, lora=replace(lora, contrastive=replace(lora.contrastive, weight=0.0)))


VARIANTS = {
    "prototype": ("prototype", None),
    "lora": ("lora", None),
    "lora-plain": ("lora", _plain),
    "lorahub": ("lorahub", None),
    "all": ("all", None),
    "auto": ("auto", None),
}


def adapted_f1(model, variant: str, support, test, labels, settings=None, also=None) -> tuple[float, ...]:
    """(micro F1 on ``test`` with an adapter fitted on ``support``, seconds the fit took); the
    adapter is deleted after. ``also``: (examples, labels) outside the support's, scored with
    the adapter too (forgetting), appended to the tuple."""
    import time

    from ..adapters import AdaptSettings
    from .evaluate import evaluate

    method, change = VARIANTS[variant]
    settings = settings or AdaptSettings()
    if change is not None:
        settings = change(settings)
    tic = time.perf_counter()
    # a label too rare in the train split to appear in the support set is still asked for
    # in the test (a miss for every method), but adapt only takes labels it has examples of
    present = {label for ex in support for _, _, label in ex.spans}
    fitted = [x for x in labels if x in present]
    model.adapt(support, name="kshot", method=method, labels=fitted, settings=settings, evaluate=False)
    seconds = time.perf_counter() - tic
    try:
        f1 = 100 * evaluate(model, test, labels, adapter="kshot").micro.f1
        if also is not None:
            return f1, seconds, 100 * evaluate(model, also[0], also[1], adapter="kshot").micro.f1
    finally:
        model.delete_adapter("kshot")
    return f1, seconds
