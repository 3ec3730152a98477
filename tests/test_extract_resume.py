"""`anyner extract --resume`: continue after an interruption without losing, repeating or
corrupting a record, and refuse an output that does not belong to the input."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import assert_user_error
from typer.testing import CliRunner

from anyner.cli import app
from anyner.cli import extract as cli

LABELS = "person,organization,date"
WORDS = "bill gates founded microsoft in albuquerque on april new york city is big".split()


@pytest.fixture(scope="module")
def model_dir(span_model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("resume") / "model"
    span_model.save(folder)
    return folder


@pytest.fixture
def run(model_dir):
    """Invoke `anyner extract --model <tiny model> -l LABELS ARGS` in this process."""
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):
        return runner.invoke(app, ["extract", "--model", str(model_dir), "-l", LABELS, *args], input=stdin)

    return invoke


def rows(n: int) -> list[dict]:
    """Short texts from the tiny vocabulary; every fifth record has no id (keyed by line number)."""
    out = []
    for i in range(n):
        text = " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(1 + i % 6))
        out.append({"text": text} if i % 5 == 4 else {"id": f"doc-{i}", "text": text})
    return out


def write_jsonl(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in items), encoding="utf-8")
    return path


def extract_ok(run, *args: str, stdin: str | None = None):
    result = run(*args, stdin=stdin)
    assert result.exit_code == 0, result.output
    return result


def assert_same_records(got: Path, want: Path) -> None:
    """Record for record: ids, texts and entities equal; scores equal up to float noise, since
    a resumed run may batch the remaining texts differently."""
    a = [json.loads(line) for line in got.read_text(encoding="utf-8").splitlines()]
    b = [json.loads(line) for line in want.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["text"]) for r in a] == [(r["id"], r["text"]) for r in b]
    for x, y in zip(a, b, strict=True):
        assert [{k: v for k, v in e.items() if k != "score"} for e in x["entities"]] == [
            {k: v for k, v in e.items() if k != "score"} for e in y["entities"]
        ]
        for e, f in zip(x["entities"], y["entities"], strict=True):
            assert e["score"] == pytest.approx(f["score"], abs=1e-5)


@pytest.fixture
def reference(run, tmp_path):
    """An input and its output from one uninterrupted run."""
    src = write_jsonl(tmp_path / "in.jsonl", rows(11))
    ref = tmp_path / "ref.jsonl"
    extract_ok(run, "--input", str(src), "--output", str(ref))
    assert ref.read_text().count("\n") == 11
    return src, ref


# -- a real interruption --------------------------------------------------------------------


def _open_fifo_for_writing(fifo: Path, proc: subprocess.Popen) -> int:
    """Opening a FIFO waits for its reader; poll, so a child that dies first fails the test."""
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
        else:
            os.set_blocking(fd, True)
            return fd


def test_resume_after_kill_matches_an_uninterrupted_run(run, model_dir, tmp_path):
    """The CLI runs in a subprocess fed through a FIFO: after two whole chunks it waits for
    more input in the middle of its third, and is killed there with SIGKILL."""
    chunk = cli.CHUNK  # the subprocess uses the real chunk size
    items = rows(3 * chunk + 10)
    src = write_jsonl(tmp_path / "in.jsonl", items)
    ref, out, fifo = tmp_path / "ref.jsonl", tmp_path / "out.jsonl", tmp_path / "feed.jsonl"
    extract_ok(run, "--input", str(src), "--output", str(ref))

    os.mkfifo(fifo)
    argv = [sys.executable, "-m", "anyner.cli", "extract", "--model", str(model_dir), "-l", LABELS]
    proc = subprocess.Popen(
        [*argv, "--input", str(fifo), "--output", str(out)], stderr=subprocess.PIPE, text=True
    )
    try:
        fd = _open_fifo_for_writing(fifo, proc)
        os.write(fd, "".join(json.dumps(r) + "\n" for r in items[: 2 * chunk + 5]).encode())
        deadline = time.monotonic() + 900  # a guard against hanging, not a speed check
        while not out.exists() or out.read_bytes().count(b"\n") < 2 * chunk:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "two chunks not written in 900 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        os.close(fd)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert out.read_bytes().count(b"\n") == 2 * chunk  # interrupted: a third of the input is missing

    result = extract_ok(run, "--input", str(src), "--output", str(out), "--resume")
    assert f"after the {2 * chunk} records" in result.stderr
    assert_same_records(out, ref)


# -- a torn last line -----------------------------------------------------------------------


@pytest.mark.parametrize("where", ["start", "mid-line", "before-newline", "after-newline", "end"])
def test_torn_last_line_is_rewritten(run, reference, tmp_path, monkeypatch, where):
    """However the output was cut, resuming gives the uninterrupted output, each record once."""
    monkeypatch.setattr(cli, "CHUNK", 3)
    src, ref = reference
    full = ref.read_bytes()
    fourth = full.index(b"\n", full.index(b"\n", full.index(b"\n") + 1) + 1) + 1  # where line 4 starts
    cut = {
        "start": 0,
        "mid-line": fourth + 20,
        "before-newline": full.index(b"\n", fourth),
        "after-newline": fourth,
        "end": len(full),
    }[where]
    out = tmp_path / "out.jsonl"
    out.write_bytes(full[:cut])
    result = extract_ok(run, "--input", str(src), "--output", str(out), "--resume")
    assert_same_records(out, ref)
    if where in ("mid-line", "before-newline"):
        assert "torn last line" in result.stderr and "after the 3 records" in result.stderr
    if where == "end":
        assert out.read_bytes() == full  # nothing to do: nothing rewritten


def test_resume_without_an_output_file_runs_everything(run, reference, tmp_path):
    src, ref = reference
    out = tmp_path / "new.jsonl"
    result = extract_ok(run, "--input", str(src), "--output", str(out), "--resume")
    assert result.stderr == ""
    assert_same_records(out, ref)


def test_resume_plain_text_keyed_by_line_number(run, tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "CHUNK", 2)
    src = tmp_path / "in.txt"
    src.write_text("bill gates\n\nmicrosoft\nbill gates\nnew york\n")  # repeated texts are fine
    ref, out = tmp_path / "ref.jsonl", tmp_path / "out.jsonl"
    extract_ok(run, "--input", str(src), "--output", str(ref))
    out.write_bytes(b"".join(ref.read_bytes().splitlines(keepends=True)[:3]))
    extract_ok(run, "--input", str(src), "--output", str(out), "--resume")
    assert_same_records(out, ref)
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [1, 2, 3, 4, 5]


def test_resume_from_stdin(run, reference, tmp_path):
    src, ref = reference
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"".join(ref.read_bytes().splitlines(keepends=True)[:5]))
    args = ("--input", "-", "--format", "jsonl", "--output", str(out), "--resume")
    extract_ok(run, *args, stdin=src.read_text())
    assert_same_records(out, ref)


def test_every_chunk_is_synced_to_disk(run, reference, tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "CHUNK", 4)
    synced = []
    monkeypatch.setattr(cli.os, "fsync", lambda fd: synced.append(fd))
    src, _ = reference
    extract_ok(run, "--input", str(src), "--output", str(tmp_path / "out.jsonl"))
    assert len(synced) == 3  # 11 records in chunks of 4


# -- user errors: one line, exit 2, the output left as it was -------------------------------


def test_resume_needs_input_and_output(run, reference):
    src, _ = reference
    assert_user_error(run("--input", str(src), "--resume"), "--resume", "--output")
    assert_user_error(run("--output", "x.jsonl", "--resume", "bill gates"), "--resume", "--input")


def _assert_refused(run, src: Path, out: Path, *fragments: str) -> None:
    before = out.read_bytes()
    assert_user_error(run("--input", str(src), "--output", str(out), "--resume"), *fragments)
    assert out.read_bytes() == before


def test_output_of_another_input_is_refused(run, reference, tmp_path):
    _, ref = reference
    items = rows(11)
    other_ids = write_jsonl(tmp_path / "other.jsonl", [{**r, "id": f"x{i}"} for i, r in enumerate(items)])
    _assert_refused(run, other_ids, ref, "ref.jsonl line 1", '"doc-0"', "other.jsonl line 1", '"x0"')
    other_text = write_jsonl(tmp_path / "text.jsonl", [*items[:2], {**items[2], "text": "new york"}])
    _assert_refused(run, other_text, ref, "ref.jsonl line 3", "another text", "text.jsonl line 3")
    shorter = write_jsonl(tmp_path / "short.jsonl", items[:4])
    _assert_refused(run, shorter, ref, "ref.jsonl", "more records than the 4 in")


def test_output_that_is_not_extract_output_is_refused(run, reference, tmp_path):
    src, _ = reference
    out = tmp_path / "notes.jsonl"
    out.write_text('{"id": "doc-0", "text": "bill gates"}\n')  # no "entities": not ours
    _assert_refused(run, src, out, "notes.jsonl line 1", "not a record written by")
    out.write_text("just some notes\n")
    _assert_refused(run, src, out, "notes.jsonl line 1")


def test_output_that_is_not_a_file(run, reference, tmp_path):
    src, _ = reference
    assert_user_error(run("--input", str(src), "--output", str(tmp_path), "--resume"), "regular file")


def test_output_may_not_be_the_input(run, reference):
    src, _ = reference
    before = src.read_bytes()
    assert_user_error(run("--input", str(src), "--output", str(src)), "is the --input file")
    assert src.read_bytes() == before


@pytest.mark.parametrize(
    ("lines", "where", "shown"),
    [
        (['{"id": "a", "text": "x"}', '{"id": "b", "text": "y"}', '{"id": "a", "text": "z"}'], 3, '"a"'),
        (['{"id": 3, "text": "x"}', '{"id": 2, "text": "y"}', '{"text": "z"}'], 3, "3"),  # line 3 is id 3
        (['{"id": {"k": [1, 2]}, "text": "x"}', '{"id": {"k": [1, 2]}, "text": "y"}'], 2, '{"k": [1, 2]}'),
    ],
)
def test_duplicate_ids_are_refused_before_anything_runs(run, tmp_path, lines, where, shown):
    src = tmp_path / "dup.jsonl"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    assert_user_error(
        run("--input", str(src), "--output", str(out), "--resume"), f"dup.jsonl line {where}", shown, "unique"
    )
    assert not out.exists()


def test_ids_of_different_types_are_different(run, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": 4, "text": "bill"}, {"id": "4", "text": "gates"}])
    out = tmp_path / "out.jsonl"
    extract_ok(run, "--input", str(src), "--output", str(out), "--resume")
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [4, "4"]


def test_duplicate_id_from_stdin_fails_where_it_is(run, tmp_path):
    out = tmp_path / "out.jsonl"
    stdin = '{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n'
    result = run("--input", "-", "--format", "jsonl", "--output", str(out), "--resume", stdin=stdin)
    assert_user_error(result, "<stdin> line 2", '"a"')


def test_invalid_utf8_names_file_and_line(run, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"id": "a", "text": "bill gates"}\n{"text": "m\xfcnchen"}\n')
    out = tmp_path / "out.jsonl"
    assert_user_error(run("--input", str(bad), "--output", str(out), "--resume"), "bad.jsonl line 2", "UTF-8")
    assert not out.exists()  # found before the first record was written
