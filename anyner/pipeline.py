"""The inference path: texts -> words -> windows × label groups -> batches -> runner ->
candidates -> greedy choice -> entities with character offsets.

Everything here is numpy: the runner (torch or onnxruntime) is the only part that knows how
the network runs, so both runtimes share this one pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .config import Architecture, ModelConfig
from .decode import Candidates, select, span_candidates, token_candidates
from .runtime.batching import bucket, collate
from .runtime.options import Runner
from .text.labels import LabelSet
from .text.prompt import MAX_WORD_TOKENS, EncoderInput, PromptBuilder
from .text.windows import Window, plan_windows
from .text.words import Words, split_words


@dataclass(frozen=True)
class Pass:
    """One encoder pass: a window of one document with one group of its labels."""

    doc: int
    window: Window
    labels: list[int]  # indices into the document's LabelSet
    inputs: EncoderInput


class Predictor:
    def __init__(
        self, builder: PromptBuilder, pad_id: int, config: ModelConfig, runner: Runner | None = None
    ):
        self.builder = builder
        self.pad_id = pad_id
        self.config = config
        self.runner = runner  # set by the model facade once it is built
        self.find = span_candidates if config.architecture is Architecture.SPAN else token_candidates
        # label groups and the room they leave for text depend on the prompts only
        self._label_plan = lru_cache(maxsize=1024)(self._plan_labels)

    def _plan_labels(self, prompts: tuple[str, ...]) -> tuple[list[list[int]], int]:
        groups = self.builder.group_labels(prompts)
        prompt_len = max(self.builder.prompt_length([prompts[i] for i in g]) for g in groups)
        return groups, self.builder.max_tokens - self.builder.special_count - prompt_len

    def plan(self, doc: int, words: Words, labels: LabelSet) -> list[Pass]:
        cfg = self.config
        groups, text_budget = self._label_plan(labels.prompts)
        tokens = self.builder.encode_words(words.words, min(MAX_WORD_TOKENS, text_budget))
        windows = plan_windows(tokens.counts.tolist(), text_budget, cfg.max_words, cfg.window_overlap)
        return [
            Pass(doc, w, g, self.builder.build(tokens, w.start, w.end, [labels.prompts[i] for i in g]))
            for w in windows
            for g in groups
        ]

    def predict(
        self,
        texts: Sequence[str],
        labelsets: Sequence[LabelSet],
        threshold: float,
        flat_ner: bool,
        multi_label: bool,
        batch_size: int,
        batch_tokens: int,
    ) -> list[list[dict]]:
        """Entities with character offsets into each text."""
        docs = [split_words(text) for text in texts]
        spans = self.predict_words(
            docs, labelsets, threshold, flat_ner, multi_label, batch_size, batch_tokens
        )
        return [
            [
                {
                    "start": (a := w.starts[s]),
                    "end": (b := w.ends[e]),
                    "text": text[a:b],
                    "label": labels.names[c],
                    "score": score,
                }
                for s, e, c, score in doc_spans
            ]
            for text, w, labels, doc_spans in zip(texts, docs, labelsets, spans, strict=True)
        ]

    def predict_words(
        self,
        docs: Sequence[Words],
        labelsets: Sequence[LabelSet],
        threshold: float,
        flat_ner: bool,
        multi_label: bool,
        batch_size: int,
        batch_tokens: int,
    ) -> list[list[tuple[int, int, int, float]]]:
        """Spans as (first word, last word inclusive, label index, score), per document."""
        if self.runner is None:
            raise RuntimeError("Predictor has no runner")
        found = [_Found() for _ in docs]
        passes = [p for i, d in enumerate(docs) if len(d) for p in self.plan(i, d, labelsets[i])]
        with self.runner.session() as score:
            for rows in bucket([len(p.inputs.input_ids) for p in passes], batch_size, batch_tokens):
                batch = [passes[i] for i in rows]
                arrays = collate([p.inputs for p in batch], self.pad_id)
                probs = score(arrays)
                self._collect(
                    found, batch, self.find(probs, arrays.word_lengths, arrays.type_counts, threshold)
                )
        return [f.select(flat_ner, multi_label) for f in found]

    @staticmethod
    def _collect(found: list[_Found], batch: Sequence[Pass], cand: Candidates) -> None:
        for i, p in enumerate(batch):
            rows = cand.item == i
            start = cand.start[rows] + p.window.start
            # keep only spans starting where this window owns the text: each span once
            own = (start >= p.window.own_start) & (start < p.window.own_end)
            f = found[p.doc]
            f.start.append(start[own])
            f.end.append(cand.end[rows][own] + p.window.start)
            f.label.append(np.asarray(p.labels, dtype=np.int64)[cand.type[rows][own]])
            f.score.append(cand.score[rows][own])


@dataclass
class _Found:
    """Candidates of one document gathered over its passes."""

    start: list[np.ndarray] = field(default_factory=list)
    end: list[np.ndarray] = field(default_factory=list)
    label: list[np.ndarray] = field(default_factory=list)
    score: list[np.ndarray] = field(default_factory=list)

    def select(self, flat_ner: bool, multi_label: bool) -> list[tuple[int, int, int, float]]:
        if not self.start:
            return []
        start, end, label, score = (np.concatenate(x) for x in (self.start, self.end, self.label, self.score))
        keep = select(start, end, label, score, flat_ner, multi_label)
        return list(
            zip(
                start[keep].tolist(),
                end[keep].tolist(),
                label[keep].tolist(),
                score[keep].tolist(),
                strict=True,
            )
        )

