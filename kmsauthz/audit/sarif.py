"""SARIF 2.1.0 output, the format GitHub code scanning (and most CI) shows on the right line.

Spec: https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html. Security findings become
level `error` with a `security-severity` property (GitHub's convention for security alerts);
suppressed findings keep their result with a `suppressions` entry, as §3.35 intends.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from kmsauthz import __version__
from kmsauthz.audit.engine import AuditReport
from kmsauthz.audit.findings import Finding, Severity
from kmsauthz.audit.jsontext import dumps_indented
from kmsauthz.audit.rules import RULES, Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {Severity.ERROR: "error", Severity.SECURITY: "error", Severity.WARNING: "warning",
         Severity.SUGGESTION: "note"}
SECURITY_SEVERITY = {Severity.ERROR: "8.0", Severity.SECURITY: "7.0", Severity.WARNING: "4.0",
                     Severity.SUGGESTION: "1.0"}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules"


def _camel(rule_id: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", rule_id))


def _doc(rule: Rule) -> str | None:
    path = DOCS / f"{rule.id}.md"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    doc = _doc(rule)
    out: dict[str, Any] = {
        "id": rule.id,
        "name": _camel(rule.id),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": _first_paragraph(doc) if doc else rule.title},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "tags": ["security", "kms"] if rule.severity is Severity.SECURITY else ["kms", rule.severity.value],
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "kmsauthz-severity": rule.severity.value,
        },
    }
    if doc:
        out["help"] = {"text": doc, "markdown": doc}
    return out


def _first_paragraph(doc: str) -> str:
    for block in doc.split("\n\n"):
        block = block.strip()
        if block and not block.startswith(("#", "|", "```")):
            return " ".join(block.split())
    return doc.strip().splitlines()[0].lstrip("# ")


def _uri(file: str, base: Path) -> str:
    p = Path(file)
    try:
        rel = p.resolve().relative_to(base)
        return rel.as_posix()
    except ValueError:
        return p.resolve().as_uri()


def _result(f: Finding, index: dict[str, int], base: Path, uris: dict[str, str]) -> dict[str, Any]:
    uri = uris.get(f.file)
    if uri is None:
        uri = uris[f.file] = _uri(f.file, base)  # once per file: it resolves the path
    artifact = {"uri": uri} if uri.startswith("file:") else {"uri": uri, "uriBaseId": "%SRCROOT%"}
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if f.line > 0:
        physical["region"] = {"startLine": f.line, "startColumn": max(f.column, 1)}
    location: dict[str, Any] = {"physicalLocation": physical}
    if f.origin or f.pointer:
        location["logicalLocations"] = [{
            "name": f.origin or f.pointer,
            "fullyQualifiedName": f"{f.origin or ''}{f.pointer}",
            "kind": "resource" if f.origin else "object",
        }]
    digest = hashlib.sha256(f"{f.rule}|{uri}|{f.origin}|{f.pointer}|{f.message}".encode()).hexdigest()
    out: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        "level": LEVEL[f.severity],
        "message": {"text": f.message + (f" (help: {f.help})" if f.help else "")},
        "locations": [location],
        "partialFingerprints": {"kmsauthzFinding/v1": digest[:32]},
        "properties": {"severity": f.severity.value, "pointer": f.pointer, "sid": f.sid},
    }
    if f.suppressed is not None:
        out["suppressions"] = [{"kind": f.suppressed.source, "justification": f.suppressed.reason}]
    return out


def sarif_log(report: AuditReport, *, base: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    root = Path(base or os.getcwd()).resolve()
    rules = list(RULES.values())
    index = {r.id: i for i, r in enumerate(rules)}
    uris: dict[str, str] = {}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kmsauthz",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [rule_descriptor(r) for r in rules],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri() + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": [_result(f, index, root, uris) for f in report.findings],
        }],
    }


def report_sarif(report: AuditReport, *, base: str | os.PathLike[str] | None = None) -> str:
    return dumps_indented(sarif_log(report, base=base)) + "\n"
