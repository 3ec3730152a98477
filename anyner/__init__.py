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
# models shipped with anyner, by name: load("multilingual")
SHIPPED = {"default": DEFAULT_MODEL_DIR, "multilingual": Path(__file__).parent / "weights" / "multilingual"}


def load(
    model: str | Path | None = None,
    *,
    precision: str | None = None,
    runtime: str | None = None,
    threads: int | None = None,
) -> AnyNER:
    """Load a model folder (anyner's own, one saved by the gliner library, or an ONNX export made
    by ``anyner export-onnx``); with no ``model``, the default model shipped with anyner.

    - ``precision``: "auto" (default: the fastest path on this machine whose entities equal
      fp32's, see anyner.runtime.auto), "fp32", "bf16" (torch autocast: fastest on CPUs with
      AVX512-BF16 or AMX) or "int8" (onnxruntime over a dynamically quantised export; implies
      ``runtime="onnx"``). An ONNX export runs in the precision it was exported in.
    - ``runtime``: "torch" (default for weights) or "onnx" (onnxruntime). For a weights folder,
      "onnx" exports the model once into a cache folder, ``$ANYNER_CACHE`` (default
      ``~/.cache/anyner``) ``/onnx/<hash of weights and config>-<precision>``, and reuses it on
      later loads; an exported folder always runs on onnxruntime, without torch.
    - ``threads``: threads per forward pass. Default: the machine's physical cores for
      onnxruntime; for torch, torch's own setting (the physical cores unless changed), capped at
      the cores this process may use. torch's setting is process-wide.
    """
    from .api import AnyNER

    if model is None:
        if not DEFAULT_MODEL_DIR.is_dir():
            raise CheckpointError(
                "this anyner build ships no default model yet; pass a model folder, "
                "e.g. anyner.load('path/to/model') or `anyner extract --model path/to/model`"
            )
        model = DEFAULT_MODEL_DIR
    elif isinstance(model, str) and model in SHIPPED and not Path(model).exists():
        if not SHIPPED[model].is_dir():
            raise CheckpointError(
                f"this anyner build does not ship the {model!r} model yet; pass a model folder instead"
            )
        model = SHIPPED[model]
    return AnyNER.from_pretrained(model, precision=precision, runtime=runtime, threads=threads)


def __getattr__(name: str):
    # The model class pulls in torch; plain `import anyner` stays light.
    if name == "AnyNER":
        from .api import AnyNER

        return AnyNER
    raise AttributeError(f"module 'anyner' has no attribute {name!r}")
