"""gliner weight names of the heads and the BiLSTM, shared by every variant's mapping."""

from __future__ import annotations

HEAD_PREFIXES: list[tuple[str, str | None]] = [
    ("span_rep_layer.span_rep_layer.project_start.", "head.start."),
    ("span_rep_layer.span_rep_layer.project_end.", "head.end."),
    ("span_rep_layer.span_rep_layer.out_project.", "head.out."),
    ("prompt_rep_layer.", "head.type_proj."),
    ("scorer.", "head."),
]
