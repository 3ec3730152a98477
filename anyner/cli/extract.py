"""``anyner extract``: entities for a text or for each record of a file, as JSONL."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Annotated, TextIO

import typer

from ..data.lines import MAX_LINE_BYTES
from ..errors import InputError
from ..io_records import (
    STDIN,
    Format,
    LineLimit,
    Record,
    check_records,
    count_records,
    display_name,
    keyed_records,
    open_input,
    read_records,
)
from ..io_records import resolve_format as _resolve_format
from ..options import DecodeOptions
from .app import MODEL_HELP, Opt, _load_model, _read_labels, app, user_errors
from .resume import skip_done
from .runtime_options import PrecisionOpt, RuntimeOpt, ThreadsOpt, load_options

CHUNK = 64  # records read, predicted and written at a time: big inputs never sit in memory


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
    max_line_bytes: Annotated[
        int, Opt("--max-line-bytes", min=1, help="Most bytes in one input line; a longer one is skipped.")
    ] = MAX_LINE_BYTES,
    stop_on_long_line: Annotated[
        bool, Opt("--stop-on-long-line", help="Stop at a line over --max-line-bytes instead of skipping it.")
    ] = False,
    output: Annotated[Path | None, Opt("--output", "-o", help="Write JSONL here instead of stdout.")] = None,
    resume: Annotated[
        bool,
        Opt(
            "--resume",
            help="Continue an interrupted run: keep the records already in --output, add the rest. "
            "Use the same labels, model and options as before.",
        ),
    ] = False,
    model: Annotated[str | None, Opt("--model", "-m", help=MODEL_HELP)] = None,
    adapter: Annotated[
        Path | None,
        Opt("--adapter", "-a", help="An adapter folder saved by anyner adapt, applied to the model."),
    ] = None,
    threshold: Annotated[float, Opt("--threshold", "-t", help="Minimum score, in [0, 1].")] = 0.5,
    pretty: Annotated[bool, Opt("--pretty", help="Print a table per text instead of JSONL.")] = False,
    nested: Annotated[bool, Opt("--nested", help="Allow entities inside other entities.")] = False,
    multi_label: Annotated[bool, Opt("--multi-label", help="Let one span carry several labels.")] = False,
    batch_size: Annotated[int, Opt("--batch-size", min=1, help="Encoder passes per forward call.")] = 8,
    precision: PrecisionOpt = None,
    runtime: RuntimeOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """Find entities in TEXT or in each record of --input; write one JSON line per text."""
    with user_errors():
        if (text is None) == (input_file is None):
            raise InputError("give exactly one of TEXT or --input FILE")
        if pretty and output is not None:
            raise InputError("--pretty prints tables to the terminal; leave out --output, or --pretty")
        if resume and (input_file is None or output is None):
            raise InputError("--resume continues an --output FILE written for an --input FILE; give both")
        label_arg = _read_labels(labels, labels_file)
        limit = LineLimit(max_line_bytes, stop_on_long_line)
        options = DecodeOptions(threshold, not nested, multi_label, batch_size)
        if adapter is not None and not adapter.is_dir():
            raise InputError(f"--adapter {adapter}: no such adapter folder")
        stream = open_input(input_file) if input_file is not None else None  # fail before the model loads
        try:
            if input_file is not None and output is not None:
                _check_not_input(input_file, output)
            done, total = 0, None
            if stream is None:
                records: Iterator[Record] = iter([Record(1, text or "", 1)])
            else:
                fmt = _resolve_format(input_file, fmt)
                name = display_name(input_file)
                if resume:
                    total = check_records(input_file, fmt, limit)
                    records = keyed_records(stream, name, fmt, limit)
                    done = _skip_done(output, records, name)
                else:
                    records = read_records(stream, name, fmt, limit)
            ner = _load_model(model, **load_options(precision, runtime, threads))
            if adapter is not None:
                ner.set_adapter(ner.load_adapter(adapter))
            with _open_output(output, append=resume) as out:
                chunks = _predict(ner, records, label_arg, options)
                # a bar would tangle with results printed on the same terminal, so only for files and pipes
                if stream is not None and (output is not None or not sys.stdout.isatty()):
                    total = total if resume else count_records(input_file, fmt, limit)
                    chunks = _with_progress(chunks, total, done)
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
                    _flush(out, to_file=output is not None)
        finally:
            if stream is not None and input_file != STDIN:
                stream.close()


def _check_not_input(input_file: str, output: Path) -> None:
    if input_file != STDIN and output.exists() and os.path.samefile(input_file, output):
        raise InputError(f"--output {output} is the --input file; writing it would destroy the input")


def _skip_done(output: Path, records: Iterator[Record], name: str) -> int:
    resumed = skip_done(output, records, name)
    if resumed.done or resumed.cut:
        torn = f"; cut a torn last line ({resumed.cut} bytes)" if resumed.cut else ""
        typer.echo(f"resuming after the {resumed.done} records already in {output}{torn}", err=True)
    return resumed.done


def _flush(out: TextIO, to_file: bool) -> None:
    out.flush()  # each chunk reaches the reader as soon as it is done
    if to_file and stat.S_ISREG(os.fstat(out.fileno()).st_mode):  # not a FIFO or /dev/stdout
        os.fsync(out.fileno())  # and the disk: --resume trusts every whole line of the file


@contextmanager
def _open_output(output: Path | None, append: bool) -> Iterator[TextIO]:
    if output is None:
        yield sys.stdout
        return
    with open(output, "a" if append else "w", encoding="utf-8", newline="\n") as f:
        yield f


def _predict(
    ner, records: Iterator[Record], labels, options: DecodeOptions
) -> Iterator[list[tuple[Record, list]]]:
    while chunk := list(islice(records, CHUNK)):
        results = ner.batch_predict_entities([r.text for r in chunk], labels, **options.as_kwargs())
        yield list(zip(chunk, results, strict=True))


def _with_progress(chunks: Iterator[list], total: int | None, done: int = 0) -> Iterator[list]:
    """A transient bar on stderr, advanced per chunk from ``done`` (records kept by --resume);
    the total is known for regular files only."""
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
        task = progress.add_task("extract", total=total, completed=done, rate="")
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
