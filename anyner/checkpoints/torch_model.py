"""Building the torch network from a weights folder: anyner's own, or one saved by gliner."""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import CheckpointError
from ..model import lora
from ..model.encoder import build_backbone
from ..variants import get_variant
from . import delta
from .gliner import is_gliner, read_gliner
from .labels_tokenizer import read_labels_tokenizer
from .native import is_native, read_native
from .weights import load_strict


def read_model(folder: Path):
    """(network in eval mode, HF tokenizer, label tokenizer or None): the network is the
    variant's (see anyner.variants); a two-stage variant has its label encoder's tokenizer."""
    if is_native(folder):
        config, state, tokenizer = read_native(folder)
    elif is_gliner(folder):
        config, state, tokenizer = read_gliner(folder)
    else:
        raise CheckpointError(
            f"{folder} is not a model folder: it has neither anyner_config.json (anyner) "
            "nor gliner_config.json (the gliner library)"
        )
    variant = get_variant(config.variant)
    try:
        backbone = build_backbone(config.encoder)
        labels_backbone = build_backbone(config.labels_encoder) if variant.two_stage else None
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{folder}: cannot rebuild the encoder from its saved config: {exc}") from exc
    model = variant.build_model(config, backbone, labels_backbone)
    if config.base is not None:
        state = delta.decode(state, backbone_state(config.base), model.state_dict())
    load_strict(model, state, folder)
    if (folder / lora.ADAPTER_DIR).is_dir():
        model.encoder.model = lora.load_adapter(model.encoder.model, folder)
    labels_tokenizer = read_labels_tokenizer(folder) if variant.two_stage else None
    return model.eval(), tokenizer, labels_tokenizer


def backbone_state(name: str) -> dict[str, torch.Tensor]:
    """The pretrained weights of a backbone, named as in NERModel."""
    from ..backbones import load_backbone

    encoder, _ = load_backbone(name)
    return {f"encoder.model.{k}": v for k, v in encoder.state_dict().items()}
