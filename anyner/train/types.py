"""Which entity types an example is trained with (GLiNER's recipe): its own types, some
randomly dropped, plus negative types, shuffled, at most ``max_types``.

Negatives come from two places: the whole label inventory of the training mixture, and the
labels of the example's own data set ("near misses": a Few-NERD sentence about an actor is
asked for "director" and "athlete", not only for "protein"). Labels a partially annotated
set leaves unlabelled are never negatives for its examples: the model would learn to stay
silent on mentions that are really there.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NegativePools:
    """Where one example's negative types come from."""

    everything: Sequence[str]  # every label of the training mixture
    near: Sequence[str] = ()  # the labels of the example's own data set
    exclude: Collection[str] = frozenset()  # never a negative for this example
    near_fraction: float = 0.0  # expected share of negatives drawn from ``near``


def sample_types(
    own: Sequence[str],
    pools: NegativePools,
    rng: np.random.Generator,
    negative_fraction: float,
    type_drop_prob: float,
    max_types: int,
) -> list[str]:
    """``own``: the example's labels (unique)."""
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
    taken = set(own) | set(pools.exclude)
    near_wanted = int(rng.binomial(wanted, pools.near_fraction)) if pools.near else 0
    negatives = _draw(pools.near, near_wanted, taken, rng)
    negatives += _draw(pools.everything, wanted - len(negatives), taken | set(negatives), rng)
    types = positives + negatives
    return [types[i] for i in rng.permutation(len(types))]


def _draw(pool: Sequence[str], wanted: int, taken: set[str], rng: np.random.Generator) -> list[str]:
    """Up to ``wanted`` distinct labels of ``pool`` not in ``taken`` (a few tries, no full scan:
    the pool may hold thousands)."""
    out: list[str] = []
    if wanted <= 0 or not pool:
        return out
    for i in rng.choice(len(pool), min(len(pool), 4 * wanted), replace=False):
        label = pool[i]
        if label not in taken and label not in out:
            out.append(label)
            if len(out) == wanted:
                break
    return out
