"""A data file's summary and issues, for ``anyner validate-data FILE`` and for a look before
training: how much there is, which labels, and what is wrong where."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .formats import DataFormat, PathArg, read_examples
from .issues import Issue, Severity, format_issues
from .tags import TagScheme


@dataclass(frozen=True)
class DataSummary:
    file: str
    examples: int  # usable ones: those with an error are not counted
    words: int
    mentions: int
    labels: dict[str, int]  # mentions per label, most frequent first
    issues: list[Issue]

    @property
    def errors(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity is Severity.error]

    @property
    def warnings(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity is Severity.warning]

    @property
    def ok(self) -> bool:
        """No errors: the file reads in strict mode (warnings allowed)."""
        return not self.errors

    def report(self, limit: int = 10) -> str:
        """A few lines for people: counts, the labels, and the first ``limit`` errors and warnings."""
        lines = [
            f"{self.file}: {self.examples} examples, {self.words} words, "
            f"{self.mentions} mentions of {len(self.labels)} labels",
            "labels: " + (", ".join(f"{label} ({n})" for label, n in self.labels.items()) or "none"),
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)",
        ]
        lines += [format_issues(group, limit) for group in (self.errors, self.warnings) if group]
        return "\n".join(lines)


def validate(
    path: PathArg,
    format: DataFormat | str = DataFormat.auto,
    *,
    scheme: TagScheme | str = TagScheme.iob2,
    tag_column: int = -1,
) -> DataSummary:
    """Read ``path`` leniently and summarise it. Raises InputError only when it cannot be read at
    all (a missing file, an unknown format); problems inside it are in ``issues``."""
    examples, issues = read_examples(path, format, strict=False, scheme=scheme, tag_column=tag_column)
    labels = Counter(label for example in examples for _, _, label in example.spans)
    return DataSummary(
        file=str(path),
        examples=len(examples),
        words=sum(len(example.words) for example in examples),
        mentions=sum(labels.values()),
        labels=dict(labels.most_common()),
        issues=issues,
    )
