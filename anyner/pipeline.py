"""The inference path: texts -> words -> windows (× label groups) -> batches -> runner ->
candidates -> greedy choice -> entities with character offsets.

Everything here is numpy: the runner (torch or onnxruntime) is the only part that knows how
the network runs, so both runtimes share this one pipeline. What differs between model
variants (how passes are planned and batched, how candidates are read off the scores) the
variant declares (anyner.variants).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .config import ModelConfig
from .decode import Candidates, select
from .errors import InputError
from .options import DecodeOptions
from .passes import Pass
from .runtime.batching import bucket
from .runtime.options import Runner
from .text.label_tokens import LabelTokenizer
from .text.labels import LabelSet
from .text.prompt import MAX_WORD_TOKENS, DocTokens, PromptBuilder
from .text.windows import Window, plan_windows
from .text.words import Words, split_words
from .variants import get_variant

# label vectors kept by a two-stage model, by the text its label encoder read; at 384 floats
# each, 65,536 labels take 100 MB
LABEL_CACHE_SIZE = 65_536
LABEL_BATCH = 64  # labels per label-encoder call


class Predictor:
    def __init__(
        self,
        builder: PromptBuilder,
        pad_id: int,
        config: ModelConfig,
        runner: Runner | None = None,
        labels_tokenizer: LabelTokenizer | None = None,
    ):
        self.builder = builder
        self.pad_id = pad_id
        self.config = config
        self.variant = get_variant(config.variant)
        self.runner = runner  # set by the model facade once it is built
        self.labels_tokenizer = labels_tokenizer
        # label groups and the room they leave for text depend on the prompts only
        self.label_plan = lru_cache(maxsize=1024)(self._plan_labels)
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self.adapters = None  # the model's AdapterRunners, once it has adapters

    def _plan_labels(self, prompts: tuple[str, ...]) -> tuple[list[list[int]], int]:
        groups = self.builder.group_labels(prompts)
        prompt_len = max(self.builder.prompt_length([prompts[i] for i in g]) for g in groups)
        return groups, self.builder.max_tokens - self.builder.special_count - prompt_len

    def plan(self, doc: int, words: Words, labels: LabelSet) -> list[Pass]:
        return self.variant.encoding.plan(self, doc, words, labels)

    def windows(self, words: Words, text_budget: int) -> tuple[DocTokens, list[Window]]:
        """A document's sub-tokens and the windows that cover it within ``text_budget`` tokens."""
        tokens = self.builder.encode_words(words.words, min(MAX_WORD_TOKENS, text_budget))
        cfg = self.config
        return tokens, plan_windows(tokens.counts.tolist(), text_budget, cfg.max_words, cfg.window_overlap)

    # -- the label stage (two-stage variants) ------------------------------------------
    def label_vectors(self, labels: LabelSet) -> np.ndarray:
        """(C, D) vectors for a label set: the ones it carries, else from the cache, computing
        the missing ones through the label encoder."""
        if labels.vectors is not None:
            return labels.vectors
        missing = list(dict.fromkeys(p for p in labels.prompts if p not in self._vectors))
        for i in range(0, len(missing), LABEL_BATCH):
            chunk = missing[i : i + LABEL_BATCH]
            for prompt, vector in zip(chunk, self.encode_labels(chunk), strict=True):
                self._vectors[prompt] = vector
        vectors = np.stack([self._vectors[p] for p in labels.prompts])
        for p in labels.prompts:  # most recently used last; the oldest go first
            self._vectors.move_to_end(p)
        while len(self._vectors) > LABEL_CACHE_SIZE:
            self._vectors.popitem(last=False)
        return vectors

    def encode_labels(self, prompts: Sequence[str]) -> np.ndarray:
        """(L, D) label vectors, computed now (no cache)."""
        if self.labels_tokenizer is None or self.runner is None:
            raise InputError(
                f"this model ({self.config.variant}) reads labels together with the text: it has no "
                "label encoder, so there are no label vectors to compute; use a bi-encoder"
            )
        ids, mask = self.labels_tokenizer.encode(prompts)
        return self.runner.encode_labels(ids, mask)

    def predict(
        self,
        texts: Sequence[str],
        labelsets: Sequence[LabelSet],
        options: DecodeOptions,
        adapters: Sequence[str | None] | None = None,
    ) -> list[list[dict]]:
        """Entities with character offsets into each text."""
        docs = [split_words(text) for text in texts]
        spans = self.predict_words(docs, labelsets, options, adapters)
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
        options: DecodeOptions,
        adapters: Sequence[str | None] | None = None,
    ) -> list[list[tuple[int, int, int, float]]]:
        """Spans as (first word, last word inclusive, label index, score), per document.
        ``adapters``: per document, the adapter it runs with (None: the base model); the passes
        of each adapter run together."""
        if self.runner is None:
            raise RuntimeError("Predictor has no runner")
        found = [_Found() for _ in docs]
        names = list(adapters) if adapters is not None else [None] * len(docs)
        encoding, level = self.variant.encoding, self.variant.level
        for name in dict.fromkeys(names):
            passes = [
                p
                for i, d in enumerate(docs)
                if names[i] == name and len(d)
                for p in self.plan(i, d, labelsets[i])
            ]
            if not passes:
                continue
            with self._session(name) as score:
                lengths = [len(p.inputs.input_ids) for p in passes]
                for rows in bucket(lengths, options.batch_size, options.batch_tokens):
                    batch = [passes[i] for i in rows]
                    arrays = encoding.batch(self, batch, labelsets)
                    probs = score(arrays, batch, labelsets)
                    self._collect(
                        found,
                        batch,
                        level.candidates(probs, arrays.word_lengths, arrays.type_counts, options.threshold),
                    )
        return [f.select(options.flat_ner, options.multi_label) for f in found]

    @contextmanager
    def _session(self, adapter: str | None) -> Iterator[Callable]:
        """score(arrays, passes, labelsets) with the base runner or with an adapter."""
        if adapter is None:
            with self.runner.session() as score:
                yield lambda arrays, passes, labelsets: score(arrays)
            return
        with self.adapters.session(adapter) as score:
            yield score

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
