"""`anyner info`, the runtime options of extract and serve, and unexpected errors as one line."""

from __future__ import annotations

import json

import pytest
from helpers import assert_user_error
from typer.testing import CliRunner

from anyner.cli import app
from anyner.cli.app import DEBUG_ENV


@pytest.fixture(scope="module")
def model_dir(span_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-info") / "model"
    span_model.save(folder)
    return folder


def test_info_names_versions_cpu_auto_and_caches(monkeypatch, tmp_path):
    monkeypatch.setenv("ANYNER_CACHE", str(tmp_path))
    result = CliRunner().invoke(app, ["info", "--json"])
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    for key in ("anyner", "python", "torch", "transformers", "onnxruntime", "cpu", "cpu features"):
        assert facts[key]
    assert int(facts["physical cores"]) >= 1
    assert facts["precision=auto"].startswith(("fp32 on onnx", "fp32 on torch"))
    assert facts["anyner cache (ONNX exports)"] == str(tmp_path)
    lines = CliRunner().invoke(app, ["info"]).stdout.splitlines()
    assert any(line.startswith("precision=auto:") for line in lines)


def test_extract_takes_precision_runtime_and_threads(model_dir):
    args = ["extract", "--model", str(model_dir), "--labels", "person,date", "-t", "0.0"]
    runs = [
        CliRunner().invoke(app, [*args, *extra, "Bill Gates founded Microsoft on April 4."])
        for extra in (["--precision", "fp32", "--runtime", "torch", "--threads", "1"], ["--runtime", "onnx"])
    ]
    assert [r.exit_code for r in runs] == [0, 0], [r.output for r in runs]
    spans = [[(e["start"], e["end"], e["label"]) for e in json.loads(r.stdout)["entities"]] for r in runs]
    assert spans[0] and spans[0] == spans[1]
    bad = CliRunner().invoke(app, [*args, "--precision", "int8", "--runtime", "torch", "x"])
    assert_user_error(bad, "runs on onnxruntime")


def test_serve_takes_the_runtime_options():
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert all(option in result.stdout for option in ("--precision", "--runtime", "--threads"))


def test_an_unexpected_error_is_one_line_naming_debug(model_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("could not create a primitive descriptor\nfor the LSTM")

    monkeypatch.setattr("anyner.cli.extract._predict", broken)
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    args = ["extract", "--model", str(model_dir), "--labels", "person", "Bill Gates"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "Traceback" not in result.output
    err = result.stderr.strip()
    assert "\n" not in err and err.startswith("error: unexpected RuntimeError: could not create")
    assert "--debug" in err and f"{DEBUG_ENV}=1" in err

    monkeypatch.setenv(DEBUG_ENV, "0")  # the variable set but off: still one line
    assert CliRunner().invoke(app, args).exit_code == 1
    debug = CliRunner().invoke(app, ["--debug", *args])
    monkeypatch.delenv(DEBUG_ENV, raising=False)  # --debug sets it for this process
    assert isinstance(debug.exception, RuntimeError)
