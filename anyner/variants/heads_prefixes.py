"""gliner weight names shared by every variant's mapping: the text encoder's and the heads'."""

from __future__ import annotations

TEXT_ENCODER_PREFIXES: list[tuple[str, str | None]] = [
    ("token_rep_layer.bert_layer.model.", "encoder.model."),
    ("token_rep_layer.projection.", "encoder.projection."),
]
HEAD_PREFIXES: list[tuple[str, str | None]] = [
    ("span_rep_layer.span_rep_layer.project_start.", "head.start."),
    ("span_rep_layer.span_rep_layer.project_end.", "head.end."),
    ("span_rep_layer.span_rep_layer.out_project.", "head.out."),
    ("prompt_rep_layer.", "head.type_proj."),
    ("scorer.", "head."),
]
