"""Bad input: every problem is reported with its file and line, only the broken examples are
dropped, and ``validate`` summarises a file for the validate-data command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anyner.data import Example, Issue, Severity, read_examples, validate
from anyner.errors import InputError

GOOD = '{"tokenized_text": ["EU", "rejects", "it"], "ner": [[0, 0, "organization"]]}'
GOOD_EXAMPLE = Example(["EU", "rejects", "it"], [(0, 0, "organization")])


def _read(
    tmp_path: Path, name: str, content: bytes | str, **options: object
) -> tuple[list[Example], list[Issue]]:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return read_examples(path, strict=False, **options)  # type: ignore[call-overload]


def _errors(issues: list[Issue]) -> list[tuple[int | None, str]]:
    return [(issue.line, issue.reason) for issue in issues if issue.severity is Severity.error]


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ('{"tokenized_text": ["a"], "ner": [', "not valid JSON"),
        ('["a", "b"]', 'expected an object with "tokenized_text" and "ner", got an array'),
        ('{"ner": []}', 'no "tokenized_text" field'),
        ('{"text": "a b", "ner": []}', "format='char'"),
        ('{"tokenized_text": "a b", "ner": []}', '"tokenized_text" is a string'),
        ('{"tokenized_text": [], "ner": []}', '"tokenized_text" is empty'),
        ('{"tokenized_text": ["a", 3], "ner": []}', "word 1 3 is a number, not a string"),
        ('{"tokenized_text": ["a", " "], "ner": []}', 'word 1 " " is empty or only whitespace'),
        ('{"tokenized_text": ["a", "b"]}', 'no "ner" field; give "ner": []'),
        ('{"tokenized_text": ["a", "b"], "ner": {"0": "x"}}', '"ner" is an object'),
        ('{"tokenized_text": ["a", "b"], "ner": [[0, 2, "x"]]}', "end 2 is past the last word (index 1"),
        ('{"tokenized_text": ["a", "b"], "ner": [[1, 0, "x"]]}', "start 1 is after end 0"),
        ('{"tokenized_text": ["a", "b"], "ner": [[-1, 0, "x"]]}', "start -1 is negative"),
        ('{"tokenized_text": ["a", "b"], "ner": [["0", 1, "x"]]}', "start '0' is not an integer"),
        ('{"tokenized_text": ["a", "b"], "ner": [[0, true, "x"]]}', "end True is not an integer"),
        ('{"tokenized_text": ["a", "b"], "ner": [[0, 1, 5]]}', "label is a number, not a string"),
        ('{"tokenized_text": ["a", "b"], "ner": [[0, 1, " "]]}', "label is empty"),
        (
            '{"tokenized_text": ["a", "b"], "ner": [[0, 1]]}',
            "entity 0 [0, 1] is not a [start, end_inclusive, label]",
        ),
        ('{"tokenized_text": ["a", "b"], "ner": [[0, 1, "x", 0.9]]}', "is not a [start"),
        ('{"tokenized_text": ["a", "b"], "ner": ["x"]}', "is not a [start"),
        ('{"tokenized_text": ["\\ud800"], "ner": []}', "unpaired surrogate"),
        ('{"tokenized_text": ["a"], "ner": [], "id": [1]}', '"id" is an array'),
    ],
)
def test_gliner_bad_line_is_reported_on_its_line(tmp_path: Path, bad_line: str, reason: str) -> None:
    examples, issues = _read(tmp_path, "d.jsonl", f"{GOOD}\n{bad_line}\n\n{GOOD}\n")
    assert examples == [GOOD_EXAMPLE, GOOD_EXAMPLE]
    ((line, message),) = _errors(issues)
    assert line == 2 and reason in message
    assert issues[0].file == str(tmp_path / "d.jsonl")


def test_every_problem_of_a_line_is_reported(tmp_path: Path) -> None:
    bad = '{"tokenized_text": ["a", ""], "ner": [[0, 5, "x"], [0, 0, ""], [1, 1, "ok"]]}'
    _, issues = _read(tmp_path, "d.jsonl", bad)
    assert [reason.split(":")[0] for _, reason in _errors(issues)] == [
        'word 1 "" is empty or only whitespace',
        'entity 0 [0, 5, "x"]',
        'entity 1 [0, 0, ""]',
    ]


def test_invalid_utf8_is_reported_on_its_line(tmp_path: Path) -> None:
    content = f"{GOOD}\n".encode() + b'{"tokenized_text": ["caf\xe9"], "ner": []}\n' + GOOD.encode()
    examples, issues = _read(tmp_path, "d.jsonl", content)
    assert examples == [GOOD_EXAMPLE, GOOD_EXAMPLE]
    assert _errors(issues) == [
        (2, "not valid UTF-8 (invalid continuation byte at byte offset 24 of the line)")
    ]


def test_json_array_items_are_reported_on_the_line_they_start(tmp_path: Path) -> None:
    content = f'[\n{GOOD},\n{{"tokenized_text": ["a"],\n "ner": [[0, 1, "x"]]}},\n{GOOD}\n]\n'
    examples, issues = _read(tmp_path, "d.json", content)
    assert examples == [GOOD_EXAMPLE, GOOD_EXAMPLE]
    assert [line for line, _ in _errors(issues)] == [3]


def test_json_array_syntax_error_stops_the_read_and_says_so(tmp_path: Path) -> None:
    examples, issues = _read(tmp_path, "d.json", f"[\n{GOOD},\n{GOOD}\n{GOOD}\n]")
    assert examples == [GOOD_EXAMPLE, GOOD_EXAMPLE]
    assert _errors(issues) == [(4, "expected ',' or ']' after an item; the rest was not read")]
    _, issues = _read(tmp_path, "e.json", f"[\n{GOOD},\n{{oops}}\n]")
    assert _errors(issues)[0][0] == 3 and "the rest of the file was not read" in _errors(issues)[0][1]
    _, issues = _read(tmp_path, "f.json", f"[{GOOD}]\n[]")
    assert _errors(issues) == [(2, "unexpected text after the closing ']' was not read")]
    _, issues = _read(tmp_path, "g.json", b"[\n" + GOOD.encode() + b",\n\xff]")
    assert _errors(issues)[0][0] == 3 and "nothing was read" in _errors(issues)[0][1]


@pytest.mark.parametrize(
    ("bad_line", "reason", "options"),
    [
        ("b", "1 column(s): a token line needs the token first and the tag in column -1", {}),
        (
            "b _ O",
            "3 column(s): a token line needs the token first and the tag in column 3",
            {"tag_column": 3},
        ),
        ("b _ _ E-PER", "tag 'E-PER' has unknown prefix E-", {}),
        ("b _ _ PER", "tag 'PER' has no B-/I- prefix", {}),
        ("b _ _ B-", "tag 'B-' has no type after B-", {}),
        ("b _ _ B-PER", "IO data has no B- tags", {"scheme": "io"}),
    ],
)
def test_conll_bad_line_drops_its_sentence_only(
    tmp_path: Path, bad_line: str, reason: str, options: dict[str, object]
) -> None:
    first = "I" if options.get("scheme") == "io" else "B"
    good = f"EU _ _ {first}-ORG\nrejects _ _ O\n\n"
    content = f"{good}a _ _ O\n{bad_line}\nc _ _ O\n\n{good}"
    examples, issues = _read(tmp_path, "d.conll", content, **options)
    assert examples == [Example(["EU", "rejects"], [(0, 0, "ORG")])] * 2
    ((line, message),) = _errors(issues)
    assert line == 5 and reason in message


CONLL_GOOD = "EU B-ORG\nrejects O\n\n"


def test_conll_invalid_utf8_drops_its_sentence(tmp_path: Path) -> None:
    examples, issues = _read(
        tmp_path, "d.conll", CONLL_GOOD.encode() + b"caf\xe9 O\nx O\n\n" + CONLL_GOOD.encode()
    )
    assert len(examples) == 2 and [line for line, _ in _errors(issues)] == [4]


def test_conll_orphan_i_is_a_warning_on_its_line(tmp_path: Path) -> None:
    examples, issues = _read(tmp_path, "d.conll", "# c\nEU O\nrejects I-ORG\nit I-ORG\n")
    assert examples == [Example(["EU", "rejects", "it"], [(1, 2, "ORG")])]
    assert [(i.line, i.severity) for i in issues] == [(3, Severity.warning)]


def _char_line(entities: object, text: object = "Barack Obama visited Paris .") -> str:
    return json.dumps({"text": text, "entities": entities})


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        (_char_line([{"start": 21, "end": 40, "label": "city"}]), "needs 0 <= start < end <= 28"),
        (_char_line([{"start": -1, "end": 3, "label": "x"}]), "needs 0 <= start < end"),
        (_char_line([{"start": 5, "end": 5, "label": "x"}]), "needs 0 <= start < end"),
        (_char_line([{"start": 12, "end": 13, "label": "x"}]), "covers no word, only ' '"),
        (_char_line([{"start": 0, "end": 6}]), 'is not an object with "start", "end" and "label"'),
        (_char_line([[0, 6, "person"]]), 'is not an object with "start"'),
        (_char_line([{"start": 0, "end": 6, "label": ""}]), "label is empty"),
        (_char_line([{"start": 0.0, "end": 6, "label": "x"}]), "start and end must be integer"),
        (_char_line(None), '"entities" is null'),
        (json.dumps({"text": "a"}), '"entities" is missing'),
        (json.dumps({"entities": []}), '"text" is missing'),
        (_char_line([], "   "), '"text" is empty or only whitespace'),
        (_char_line([], 5), '"text" is a number, not a string'),
    ],
)
def test_char_bad_line_is_reported_on_its_line(tmp_path: Path, bad_line: str, reason: str) -> None:
    good = _char_line([{"start": 0, "end": 12, "label": "person"}])
    examples, issues = _read(tmp_path, "d.jsonl", f"{good}\n{bad_line}\n{good}\n")
    assert [e.spans for e in examples] == [[(0, 1, "person")]] * 2
    ((line, message),) = _errors(issues)
    assert line == 2 and reason in message


def test_char_unknown_entity_fields_are_reported_once(tmp_path: Path) -> None:
    entity = {"start": 0, "end": 6, "label": "person", "score": 0.9}
    content = "\n".join(_char_line([entity, entity]) for _ in range(3))
    examples, issues = _read(tmp_path, "d.jsonl", content)
    assert len(examples) == 3
    assert [(i.line, i.severity, i.reason) for i in issues] == [
        (1, Severity.warning, "entity field(s) ['score'] are not kept (reported once per file)")
    ]


def test_validate_summarises_a_file(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    lines = [GOOD, '{"tokenized_text": ["a", "b"], "ner": [[0, 0, "person"], [1, 1, "organization"]]}', "{"]
    path.write_text("\n".join(lines), encoding="utf-8")
    summary = validate(path)
    assert (summary.examples, summary.words, summary.mentions) == (2, 5, 3)
    assert summary.labels == {"organization": 2, "person": 1}
    assert not summary.ok and [i.line for i in summary.errors] == [3] and summary.warnings == []
    report = summary.report()
    assert report.splitlines()[:3] == [
        f"{path}: 2 examples, 5 words, 3 mentions of 2 labels",
        "labels: organization (2), person (1)",
        "1 error(s), 0 warning(s)",
    ]
    assert f"{path}:3: error: not valid JSON" in report


def test_validate_of_a_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        validate(tmp_path / "missing.jsonl")
