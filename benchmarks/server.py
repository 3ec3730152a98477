"""Start ``anyner serve`` as a separate process on 127.0.0.1 for the scripts in this folder."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


@contextmanager
def anyner_serve(options: list[str], log: Path, timeout: float = 300) -> Iterator[tuple[str, int]]:
    """Run ``anyner serve --host 127.0.0.1 --port 0 *options``; yield its URL and process id once
    /health answers.
    On exit it gets SIGINT (a graceful stop); its stderr goes to ``log``."""
    cmd = [sys.executable, "-m", "anyner.cli", "serve", "--host", "127.0.0.1", "--port", "0", *options]
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            line = proc.stdout.readline()  # "anyner: serving ... at http://127.0.0.1:PORT (...)"
            if " at http://" not in line:
                proc.wait(timeout)
                sys.exit(f"anyner serve did not start (exit {proc.returncode}); see {log}")
            url = line.split(" at ")[1].split()[0]
            deadline = time.monotonic() + timeout
            while True:  # the URL is printed just before uvicorn listens
                try:
                    httpx.get(f"{url}/health", timeout=5).raise_for_status()
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        sys.exit(f"anyner serve at {url} did not answer; see {log}")
                    time.sleep(0.1)
            yield url, proc.pid
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            proc.stdout.close()
