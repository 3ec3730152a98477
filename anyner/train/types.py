"""Which entity types an example is trained with (GLiNER's recipe): its own types, some
randomly dropped, plus negative types taken from other examples, shuffled, at most
``max_types``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def sample_types(
    own: Sequence[str],
    pool: Sequence[str],
    rng: np.random.Generator,
    negative_fraction: float,
    type_drop_prob: float,
    max_types: int,
) -> list[str]:
    """``own``: the example's labels (unique). ``pool``: every label of the training set."""
    positives = list(own)
    if len(positives) > 1 and rng.random() < type_drop_prob:
        # the spans of a dropped type become plain negatives: the model learns to stay
        # silent on types it was not asked for
        keep = rng.integers(1, len(positives) + 1)
        positives = [positives[i] for i in sorted(rng.choice(len(positives), keep, replace=False))]
    positives = positives[:max_types]
    if positives:
        mean = len(positives) * negative_fraction / (1.0 - negative_fraction)
        wanted = int(rng.integers(0, round(2 * mean) + 1))
    else:  # an example without entities still teaches "none of these"
        wanted = int(rng.integers(1, 6))
    wanted = min(wanted, max_types - len(positives))
    negatives: list[str] = []
    if wanted > 0 and pool:
        exclude = set(own)
        for i in rng.choice(len(pool), min(len(pool), 4 * wanted), replace=False):
            if pool[i] not in exclude and pool[i] not in negatives:
                negatives.append(pool[i])
                if len(negatives) == wanted:
                    break
    types = positives + negatives
    return [types[i] for i in rng.permutation(len(types))]
