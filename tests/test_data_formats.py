"""Readers and writers of anyner.data: round trips, format detection, CoNLL options, strictness."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from anyner.data import Example, Severity, read_examples, write_examples
from anyner.errors import InputError

SHARED = Path(__file__).resolve().parents[2] / "shared"

EXAMPLES = [
    Example(["EU", "rejects", "German", "call"], [(0, 0, "organization"), (2, 2, "miscellaneous")], "a1"),
    Example(["Peter", "Blackburn"], [(0, 1, "person")]),
    Example(["No", "entities", "here", "."], []),
    Example(["São", "Paulo", "and", "北", "京"], [(0, 1, "city"), (3, 4, "geopolitical entity")], "7"),
]


def _file(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("name", ["data.jsonl", "data.json"])
def test_gliner_round_trip_keeps_ids_extra_fields_and_nested_spans(tmp_path: Path, name: str) -> None:
    examples = [
        *EXAMPLES,
        Example(
            ["New", "York", "City"],
            [(0, 1, "city"), (0, 2, "city"), (0, 2, "location")],
            None,
            {"lang": "en"},
        ),
    ]
    path = tmp_path / name
    write_examples(path, examples)
    assert read_examples(path) == examples
    text = path.read_text(encoding="utf-8")
    assert text.startswith("[") == (name == "data.json")
    assert "São" in text  # written as UTF-8, not \u escapes


def test_gliner_integer_id_is_read_as_a_string(tmp_path: Path) -> None:
    path = _file(tmp_path, "d.jsonl", '{"id": 12, "tokenized_text": ["a"], "ner": []}\n')
    assert read_examples(path) == [Example(["a"], [], "12")]


@pytest.mark.parametrize("scheme", ["iob2", "iob1", "io"])
def test_conll_round_trip(tmp_path: Path, scheme: str) -> None:
    examples = [*EXAMPLES, Example(["#Harvey", "hits", "#Houston"], [(0, 0, "event"), (2, 2, "city")])]
    path = tmp_path / "data.conll"
    write_examples(path, examples, scheme=scheme)
    # CoNLL carries words and tags only: ids and extra fields are not written
    assert read_examples(path, scheme=scheme) == [Example(e.words, e.spans) for e in examples]


def test_conll_writer_writes_iob2_with_tabs(tmp_path: Path) -> None:
    path = tmp_path / "data.bio"
    write_examples(path, EXAMPLES[3:])
    assert path.read_text(encoding="utf-8") == (
        "São\tB-city\nPaulo\tI-city\nand\tO\n北\tB-geopolitical entity\n京\tI-geopolitical entity\n\n"
    )


def test_char_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    write_examples(path, EXAMPLES, format="char")
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first == {
        "id": "a1",
        "text": "EU rejects German call",
        "entities": [
            {"start": 0, "end": 2, "label": "organization"},
            {"start": 11, "end": 17, "label": "miscellaneous"},
        ],
    }
    assert read_examples(path) == EXAMPLES  # auto: the first record has "text"
    assert read_examples(path, format="char") == EXAMPLES


def test_char_reading_splits_words_and_maps_offsets(tmp_path: Path) -> None:
    line = {"text": "Dr. Smith visited New-York!", "entities": [{"start": 4, "end": 9, "label": "person"}]}
    path = _file(tmp_path, "d.jsonl", json.dumps(line))
    assert read_examples(path) == [
        Example(["Dr", ".", "Smith", "visited", "New-York", "!"], [(2, 2, "person")])
    ]


def test_char_misaligned_entity_is_widened_with_a_warning(tmp_path: Path) -> None:
    lines = [
        {"text": "Barack Obama visited Paris .", "entities": []},
        {
            "text": "Barack Obama visited Paris .",
            "entities": [
                {"start": 1, "end": 12, "label": "person"},  # "arack Obama"
                {"start": 21, "end": 27, "label": "city"},  # "Paris " (trailing space)
            ],
        },
    ]
    path = _file(tmp_path, "d.jsonl", "\n".join(json.dumps(x) for x in lines))
    examples, issues = read_examples(path, strict=False)
    assert examples[1].spans == [(0, 1, "person"), (3, 3, "city")]
    assert [(i.line, i.severity) for i in issues] == [(2, Severity.warning), (2, Severity.warning)]
    assert "'arack Obama' does not fall on word boundaries" in issues[0].reason
    assert "'Barack Obama' [0, 12)" in issues[0].reason
    assert read_examples(path) == examples  # warnings do not fail strict mode


def test_conll_tag_column_option(tmp_path: Path) -> None:
    path = _file(tmp_path, "d.conll", "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n")
    assert read_examples(path)[0].spans == [(0, 0, "ORG"), (2, 2, "MISC")]
    assert read_examples(path, tag_column=2)[0].spans == [(0, 0, "NP"), (1, 1, "VP"), (2, 2, "NP")]
    assert read_examples(path, tag_column=-2) == read_examples(path, tag_column=2)
    with pytest.raises(InputError, match="tag_column 0 is the token column"):
        read_examples(path, tag_column=0)


def test_conll_skips_docstart_and_comments_but_keeps_hashtags(tmp_path: Path) -> None:
    content = (
        "-DOCSTART- -X- -X- O\n\n"
        "# sent_id = 1\n# text = EU rejects it\nEU\tB-ORG\nrejects\tO\n# O\n"
        "-DOCSTART- -X- O\n"  # also ends the sentence
        "#Harvey B-event\nhit O\n\n\n"
        "# newdoc\n"
    )
    path = _file(tmp_path, "d.txt", content)
    assert read_examples(path) == [
        Example(["EU", "rejects", "#"], [(0, 0, "ORG")]),  # "# O" inside a sentence is a token
        Example(["#Harvey", "hit"], [(0, 0, "event")]),  # so is a tagged "#..." line at the start
    ]


def test_conll_tabs_keep_spaces_inside_columns(tmp_path: Path) -> None:
    path = _file(tmp_path, "d.tsv", "New York\tB-geopolitical entity \nis\tO\n")
    assert read_examples(path) == [Example(["New York", "is"], [(0, 0, "geopolitical entity")])]


def test_reading_one_real_line_of_the_shared_data(tmp_path: Path) -> None:
    source = SHARED / "data" / "train" / "conll2003" / "dev.jsonl"
    if not source.exists():
        pytest.skip(f"{source} is not here")
    with source.open(encoding="utf-8") as f:
        line = f.readline()
    obj = json.loads(line)
    (example,) = read_examples(_file(tmp_path, "one.jsonl", line))
    assert example.words == obj["tokenized_text"] and example.spans == [tuple(e) for e in obj["ner"]]
    assert example.spans and example.id is None and example.extra == {}


def test_format_detection_and_override(tmp_path: Path) -> None:
    path = _file(tmp_path, "d.data", "EU B-ORG\n")
    with pytest.raises(InputError, match=r"cannot tell the format from the extension '\.data'"):
        read_examples(path)
    assert read_examples(path, format="conll") == [Example(["EU"], [(0, 0, "ORG")])]
    with pytest.raises(InputError, match="unknown format 'xml'"):
        read_examples(path, format="xml")
    with pytest.raises(InputError, match="unknown scheme 'bioes'"):
        read_examples(path, format="conll", scheme="bioes")
    # a .json file of JSON lines and a .jsonl file holding an array are both read by content
    line = '{"tokenized_text": ["a"], "ner": [[0, 0, "x"]]}'
    assert (
        read_examples(_file(tmp_path, "lines.json", line + "\n" + line))
        == [Example(["a"], [(0, 0, "x")])] * 2
    )
    assert (
        read_examples(_file(tmp_path, "array.jsonl", f"\n [{line},\n{line}]"))
        == [Example(["a"], [(0, 0, "x")])] * 2
    )


@pytest.mark.parametrize(
    ("name", "content"),
    [("e.jsonl", ""), ("e.jsonl", "\n  \n"), ("e.json", "[]"), ("e.conll", "-DOCSTART- O\n\n# comment\n\n")],
)
def test_empty_file_is_an_error_naming_the_file(tmp_path: Path, name: str, content: str) -> None:
    path = _file(tmp_path, name, content)
    with pytest.raises(InputError, match=r"e\.(jsonl|json|conll).*the file is empty"):
        read_examples(path)
    examples, issues = read_examples(path, strict=False)
    assert examples == [] and [(i.line, i.severity) for i in issues] == [(None, Severity.error)]


def test_missing_file_or_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.unknown: no such file"):
        read_examples(tmp_path / "nope.unknown", strict=False)
    with pytest.raises(InputError, match="is a folder"):
        read_examples(tmp_path)


def test_strict_lists_the_first_ten_errors_and_counts_the_rest(tmp_path: Path) -> None:
    good = '{"tokenized_text": ["a", "b"], "ner": [[0, 1, "x"]]}'
    bad = '{"tokenized_text": ["a", "b"], "ner": [[0, 2, "x"]]}'
    path = _file(tmp_path, "d.jsonl", "\n".join([good] + [bad] * 13))
    with pytest.raises(InputError) as info:
        read_examples(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 13 error(s)") and "strict=False" in message
    assert f'{path}:2: error: entity 0 [0, 2, "x"]: end 2 is past the last word' in message
    assert f"{path}:11:" in message and f"{path}:12:" not in message
    assert message.endswith("... and 3 more")
    examples, issues = read_examples(path, strict=False)
    assert examples == [Example(["a", "b"], [(0, 1, "x")])]
    assert [i.line for i in issues] == list(range(2, 15))


def test_strict_logs_warnings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _file(tmp_path, "d.conll", "EU O\nrejects I-ORG\n")
    with caplog.at_level(logging.WARNING, logger="anyner.data"):
        assert read_examples(path) == [Example(["EU", "rejects"], [(1, 1, "ORG")])]
    assert f"{path}:2: warning: I-ORG after O starts a new mention" in caplog.text


def test_writer_is_atomic_and_names_the_bad_example(tmp_path: Path) -> None:
    path = _file(tmp_path, "out.conll", "old\tO\n")
    nested = Example(["New", "York"], [(0, 1, "city"), (0, 0, "state")], "n1")
    with pytest.raises(InputError, match=r"cannot write example 1 \(id 'n1'\): span .* overlaps"):
        write_examples(path, [EXAMPLES[0], nested])
    assert path.read_text() == "old\tO\n" and sorted(p.name for p in tmp_path.iterdir()) == ["out.conll"]


@pytest.mark.parametrize(
    ("example", "fmt", "message"),
    [
        (Example(["a", "b"], [(0, 2, "x")]), "gliner", "end 2 is past the last word"),
        (Example(["a", ""], []), "char", "word 1 is empty"),
        (Example([], []), "gliner", "no words"),
        (Example(["a"], [(0, 0, "")]), "gliner", "label is empty"),
        (Example(["a\tb"], []), "conll", "has a tab"),
        (Example(["a"], [(0, 0, "x ")]), "conll", "outer whitespace"),
        (Example(["-DOCSTART-"], []), "conll", "document break"),
        (Example(["a", "b"], [(0, 0, "x"), (1, 1, "x")]), "conll-io", "IO would merge"),
        (Example(["a"], [], None, {"ner": 1}), "gliner", r"extra field\(s\) \['ner'\] clash"),
    ],
)
def test_writer_refuses_what_cannot_be_read_back(
    tmp_path: Path, example: Example, fmt: str, message: str
) -> None:
    fmt, _, scheme = fmt.partition("-")
    with pytest.raises(InputError, match=message):
        write_examples(tmp_path / "out.jsonl", [example], fmt, scheme=scheme or "iob2")
    assert not list(tmp_path.iterdir())


def test_writer_needs_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        write_examples(tmp_path / "missing" / "out.jsonl", EXAMPLES)
