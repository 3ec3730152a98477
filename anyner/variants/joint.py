"""The uni-encoder: labels and text in one pass, ``[ENT] t1 … [ENT] tM [SEP] w1 … wN``.

Labels too many for one pass are split into groups, each with its own pass over the window;
the label stage and the scoring stage are one joint pass, so nothing is cached."""

from __future__ import annotations

from dataclasses import dataclass

from ..passes import Pass
from ..runtime.batching import Batch, collate
from .heads_prefixes import HEAD_PREFIXES, TEXT_ENCODER_PREFIXES


@dataclass(frozen=True)
class JointEncoding:
    name: str = "uni"
    two_stage: bool = False
    uses_markers: bool = True  # the prompt's [ENT] and [SEP] tokens

    def build_model(self, config, backbone, build_head, labels_backbone=None):
        from ..model.model import JointModel

        return JointModel(config, backbone, build_head)

    def gliner_prefixes(self) -> list[tuple[str, str | None]]:
        return [
            *TEXT_ENCODER_PREFIXES,
            ("rnn.lstm.", "rnn.lstm."),
            *HEAD_PREFIXES,
        ]

    def gliner_overrides(self, cfg: dict) -> dict:
        return {}

    def plan(self, predictor, doc: int, words, labels) -> list[Pass]:
        groups, text_budget = predictor.label_plan(labels.prompts)
        tokens, windows = predictor.windows(words, text_budget)
        return [
            Pass(doc, w, g, predictor.builder.build(tokens, w.start, w.end, [labels.prompts[i] for i in g]))
            for w in windows
            for g in groups
        ]

    def batch(self, predictor, passes: list[Pass], labelsets) -> Batch:
        return collate([p.inputs for p in passes], predictor.pad_id)

    def train_inputs(self, examples, prompts, builder, pad_id, labels_tokenizer=None):
        """(forward arguments, word lengths, type counts) of a training batch."""
        encoded = [
            builder.build(builder.encode_words(ex.words), 0, len(ex.words), shown)
            for ex, shown in zip(examples, prompts, strict=True)
        ]
        tensors = collate(encoded, pad_id).tensors()
        type_counts = tensors.pop("type_counts")
        return tensors, tensors["word_lengths"], type_counts


JOINT = JointEncoding()
