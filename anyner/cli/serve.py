"""``anyner serve``: the HTTP API over one model (needs the ``serve`` extra: fastapi, uvicorn)."""

from __future__ import annotations

import ipaddress
import socket
from contextlib import suppress
from typing import Annotated

import typer

from ..errors import InputError
from .app import MODEL_HELP, Opt, _load_model, app, user_errors
from .runtime_options import PrecisionOpt, RuntimeOpt, ThreadsOpt, load_options


@app.command()
def serve(
    model: Annotated[str | None, Opt("--model", "-m", help=MODEL_HELP)] = None,
    host: Annotated[
        str, Opt("--host", help="Address to listen on; 0.0.0.0 for all interfaces.")
    ] = "127.0.0.1",
    port: Annotated[int, Opt("--port", "-p", min=0, max=65535, help="Port; 0 picks a free one.")] = 8080,
    max_batch: Annotated[int, Opt("--max-batch", help="Most texts in one model call; 1: no batching.")] = 32,
    batch_window_ms: Annotated[
        float, Opt("--batch-window-ms", help="Wait this long to gather requests; 0: no batching.")
    ] = 5.0,
    max_text_bytes: Annotated[int, Opt("--max-text-bytes", help="Most UTF-8 bytes in one text.")] = 100_000,
    max_texts: Annotated[int, Opt("--max-texts", help="Most texts in one request.")] = 64,
    max_labels: Annotated[int, Opt("--max-labels", help="Most labels in one request.")] = 256,
    max_cost: Annotated[
        int, Opt("--max-cost", help="Most words × labels in one request (×2 nested or multi-label).")
    ] = 2_000_000,
    max_entities: Annotated[int, Opt("--max-entities", help="Most entities returned per text.")] = 1000,
    deadline: Annotated[
        float, Opt("--deadline", help="Seconds before an unanswered request gets a 504 and its work stops.")
    ] = 30.0,
    shutdown_grace: Annotated[
        float, Opt("--shutdown-grace", help="Seconds in-flight requests get on SIGTERM or Ctrl-C.")
    ] = 30.0,
    access_log: Annotated[bool, Opt("--access-log/--no-access-log", help="Log a line per request.")] = True,
    adapter: Annotated[
        list[str] | None,
        Opt("--adapter", "-a", help="NAME=FOLDER: an adapter requests may name (repeatable)."),
    ] = None,
    precision: PrecisionOpt = None,
    runtime: RuntimeOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """Serve POST /v1/extract, GET /health, GET /v1/models and a web page at / over HTTP."""
    with user_errors():
        try:
            from ..serve import ServeSettings, create_app
            from ..serve.server import Server, server_config
        except ImportError as exc:
            raise InputError(f"anyner serve needs {exc.name}: pip install 'anyner[serve]'") from exc
        settings = ServeSettings(
            max_batch=max_batch,
            batch_window_ms=batch_window_ms,
            max_text_bytes=max_text_bytes,
            max_texts=max_texts,
            max_labels=max_labels,
            max_cost=max_cost,
            max_entities=max_entities,
            deadline_s=deadline,
            shutdown_grace_s=shutdown_grace,
            allowed_hosts=_allowed_hosts(host),
        )
        adapters = [_adapter_arg(a) for a in adapter or []]
        sock = _listen(host, port)  # a port in use fails before the model loads
        try:
            ner = _load_model(model, **load_options(precision, runtime, threads))
            for name, folder in adapters:
                ner.load_adapter(folder, name=name)
            server_app = create_app(ner, settings, model_path=model)
            bound = sock.getsockname()[1]
            url = f"http://{f'[{host}]' if ':' in host else host}:{bound}"
            name = model or "the default model"
            typer.echo(f"anyner: serving {name} at {url} (web page: {url}/, schema: {url}/openapi.json)")
            typer.echo(f"anyner: {ner.precision} on {ner.runtime} ({ner.reason})")
            config = server_config(server_app, settings, log_level="info", access_log=access_log)
            with suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C once it has shut down cleanly
                Server(config).run(sockets=[sock])
            typer.echo("anyner: stopped")
        finally:
            sock.close()


def _adapter_arg(value: str) -> tuple[str, str]:
    name, sep, folder = value.partition("=")
    if not sep or not name or not folder:
        raise InputError(f"--adapter {value!r}: write NAME=FOLDER, e.g. --adapter legal=adapters/legal")
    return name, folder


def _allowed_hosts(host: str) -> tuple[str, ...]:
    """On a loopback address only the machine's own names are answered (a page elsewhere cannot
    reach the server by rebinding its domain to 127.0.0.1); elsewhere any Host header is."""
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return ("localhost", "127.0.0.1", "::1", "[::1]") if loopback else ("*",)


def _listen(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise InputError(
            f"--host {host!r} is not an address this machine can listen on ({exc.strerror})"
        ) from exc
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port or stop what uses it"
        ) from exc
    sock.set_inheritable(True)
    return sock
