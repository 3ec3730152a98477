"""Reading folders saved by the public ``gliner`` library (uni- and bi-encoders, span
"markerV0" or "token_level"), mapping their weight names onto anyner's modules one for one.
Which variant a folder is, and how its weight names map, the variants declare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..config import ModelConfig
from ..errors import CheckpointError
from ..variants import Variant, gliner_variant
from .weights import read_state_dict

CONFIG_FILE = "gliner_config.json"


def is_gliner(folder: Path) -> bool:
    return (folder / CONFIG_FILE).is_file()


def _unsupported(cfg: dict[str, Any]) -> list[str]:
    problems = []
    if gliner_variant(cfg) is None:
        problems.append(f"span_mode {cfg.get('span_mode')!r} (supported: markerV0, token_level)")
    if cfg.get("labels_encoder") and not isinstance(cfg.get("labels_encoder_config"), dict):
        problems.append("a labels encoder without an inlined labels_encoder_config")
    if cfg.get("labels_decoder"):
        problems.append("a labels decoder")
    if cfg.get("relations_layer"):
        problems.append("relation extraction layers")
    if cfg.get("post_fusion_schema") and not cfg.get("labels_encoder"):
        problems.append(f"post_fusion_schema={cfg['post_fusion_schema']!r} on a uni-encoder")
    for key in ("fuse_layers", "represent_spans", "precomputed_prompts_mode"):
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

    cfg = _read_config(folder / CONFIG_FILE)
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
    variant: Variant = gliner_variant(cfg)  # type: ignore[assignment]  # None was refused above
    try:
        settings = {
            "variant": variant.name,
            "hidden_size": cfg["hidden_size"],
            "max_width": cfg.get("max_width", 12),
            "dropout": cfg.get("dropout", 0.4),
            "num_rnn_layers": cfg.get("num_rnn_layers", 1),
            "ent_token": cfg.get("ent_token", "<<ENT>>"),
            "sep_token": cfg.get("sep_token", "<<SEP>>"),
            "max_words": cfg.get("max_len", 384),
            "backbone": cfg.get("model_name", ""),
            "encoder": encoder,
        }
        config = ModelConfig(**{**settings, **variant.encoding.gliner_overrides(cfg)})
    except KeyError as exc:
        raise CheckpointError(
            f"{folder / CONFIG_FILE} lacks {exc.args[0]!r}, which every gliner config has"
        ) from exc
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE} holds an invalid value: {exc}") from exc
    weights = next(
        (folder / n for n in ("model.safetensors", "pytorch_model.bin") if (folder / n).is_file()), None
    )
    if weights is None:
        raise CheckpointError(f"{folder} has neither model.safetensors nor pytorch_model.bin")
    state = rename_state_dict(read_state_dict(weights), weights, variant.gliner_prefixes())
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot load the tokenizer files in {folder}: {exc}") from exc
    index = cfg.get("class_token_index")
    if index is not None and index >= 0 and tokenizer.convert_tokens_to_ids(config.ent_token) != index:
        raise CheckpointError(
            f"{folder}: the tokenizer's id for {config.ent_token!r} is not class_token_index {index}"
        )
    return config, state, tokenizer


def _read_config(path: Path) -> dict[str, Any]:
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{path} must hold a JSON object of settings, not {type(cfg).__name__}")
    return cfg


def rename_state_dict(
    state: dict[str, torch.Tensor], source: Path, prefixes: list[tuple[str, str | None]]
) -> dict[str, torch.Tensor]:
    """gliner names -> anyner names by prefix; a prefix mapped to None is dropped."""
    renamed = {}
    unknown = []
    for key, value in state.items():
        for old, new in prefixes:
            if key.startswith(old):
                if new is not None:
                    renamed[new + key[len(old) :]] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise CheckpointError(f"{source}: unexpected gliner weight(s) {', '.join(sorted(unknown)[:8])}")
    return renamed
