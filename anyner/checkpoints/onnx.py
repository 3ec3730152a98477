"""An ONNX export folder: ``model.onnx``, ``anyner_config.json`` and the tokenizer files.

The config is the model's own (with ``max_tokens`` resolved, since the encoder's config is no
longer at hand) plus an ``"onnx"`` entry, which marks the folder as an export. Reading it
needs tokenizers and numpy only, never torch.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..config import ModelConfig
from ..errors import CheckpointError
from . import CONFIG_FILE

ONNX_FILE = "model.onnx"
LABELS_ONNX_FILE = "labels.onnx"  # a two-stage variant's label stage
TOKENIZER_FILE = "tokenizer.json"
MARK = "onnx"


@dataclass(frozen=True)
class OnnxInfo:
    precision: str  # "fp32" or "int8"
    pad_id: int
    opset: int


def is_onnx(folder: Path) -> bool:
    return MARK in _read_config(folder) if (folder / CONFIG_FILE).is_file() else False


def read_onnx(folder: Path):
    """(ModelConfig, OnnxInfo, tokenizers.Tokenizer, the label tokenizer or None)."""
    from tokenizers import Tokenizer

    from ..variants import get_variant
    from .labels_tokenizer import read_labels_tokenizer

    data = _read_config(folder)
    try:
        info = OnnxInfo(**data.pop(MARK))
    except TypeError as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE}: invalid {MARK!r} entry: {exc}") from exc
    config = ModelConfig.from_dict(data)
    if config.max_tokens is None:
        raise CheckpointError(f"{folder / CONFIG_FILE}: an ONNX export must give max_tokens")
    two_stage = get_variant(config.variant).two_stage
    for name in (ONNX_FILE, TOKENIZER_FILE, *([LABELS_ONNX_FILE] if two_stage else [])):
        if not (folder / name).is_file():
            raise CheckpointError(f"{folder} is an ONNX export without {name}; export it again")
    try:
        tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
    except Exception as exc:  # tokenizers raises a bare Exception for unreadable files
        raise CheckpointError(f"cannot load {folder / TOKENIZER_FILE}: {exc}") from exc
    return config, info, tokenizer, read_labels_tokenizer(folder) if two_stage else None


def config_json(config: ModelConfig, info: OnnxInfo) -> str:
    return json.dumps({**config.to_dict(), MARK: asdict(info)}, indent=2, sort_keys=True)


def _read_config(folder: Path) -> dict:
    path = folder / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} must hold a JSON object")
    return data
