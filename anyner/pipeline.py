"""The inference path: texts -> words -> windows × label groups -> batches -> model ->
candidates -> greedy choice -> entities with character offsets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import Architecture
from .decode import Candidates, select, span_candidates, token_candidates
from .model.model import NERModel
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
    def __init__(self, model: NERModel, builder: PromptBuilder, pad_id: int):
        self.model = model
        self.builder = builder
        self.pad_id = pad_id
        config = model.config
        self.find = span_candidates if config.architecture is Architecture.SPAN else token_candidates

    def plan(self, doc: int, words: Words, labels: LabelSet) -> list[Pass]:
        cfg = self.model.config
        groups = self.builder.group_labels(labels.prompts)
        prompt_len = max(self.builder.prompt_length([labels.prompts[i] for i in g]) for g in groups)
        text_budget = self.builder.max_tokens - self.builder.special_count - prompt_len
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
    ) -> list[list[dict]]:
        """Entities with character offsets into each text."""
        docs = [split_words(text) for text in texts]
        spans = self.predict_words(docs, labelsets, threshold, flat_ner, multi_label, batch_size)
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

    @torch.inference_mode()
    def predict_words(
        self,
        docs: Sequence[Words],
        labelsets: Sequence[LabelSet],
        threshold: float,
        flat_ner: bool,
        multi_label: bool,
        batch_size: int,
    ) -> list[list[tuple[int, int, int, float]]]:
        """Spans as (first word, last word inclusive, label index, score), per document."""
        was_training = self.model.training
        self.model.eval()
        found = [_Found() for _ in docs]
        passes = [p for i, d in enumerate(docs) if len(d) for p in self.plan(i, d, labelsets[i])]
        passes.sort(key=lambda p: len(p.inputs.input_ids))  # similar lengths together: less padding
        for lo in range(0, len(passes), batch_size):
            batch = passes[lo : lo + batch_size]
            tensors = collate_inputs([p.inputs for p in batch], self.pad_id)
            type_counts = tensors.pop("type_counts")
            logits = self.model(**tensors)
            self._collect(found, batch, self.find(logits, tensors["word_lengths"], type_counts, threshold))
        self.model.train(was_training)
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


def collate_inputs(inputs: Sequence[EncoderInput], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad encoder passes into one batch of tensors."""
    n = len(inputs)
    t = max(len(x.input_ids) for x in inputs)
    w = max(len(x.word_positions) for x in inputs)
    c = max(len(x.type_positions) for x in inputs)
    input_ids = torch.full((n, t), pad_id, dtype=torch.long)
    attention = torch.zeros((n, t), dtype=torch.long)
    word_pos = torch.zeros((n, w), dtype=torch.long)
    type_pos = torch.zeros((n, c), dtype=torch.long)
    for i, x in enumerate(inputs):
        input_ids[i, : len(x.input_ids)] = torch.tensor(x.input_ids)
        attention[i, : len(x.input_ids)] = 1
        word_pos[i, : len(x.word_positions)] = torch.tensor(x.word_positions)
        type_pos[i, : len(x.type_positions)] = torch.tensor(x.type_positions)
    return {
        "input_ids": input_ids,
        "attention_mask": attention,
        "word_positions": word_pos,
        "word_lengths": torch.tensor([len(x.word_positions) for x in inputs]),
        "type_positions": type_pos,
        "type_counts": torch.tensor([len(x.type_positions) for x in inputs]),
    }
