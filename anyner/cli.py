"""The ``anyner`` command line. Heavy imports (torch, transformers, rich.progress) happen inside
the commands so ``anyner --help`` stays fast. Add commands with ``@app.command()``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from . import __version__
from .data.formats import DataFormat
from .data.tags import TagScheme
from .errors import AnyNERError, InputError
from .io_records import STDIN, Format, Record, count_records, display_name, open_input, read_records
from .io_records import resolve_format as _resolve_format

CHUNK = 64  # records read, predicted and written at a time: big inputs never sit in memory

app = typer.Typer(
    name="anyner",
    help="Find entities of any type, named in plain words at run time.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn mistakes a user can fix into one line on stderr and exit code 2, never a traceback."""
    try:
        yield
    except BrokenPipeError:  # `anyner extract ... | head`: the reader left, nothing to report
        with suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(141) from None
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        raise typer.Exit(130) from None
    except OSError as exc:  # missing, unreadable or unwritable files
        msg = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)
        _fail(msg)
    except (AnyNERError, json.JSONDecodeError, UnicodeError) as exc:
        _fail(str(exc))


def _fail(message: str) -> None:
    typer.echo("error: " + " ".join(message.split()), err=True)
    raise typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"anyner {__version__}")
        raise typer.Exit()


Opt = typer.Option


@app.callback()
def _root(
    version: Annotated[
        bool, Opt("--version", help="Show the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Find entities of any type, named in plain words at run time."""


@app.command()
def extract(
    text: Annotated[str | None, typer.Argument(help="The text to search; or use --input.")] = None,
    labels: Annotated[str | None, Opt("--labels", "-l", help="Entity types, comma-separated.")] = None,
    labels_file: Annotated[
        Path | None, Opt("--labels-file", help="JSON: a list of labels or a {label: description} object.")
    ] = None,
    input_file: Annotated[
        str | None, Opt("--input", "-i", help='Texts, one a line; or JSONL with "text", "id"; - = stdin.')
    ] = None,
    fmt: Annotated[Format, Opt("--format", help="auto: jsonl for *.jsonl/*.ndjson.")] = Format.auto,
    output: Annotated[Path | None, Opt("--output", "-o", help="Write JSONL here instead of stdout.")] = None,
    model: Annotated[str | None, Opt("--model", "-m", help="Model folder (default: shipped model).")] = None,
    threshold: Annotated[float, Opt("--threshold", "-t", help="Minimum score, in [0, 1].")] = 0.5,
    pretty: Annotated[bool, Opt("--pretty", help="Print a table per text instead of JSONL.")] = False,
    nested: Annotated[bool, Opt("--nested", help="Allow entities inside other entities.")] = False,
    multi_label: Annotated[bool, Opt("--multi-label", help="Let one span carry several labels.")] = False,
    batch_size: Annotated[int, Opt("--batch-size", min=1, help="Encoder passes per forward call.")] = 8,
) -> None:
    """Find entities in TEXT or in each record of --input; write one JSON line per text."""
    with user_errors():
        if (text is None) == (input_file is None):
            raise InputError("give exactly one of TEXT or --input FILE")
        if pretty and output is not None:
            raise InputError("--pretty prints tables to the terminal; leave out --output, or --pretty")
        label_arg = _read_labels(labels, labels_file)
        _check_threshold(threshold)
        stream = open_input(input_file) if input_file is not None else None  # fail before the model loads
        try:
            ner = _load_model(model)
            options = {
                "threshold": threshold,
                "flat_ner": not nested,
                "multi_label": multi_label,
                "batch_size": batch_size,
            }
            if stream is None:
                records: Iterator[Record] = iter([Record(1, text or "")])
            else:
                fmt = _resolve_format(input_file, fmt)
                records = read_records(stream, display_name(input_file), fmt)
            with _open_output(output) as out:
                chunks = _predict(ner, records, label_arg, options)
                # a bar would tangle with results printed on the same terminal, so only for files and pipes
                if stream is not None and (output is not None or not sys.stdout.isatty()):
                    chunks = _with_progress(chunks, count_records(input_file, fmt))
                for chunk in chunks:
                    for record, entities in chunk:
                        if pretty:
                            _print_table(record, entities)
                        else:
                            out.write(
                                json.dumps(
                                    {"id": record.id, "text": record.text, "entities": entities},
                                    ensure_ascii=False,
                                )
                                + "\n"
                            )
                    out.flush()  # each chunk reaches the reader as soon as it is done
        finally:
            if stream is not None and input_file != STDIN:
                stream.close()


def _read_labels(labels: str | None, labels_file: Path | None) -> list[str] | dict[str, str]:
    """Validated here, so a bad label fails before the model loads."""
    from .text.labels import parse_labels

    if (labels is None) == (labels_file is None):
        raise InputError("give exactly one of --labels a,b,c or --labels-file FILE")
    if labels is not None:
        items = [item.strip() for item in labels.split(",")]
        if not all(items):
            raise InputError(f"--labels {labels!r} has an empty item; separate labels with single commas")
        value: Any = items
    else:
        try:
            value = json.loads(labels_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{labels_file}: not valid JSON ({exc})") from exc
        except UnicodeDecodeError as exc:
            raise InputError(f"{labels_file}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
        if not isinstance(value, list | dict):
            kind = type(value).__name__
            raise InputError(
                f"{labels_file}: expected a list of labels or a {{label: description}} object, not {kind}"
            )
    parse_labels(value)
    return value


def _check_threshold(threshold: float) -> None:
    from .text.labels import check_threshold

    check_threshold(threshold)


def _load_model(path: str | None):
    _quiet_transformers()
    import anyner

    return anyner.load(path)


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging  # lazy: pulls in much of transformers

    hf_logging.set_verbosity_error()  # no info lines or download bars mixed into the output
    hf_logging.disable_progress_bar()


@contextmanager
def _open_output(output: Path | None) -> Iterator[TextIO]:
    if output is None:
        yield sys.stdout
        return
    with open(output, "w", encoding="utf-8", newline="\n") as f:
        yield f


def _predict(ner, records: Iterator[Record], labels, options: dict) -> Iterator[list[tuple[Record, list]]]:
    while chunk := list(islice(records, CHUNK)):
        results = ner.batch_predict_entities([r.text for r in chunk], labels, **options)
        yield list(zip(chunk, results, strict=True))


def _with_progress(chunks: Iterator[list], total: int | None) -> Iterator[list]:
    """A transient bar on stderr, advanced per chunk; the total is known for regular files only."""
    from rich import progress as rp
    from rich.console import Console

    count = rp.MofNCompleteColumn() if total else rp.TextColumn("{task.completed}")
    columns = [
        rp.SpinnerColumn(),
        rp.TextColumn("records"),
        count,
        rp.BarColumn(),
        rp.TimeElapsedColumn(),
        rp.TextColumn("{task.fields[rate]}"),
    ]
    console = Console(stderr=True)  # off when stderr is a log file: a bar there is only noise
    with rp.Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal, redirect_stdout=False
    ) as progress:  # stdout carries the results, never the bar
        task = progress.add_task("extract", total=total, rate="")
        for chunk in chunks:
            yield chunk
            progress.update(task, advance=len(chunk))
            speed = progress.tasks[0].speed
            progress.update(task, rate=f"{speed:.1f} records/s" if speed else "")


def _print_table(record: Record, entities: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    preview = record.text if len(record.text) <= 60 else record.text[:57] + "..."
    table = Table(title=Text(f"{record.id}: {preview}"), caption=None if entities else "no entities")
    for column in ("label", "text", "score", "start-end"):
        table.add_column(column, justify="right" if column in ("score", "start-end") else "left")
    for e in entities:  # Text(), not str: brackets in the input are not rich markup
        table.add_row(Text(e["label"]), Text(e["text"]), f"{e['score']:.3f}", f"{e['start']}-{e['end']}")
    Console().print(table)


# -- training and evaluation -----------------------------------------------------------------


@app.command()
def train(
    config: Annotated[Path, typer.Argument(help="Training config, YAML (.yaml/.yml) or TOML (.toml).")],
    steps: Annotated[int | None, Opt("--steps", min=1, help="Optimizer steps (overrides the config).")] = (
        None
    ),
    output_dir: Annotated[
        Path | None, Opt("--output-dir", help="Where checkpoints and the model go (overrides the config).")
    ] = None,
) -> None:
    """Train a model as CONFIG says; resume from OUTPUT_DIR/checkpoints if a run was stopped.
    Prints the final model folder."""
    with user_errors():
        from dataclasses import replace

        from .train.config import load_train_config

        cfg = load_train_config(config)
        overrides: dict[str, Any] = {}
        if steps is not None:
            overrides["steps"] = steps
        if output_dir is not None:
            overrides["output_dir"] = str(output_dir)  # relative to where the command runs
        if overrides:
            cfg = replace(cfg, **overrides)
        _quiet_transformers()
        from .train.trainer import Trainer

        final = Trainer(cfg).run()
        typer.echo(str(final))


@app.command("eval")
def eval_(
    data: Annotated[list[Path], typer.Argument(help="Labelled data: GLiNER JSONL, CoNLL or char JSONL.")],
    model: Annotated[str | None, Opt("--model", "-m", help="Model folder (default: shipped model).")] = None,
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
    batch_size: Annotated[int, Opt("--batch-size", min=1, help="Encoder passes per forward call.")] = 8,
) -> None:
    """Score a model on labelled DATA: strict span-level precision, recall and F1, per type and overall."""
    with user_errors():
        from .data.formats import read_examples
        from .eval.evaluate import evaluate

        _check_threshold(threshold)
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
        ner = _load_model(model)
        mode = "nested" if nested else "flat"
        results = []
        for (path, examples), asked_here in zip(sets, file_labels, strict=True):
            report = evaluate(ner, examples, asked_here, threshold, not nested, batch_size)
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
    try:
        value = json.loads(label_map.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{label_map}: not valid JSON ({exc})") from exc
    if not isinstance(value, dict) or not value:
        raise InputError(f'{label_map}: expected a non-empty JSON object such as {{"PER": "person"}}')
    from .text.labels import parse_labels

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
    model: Annotated[str | None, Opt("--model", "-m", help="Model folder (default: shipped model).")] = None,
    split: Annotated[str, Opt("--split", help="Which file of each data set: <split>.jsonl.")] = "test",
    threshold: Annotated[float, Opt("--threshold", "-t", help="Minimum score, in [0, 1].")] = 0.5,
    nested: Annotated[bool, Opt("--nested", help="Decode nested entities (default: flat).")] = False,
    max_examples: Annotated[
        int | None, Opt("--max-examples", min=1, help="Only the first N examples of each data set.")
    ] = None,
    json_out: Annotated[Path | None, Opt("--json", help="Also write the results as JSON here.")] = None,
    markdown_out: Annotated[Path | None, Opt("--markdown", help="Also write the table here.")] = None,
    batch_size: Annotated[int, Opt("--batch-size", min=1, help="Encoder passes per forward call.")] = 8,
) -> None:
    """Zero-shot scores on every data set in FOLDER, each asked for its own labels, as a markdown table."""
    with user_errors():
        from .eval.benchmark import find_datasets, run_benchmark, to_markdown

        _check_threshold(threshold)
        find_datasets(folder, split)  # a wrong folder or split fails before the model loads
        ner = _load_model(model)
        with _benchmark_progress() as notify:
            result = run_benchmark(
                ner, folder, split, threshold, not nested, max_examples, batch_size=batch_size, notify=notify
            )
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
    """A bar over the data sets on a terminal's stderr, and one line per finished data set."""
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
                return
            progress.update(task, completed=index + 1)
            console.print(
                f"{name}: F1 {row['f1']:.2f} ({row['examples']} examples, {row['seconds']:.1f} s)",
                markup=False,
                highlight=False,
            )

        yield notify


def main() -> None:
    app()


if __name__ == "__main__":
    main()
