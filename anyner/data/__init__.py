"""Training and evaluation data: one record type, readers and writers for GLiNER JSON/JSONL,
CoNLL/BIO columns and character-offset JSONL, and validation that reports every problem by
file and line instead of dropping data."""

from .example import Example, Span
from .formats import DataFormat, read_examples, write_examples
from .issues import Issue, Severity
from .tags import TagScheme, decode_tags, encode_tags
from .validate import DataSummary, validate

__all__ = [
    "DataFormat",
    "DataSummary",
    "Example",
    "Issue",
    "Severity",
    "Span",
    "TagScheme",
    "decode_tags",
    "encode_tags",
    "read_examples",
    "validate",
    "write_examples",
]
