"""The `anyner` command line: input formats, output records, and one-line errors (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import assert_user_error
from typer.testing import CliRunner

import anyner
from anyner.cli import app
from anyner.cli import extract as cli
from anyner.options import DecodeOptions

LABELS = "person,organization,date"
TEXT = "bill gates founded microsoft in albuquerque on april 4"


@pytest.fixture(scope="module")
def model_dir(span_model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "model"
    span_model.save(folder)
    return folder


@pytest.fixture
def run(model_dir):
    """Invoke `anyner extract --model <tiny model> ARGS`; stdout and stderr kept apart."""
    runner = CliRunner()

    def invoke(*args: str, model: bool = True, stdin: str | None = None):
        argv = ["extract", *(["--model", str(model_dir)] if model else []), *args]
        return runner.invoke(app, argv, input=stdin)

    return invoke


def records(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def assert_entities(record: dict, labels: set[str]) -> None:
    text = record["text"]
    for e in record["entities"]:
        assert set(e) == {"start", "end", "text", "label", "score"}
        assert 0 <= e["start"] < e["end"] <= len(text)
        assert text[e["start"] : e["end"]] == e["text"]
        assert e["label"] in labels
        assert 0.0 <= e["score"] <= 1.0


# -- input and output ---------------------------------------------------------------------


def test_text_argument_gives_one_record(run):
    (record,) = records(run("--labels", " person , organization,date", "--threshold", "0", TEXT))
    assert record["id"] == 1 and record["text"] == TEXT
    assert record["entities"], "threshold 0 on a random model must find something"
    assert_entities(record, {"person", "organization", "date"})  # spaces around labels stripped


def test_text_file_one_record_per_line(run, tmp_path):
    lines = ["bill gates founded microsoft", "", "new york city is big", "the date"]
    path = tmp_path / "in.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = records(run("--labels", LABELS, "-t", "0", "--input", str(path)))
    assert [r["id"] for r in out] == [1, 2, 3, 4]
    assert [r["text"] for r in out] == lines
    assert out[1]["entities"] == []  # a blank line is still a record, so lines stay aligned
    assert all(r["entities"] for i, r in enumerate(out) if i != 1)
    for r in out:
        assert_entities(r, set(LABELS.split(",")))


def test_text_file_crlf_and_bom(run, tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes("\ufeffbill gates\r\nmicrosoft\r\n".encode())
    out = records(run("--labels", LABELS, "--input", str(path)))
    assert [r["text"] for r in out] == ["bill gates", "microsoft"]


def test_jsonl_keeps_ids_and_order(run, tmp_path):
    rows = [{"id": "b", "text": "new york"}, {"id": 7, "text": "bill gates"}, {"text": "microsoft"}]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows[:2]) + "\n\n" + json.dumps(rows[2]) + "\n")
    out = records(run("--labels", LABELS, "-t", "0", "--input", str(path)))
    # the third object has no id: it gets its line number (4; the blank line 3 is skipped)
    assert [(r["id"], r["text"]) for r in out] == [("b", "new york"), (7, "bill gates"), (4, "microsoft")]
    for r in out:
        assert_entities(r, set(LABELS.split(",")))


def test_format_option_overrides_file_name(run, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text('{"id": "x", "text": "bill gates"}\n')
    (as_jsonl,) = records(run("--labels", LABELS, "--format", "jsonl", "--input", str(path)))
    assert (as_jsonl["id"], as_jsonl["text"]) == ("x", "bill gates")
    (as_text,) = records(run("--labels", LABELS, "--input", str(path)))
    assert as_text["text"] == '{"id": "x", "text": "bill gates"}'


def test_stdin_input(run):
    out = records(run("--labels", LABELS, "--input", "-", stdin="bill gates\nmicrosoft\n"))
    assert [(r["id"], r["text"]) for r in out] == [(1, "bill gates"), (2, "microsoft")]


def test_output_file(run, tmp_path):
    src, dst = tmp_path / "in.txt", tmp_path / "out.jsonl"
    src.write_text("bill gates\n\nmicrosoft\n")
    result = run("--labels", LABELS, "-t", "0", "--input", str(src), "--output", str(dst))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    out = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in out] == ["bill gates", "", "microsoft"]


def test_many_records_stream_in_chunks(run, tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "CHUNK", 3)
    texts = [f"text number {i}" for i in range(8)]
    path = tmp_path / "in.txt"
    path.write_text("\n".join(texts))  # no final newline: the last line still counts
    out = records(run("--labels", LABELS, "--input", str(path)))
    assert [r["id"] for r in out] == list(range(1, 9))
    assert [r["text"] for r in out] == texts


def test_predict_reads_lazily():
    """A chunk is predicted before the rest of the input is read: big files never sit in memory."""

    class Model:
        def batch_predict_entities(self, texts, labels, **options):
            return [[] for _ in texts]

    def endless():
        for i in range(cli.CHUNK):
            yield cli.Record(i + 1, "x", i + 1)
        raise AssertionError("read past the first chunk before it was predicted")

    first = next(cli._predict(Model(), endless(), ["person"], DecodeOptions()))
    assert len(first) == cli.CHUNK


def test_progress_passes_chunks_through():
    chunks = [[1, 2], [3]]
    assert list(cli._with_progress(iter(chunks), 3)) == chunks
    assert list(cli._with_progress(iter(chunks), None)) == chunks


def test_labels_file_dict(run, tmp_path):
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"person": "a human being", "company": "a business organization"}))
    (record,) = records(run("--labels-file", str(path), "-t", "0", TEXT))
    assert record["entities"]
    assert_entities(record, {"person", "company"})  # names reported, descriptions only prompt the model


def test_nested_and_multi_label(run):
    def overlaps(ents):
        pairs = [(a, b) for i, a in enumerate(ents) for b in ents[i + 1 :]]
        return any(a["start"] < b["end"] and b["start"] < a["end"] for a, b in pairs)

    (flat,) = records(run("--labels", LABELS, "-t", "0", TEXT))
    (nested,) = records(run("--labels", LABELS, "-t", "0", "--nested", "--multi-label", TEXT))
    assert not overlaps(flat["entities"])
    assert overlaps(nested["entities"]) and len(nested["entities"]) > len(flat["entities"])


def test_pretty_prints_a_table(run):
    result = run("--labels", "person", "-t", "0", "--pretty", TEXT)
    assert result.exit_code == 0, result.output
    assert "person" in result.stdout and "start-end" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"anyner {anyner.__version__}"


# -- user errors: one line, exit 2 --------------------------------------------------------


def test_broken_json_line(run, tmp_path):
    path = tmp_path / "input.jsonl"
    path.write_text('{"text": "bill gates"}\n{"text": "microsoft"}\n{"text": oops}\n')
    assert_user_error(run("--labels", LABELS, "--input", str(path)), "input.jsonl line 3", "not valid JSON")


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('["a list"]', "JSON object"),
        ('{"id": 1}', '"text"'),
        ('{"text": 5}', '"text"'),
        ('{"text": "\\ud800"}', "surrogate"),
    ],
)
def test_bad_jsonl_record(run, tmp_path, line, fragment):
    path = tmp_path / "in.ndjson"
    path.write_text('{"text": "ok"}\n' + line + "\n")
    assert_user_error(run("--labels", LABELS, "--input", str(path)), "in.ndjson line 2", fragment)


def test_invalid_utf8(run, tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"bill gates\nm\xfcnchen\n")
    assert_user_error(run("--labels", LABELS, "--input", str(path)), "latin1.txt line 2", "UTF-8")


def test_missing_input_file(run, tmp_path):
    assert_user_error(run("--labels", LABELS, "--input", str(tmp_path / "nope.txt")), "nope.txt")


def test_input_is_a_directory(run, tmp_path):
    assert_user_error(run("--labels", LABELS, "--input", str(tmp_path)), "directory")


def test_unwritable_output(run, tmp_path):
    out = tmp_path / "no" / "out.jsonl"
    assert_user_error(run("--labels", LABELS, "--output", str(out), TEXT), "out.jsonl")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([TEXT], "--labels"),
        (["--labels", "person,,date", TEXT], "empty item"),
        (["--labels", "person,", TEXT], "empty item"),
        (["--labels", "person,person", TEXT], "duplicate"),
        (["--labels", LABELS, "--threshold", "1.5", TEXT], "threshold"),
        (["--labels", LABELS], "TEXT or --input"),
        (["--labels", LABELS, "--input", "x.txt", TEXT], "TEXT or --input"),
    ],
)
def test_bad_arguments(run, args, fragment):
    assert_user_error(run(*args), fragment)


def test_labels_file_errors(run, tmp_path):
    broken, scalar = tmp_path / "broken.json", tmp_path / "scalar.json"
    broken.write_text('["person",')
    scalar.write_text('"person"')
    assert_user_error(run("--labels-file", str(broken), TEXT), "broken.json", "JSON")
    assert_user_error(run("--labels-file", str(scalar), TEXT), "scalar.json")
    assert_user_error(run("--labels-file", str(tmp_path / "none.json"), TEXT), "none.json")
    assert_user_error(run("--labels-file", str(scalar), "--labels", "person", TEXT), "--labels-file")


def test_missing_model_folder(run, tmp_path):
    missing = tmp_path / "no-model"
    assert_user_error(run("--model", str(missing), "--labels", LABELS, TEXT, model=False), "no-model")


def test_default_model_absent(run, tmp_path, monkeypatch):
    monkeypatch.setattr(anyner, "DEFAULT_MODEL_DIR", tmp_path / "weights" / "default")
    assert_user_error(run("--labels", LABELS, TEXT, model=False), "default model", "--model")


def test_keyboard_interrupt(run, monkeypatch):
    def interrupted(path, **options):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_load_model", interrupted)
    result = run("--labels", LABELS, TEXT)
    assert result.exit_code == 130
    assert result.stderr.strip() == "error: interrupted" and "Traceback" not in result.output


# -- the installed console script ---------------------------------------------------------


def test_console_script_end_to_end(model_dir, tmp_path):
    exe = Path(sys.executable).with_name("anyner")
    if not exe.exists():
        pytest.skip("the anyner console script is not installed next to this python")
    ok = subprocess.run(
        [exe, "extract", "--model", model_dir, "-l", "person", "-t", "0", TEXT],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    (record,) = [json.loads(line) for line in ok.stdout.splitlines()]
    assert record["text"] == TEXT and record["entities"]
    assert ok.stderr == ""  # no transformers chatter, no progress bar for a single TEXT

    bad = subprocess.run(
        [exe, "extract", "-l", "person", "--input", tmp_path / "missing.txt"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1 and "missing.txt" in bad.stderr
