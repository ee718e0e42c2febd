"""Audit files end to end: discover, load, run the rules, apply suppressions, summarize."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kmsauthz.audit.findings import Finding, Severity
from kmsauthz.audit.inputs import FileResult, discover, load_file
from kmsauthz.audit.rules import RULES, audit_target
from kmsauthz.audit.suppress import Suppressor
from kmsauthz.audit.target import AuditTarget


@dataclass
class AuditReport:
    findings: list[Finding] = field(default_factory=list)
    """Every finding, suppressed ones included (each with its `suppressed` reason), sorted by place."""
    files: int = 0
    """Files audited (holding at least one policy, or an input finding)."""
    policies: int = 0
    skipped: int = 0
    """Files that are none of the inputs the audit reads."""
    unresolved: list[tuple[str, str]] = field(default_factory=list)
    """(file, resource) whose policy is only known at deploy or apply time."""
    kinds: Counter[str] = field(default_factory=Counter)
    sources: dict[str, str] = field(default_factory=dict, repr=False)
    """File → text, for the source lines the text report prints."""

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed is None]

    @property
    def suppressed(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed is not None]

    def counts(self) -> dict[str, int]:
        c = Counter(f.severity.value for f in self.active)
        return {s.value: c.get(s.value, 0) for s in Severity}

    def failed(self, fail_on: Severity) -> bool:
        return any(f.severity.at_least(fail_on) for f in self.active)


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for f in findings:
        key = (f.rule, f.file, f.line, f.column, f.pointer, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def audit_results(results: Iterable[FileResult], *, select: frozenset[str] | None = None,
                  on_file: Callable[[FileResult], None] | None = None) -> AuditReport:
    report = AuditReport()
    suppressor = Suppressor(frozenset(RULES))
    raw: list[Finding] = []
    for result in results:
        if on_file is not None:
            on_file(result)
        if result.kind == "skipped":
            report.skipped += 1
            continue
        report.kinds[result.kind] += 1
        report.files += 1
        report.sources[result.path] = result.text
        report.policies += len(result.targets)
        report.unresolved.extend((result.path, r) for r in result.unresolved)
        raw.extend(result.findings)
        for target in result.targets:
            raw.extend(audit_target(target, select=select))
        suppressor.read_comments(result.path, result.text, result.targets)
    findings = suppressor.apply(_dedupe(raw)) + suppressor.problems
    report.findings = sorted(findings, key=Finding.sort_key)
    return report


def audit_paths(paths: Iterable[str | os.PathLike[str]], *, account: str | None = None,
                select: frozenset[str] | None = None,
                on_file: Callable[[FileResult], None] | None = None) -> AuditReport:
    """Audit every policy found under ``paths``; raise UnreadableInput for a missing or unreadable path."""
    files, skipped = discover(paths)
    report = audit_results((load_file(f, account=account) for f in files), select=select, on_file=on_file)
    report.skipped += skipped
    return report


def audit_policy(target: AuditTarget) -> list[Finding]:
    """The findings for one already-loaded policy (no suppressions)."""
    return sorted(audit_target(target), key=Finding.sort_key)
