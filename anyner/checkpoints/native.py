"""anyner's own checkpoint folder: config, safetensors weights and tokenizer files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from safetensors.torch import save_file

from ..backbones import backbone_tokenizer
from ..config import ModelConfig
from ..errors import CheckpointError
from . import CONFIG_FILE
from .folder import atomic_folder
from .weights import read_state_dict

WEIGHTS_FILE = "model.safetensors"
TOKENIZER_CONFIG = "tokenizer_config.json"


def is_native(folder: Path) -> bool:
    return (folder / CONFIG_FILE).is_file()


def read_native(folder: Path):
    """(ModelConfig, state dict, HF tokenizer)."""
    from transformers import AutoTokenizer

    try:
        config = ModelConfig.from_dict(json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE} is not valid JSON: {exc}") from exc
    if not (folder / WEIGHTS_FILE).is_file():
        raise CheckpointError(f"{folder} has no {WEIGHTS_FILE}")
    state = read_state_dict(folder / WEIGHTS_FILE)
    if not (folder / TOKENIZER_CONFIG).is_file() and config.base is not None:
        # stored as deltas over a pip-installed backbone: its tokenizer, plus the markers
        return config, state, backbone_tokenizer(config.base, (config.ent_token, config.sep_token))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot load the tokenizer files in {folder}: {exc}") from exc
    return config, state, tokenizer


def write_native(
    folder: Path, config: ModelConfig, state: dict, tokenizer, extra: Callable[[Path], None] | None = None
) -> None:
    """Write the checkpoint as a whole (see :func:`atomic_folder`): a crash mid-write never
    leaves a half-written checkpoint under the target name."""
    with atomic_folder(folder) as tmp:
        tokenizer.save_pretrained(str(tmp))
        if extra is not None:  # more files written into the same folder (e.g. a LoRA adapter)
            extra(tmp)
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp / WEIGHTS_FILE))
        (tmp / CONFIG_FILE).write_text(
            json.dumps(config.to_dict(), indent=2, sort_keys=True), encoding="utf-8"
        )
