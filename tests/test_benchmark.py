"""The benchmark runner: one row per data set, an average, a markdown table, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from anyner.cli import app
from anyner.data import Example
from anyner.errors import InputError
from anyner.eval.benchmark import dataset_labels, run_benchmark, to_markdown
from anyner.options import DecodeOptions

SETS = {
    "alpha": [
        {"tokenized_text": ["bill", "gates", "founded", "microsoft"], "ner": [[0, 1, "person"]]},
        {"tokenized_text": ["april", "4", "in", "albuquerque"], "ner": [[0, 1, "date"], [3, 3, "location"]]},
    ],
    "beta": [
        {"tokenized_text": ["microsoft", "is", "in", "new", "york"], "ner": [[0, 0, "organization"]]},
        {"tokenized_text": ["the", "city", "is", "big"], "ner": []},
        {"tokenized_text": ["gates", "of", "microsoft"], "ner": [[0, 0, "person"]]},
    ],
}


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "bench"
    for name, records in SETS.items():
        (root / name).mkdir(parents=True)
        lines = "".join(json.dumps(r) + "\n" for r in records)
        (root / name / "test.jsonl").write_text(lines, encoding="utf-8")
    (root / "beta" / "meta.json").write_text(
        json.dumps({"labels": ["organization", "city"]}), encoding="utf-8"
    )
    (root / "no_test_split").mkdir()
    (root / "no_test_split" / "dev.jsonl").write_text(lines, encoding="utf-8")
    return root


def test_rows_and_average(span_model, folder):
    result = run_benchmark(span_model, folder, options=DecodeOptions(threshold=0.3))
    rows = result["rows"]
    assert [r["dataset"] for r in rows] == ["alpha", "beta"]
    assert [r["examples"] for r in rows] == [2, 3]
    assert [r["mentions"] for r in rows] == [3, 2]
    assert result["average_f1"] == pytest.approx(sum(r["f1"] for r in rows) / 2, abs=0.005)
    assert (result["threshold"], result["mode"], result["split"]) == (0.3, "flat", "test")
    markdown = to_markdown(result)
    assert "| average |" in markdown and "threshold 0.3" in markdown and "flat decoding" in markdown
    assert "| alpha | 2 |" in markdown and "| beta | 3 |" in markdown


def test_max_examples_and_nested(span_model, folder):
    result = run_benchmark(span_model, folder, options=DecodeOptions(flat_ner=False), max_examples=1)
    assert [r["examples"] for r in result["rows"]] == [1, 1]
    assert result["mode"] == "nested"
    assert "first 1 examples" in to_markdown(result)


def test_labels_come_from_meta_then_gold(folder):
    gold = [Example(["a", "b"], [(0, 0, "person"), (1, 1, "organization")])]
    assert dataset_labels(folder / "beta", gold) == ["organization", "city", "person"]
    assert dataset_labels(folder / "alpha", gold) == ["person", "organization"]


def test_bad_folder_or_split(span_model, folder, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        run_benchmark(span_model, tmp_path / "missing")
    with pytest.raises(InputError, match=r"train\.jsonl"):
        run_benchmark(span_model, folder, split="train")


def test_cli_prints_markdown_and_writes_files(span_model, folder, tmp_path):
    model_dir = tmp_path / "model"
    span_model.save(model_dir)
    out_json, out_md = tmp_path / "b.json", tmp_path / "b.md"
    args = ["benchmark", str(folder), "--model", str(model_dir), "--max-examples", "2"]
    result = CliRunner().invoke(app, [*args, "--json", str(out_json), "--markdown", str(out_md)])
    assert result.exit_code == 0, result.output
    assert "| average |" in result.stdout and "threshold 0.5" in result.stdout
    assert out_md.read_text(encoding="utf-8") == result.stdout
    saved = json.loads(out_json.read_text(encoding="utf-8"))
    assert len(saved["rows"]) == 2 and saved["split"] == "test"
    assert "alpha: running" in result.stderr and "alpha: F1" in result.stderr  # as it goes

    missing = CliRunner().invoke(app, ["benchmark", str(folder), "--model", str(model_dir), "--split", "x"])
    assert missing.exit_code == 2 and missing.stderr.startswith("error: ") and "x.jsonl" in missing.stderr


def test_cli_precision_and_runtime(span_model, folder, tmp_path):
    model_dir = tmp_path / "model"
    span_model.save(model_dir)
    out_json = tmp_path / "b.json"
    args = ["benchmark", str(folder), "--model", str(model_dir), "--max-examples", "2"]
    result = CliRunner().invoke(
        app, [*args, "--precision", "bf16", "--threads", "1", "--json", str(out_json)]
    )
    assert result.exit_code == 0, result.output
    assert "bf16 on torch" in result.stdout
    saved = json.loads(out_json.read_text(encoding="utf-8"))
    assert (saved["precision"], saved["runtime"]) == ("bf16", "torch")

    bad = CliRunner().invoke(app, [*args, "--precision", "int8", "--runtime", "torch"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ") and "onnxruntime" in bad.stderr
    assert "\n" not in bad.stderr.strip()


def test_eval_cli_takes_the_runtime_options(span_model, folder, tmp_path):
    model_dir = tmp_path / "model"
    span_model.save(model_dir)
    data = str(folder / "alpha" / "test.jsonl")
    bf16 = CliRunner().invoke(
        app, ["eval", data, "--model", str(model_dir), "--threshold", "0.3", "--precision", "bf16"]
    )
    assert bf16.exit_code == 0, bf16.output
    assert "micro" in bf16.stdout
    bad = CliRunner().invoke(app, ["eval", data, "--model", str(model_dir), "--runtime", "tensorflow"])
    assert bad.exit_code == 2
