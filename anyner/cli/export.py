"""``anyner export-onnx``: a model folder as an ONNX export that runs without torch."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from .app import Opt, _load_model, app, user_errors


class ExportPrecision(str, enum.Enum):
    fp32 = "fp32"
    int8 = "int8"


@app.command("export-onnx")
def export_onnx(
    model: Annotated[str, typer.Argument(help="Model folder: anyner weights or a gliner checkpoint.")],
    output_dir: Annotated[Path, typer.Argument(help="Folder to write: new, empty, or an export to replace.")],
    precision: Annotated[
        ExportPrecision, Opt("--precision", help="int8: dynamic quantisation (int8 weights).")
    ] = ExportPrecision.fp32,
) -> None:
    """Export MODEL to OUTPUT_DIR (model.onnx, config, tokenizer files): `anyner.load` and every
    --model option run it with onnxruntime, tokenizers and numpy, without torch. Prints the folder."""
    with user_errors():
        ner = _load_model(model)
        typer.echo(str(ner.export_onnx(output_dir, precision.value)))
