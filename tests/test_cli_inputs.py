"""The CLI's input readers on hostile input: any bytes give records or one InputError naming the
line; a line over the limit is skipped with a warning (or stops the run) without being held whole."""

from __future__ import annotations

import io
import json

import pytest
from helpers import assert_user_error
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from anyner import InputError
from anyner.cli import app
from anyner.data.lines import bounded_lines
from anyner.io_records import Format, LineLimit, read_records

HUGE_INT = "9" * 5000
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def model_dir(span_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-inputs") / "model"
    span_model.save(folder)
    return folder


def extract(model_dir, *args: str):
    return CliRunner().invoke(app, ["extract", "--model", str(model_dir), "--labels", "person", *args])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
lines = st.one_of(
    st.binary(max_size=60),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda i, t: json.dumps({"id": i, "text": t}).encode(), json_values, json_values),
    st.sampled_from(
        [f'{{"id": {HUGE_INT}, "text": "a"}}'.encode(), f'{{"id": {DEEP}, "text": "a"}}'.encode()]
    ),
)


@settings(max_examples=150, deadline=None)
@given(body=st.lists(lines, max_size=6), fmt=st.sampled_from([Format.text, Format.jsonl]), stop=st.booleans())
def test_any_bytes_give_records_or_one_input_error(body, fmt, stop):
    stream = io.BytesIO(b"\n".join(body))
    try:
        for record in read_records(stream, "in", fmt, LineLimit(40, stop), warn=lambda m: None):
            assert isinstance(record.text, str)
            json.dumps(record.id)  # the id goes back out in the output record
    except InputError as exc:
        assert str(exc).startswith("in line ") and "\n" not in str(exc)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(HUGE_INT, "more than 4300 digits"), (DEEP, "nested too deeply"), ('"x", "text": ]', "not valid JSON")],
)
def test_unreadable_json_ids_are_one_line(model_dir, tmp_path, value, fragment):
    path = tmp_path / "in.jsonl"
    path.write_text(f'{{"text": "bill"}}\n{{"id": {value}, "text": "gates"}}\n')
    assert_user_error(extract(model_dir, "--input", str(path)), "in.jsonl line 2", fragment)
    labels = tmp_path / "labels.json"
    labels.write_text(f'["person", {value}]')
    result = CliRunner().invoke(
        app, ["extract", "--model", str(model_dir), "--labels-file", str(labels), "x"]
    )
    assert_user_error(result, "labels.json", fragment)


def test_an_unreadable_label_map_is_one_line(model_dir, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"tokenized_text": ["Bill"], "ner": [[0, 0, "PER"]]}) + "\n")
    label_map = tmp_path / "map.json"
    label_map.write_text(f'{{"PER": {DEEP}}}')
    result = CliRunner().invoke(
        app, ["eval", str(data), "--model", str(model_dir), "--label-map", str(label_map)]
    )
    assert_user_error(result, "map.json", "nested too deeply")


def test_a_long_line_is_skipped_with_its_line_number(model_dir, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("bill gates\n" + "x " * 600 + "\nmicrosoft\n")
    result = extract(model_dir, "--input", str(path), "--max-line-bytes", "1000")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [1, 3]
    assert (
        "in.txt line 2: the line is 1201 bytes, over the limit of 1000 bytes per line: skipped"
        in result.stderr
    )
    stopped = extract(model_dir, "--input", str(path), "--max-line-bytes", "1000", "--stop-on-long-line")
    assert_user_error(stopped, "in.txt line 2", "over the limit of 1000")


class _Reads(io.BytesIO):
    """Records the largest read asked of it."""

    largest = 0

    def readline(self, size: int | None = -1) -> bytes:
        assert size is not None and size > 0, "an unbounded readline"
        self.largest = max(self.largest, size)
        return super().readline(size)


def test_a_long_line_is_never_read_whole():
    stream = _Reads(b"short\n" + b"y" * 5_000_000 + b"\nend")
    got = [(line.number, line.raw, line.size) for line in bounded_lines(stream, 1000)]
    assert got == [(1, b"short\n", 6), (2, None, 5_000_001), (3, b"end", 3)]
    assert stream.largest <= 1 << 16
