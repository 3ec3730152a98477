"""`anyner serve` on the command line: one-line errors, and a real server process end to end."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import assert_user_error
from typer.testing import CliRunner

from anyner.cli import app


@pytest.fixture(scope="module")
def model_dir(span_model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("serve-cli") / "model"
    span_model.save(folder)
    return folder


def serve(*args: str):
    return CliRunner().invoke(app, ["serve", *args])


def test_missing_model_folder(tmp_path):
    assert_user_error(serve("--model", str(tmp_path / "nope"), "--port", "0"), "does not exist")


def test_port_in_use(model_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert_user_error(serve("--model", str(model_dir), "--port", port), port, "--port")


@pytest.mark.parametrize(
    ("flag", "value"), [("--max-batch", "0"), ("--max-texts", "0"), ("--batch-window-ms", "-5")]
)
def test_bad_settings(model_dir, flag, value):
    assert_user_error(serve("--model", str(model_dir), flag, value), flag.strip("-").replace("-", "_"))


@pytest.mark.slow
def test_serve_process_end_to_end(model_dir):
    """A real `anyner serve` process: prints its URL, answers, and stops cleanly on SIGINT."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "anyner.cli", "serve", "--model", str(model_dir), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert " at http://127.0.0.1:" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        url = line.split(" at ")[1].split()[0]
        deadline = time.monotonic() + 30
        while True:  # the URL is printed just before uvicorn starts listening
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
                    assert json.load(r) == {"status": "ok"}
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        body = json.dumps({"text": "bill gates founded microsoft", "labels": ["person"]}).encode()
        request = urllib.request.Request(
            f"{url}/v1/extract", data=body, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            assert json.load(r)["model"] == model_dir.name
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert "stopped" in out
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
