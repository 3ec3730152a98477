"""Reading folders saved by the public ``gliner`` library (uni-encoder, span "markerV0" or
"token_level"), mapping their weight names onto anyner's modules one for one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..config import Architecture, ModelConfig
from ..errors import CheckpointError
from .weights import read_state_dict

CONFIG_FILE = "gliner_config.json"

# gliner weight-name prefix -> anyner prefix; a weight matching none of them is unexpected
_PREFIXES = [
    ("token_rep_layer.bert_layer.model.", "encoder.model."),
    ("token_rep_layer.projection.", "encoder.projection."),
    ("rnn.lstm.", "rnn.lstm."),
    ("span_rep_layer.span_rep_layer.project_start.", "head.start."),
    ("span_rep_layer.span_rep_layer.project_end.", "head.end."),
    ("span_rep_layer.span_rep_layer.out_project.", "head.out."),
    ("prompt_rep_layer.", "head.type_proj."),
    ("scorer.", "head."),
]

_SPAN_MODES = {"markerV0": Architecture.SPAN, "token_level": Architecture.TOKEN}


def is_gliner(folder: Path) -> bool:
    return (folder / CONFIG_FILE).is_file()


def _unsupported(cfg: dict[str, Any]) -> list[str]:
    problems = []
    if cfg.get("span_mode") not in _SPAN_MODES:
        problems.append(f"span_mode {cfg.get('span_mode')!r} (supported: {', '.join(_SPAN_MODES)})")
    if cfg.get("labels_encoder"):
        problems.append("a separate labels encoder (bi-encoder)")
    if cfg.get("labels_decoder"):
        problems.append("a labels decoder")
    if cfg.get("relations_layer"):
        problems.append("relation extraction layers")
    for key in ("fuse_layers", "represent_spans", "post_fusion_schema", "precomputed_prompts_mode"):
        if cfg.get(key):
            problems.append(f"{key}={cfg[key]!r}")
    if cfg.get("embed_ent_token", True) is not True:
        problems.append("embed_ent_token=false")
    if cfg.get("subtoken_pooling", "first") != "first":
        problems.append(f"subtoken_pooling {cfg.get('subtoken_pooling')!r}")
    if cfg.get("span_encoder_config"):
        problems.append("a span context encoder")
    return problems


def read_gliner(folder: Path):
    """(ModelConfig, state dict with anyner names, HF tokenizer)."""
    from transformers import AutoTokenizer

    try:
        cfg = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE} is not valid JSON: {exc}") from exc
    problems = _unsupported(cfg)
    if problems:
        raise CheckpointError(
            f"{folder}: this gliner checkpoint uses features anyner does not load: {'; '.join(problems)}"
        )
    encoder = cfg.get("encoder_config")
    if not encoder:
        raise CheckpointError(
            f"{folder}: {CONFIG_FILE} has no inlined encoder_config (saved by an old gliner); "
            "re-save it with gliner >= 0.2.17"
        )
    config = ModelConfig(
        architecture=_SPAN_MODES[cfg["span_mode"]],
        hidden_size=cfg["hidden_size"],
        max_width=cfg.get("max_width", 12),
        dropout=cfg.get("dropout", 0.4),
        num_rnn_layers=cfg.get("num_rnn_layers", 1),
        ent_token=cfg.get("ent_token", "<<ENT>>"),
        sep_token=cfg.get("sep_token", "<<SEP>>"),
        max_words=cfg.get("max_len", 384),
        backbone=cfg.get("model_name", ""),
        encoder=encoder,
    )
    weights = next(
        (folder / n for n in ("model.safetensors", "pytorch_model.bin") if (folder / n).is_file()), None
    )
    if weights is None:
        raise CheckpointError(f"{folder} has neither model.safetensors nor pytorch_model.bin")
    state = rename_state_dict(read_state_dict(weights), weights)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot load the tokenizer files in {folder}: {exc}") from exc
    index = cfg.get("class_token_index")
    if index is not None and tokenizer.convert_tokens_to_ids(config.ent_token) != index:
        raise CheckpointError(
            f"{folder}: the tokenizer's id for {config.ent_token!r} is not class_token_index {index}"
        )
    return config, state, tokenizer


def rename_state_dict(state: dict[str, torch.Tensor], source: Path) -> dict[str, torch.Tensor]:
    renamed = {}
    unknown = []
    for key, value in state.items():
        for old, new in _PREFIXES:
            if key.startswith(old):
                renamed[new + key[len(old) :]] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise CheckpointError(f"{source}: unexpected gliner weight(s) {', '.join(sorted(unknown)[:8])}")
    return renamed
