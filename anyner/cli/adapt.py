"""``anyner adapt``: fit a named adapter on a support set and save it to a folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from .app import Opt, _load_model, app, user_errors
from .runtime_options import ThreadsOpt

METHODS = ("auto", "prototype", "lora", "lorahub", "all")


@app.command()
def adapt(
    support: Annotated[
        Path, typer.Argument(help="Labelled examples (GLiNER JSONL, char-offset JSONL, CoNLL).")
    ],
    name: Annotated[str, Opt("--name", "-n", help="The adapter's name.")],
    output: Annotated[Path, Opt("--output", "-o", help="Folder to save the adapter in.")],
    method: Annotated[str, Opt("--method", help="auto, prototype, lora, lorahub or all.")] = "auto",
    labels: Annotated[
        str | None, Opt("--labels", "-l", help="Comma-separated subset of the support's labels.")
    ] = None,
    model: Annotated[
        str | None, Opt("--model", "-m", help="Base model folder (default: shipped model).")
    ] = None,
    steps: Annotated[int | None, Opt("--steps", min=1, help="LoRA training steps.")] = None,
    no_folds: Annotated[
        bool, Opt("--no-folds", help="Skip scoring on held-out support folds (faster; auto always scores).")
    ] = False,
    threads: ThreadsOpt = None,
) -> None:
    """Fit adapter NAME on SUPPORT and save it to --output; the base model is not changed."""
    with user_errors():
        if method not in METHODS:
            raise InputError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
        if not support.exists():
            raise InputError(f"support file {support} does not exist")
        from ..adapters.config import AdaptSettings

        settings = AdaptSettings()
        if steps is not None:
            from dataclasses import replace

            settings = replace(settings, lora=replace(settings.lora, steps=steps))
        label_list = [x.strip() for x in labels.split(",")] if labels else None
        ner = _load_model(model, precision="fp32", runtime="torch", threads=threads)
        report = ner.adapt(
            support,
            name=name,
            method=method,
            labels=label_list,
            settings=settings,
            evaluate=not no_folds,
            verbose=True,
        )
        ner.save_adapter(name, output)
        typer.echo(str(report), err=True)
        typer.echo(json.dumps({**report.to_dict(), "folder": str(output)}, ensure_ascii=False))
