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
