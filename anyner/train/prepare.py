"""Training data: read every source, cut long texts into windows that fit one encoder pass,
sample each source down to its cap, and report what could not be trained on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..data import read_examples
from ..data.example import Example
from ..text.prompt import PromptBuilder
from .config import DataSource

# encoder positions kept free for the prompt: up to max_types labels of a few tokens each
PROMPT_RESERVE = 160


@dataclass
class Prepared:
    examples: list[Example]
    labels: list[str]  # every label, once: the pool negative types come from
    report: Counter = field(default_factory=Counter)
    source_of: list[int] = field(default_factory=list)  # per example: its index in ``sources``
    source_labels: list[list[str]] = field(default_factory=list)  # per source: the labels it annotates


def prepare(
    sources: Sequence[DataSource], builder: PromptBuilder, max_words: int, max_width: int | None, seed: int
) -> Prepared:
    out = Prepared([], [])
    for k, source in enumerate(sources):
        windows = window_examples(read_examples(source.path), builder, max_words, out.report)
        if source.max_examples is not None and len(windows) > source.max_examples:
            pick = np.random.default_rng([seed, k]).choice(len(windows), source.max_examples, replace=False)
            windows = [windows[i] for i in sorted(pick)]
        out.examples.extend(windows)
        out.source_of.extend([k] * len(windows))
        out.source_labels.append(sorted({label for ex in windows for _, _, label in ex.spans}))
    labels = Counter(label for ex in out.examples for _, _, label in ex.spans)
    out.labels = sorted(labels)
    out.report["examples"] = len(out.examples)
    out.report["mentions"] = sum(labels.values())
    if max_width is not None:
        out.report["mentions_longer_than_max_width"] = sum(
            1 for ex in out.examples for s, e, _ in ex.spans if e - s >= max_width
        )
    return out


def window_examples(
    examples: Sequence[Example], builder: PromptBuilder, max_words: int, report: Counter
) -> list[Example]:
    """Examples cut into windows that fit one encoder pass beside a prompt (counted in ``report``)."""
    budget = builder.max_tokens - builder.special_count - PROMPT_RESERVE
    out: list[Example] = []
    for ex in examples:
        report["texts"] += 1
        out.extend(_windows(ex, builder, budget, max_words, report))
    return out


def _windows(
    ex: Example, builder: PromptBuilder, budget: int, max_words: int, report: Counter
) -> list[Example]:
    """Cut between words, never inside a mention where avoidable, and without overlap: a word
    seen twice would be unlabelled in one of its windows."""
    if not ex.words:
        return []
    counts = builder.encode_words(ex.words).counts.tolist()
    if len(ex.words) <= max_words and sum(counts) <= budget:
        return [ex]
    inside = np.zeros(len(ex.words) + 1, dtype=bool)  # inside[i]: a cut before word i splits a mention
    for s, e, _ in ex.spans:
        inside[s + 1 : e + 1] = True
    result, start = [], 0
    while start < len(ex.words):
        end, used = start, 0
        while end < len(ex.words) and end - start < max_words and used + counts[end] <= budget:
            used += counts[end]
            end += 1
        end = max(end, start + 1)
        cut = end
        while end < len(ex.words) and cut > start + 1 and inside[cut]:
            cut -= 1
        end = cut if not inside[cut] else end
        spans = [(s - start, e - start, label) for s, e, label in ex.spans if start <= s and e < end]
        result.append(Example(ex.words[start:end], spans, ex.id))
        start = end
    report["mentions_cut_by_windows"] += len(ex.spans) - sum(len(w.spans) for w in result)
    report["windowed_texts"] += 1
    return result
