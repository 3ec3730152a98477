"""A bi-encoder's label tokenizer: ``labels_tokenizer/tokenizer.json`` in the model folder (the
layout gliner uses, and anyner writes too)."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from ..errors import CheckpointError

LABELS_TOKENIZER_DIR = "labels_tokenizer"


def read_labels_tokenizer(folder: Path) -> Tokenizer:
    path = folder / LABELS_TOKENIZER_DIR / "tokenizer.json"
    if not path.is_file():
        raise CheckpointError(f"{folder} is a bi-encoder but has no {LABELS_TOKENIZER_DIR}/tokenizer.json")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # the tokenizers library raises plain Exceptions for bad files
        raise CheckpointError(f"cannot read the label tokenizer {path}: {exc}") from exc


def write_labels_tokenizer(tokenizer: Tokenizer, folder: Path) -> None:
    (folder / LABELS_TOKENIZER_DIR).mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / LABELS_TOKENIZER_DIR / "tokenizer.json"))
