"""Suppressing a rule for one statement, with a reason that is kept in every report.

Two places, both documented in docs/audit.md:

- a comment in files that allow comments (`.kmsp`, CloudFormation YAML, scenario YAML), on the
  line above a statement or inside it::

      // kmsauthz-audit: ignore cross-account-access partner 444455556666 decrypts exports
      # kmsauthz-audit: ignore separation-of-duties,create-grant-unbounded break-glass role

  Before the first statement of a policy (at the top of a `.kmsp` file, or directly above the
  first statement), it also covers the policy-level findings (`key-unmanageable`, `missing-version`).
- a sidecar file `.kmsauthz-audit.yaml` in the audited file's folder or any parent folder, for
  JSON policies, JSON templates and Terraform plans (JSON has no comments, and any extra field in a
  statement would make the policy invalid for AWS)::

      ignore:
        - rule: cross-account-access
          file: policies/shared-key.json   # relative to the sidecar; glob patterns allowed
          sid: PartnerDecrypt              # or `statement: 2` (0-based), or `policy: true`;
                                           # `origin:` narrows to one template resource
          reason: partner 444455556666 decrypts exports (SEC-123)

A suppression without a reason, or naming a rule that does not exist, is itself a finding
(`invalid-suppression`, an error): a silent suppression would defeat the audit.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kmsauthz.audit.findings import Finding, Severity, Suppression
from kmsauthz.audit.inputs import maybe_link
from kmsauthz.audit.target import AuditTarget

SIDECAR = ".kmsauthz-audit.yaml"
_COMMENT = re.compile(r"(?://|#)\s*kmsauthz-audit:\s*ignore\b[ \t]*([^\s]*)[ \t]*(.*?)\s*(?:\*/)?$")
_COMMENT_FILES = (".kmsp", ".yaml", ".yml", ".template")


@dataclass(frozen=True, slots=True)
class _Rule:
    rules: frozenset[str]
    reason: str
    kind: str
    location: str
    file_glob: str | None = None
    base: Path | None = None
    sid: str | None = None
    statement: int | None = None
    origin: str | None = None
    policy_level: bool = False
    """For comments: also covers findings that concern no statement."""


@dataclass
class Suppressor:
    known_rules: frozenset[str]
    problems: list[Finding] = field(default_factory=list)
    _sidecars: dict[Path, list[_Rule]] = field(default_factory=dict)
    _comments: dict[str, list[tuple[_Rule, str | None, int | None]]] = field(default_factory=dict)
    _folders: dict[str, tuple[Path, tuple[Path, ...]]] = field(default_factory=dict)
    """File → (its resolved path, the folders whose sidecars apply: parents up to the checkout's root)."""
    _parent_folders: dict[str, tuple[Path, tuple[Path, ...]]] = field(default_factory=dict)
    """The same for a folder as written: (resolved, the folders from it up to the checkout's root)."""

    # -- reading ---------------------------------------------------------------------------------

    def _problem(self, file: str, line: int, message: str) -> None:
        self.problems.append(Finding(
            rule="invalid-suppression", severity=Severity.ERROR,
            title="a suppression without a reason or naming an unknown rule",
            message=message, file=file, line=line, column=1,
        ))

    def _check_rules(self, names: Iterable[str], file: str, line: int) -> frozenset[str] | None:
        rules = frozenset(n.strip() for n in names if n.strip())
        unknown = sorted(r for r in rules if r not in self.known_rules)
        if not rules:
            self._problem(file, line, "the suppression names no rule")
            return None
        if unknown:
            self._problem(file, line, f"the suppression names unknown rule `{unknown[0]}`")
            return None
        return rules

    def _sidecar(self, folder: Path) -> list[_Rule]:
        if folder in self._sidecars:
            return self._sidecars[folder]
        entries: list[_Rule] = []
        path = folder / SIDECAR
        if path.is_file():
            entries = self._read_sidecar(path)
        self._sidecars[folder] = entries
        return entries

    def _read_sidecar(self, path: Path) -> list[_Rule]:
        shown = str(path)
        try:
            data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            self._problem(shown, getattr(getattr(exc, "problem_mark", None), "line", -1) + 1,
                          f"cannot read the suppression file: {exc}")
            return []
        items = data.get("ignore") if isinstance(data, dict) else None
        if not isinstance(items, list):
            self._problem(shown, 1, "the suppression file needs a list `ignore:` of entries")
            return []
        out: list[_Rule] = []
        for i, item in enumerate(items):
            where = f"{shown} ignore[{i}]"
            if not isinstance(item, dict):
                self._problem(shown, 1, f"{where} must be a mapping")
                continue
            raw_rules = item.get("rule", item.get("rules", ""))
            names = raw_rules if isinstance(raw_rules, list) else str(raw_rules).split(",")
            rules = self._check_rules([str(n) for n in names], shown, 1)
            reason = str(item.get("reason") or "").strip()
            if rules is None:
                continue
            if not reason:
                self._problem(shown, 1, f"{where}: the suppression of `{', '.join(sorted(rules))}` "
                                        "needs a `reason`")
                continue
            sid = item.get("sid")
            statement = item.get("statement")
            policy_level = item.get("policy") is True
            if sid is None and statement is None and not policy_level:
                self._problem(shown, 1, f"{where}: name the statement with `sid` or `statement` "
                                        "(or `policy: true` for findings about the whole policy)")
                continue
            if statement is not None and (not isinstance(statement, int) or isinstance(statement, bool)):
                self._problem(shown, 1, f"{where}: `statement` must be a 0-based index")
                continue
            out.append(_Rule(rules, reason, "external", where, str(item.get("file") or "*"), path.parent,
                             None if sid is None else str(sid), statement,
                             None if item.get("origin") is None else str(item.get("origin")), policy_level))
        return out

    def read_comments(self, file: str, text: str, targets: Sequence[AuditTarget]) -> None:
        """Find `kmsauthz-audit: ignore` comments and tie each to the statement it precedes."""
        if not file.lower().endswith(_COMMENT_FILES) or "kmsauthz-audit" not in text:
            return
        lines = text.splitlines()
        starts: list[tuple[int, str | None, int | None]] = []  # (line, origin, statement index)
        firsts: list[tuple[int, str | None]] = []
        for t in targets:
            own = [(s.span.line, t.origin, i) for i, s in enumerate(t.policy.statements)
                   if s.span is not None and s.span.line and (s.span.source == file or s.span.source.startswith("<")
                                                               or not s.span.source)]
            starts.extend(own)
            if own:
                firsts.append((min(line for line, _, _ in own), t.origin))
        starts.sort(key=lambda x: x[0])
        found: list[tuple[_Rule, str | None, int | None]] = []
        for n, line_text in enumerate(lines, start=1):
            m = _COMMENT.search(line_text)
            if m is None:
                continue
            rules = self._check_rules(m.group(1).split(","), file, n)
            reason = m.group(2).strip()
            if rules is None:
                continue
            if not reason:
                self._problem(file, n, f"the suppression of `{', '.join(sorted(rules))}` needs a reason "
                                       "after the rule id")
                continue
            following = next(((ln, o, i) for ln, o, i in starts if ln > n), None)
            preceding = [(ln, o, i) for ln, o, i in starts if ln <= n]
            directly_above = following is not None and all(
                not lines[k - 1].strip() or _is_comment(lines[k - 1]) for k in range(n + 1, following[0])
            )
            chosen = following if directly_above else (preceding[-1] if preceding else following)
            if chosen is None:
                self._problem(file, n, "the suppression is not next to any statement")
                continue
            rule = _Rule(rules, reason, "inSource", f"{file}:{n}")
            found.append((rule, chosen[1], chosen[2]))
            if (not preceding) or (directly_above and (chosen[0], chosen[1]) in firsts):
                found.append((_Rule(rules, reason, "inSource", f"{file}:{n}", policy_level=True), chosen[1], None))
        self._comments[file] = found

    # -- applying --------------------------------------------------------------------------------

    def suppression_for(self, finding: Finding) -> Suppression | None:
        for rule, origin, statement in self._comments.get(finding.file, ()):
            if finding.rule not in rule.rules or origin != finding.origin:
                continue
            if (rule.policy_level and finding.statement is None) or (
                    not rule.policy_level and statement == finding.statement and statement is not None):
                return Suppression(rule.reason, rule.kind, rule.location)
        path, folders = self._sidecar_folders(finding.file)
        for folder in folders:
            for rule in self._sidecar(folder):
                if finding.rule not in rule.rules:
                    continue
                rel = path.relative_to(folder).as_posix()
                if rule.file_glob and not fnmatch.fnmatchcase(rel, rule.file_glob):
                    continue
                if rule.origin is not None and rule.origin != finding.origin:
                    continue
                if rule.policy_level and finding.statement is not None:
                    continue
                if rule.sid is not None and rule.sid != finding.sid:
                    continue
                if rule.statement is not None and rule.statement != finding.statement:
                    continue
                return Suppression(rule.reason, rule.kind, rule.location)
        return None

    def _sidecar_folders(self, file: str) -> tuple[Path, tuple[Path, ...]]:
        """Resolved once per file (not per finding): the path and its parents up to one holding `.git`.

        The folder part is resolved once per folder: a file that is not a symbolic link resolves to
        its resolved folder joined with its name.
        """
        found = self._folders.get(file)
        if found is None:
            given = Path(file)
            if maybe_link(given):
                path = given.resolve()
                found = (path, self._parents_of(path.parent))
            else:
                key = str(given.parent)
                parent = self._parent_folders.get(key)
                if parent is None:
                    resolved = given.parent.resolve()
                    parent = self._parent_folders[key] = (resolved, self._parents_of(resolved))
                found = (parent[0] / given.name, parent[1])
            self._folders[file] = found
        return found

    @staticmethod
    def _parents_of(folder: Path) -> tuple[Path, ...]:
        folders: list[Path] = []
        for f in (folder, *folder.parents):
            folders.append(f)
            if (f / ".git").exists():
                break
        return tuple(folders)

    def apply(self, findings: Iterable[Finding]) -> list[Finding]:
        out = []
        for f in findings:
            s = self.suppression_for(f) if f.rule != "invalid-suppression" else None
            out.append(f.with_suppression(s) if s is not None else f)
        return out


def _is_comment(line: str) -> bool:
    s = line.strip()
    return s.startswith(("//", "#", "/*", "*"))
