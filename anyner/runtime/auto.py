"""``precision="auto"``: the fastest path whose entities equal torch fp32's, picked by a rule
on what is installed and what the CPU has; nothing is timed at load.

The rule follows measurements on both kinds of x86 CPU (docs/performance.md):

- fp32 on onnxruntime is the fastest path with fp32's entities, on AVX2-only CPUs and on
  AVX-512 ones with native bf16 alike (faster than bf16 autocast even there). It needs
  onnxruntime and onnx; a weights folder is exported once into the cache (a few seconds).
- Otherwise fp32 on torch. bf16 autocast is faster where the CPU has native bf16, but it
  moves scores near the threshold and so changes some entities: it stays a choice to ask for.
- A model built in code (``AnyNER(model, tokenizer)``, ``from_backbone``) runs on torch: its
  weights may still change (training), and an export would be a stale copy.
- A model folder that brings its own adapters (the multilingual model) runs on torch: its
  adapters run unmerged there, where onnxruntime would need one export of the whole encoder
  per adapter.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Hashable
from dataclasses import dataclass
from functools import cache

from .cpu import cpu_info

log = logging.getLogger("anyner")

ONNX_PACKAGES = ("onnxruntime", "onnx")


@dataclass(frozen=True)
class Choice:
    precision: str
    runtime: str
    reason: str


IN_CODE = "a model built in code runs on torch, whose weights it trains"
WITH_ADAPTERS = (
    "a model folder with its own adapters runs on torch: an ONNX export per adapter would copy "
    "its whole encoder each time"
)


def choose(torch_only: str | None = None) -> Choice:
    """What ``precision="auto"`` runs: ``torch_only`` says why a model stays on torch (a model
    built in code, :data:`IN_CODE`; one that brings adapters, :data:`WITH_ADAPTERS`); None: it
    may be exported."""
    if torch_only is not None:
        return Choice("fp32", "torch", torch_only)
    missing = missing_onnx_packages()
    if not missing:
        return Choice(
            "fp32", "onnx", "onnxruntime is installed: the fastest path whose entities equal torch fp32's"
        )
    faster = "'anyner[onnx]'" + (" (or ask for precision='bf16')" if cpu_info().native_bf16 else "")
    return Choice(
        "fp32",
        "torch",
        f"{' and '.join(missing)} not installed, so not the faster onnxruntime path: pip install {faster}",
    )


def missing_onnx_packages() -> list[str]:
    return [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]


def note_once(message: str) -> None:
    """One line on stderr (through the "anyner" logger), the first time it is needed."""
    _note(" ".join(message.split()))


@cache
def _note(message: str) -> None:
    log.warning("anyner: %s", message)


WeightsStamp = tuple[Hashable, ...]


def weights_stamp(model) -> WeightsStamp:
    """Which tensors a torch model holds and how often each was changed in place (an optimizer
    step, ``load_state_dict``): equal stamps, same weights; cheap enough for every call."""
    return tuple((id(p), p._version) for p in model.parameters())
