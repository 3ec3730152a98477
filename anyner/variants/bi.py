"""The bi-encoder (GLiNER's): the text through the text encoder alone, each label through a
separate label encoder, mean-pooled. The label stage runs apart from the scoring stage and
its vectors are cached, so any number of labels is scored in one pass per window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..passes import Pass
from ..runtime.batching import Batch, collate
from .heads_prefixes import HEAD_PREFIXES, TEXT_ENCODER_PREFIXES


@dataclass(frozen=True)
class BiEncoding:
    name: str = "bi"
    two_stage: bool = True
    uses_markers: bool = False  # no prompt in the text: no [ENT] or [SEP] markers

    def build_model(self, config, backbone, build_head, labels_backbone=None):
        from ..model.model import BiEncoderModel

        if labels_backbone is None:
            raise ValueError("a bi-encoder needs a label encoder")
        return BiEncoderModel(config, backbone, build_head, labels_backbone)

    def gliner_prefixes(self) -> list[tuple[str, str | None]]:
        return [
            *TEXT_ENCODER_PREFIXES,
            ("token_rep_layer.labels_encoder.model.", "labels_encoder.model."),
            ("token_rep_layer.labels_projection.", "labels_encoder.projection."),
            ("cross_fuser.", "fuser."),
            # gliner 0.2.29 saves a BiLSTM with its bi-encoders but never applies it
            ("rnn.lstm.", None),
            *HEAD_PREFIXES,
        ]

    def gliner_overrides(self, cfg: dict) -> dict:
        """What a gliner bi-encoder config means for anyner's config."""
        return {
            "num_rnn_layers": 0,
            "labels_encoder": cfg["labels_encoder_config"],
            "post_fusion_schema": cfg.get("post_fusion_schema") or "",
            "num_post_fusion_layers": cfg.get("num_post_fusion_layers", 1),
        }

    def plan(self, predictor, doc: int, words, labels) -> list[Pass]:
        builder = predictor.builder
        tokens, windows = predictor.windows(words, builder.max_tokens - builder.special_count)
        every = list(range(len(labels.names)))
        return [Pass(doc, w, every, builder.build_text(tokens, w.start, w.end)) for w in windows]

    def batch(self, predictor, passes: list[Pass], labelsets) -> Batch:
        """Each distinct label set of the batch once (texts usually share one), and per pass
        where its labels sit among them."""
        first: dict[int, int] = {}  # id(label set) -> its first row
        blocks = []
        rows = []
        for p in passes:
            labels = labelsets[p.doc]
            if id(labels) not in first:
                first[id(labels)] = sum(len(b) for b in blocks)
                blocks.append(predictor.label_vectors(labels))
            rows.append(first[id(labels)] + np.asarray(p.labels, dtype=np.int64))
        return collate([p.inputs for p in passes], predictor.pad_id, (np.concatenate(blocks), rows))

    def train_inputs(self, examples, prompts, builder, pad_id, labels_tokenizer=None):
        """(forward arguments, word lengths, type counts) of a training batch: the batch's
        distinct labels go through the label encoder once, inside the forward pass (so it
        can train), and each example picks its types by index."""
        import torch

        encoded = [builder.build_text(builder.encode_words(ex.words), 0, len(ex.words)) for ex in examples]
        tensors = collate(encoded, pad_id).tensors()
        distinct = list(dict.fromkeys(p for shown in prompts for p in shown)) or ["entity"]
        where = {p: i for i, p in enumerate(distinct)}
        counts = torch.tensor([len(shown) for shown in prompts])
        index = torch.zeros(len(prompts), max(int(counts.max()), 1), dtype=torch.long)
        for row, shown in enumerate(prompts):
            index[row, : len(shown)] = torch.tensor([where[p] for p in shown], dtype=torch.long)
        ids, mask = labels_tokenizer.encode(distinct)
        inputs = {
            name: tensors[name] for name in ("input_ids", "attention_mask", "word_positions", "word_lengths")
        }
        inputs.update(
            type_index=index,
            type_counts=counts,
            label_input_ids=torch.from_numpy(ids),
            label_attention_mask=torch.from_numpy(mask),
        )
        return inputs, tensors["word_lengths"], counts


BI = BiEncoding()
