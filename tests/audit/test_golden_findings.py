"""The audit's findings on a seeded corpus of ~300 policies, recorded before the rules were optimized.

Every finding (rule, place, message, help) must stay exactly as recorded, in the same order; see
`tests/audit/golden_corpus.py` for how the file was made and when to re-record it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kmsauthz.audit.engine import audit_results
from kmsauthz.audit.inputs import FileResult
from kmsauthz.audit.rules import RULES
from tests.audit.golden_corpus import findings_of

GOLDEN = Path(__file__).resolve().parent / "data" / "golden_findings.json"


@pytest.fixture(scope="module")
def golden() -> list[dict[str, Any]]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_corpus_reaches_every_rule(golden: list[dict[str, Any]]) -> None:
    hit = {f[0] for item in golden for f in item["findings"]}
    assert hit == {r.id for r in RULES.values() if r.check is not None}


def test_findings_unchanged(golden: list[dict[str, Any]]) -> None:
    changed = []
    for i, item in enumerate(golden):
        got = findings_of(item["kind"], json.dumps(item["document"], indent=2), i)
        if got != item["findings"]:
            changed.append((i, got, item["findings"]))
    assert not changed, f"{len(changed)} policies changed findings; first: {changed[0]}"


def test_severity_title_file_follow_the_rule(golden: list[dict[str, Any]]) -> None:
    from kmsauthz.audit.rules import audit_target
    from kmsauthz.audit.target import AuditTarget
    from kmsauthz.syntax import load_policy_text

    for i, item in enumerate(golden[:60]):
        policy = load_policy_text(json.dumps(item["document"], indent=2), kind=item["kind"], source=f"g/{i}.json")
        for f in audit_target(AuditTarget(policy, f"g/{i}.json")):
            assert (f.severity, f.title, f.file, f.origin) == (RULES[f.rule].severity, RULES[f.rule].title,
                                                               f"g/{i}.json", None)


def test_engine_streams_the_same_findings(golden: list[dict[str, Any]], tmp_path: Path) -> None:
    """The CLI's path (files → audit_results) reports the recorded findings, sorted by place."""
    from kmsauthz.audit.inputs import load_file

    paths = []
    for i, item in enumerate(golden[:80]):
        if item["kind"] != "key":
            continue
        path = tmp_path / f"{i:03d}.json"
        path.write_text(json.dumps(item["document"], indent=2), encoding="utf-8")
        paths.append((i, path))
    results: list[FileResult] = [load_file(p) for _, p in paths]
    report = audit_results(results)
    got = sorted((Path(f.file).name, f.line, f.column, f.rule, f.message) for f in report.findings)
    want = sorted((f"{i:03d}.json", f[1], f[2], f[0], f[6]) for i, p in paths for f in golden[i]["findings"])
    assert got == want
