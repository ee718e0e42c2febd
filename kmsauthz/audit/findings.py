"""What the audit reports: a finding is a value with a rule, a severity and a location."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """The categories IAM Access Analyzer's policy validation uses, worst first."""

    ERROR = "error"
    SECURITY = "security"
    WARNING = "warning"
    SUGGESTION = "suggestion"

    @property
    def rank(self) -> int:
        """0 for the worst (error); a larger number is milder."""
        return _RANK[self]

    def at_least(self, threshold: Severity) -> bool:
        """True when this severity is `threshold` or worse."""
        return self.rank <= threshold.rank


_RANK = {Severity.ERROR: 0, Severity.SECURITY: 1, Severity.WARNING: 2, Severity.SUGGESTION: 3}


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why a finding is not counted: the reason a team wrote and where they wrote it."""

    reason: str
    source: str
    """`inSource` for a comment in the audited file, `external` for a sidecar file."""
    location: str = ""
    """`file:line` of the comment or the sidecar entry."""


@dataclass(slots=True)
class Finding:
    """One finding (a plain, not frozen, dataclass: thousands are made per second in CI)."""

    rule: str
    severity: Severity
    title: str
    message: str
    file: str
    line: int = 0
    column: int = 0
    pointer: str = ""
    """RFC 6901 pointer of the node in the audited file (for a template: into the template)."""
    sid: str | None = None
    statement: int | None = None
    """0-based statement index in its policy, when the finding concerns one statement."""
    origin: str | None = None
    """Where the policy sits inside the file: `AWS::KMS::Key OrdersKey`, `aws_kms_key.orders`."""
    help: str | None = None
    suppressed: Suppression | None = field(default=None, compare=False)

    def with_suppression(self, suppression: Suppression) -> Finding:
        return replace(self, suppressed=suppression)

    def sort_key(self) -> tuple[Any, ...]:
        return (self.file, self.line, self.column, self.severity.rank, self.rule, self.message)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "pointer": self.pointer,
            "sid": self.sid,
            "statement": self.statement,
            "origin": self.origin,
        }
        if self.help:
            out["help"] = self.help
        if self.suppressed is not None:
            out["suppressed"] = {
                "reason": self.suppressed.reason,
                "kind": self.suppressed.source,
                "location": self.suppressed.location,
            }
        return out
