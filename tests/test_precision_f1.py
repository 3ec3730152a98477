"""benchmarks/precision_f1.py: F1 per precision, and a failing exit status past the allowed loss."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "precision_f1.py"
RECORDS = [
    {"tokenized_text": ["bill", "gates", "founded", "microsoft"], "ner": [[0, 1, "person"]]},
    {"tokenized_text": ["april", "4", "in", "albuquerque"], "ner": [[0, 1, "date"], [3, 3, "location"]]},
    {"tokenized_text": ["new", "york", "city", "is", "big"], "ner": [[0, 2, "location"]]},
]


@pytest.fixture(scope="module")
def setup(span_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("precision")
    for name in ("one", "two"):
        (root / "data" / name).mkdir(parents=True)
        lines = "".join(json.dumps(r) + "\n" for r in RECORDS)
        (root / "data" / name / "test.jsonl").write_text(lines, encoding="utf-8")
    span_model.save(root / "model")
    return root


def run(setup, *extra):
    args = ["--data", str(setup / "data"), "--model", str(setup / "model"), "--threshold", "0.3", *extra]
    env = {**os.environ, "ANYNER_CACHE": str(setup / "cache")}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300, env=env
    )


def test_table_of_f1_per_precision_and_the_check(setup):
    out = setup / "result.json"
    ok = run(setup, "--max-loss", "100", "--json", str(out))
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[0] == "| data set | fp32 | bf16 | int8 |"
    assert lines[2].startswith("| one | ") and lines[3].startswith("| two | ")
    assert lines[4].startswith("| **average** |") and lines[5].startswith("| loss vs fp32 | 0.00 |")
    saved = json.loads(out.read_text())
    fp32 = saved["results"]["fp32"]["average_f1"]
    assert saved["loss"] == {p: round(fp32 - saved["results"][p]["average_f1"], 2) for p in ("bf16", "int8")}
    # a loss above the allowed one fails the check (here any result does: -100 allowed)
    failed = run(setup, "--precisions", "fp32,int8", "--max-loss", "-100")
    assert failed.returncode == 1 and "FAIL" in failed.stderr and "int8" in failed.stderr
    assert failed.stdout.splitlines()[0] == "| data set | fp32 | int8 |"
