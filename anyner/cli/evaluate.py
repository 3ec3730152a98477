"""``anyner train``, ``anyner eval`` and ``anyner benchmark``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ..data.formats import DataFormat
from ..data.tags import TagScheme
from ..errors import InputError
from ..options import DecodeOptions
from .app import (
    MODEL_HELP,
    Opt,
    _load_model,
    _quiet_transformers,
    _read_json,
    _read_labels,
    app,
    user_errors,
)
from .runtime_options import PrecisionOpt, RuntimeOpt, ThreadsOpt, load_options


@app.command()
def train(
    config: Annotated[Path, typer.Argument(help="Training config, YAML (.yaml/.yml) or TOML (.toml).")],
    steps: Annotated[int | None, Opt("--steps", min=1, help="Optimizer steps (overrides the config).")] = (
        None
    ),
    output_dir: Annotated[
        Path | None, Opt("--output-dir", help="Where checkpoints and the model go (overrides the config).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        Opt("--set", help="Override a config field, KEY=VALUE (repeatable), e.g. --set loss=focal."),
    ] = None,
) -> None:
    """Train a model as CONFIG says; resume from OUTPUT_DIR/checkpoints if a run was stopped.
    Prints the final model folder."""
    with user_errors():
        from dataclasses import replace

        from ..train.config import apply_overrides, load_train_config

        cfg = apply_overrides(load_train_config(config), set_ or [])
        overrides: dict[str, Any] = {}
        if steps is not None:
            overrides["steps"] = steps
        if output_dir is not None:
            overrides["output_dir"] = str(output_dir)  # relative to where the command runs
        if overrides:
            cfg = replace(cfg, **overrides)
        _quiet_transformers()
        from ..train.trainer import Trainer

        final = Trainer(cfg).run()
        typer.echo(str(final))


@app.command("eval")
def eval_(
    data: Annotated[list[Path], typer.Argument(help="Labelled data: GLiNER JSONL, CoNLL or char JSONL.")],
    model: Annotated[str | None, Opt("--model", "-m", help=MODEL_HELP)] = None,
    labels: Annotated[
        str | None, Opt("--labels", "-l", help="Types to ask for, comma-separated (default: the data's).")
    ] = None,
    label_map: Annotated[
        Path | None,
        Opt("--label-map", help='JSON {data label: what the model reads}, e.g. {"PER": "person"}.'),
    ] = None,
    threshold: Annotated[float, Opt("--threshold", "-t", help="Minimum score, in [0, 1].")] = 0.5,
    nested: Annotated[bool, Opt("--nested", help="Decode nested entities (default: flat).")] = False,
    fmt: Annotated[DataFormat, Opt("--format", help="auto: from the file's extension.")] = DataFormat.auto,
    scheme: Annotated[TagScheme, Opt("--scheme", help="Tag scheme of CoNLL files.")] = TagScheme.iob2,
    json_out: Annotated[Path | None, Opt("--json", help="Also write the scores as JSON here.")] = None,
    batch_size: Annotated[int, Opt("--batch-size", min=1, help="Most encoder passes per forward call.")] = 8,
    precision: PrecisionOpt = None,
    runtime: RuntimeOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """Score a model on labelled DATA: strict span-level precision, recall and F1, per type and overall."""
    with user_errors():
        from ..data.formats import read_examples
        from ..eval.evaluate import evaluate

        options = DecodeOptions(threshold, not nested, batch_size=batch_size)
        asked = _eval_labels(labels, label_map)
        sets = [(path, read_examples(path, fmt, scheme=scheme)) for path in data]  # all read before the model
        file_labels = []
        for path, examples in sets:
            gold = dict.fromkeys(label for ex in examples for _, _, label in ex.spans)
            if asked is None and not gold:
                raise InputError(
                    f"{path} has no labelled mentions, so there are no labels to ask for; "
                    f"pass --labels a,b or --label-map FILE"
                )
            file_labels.append(asked if asked is not None else sorted(gold))
            missing = [label for label in gold if asked is not None and label not in asked]
            if missing and label_map is not None:
                raise InputError(
                    f"{path} has labels missing from --label-map {label_map}: "
                    f"{', '.join(map(repr, missing))}; add them to the map"
                )
            if missing:
                typer.echo(
                    f"note: {path}: labels not in --labels count as misses: {', '.join(map(repr, missing))}",
                    err=True,
                )
        ner = _load_model(model, **load_options(precision, runtime, threads))
        mode = "nested" if nested else "flat"
        results = []
        for (path, examples), asked_here in zip(sets, file_labels, strict=True):
            report = evaluate(ner, examples, asked_here, options)
            _print_report(path, len(examples), report, threshold, mode)
            results.append(
                {"data": str(path), "examples": len(examples), "labels": asked_here, **report.as_dict()}
            )
        if json_out is not None:
            summary = {"model": model, "threshold": threshold, "mode": mode, "results": results}
            with open(json_out, "w", encoding="utf-8", newline="\n") as f:
                json.dump(summary, f, ensure_ascii=False, indent=2)
                f.write("\n")


def _eval_labels(labels: str | None, label_map: Path | None) -> list[str] | dict[str, str] | None:
    """None (each file's own gold labels), a list, or {data label: what the model reads}."""
    if labels is not None and label_map is not None:
        raise InputError("give at most one of --labels a,b and --label-map FILE")
    if label_map is None:
        return None if labels is None else _read_labels(labels, None)
    value = _read_json(label_map)
    if not isinstance(value, dict) or not value:
        raise InputError(f'{label_map}: expected a non-empty JSON object such as {{"PER": "person"}}')
    from ..text.labels import parse_labels

    parse_labels(value)  # every value a non-empty string
    return value


def _print_report(path: Path, examples: int, report, threshold: float, mode: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    micro = report.micro
    table = Table(
        title=Text(f"{path}: {examples} example{'' if examples == 1 else 's'}, {micro.tp + micro.fn} gold"),
        caption=f"threshold {threshold}, {mode} decoding; strict span match",
    )
    for column in ("type", "precision", "recall", "F1", "gold", "predicted"):
        table.add_column(column, justify="left" if column == "type" else "right")

    def row(name: str | Text, s) -> list:
        pct = [f"{100 * v:.2f}" for v in (s.precision, s.recall, s.f1)]
        return [name, *pct, str(s.tp + s.fn), str(s.tp + s.fp)]

    for label, scores in sorted(report.per_type.items()):
        table.add_row(*row(Text(label), scores))
    table.add_section()
    table.add_row(*row(Text("micro", style="bold"), micro))
    table.add_row(Text("macro F1", style="bold"), "", "", f"{100 * report.macro_f1:.2f}", "", "")
    Console().print(table)


@app.command()
def benchmark(
    folder: Annotated[Path, typer.Argument(help="A folder of data sets: FOLDER/<name>/<split>.jsonl.")],
    model: Annotated[str | None, Opt("--model", "-m", help=MODEL_HELP)] = None,
    split: Annotated[str, Opt("--split", help="Which file of each data set: <split>.jsonl.")] = "test",
    threshold: Annotated[float, Opt("--threshold", "-t", help="Minimum score, in [0, 1].")] = 0.5,
    nested: Annotated[bool, Opt("--nested", help="Decode nested entities (default: flat).")] = False,
    max_examples: Annotated[
        int | None, Opt("--max-examples", min=1, help="Only the first N examples of each data set.")
    ] = None,
    json_out: Annotated[Path | None, Opt("--json", help="Also write the results as JSON here.")] = None,
    markdown_out: Annotated[Path | None, Opt("--markdown", help="Also write the table here.")] = None,
    batch_size: Annotated[int, Opt("--batch-size", min=1, help="Most encoder passes per forward call.")] = 8,
    precision: PrecisionOpt = None,
    runtime: RuntimeOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """Zero-shot scores on every data set in FOLDER, each asked for its own labels, as a markdown table."""
    with user_errors():
        from ..eval.benchmark import find_datasets, run_benchmark, to_markdown

        options = DecodeOptions(threshold, not nested, batch_size=batch_size)
        find_datasets(folder, split)  # a wrong folder or split fails before the model loads
        ner = _load_model(model, **load_options(precision, runtime, threads))
        with _benchmark_progress() as notify:
            result = run_benchmark(ner, folder, split, options, max_examples, notify=notify)
        table = to_markdown(result)
        if json_out is not None:
            with open(json_out, "w", encoding="utf-8", newline="\n") as f:
                json.dump({"model": model, **result}, f, ensure_ascii=False, indent=2)
                f.write("\n")
        if markdown_out is not None:
            with open(markdown_out, "w", encoding="utf-8", newline="\n") as f:
                f.write(table)
        typer.echo(table, nl=False)


@contextmanager
def _benchmark_progress() -> Iterator[Any]:
    """A bar over the data sets on a terminal's stderr, and a line as each data set starts and
    ends (the bar alone says nothing in a log file)."""
    from rich import progress as rp
    from rich.console import Console

    console = Console(stderr=True)
    with rp.Progress(
        rp.SpinnerColumn(),
        rp.TextColumn("{task.description}"),
        rp.MofNCompleteColumn(),
        rp.BarColumn(),
        rp.TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
        redirect_stdout=False,
    ) as progress:
        task = progress.add_task("benchmark", total=None)

        def notify(name: str, index: int, total: int, row: dict | None) -> None:
            if row is None:
                progress.update(task, description=f"benchmark: {name}", total=total, completed=index)
                done = "running"
            else:
                progress.update(task, completed=index + 1)
                done = f"F1 {row['f1']:.2f} ({row['examples']} examples, {row['seconds']:.1f} s)"
            console.print(f"[{index + 1}/{total}] {name}: {done}", markup=False, highlight=False)

        yield notify
