"""Problems found while reading a data file, collected instead of raised.

Readers never stop at the first bad line: they report every problem with its line, drop only
the examples that have an error, and let the caller decide (strict: raise; lenient: go on).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import NamedTuple


class Severity(str, Enum):
    error = "error"  # the example it belongs to is not used
    warning = "warning"  # the example is used, read as the reason says


class Issue(NamedTuple):
    file: str
    line: int | None  # 1-based; None for the file as a whole
    reason: str
    severity: Severity

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.severity.value}: {self.reason}"


class IssueLog:
    """The issues of one file, in the order found."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[Issue] = []
        self.error_count = 0  # readers compare it before and after an example to see if it failed

    def error(self, line: int | None, reason: str) -> None:
        self.issues.append(Issue(self.file, line, reason, Severity.error))
        self.error_count += 1

    def warning(self, line: int | None, reason: str) -> None:
        self.issues.append(Issue(self.file, line, reason, Severity.warning))


def format_issues(issues: Sequence[Issue], limit: int = 10) -> str:
    """The first ``limit`` issues, one per line, and a count of the rest."""
    lines = [f"  {issue}" for issue in issues[:limit]]
    if len(issues) > limit:
        lines.append(f"  ... and {len(issues) - limit} more")
    return "\n".join(lines)
