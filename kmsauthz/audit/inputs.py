"""Finding the policies to audit: policy files, scenario files, CloudFormation templates, Terraform plans.

Each file becomes a :class:`FileResult`: the policies found in it (as :class:`AuditTarget`), the
findings of the input stage (an invalid document is a finding with its location, not a crash),
and what could not be audited. Files that are none of these are skipped and counted.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kmsauthz.audit import cloudformation, terraform
from kmsauthz.audit.findings import Finding, Severity
from kmsauthz.audit.located import DocumentError, Node, parse_json, parse_yaml
from kmsauthz.audit.target import AuditTarget
from kmsauthz.errors import InputError, KmsauthzError, Problem
from kmsauthz.model.policy import Policy, PolicyKind
from kmsauthz.syntax import load_policy_document, load_policy_text

SUFFIXES = (".json", ".kmsp", ".yaml", ".yml", ".template")
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".terraform", "__pycache__", ".venv", "venv",
                       ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache"})


class UnreadableInput(KmsauthzError):
    """A path that does not exist or cannot be read: a usage problem (exit status 2)."""

    code = "input-error"


@dataclass
class FileResult:
    path: str
    kind: str
    """`policy`, `cloudformation`, `terraform`, `scenario`, `invalid` (unreadable as any of them), or `skipped`."""
    text: str = ""
    targets: list[AuditTarget] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    """Policies only known at deploy/apply time, by resource."""


def discover(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], int]:
    """The candidate files under ``paths`` (recursively, sorted) and the number of other files skipped."""
    files: list[Path] = []
    skipped = 0
    for raw in paths:
        p = Path(raw)
        if p.is_file():
            if p.name.lower().endswith(SUFFIXES):
                files.append(p)
            else:
                skipped += 1
        elif p.is_dir():
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                for name in sorted(names):
                    if name.lower().endswith(SUFFIXES) and not name.startswith("."):
                        files.append(Path(root) / name)
                    else:
                        skipped += 1
        else:
            raise UnreadableInput(f"`{p}` does not exist")
    seen: set[Path] = set()
    unique = []
    folders: dict[Path, Path] = {}
    for f in files:
        key = _resolved(f, folders)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, skipped


def _resolved(file: Path, folders: dict[Path, Path]) -> Path:
    """``file.resolve()``, resolving each folder once: a file that is no link is its resolved folder/name."""
    if maybe_link(file):
        return file.resolve()
    folder = folders.get(file.parent)
    if folder is None:
        folder = folders[file.parent] = file.parent.resolve()
    return folder / file.name


def maybe_link(path: Path) -> bool:
    """Whether ``path`` may resolve to anything but its resolved folder joined with its name.

    True for a symbolic link, a `.`/`..` name, and when the link check itself fails (then the
    caller resolves the whole path, which never raises, as it did before).
    """
    if path.name in ("", ".", ".."):
        return True
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return True


def _problem_findings(exc: InputError, file: str, *, rule: str = "invalid-policy", base_pointer: str = "",
                      origin: str | None = None, line: int = 0, column: int = 0,
                      display: dict[str, str] | None = None) -> list[Finding]:
    out = []
    for p in exc.problems:
        out.append(_problem_finding(p, file, rule=rule, base_pointer=base_pointer, origin=origin, line=line,
                                    column=column, display=display or {}))
    return out


# Problems of the syntax layer that an audit rule names more precisely (same message, own rule id).
_SPECIFIC = (("unknown condition operator", "invalid-operator", "a condition operator that does not exist"),)


def _problem_finding(p: Problem, file: str, *, rule: str, base_pointer: str, origin: str | None, line: int,
                     column: int, display: dict[str, str]) -> Finding:
    span = p.span
    title = ("the policy document is not valid" if rule == "invalid-policy"
             else "a template, plan or scenario file that cannot be read as one")
    for needle, specific, specific_title in _SPECIFIC:
        if rule == "invalid-policy" and needle in p.message:
            rule, title = specific, specific_title
    message = p.message.split("\n", 1)[0]  # the syntax layer appends its own source snippet; ours follows
    for placeholder, written in display.items():
        message = message.replace(placeholder, written)
    located = span if span is not None and span.line and not line else None
    return Finding(
        rule=rule,
        severity=Severity.ERROR,
        title=title,
        message=message,
        file=(located.source if located is not None and located.source and not located.source.startswith("<")
              else file),
        line=located.line if located is not None else line,
        column=located.column if located is not None else column,
        pointer=base_pointer + (span.pointer if span is not None else ""),
        origin=origin,
        help=p.help,
    )


def _input_finding(file: str, message: str, line: int = 0, column: int = 0) -> Finding:
    return Finding(rule="invalid-input", severity=Severity.ERROR,
                   title="a template, plan or scenario file that cannot be read as one",
                   message=message, file=file, line=line, column=column)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UnreadableInput(f"cannot read `{path}`: {exc.strerror or exc}") from None


def load_file(path: Path, *, account: str | None = None) -> FileResult:
    shown = str(path)
    raw = read_bytes(path)
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lower = shown.lower()
    if lower.endswith(".kmsp"):
        return _policy_file(shown, text, account, raw)
    if lower.endswith(".json"):
        return _json_file(path, shown, text, account, raw)
    return _yaml_file(path, shown, text, account)


def _policy_file(shown: str, text: str, account: str | None, raw: bytes | None = None) -> FileResult:
    """A policy file; the raw bytes go to the syntax layer, which reports invalid UTF-8 with its place."""
    result = FileResult(shown, "policy", text)
    try:
        policy = load_policy_text(raw if raw is not None else text, source=shown)
    except InputError as exc:
        result.findings.extend(_problem_findings(exc, shown))
        return result
    result.targets.append(AuditTarget(policy, shown, account=account if policy.kind is PolicyKind.KEY else None))
    return result


def _json_file(path: Path, shown: str, text: str, account: str | None, raw: bytes) -> FileResult:
    try:
        data = json.loads(text)
    except RecursionError:
        # deeper than Python's parser goes: the positional reader reports the nesting, located
        try:
            parse_json(text, shown)
        except InputError as exc:
            return FileResult(shown, "invalid", text, findings=_problem_findings(exc, shown, rule="invalid-input"))
        return FileResult(shown, "skipped", text)
    except ValueError:
        data = None
    if data is None:
        if '"Statement"' in text:
            return _policy_file(shown, text, account, raw)  # the syntax layer reports where it breaks
        if "AWSTemplateFormatVersion" in text or '"format_version"' in text:
            try:
                parse_json(text, shown)
            except InputError as exc:
                return FileResult(shown, "cloudformation", text,
                                  findings=_problem_findings(exc, shown, rule="invalid-input"))
        return FileResult(shown, "skipped", text)
    if terraform.is_plan(data):
        return _plan_file(shown, text, data, account)
    if isinstance(data, dict) and "Statement" in data:
        return _policy_file(shown, text, account, raw)
    if isinstance(data, dict) and ("Resources" in data or "AWSTemplateFormatVersion" in data):
        try:
            root = parse_json(text, shown)
        except InputError as exc:
            return FileResult(shown, "cloudformation", text,
                              findings=_problem_findings(exc, shown, rule="invalid-input"))
        if cloudformation.is_template(root):
            return _template(shown, text, root, account)
    if isinstance(data, dict) and _scenario_like(path):
        return _scenario_file(path, shown, text)
    return FileResult(shown, "skipped", text)


def _yaml_file(path: Path, shown: str, text: str, account: str | None) -> FileResult:
    try:
        root = parse_yaml(text)
    except DocumentError as exc:
        if "AWSTemplateFormatVersion" in text or "AWS::" in text:
            return FileResult(shown, "cloudformation", text,
                              findings=[_input_finding(shown, exc.message, exc.line, exc.column)])
        if _scenario_like(path):
            return _scenario_file(path, shown, text)
        return FileResult(shown, "skipped", text)
    if cloudformation.is_template(root):
        return _template(shown, text, root, account)
    if root.kind == "map" and _scenario_like(path):
        return _scenario_file(path, shown, text)
    return FileResult(shown, "skipped", text)


def _template(shown: str, text: str, root: Node, account: str | None) -> FileResult:
    result = FileResult(shown, "cloudformation", text)
    for emb in cloudformation.embedded_policies(root):
        if emb.unresolved:
            result.unresolved.append(emb.origin)
            continue
        locate = cloudformation.locate_for(shown, emb.spans)
        try:
            policy = load_policy_document(emb.document, kind=emb.kind, source=shown, name=emb.origin, locate=locate)
        except InputError as exc:
            result.findings.extend(_problem_findings(exc, shown, base_pointer=emb.base_pointer, origin=emb.origin,
                                                     display=emb.display))
            continue
        result.targets.append(cloudformation.target_for(shown, emb, policy))
    return result


def _plan_file(shown: str, text: str, data: dict[str, Any], account: str | None) -> FileResult:
    result = FileResult(shown, "terraform", text)
    scan = terraform.scan_plan(data, text)
    result.unresolved.extend(scan.unknown)
    for pp in scan.policies:
        if pp.kind is PolicyKind.IDENTITY:
            try:
                if not cloudformation.names_kms_actions(json.loads(pp.text)):
                    continue
            except ValueError:
                pass
        try:
            policy = load_policy_text(pp.text, kind=pp.kind, source=shown, name=pp.address, format="json")
        except InputError as exc:
            result.findings.extend(_problem_findings(exc, shown, base_pointer=pp.pointer, origin=pp.address,
                                                     line=pp.line, column=pp.column))
            continue
        result.targets.append(AuditTarget(
            policy, shown, origin=pp.address,
            account=(account or pp.account) if pp.kind is PolicyKind.KEY else pp.account,
            base_pointer=pp.pointer, fallback_line=pp.line, fallback_column=pp.column,
        ))
    return result


def _scenario_like(path: Path) -> bool:
    try:
        from kmsauthz.scenario.load import looks_like_scenario
    except ImportError:  # pragma: no cover - the scenario package is part of kmsauthz
        return False
    try:
        return bool(looks_like_scenario(path))
    except (KmsauthzError, OSError, ValueError):
        return False


def _scenario_file(path: Path, shown: str, text: str) -> FileResult:
    from kmsauthz.scenario import load_scenario

    result = FileResult(shown, "scenario", text)
    try:
        scenario = load_scenario(path)
    except InputError as exc:
        for p in exc.problems:
            rule = "invalid-policy" if p.code in ("policy-invalid", "policy-syntax", "policy-too-large") \
                else "invalid-input"
            result.findings.append(_problem_finding(p, shown, rule=rule, base_pointer="", origin=None, line=0,
                                                    column=0, display={}))
        return result
    world = scenario.world
    for i, key in enumerate(world.keys):
        result.targets.append(AuditTarget(
            key.policy, shown, origin=f"key {key.id} ({key.region})", account=key.account,
            base_pointer=f"/keys/{i}/policy" if _inline(key.policy, shown) else "",
            key_spec=key.key_spec, multi_region=key.multi_region,
        ))
    for i, principal in enumerate(world.principals):
        policies: list[tuple[Policy, str, str]] = [
            (p, p.name if principal.arn in p.name else f"{principal.arn} policy {p.name}",
             f"/principals/{i}/policies/{j}")
            for j, p in enumerate(principal.policies)
        ]
        if principal.permissions_boundary is not None:
            policies.append((principal.permissions_boundary, f"{principal.arn} permissions boundary",
                             f"/principals/{i}/permissions_boundary"))
        for policy, origin, pointer in policies:
            if not _names_kms(policy):
                continue
            result.targets.append(AuditTarget(
                policy, shown, origin=origin, account=principal.account,
                base_pointer=pointer if _inline(policy, shown) else "",
            ))
    return result


def _inline(policy: Policy, shown: str) -> bool:
    """Whether the policy was written inside the scenario file (its spans point into it)."""
    span = policy.span
    return span is None or span.source in (shown, "", "<string>") or span.source.startswith("<")


def _names_kms(policy: Policy) -> bool:
    from kmsauthz.audit import knowledge

    for st in policy.statements:
        if st.not_action is not None:
            return True
        if st.action is not None and any(knowledge.names_kms(a) for a in st.action.values):
            return True
    return False


def load_all(files: Iterable[Path], *, account: str | None = None) -> Iterator[FileResult]:
    for f in files:
        yield load_file(f, account=account)
