"""Building the torch network from a weights folder: anyner's own, or one saved by gliner."""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import CheckpointError
from ..model import lora
from ..model.encoder import build_backbone
from ..model.model import NERModel
from . import delta
from .gliner import is_gliner, read_gliner
from .native import is_native, read_native
from .weights import load_strict


def read_model(folder: Path):
    """(NERModel in eval mode, HF tokenizer)."""
    if is_native(folder):
        config, state, tokenizer = read_native(folder)
    elif is_gliner(folder):
        config, state, tokenizer = read_gliner(folder)
    else:
        raise CheckpointError(
            f"{folder} is not a model folder: it has neither anyner_config.json (anyner) "
            "nor gliner_config.json (the gliner library)"
        )
    try:
        backbone = build_backbone(config.encoder)
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{folder}: cannot rebuild the encoder from its saved config: {exc}") from exc
    model = NERModel(config, backbone)
    if config.base is not None:
        state = delta.decode(state, backbone_state(config.base), model.state_dict())
    load_strict(model, state, folder)
    if (folder / lora.ADAPTER_DIR).is_dir():
        model.encoder.model = lora.load_adapter(model.encoder.model, folder)
    return model.eval(), tokenizer


def backbone_state(name: str) -> dict[str, torch.Tensor]:
    """The pretrained weights of a backbone, named as in NERModel."""
    from ..backbones import load_backbone

    encoder, _ = load_backbone(name)
    return {f"encoder.model.{k}": v for k, v in encoder.state_dict().items()}
