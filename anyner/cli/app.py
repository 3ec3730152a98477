"""The ``anyner`` typer app and what every command shares: one-line user errors, quiet
model loading. Heavy imports (torch, transformers, rich.progress) happen inside commands, so
``anyner --help`` stays fast."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from .. import __version__
from ..errors import AnyNERError, InputError

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
    except (click.exceptions.Exit, click.exceptions.ClickException, click.exceptions.Abort):
        raise  # typer's own ways out (Exit is a RuntimeError)
    except Exception as exc:  # a bug, or something the checks above missed: one line, no traceback
        if _debug():
            raise
        hint = "rerun with --debug (or ANYNER_DEBUG=1) for the full traceback"
        _fail(f"unexpected {type(exc).__name__}: {_first_line(exc)} ({hint})", code=1)


def _fail(message: str, code: int = 2) -> None:
    typer.echo("error: " + " ".join(message.split()), err=True)
    raise typer.Exit(code)


def _first_line(exc: Exception, limit: int = 300) -> str:
    text = (str(exc).strip().splitlines() or ["(no message)"])[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"anyner {__version__}")
        raise typer.Exit()


Opt = typer.Option
DEBUG_ENV = "ANYNER_DEBUG"


@app.callback()
def _root(
    version: Annotated[
        bool, Opt("--version", help="Show the version and exit.", callback=_version, is_eager=True)
    ] = False,
    debug: Annotated[
        bool, Opt("--debug", help=f"Show the full traceback of an unexpected error (or {DEBUG_ENV}=1).")
    ] = False,
) -> None:
    """Find entities of any type, named in plain words at run time."""
    if debug:
        os.environ[DEBUG_ENV] = "1"


MODEL_HELP = "Model folder, or a shipped model's name: default, multilingual (default: default)."


def _load_model(path: str | None, **options):
    """``options``: anyner.load's precision, runtime and threads."""
    _quiet_transformers()
    import anyner

    return anyner.load(path, **options)


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging  # lazy: pulls in much of transformers

    hf_logging.set_verbosity_error()  # no info lines or download bars mixed into the output
    hf_logging.disable_progress_bar()


def _read_json(path: Path) -> Any:
    """A small JSON file (labels, a label map), read whole; any failure names the file."""
    from ..data.safe_json import loads

    try:
        return loads(path.read_bytes())
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def _read_labels(labels: str | None, labels_file: Path | None) -> list[str] | dict[str, str]:
    """Validated here, so a bad label fails before the model loads."""
    from ..text.labels import parse_labels

    if (labels is None) == (labels_file is None):
        raise InputError("give exactly one of --labels a,b,c or --labels-file FILE")
    if labels is not None:
        items = [item.strip() for item in labels.split(",")]
        if not all(items):
            raise InputError(f"--labels {labels!r} has an empty item; separate labels with single commas")
        value: Any = items
    else:
        value = _read_json(labels_file)
        if not isinstance(value, list | dict):
            kind = type(value).__name__
            raise InputError(
                f"{labels_file}: expected a list of labels or a {{label: description}} object, not {kind}"
            )
    parse_labels(value)
    return value
