"""The ``anyner`` command line. Heavy imports (torch, transformers, rich.progress) happen inside
the commands so ``anyner --help`` stays fast. Add commands with ``@app.command()``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any, Optional, TextIO

import typer

from . import __version__
from .errors import AnyNERError, InputError
from .io_records import STDIN, Format, Record, count_records, display_name, open_input, read_records, resolve_format

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
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
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


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Find entities of any type, named in plain words at run time."""


@app.command()
def extract(
    text: Optional[str] = typer.Argument(None, help="The text to search; or use --input."),  # noqa: UP045 - typer reads it
    labels: Optional[str] = typer.Option(None, "--labels", "-l", help="Entity types, comma-separated."),  # noqa: UP045
    labels_file: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--labels-file", help="JSON file: a list of labels, or a {label: description} object."
    ),
    input: Optional[str] = typer.Option(  # noqa: UP045
        None, "--input", "-i", help="File of texts: one per line, or JSONL with \"text\" (and \"id\"); '-' = stdin."
    ),
    fmt: Format = typer.Option(Format.auto, "--format", help="Input format; auto = jsonl for .jsonl/.ndjson files."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write JSONL here instead of stdout."),  # noqa: UP045
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model folder; default: the shipped model."),  # noqa: UP045
    threshold: float = typer.Option(0.5, "--threshold", "-t", help="Minimum score, in [0, 1]."),
    pretty: bool = typer.Option(False, "--pretty", help="Print a table per text instead of JSONL."),
    nested: bool = typer.Option(False, "--nested", help="Allow entities inside other entities."),
    multi_label: bool = typer.Option(False, "--multi-label", help="Allow one span to carry several labels."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Encoder passes per forward call."),
) -> None:
    """Find entities in TEXT or in each record of --input; write one JSON line per text."""
    with user_errors():
        if (text is None) == (input is None):
            raise InputError("give exactly one of TEXT or --input FILE")
        if pretty and output is not None:
            raise InputError("--pretty prints tables to the terminal; leave out --output, or --pretty")
        label_arg = _read_labels(labels, labels_file)
        _check_threshold(threshold)
        stream = open_input(input) if input is not None else None  # fails fast, before the model loads
        try:
            ner = _load_model(model)
            options = dict(threshold=threshold, flat_ner=not nested, multi_label=multi_label, batch_size=batch_size)
            if stream is None:
                records: Iterator[Record] = iter([Record(1, text or "")])
                total = None
            else:
                fmt = resolve_format(input, fmt)
                records = read_records(stream, display_name(input), fmt)
                total = count_records(input, fmt)
            with _open_output(output) as out:
                chunks = _predict(ner, records, label_arg, options)
                if stream is not None:
                    chunks = _with_progress(chunks, total)
                for chunk in chunks:
                    for record, entities in chunk:
                        if pretty:
                            _print_table(record, entities)
                        else:
                            out.write(json.dumps({"id": record.id, "text": record.text, "entities": entities},
                                                 ensure_ascii=False) + "\n")
                    out.flush()  # each chunk reaches the reader as soon as it is done
        finally:
            if stream is not None and input != STDIN:
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
            raise InputError(f"{labels_file}: expected a JSON list of labels or a {{label: description}} object")
    parse_labels(value)
    return value


def _check_threshold(threshold: float) -> None:
    from .text.labels import check_threshold

    check_threshold(threshold)


def _load_model(path: str | None):
    from transformers.utils import logging as hf_logging  # lazy: pulls in much of transformers

    hf_logging.set_verbosity_error()  # no info lines or download bars mixed into the output
    hf_logging.disable_progress_bar()
    import anyner

    return anyner.load(path)


@contextmanager
def _open_output(output: Path | None) -> Iterator[TextIO]:
    if output is None:
        yield sys.stdout
        return
    with open(output, "w", encoding="utf-8", newline="\n") as f:
        yield f


def _predict(ner, records: Iterator[Record], labels, options: dict) -> Iterator[list[tuple[Record, list[dict]]]]:
    while chunk := list(islice(records, CHUNK)):
        results = ner.batch_predict_entities([r.text for r in chunk], labels, **options)
        yield list(zip(chunk, results, strict=True))


def _with_progress(chunks: Iterator[list], total: int | None) -> Iterator[list]:
    """A transient bar on stderr, advanced per chunk; the total is known for regular files only."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = [SpinnerColumn(), TextColumn("records"), MofNCompleteColumn() if total else TextColumn("{task.completed}"),
               BarColumn(), TimeElapsedColumn(), TextColumn("{task.fields[rate]}")]
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("extract", total=total, rate="")
        for chunk in chunks:
            yield chunk
            speed = progress.tasks[0].speed
            progress.update(task, advance=len(chunk), rate=f"{speed:.1f} records/s" if speed else "")


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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
