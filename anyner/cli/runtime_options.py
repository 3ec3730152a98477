"""Options that pick how a command's model runs: --precision, --runtime, --threads."""

from __future__ import annotations

import enum
from typing import Annotated, Any

from .app import Opt


class Precision(str, enum.Enum):
    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"
    int8 = "int8"


class Runtime(str, enum.Enum):
    torch = "torch"
    onnx = "onnx"


PrecisionOpt = Annotated[
    Precision | None,
    Opt(
        "--precision",
        help="auto (default: the fastest path with fp32's entities, see `anyner info`), fp32, "
        "bf16 (torch autocast) or int8 (onnxruntime, quantised).",
    ),
]
RuntimeOpt = Annotated[
    Runtime | None, Opt("--runtime", help="torch or onnx (onnxruntime); default: what auto picks.")
]
ThreadsOpt = Annotated[
    int | None, Opt("--threads", min=1, help="Threads per forward pass (default: the physical cores).")
]


def load_options(precision: Precision | None, runtime: Runtime | None, threads: int | None) -> dict[str, Any]:
    """anyner.load's keyword arguments."""
    return {
        "precision": precision.value if precision else None,
        "runtime": runtime.value if runtime else None,
        "threads": threads,
    }
