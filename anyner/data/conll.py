"""CoNLL/BIO column files: one token per line, the token first and the tag in a chosen column
(the last by default), sentences separated by blank lines.

Columns are split on whitespace, except that a line with a tab is split on tabs only: the writer
uses tabs, so labels such as ``geopolitical entity`` (and tokens with spaces) survive a round
trip. ``-DOCSTART-`` lines are skipped and end a sentence. A line starting with ``#`` before a
sentence's first token is a comment, unless its tag column holds a tag (``O``, ``B-…``, ``I-…``):
then it is a token such as a hashtag, which tweets often start with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .example import Example
from .files import decoded_lines
from .issues import IssueLog
from .tags import TagScheme, decode_tags, encode_tags, parse_tag

DOCSTART = "-DOCSTART-"
_TAG_SHAPE = re.compile(r"O|[BI]-.+")


@dataclass
class _Sentence:
    words: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the line of each word, for warnings
    broken: bool = False  # a line had an error: the sentence is not used


def read_conll(
    path: Path, log: IssueLog, *, scheme: TagScheme = TagScheme.iob2, tag_column: int = -1
) -> list[Example]:
    if tag_column == 0:
        raise InputError("tag_column 0 is the token column; give the tag's column (e.g. -1 for the last)")
    examples: list[Example] = []
    sentence = _Sentence()
    for number, line in decoded_lines(path, log):
        if line is None:  # not UTF-8, already reported
            sentence.broken = True
            continue
        columns = _columns(line)
        if not columns or columns[0] == DOCSTART:
            examples.extend(_finish(sentence, scheme, log))
            sentence = _Sentence()
            continue
        index = _tag_index(columns, tag_column)
        tag = None if index is None else columns[index]
        if not sentence.words and columns[0].startswith("#") and not (tag and _TAG_SHAPE.fullmatch(tag)):
            continue  # a comment
        if tag is None:
            log.error(
                number,
                f"{len(columns)} column(s): a token line needs the token first and the tag in "
                f"column {tag_column}; check the line, or pass the tag's column as tag_column",
            )
            sentence.broken = True
            continue
        try:
            parse_tag(tag, scheme)
        except ValueError as exc:
            log.error(number, str(exc))
            sentence.broken = True
            continue
        sentence.words.append(columns[0])
        sentence.tags.append(tag)
        sentence.lines.append(number)
    examples.extend(_finish(sentence, scheme, log))
    return examples


def _columns(line: str) -> list[str]:
    line = line.strip()
    if "\t" in line:
        return [column.strip() for column in line.split("\t")]
    return line.split()


def _tag_index(columns: list[str], tag_column: int) -> int | None:
    index = tag_column if tag_column >= 0 else len(columns) + tag_column
    return index if 1 <= index < len(columns) else None


def _finish(sentence: _Sentence, scheme: TagScheme, log: IssueLog) -> list[Example]:
    if sentence.broken or not sentence.words:
        return []
    spans, warnings = decode_tags(sentence.tags, scheme)
    for index, reason in warnings:
        log.warning(sentence.lines[index], reason)
    return [Example(sentence.words, spans)]


def to_block(example: Example, scheme: TagScheme) -> str:
    """One sentence as ``token<TAB>tag`` lines and a blank line. Raises ValueError for what the
    reader would not give back: overlapping spans, and tokens or labels it would split or skip."""
    for kind, text in [("word", w) for w in example.words] + [("label", s[2]) for s in example.spans]:
        if text != text.strip() or "\t" in text or "\n" in text:
            raise ValueError(f"{kind} {text!r} has a tab, a line break or outer whitespace; write JSONL")
    if DOCSTART in example.words:
        raise ValueError(f"the word {DOCSTART} would be read back as a document break; write JSONL")
    tags = encode_tags(len(example.words), example.spans, scheme)
    return "".join(f"{word}\t{tag}\n" for word, tag in zip(example.words, tags, strict=True)) + "\n"
