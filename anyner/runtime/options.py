"""What a caller picks at load time: precision, runtime and threads, checked and completed.

- ``auto`` (default): the fastest path whose entities equal fp32's (see anyner.runtime.auto);
- ``fp32``: torch, or onnxruntime with ``runtime="onnx"``;
- ``bf16``: torch under ``torch.autocast("cpu", torch.bfloat16)`` (fast where the CPU has
  AVX512-BF16 or AMX);
- ``int8``: onnxruntime over a dynamically quantised export (int8 weights, activations
  quantised on the fly), so it implies ``runtime="onnx"``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import InputError
from .batching import Batch

PRECISIONS = ("fp32", "bf16", "int8")
AUTO = "auto"
RUNTIMES = ("torch", "onnx")


@dataclass(frozen=True)
class RuntimeOptions:
    precision: str = "fp32"
    runtime: str = "torch"
    threads: int | None = None  # None: the physical cores (torch: its own setting, capped at them)
    reason: str = "asked for"  # why this precision and runtime: the caller's choice, or auto's rule
    auto: bool = False  # picked by precision="auto", so it may fall back to fp32 on torch

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            choices = _names((AUTO, *PRECISIONS))
            raise InputError(f"precision must be one of {choices}, got {self.precision!r}")
        if self.runtime not in RUNTIMES:
            raise InputError(f"runtime must be one of {_names(RUNTIMES)}, got {self.runtime!r}")
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise InputError(f"threads must be a positive integer or None, got {self.threads!r}")
        if self.precision == "int8" and self.runtime != "onnx":
            raise InputError(
                "precision='int8' runs on onnxruntime (dynamic quantisation): use runtime='onnx' "
                "or leave runtime out"
            )
        if self.precision == "bf16" and self.runtime != "torch":
            raise InputError(
                "precision='bf16' runs on torch (autocast); runtime='onnx' runs 'fp32' or 'int8'"
            )


def resolve_options(
    precision: str | None,
    runtime: str | None,
    threads: int | None,
    exported: str | None = None,
    torch_only: str | None = None,
) -> RuntimeOptions:
    """Fill in what the caller left out. ``precision`` None or "auto": for an ONNX export, the
    ``exported`` precision on onnxruntime; with a ``runtime``, fp32 on it; else auto's rule
    (``torch_only``: why the weights may not be exported, if so; see anyner.runtime.auto).
    int8 means onnxruntime and bf16 torch."""
    if precision in (None, AUTO):
        if exported is not None:
            return RuntimeOptions(exported, runtime or "onnx", threads, "an ONNX export runs as exported")
        if runtime is not None:
            return RuntimeOptions("fp32", runtime, threads, f"runtime={runtime!r} asked for: fp32 on it")
        from .auto import choose

        choice = choose(torch_only)
        return RuntimeOptions(choice.precision, choice.runtime, threads, choice.reason, auto=True)
    if runtime is None:
        implied = {"int8": "onnx", "bf16": "torch"}
        default = "onnx" if exported is not None else "torch"
        runtime = implied.get(precision, default) if isinstance(precision, str) else default
    return RuntimeOptions(precision, runtime, threads)


Score = Callable[[Batch], np.ndarray]


class Runner(Protocol):
    """Maps a collated batch to probabilities: (B, W, K, C) span × type for the span head,
    (B, W, C, 3) start/end/inside for the token head, float32."""

    def session(self) -> AbstractContextManager[Score]:
        """Open for a run of batches (settings that cost something to enter are entered once)."""
        ...


def _names(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)
