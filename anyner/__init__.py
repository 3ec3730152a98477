"""anyner: find entities of any type, named in plain words at run time, cheaply on a CPU."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import AnyNERError, BackboneNotFoundError, CheckpointError, InputError

if TYPE_CHECKING:
    from .api import AnyNER

__version__ = "0.1.0"
__all__ = ["AnyNER", "AnyNERError", "BackboneNotFoundError", "CheckpointError", "InputError", "load"]

DEFAULT_MODEL_DIR = Path(__file__).parent / "weights" / "default"


def load(name_or_path: str | Path | None = None) -> AnyNER:
    """Load a model folder (anyner's own, or one saved by the gliner library); with no
    argument, the default model shipped with anyner."""
    from .api import AnyNER

    if name_or_path is None:
        if not DEFAULT_MODEL_DIR.is_dir():
            raise CheckpointError(
                "this anyner build ships no default model yet; pass a model folder, "
                "e.g. anyner.load('path/to/model') or `anyner extract --model path/to/model`"
            )
        name_or_path = DEFAULT_MODEL_DIR
    return AnyNER.from_pretrained(name_or_path)


def __getattr__(name: str):
    # The model class pulls in torch; plain `import anyner` stays light.
    if name == "AnyNER":
        from .api import AnyNER

        return AnyNER
    raise AttributeError(f"module 'anyner' has no attribute {name!r}")
