"""The command and its outputs: text, JSON, SARIF 2.1.0, exit statuses, --fail-on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from kmsauthz.audit import RULES, AuditTarget, Severity, audit_paths, audit_policy
from kmsauthz.audit.rules import _registry
from kmsauthz.cli.main import cli
from kmsauthz.syntax import load_policy_text
from tests.audit.conftest import ROOT, key_policy

PUBLIC = {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
DUP = {"Sid": "Twice", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"},
       "Action": ["kms:Get*", "kms:GetKeyPolicy"], "Resource": "*"}


def _line(path: Path, needle: str) -> int:
    return next(n for n, text in enumerate(path.read_text().splitlines(), start=1) if needle in text)


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["audit", *args], catch_exceptions=False)


@pytest.fixture
def risky(tmp_path: Path) -> Path:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key_policy(PUBLIC, DUP), indent=2))
    return path


def test_readme_command_on_fixtures_exits_0_and_reads_well() -> None:
    result = _run(str(ROOT / "fixtures"))
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("audited ") and " 0 errors, " in last
    assert "fixtures/cloudformation/orders-key.yaml" not in result.output  # clean files are not listed


def test_fixtures_default_key_policy_is_clean_of_errors_and_security_findings() -> None:
    for name in ("key-default.json", "key-default.kmsp"):
        report = audit_paths([ROOT / "fixtures" / "policies" / name])
        assert report.policies == 1
        assert not [f for f in report.active if f.severity in (Severity.ERROR, Severity.SECURITY)]


def test_fixture_templates_and_plans_have_no_error_findings() -> None:
    report = audit_paths([ROOT / "fixtures" / "cloudformation", ROOT / "fixtures" / "terraform"])
    assert report.kinds["cloudformation"] == 2 and report.kinds["terraform"] == 1
    assert not [f for f in report.active if f.severity is Severity.ERROR]


def test_text_report_groups_by_file_with_source_line_and_caret(risky: Path) -> None:
    result = _run(str(risky), "--no-color")
    lines = result.output.splitlines()
    assert lines[0] == str(risky)
    i = next(n for n, line in enumerate(lines) if "[public-access, statement `Open`]" in line)
    assert lines[i].split()[0] == "security"
    src, caret = lines[i + 1], lines[i + 2]
    assert '"Principal": "*"' in src
    assert caret.index("^") == src.index('"*"')
    assert "\x1b[" not in result.output  # no colour when piped
    assert result.exit_code == 0  # security is below the default --fail-on error


def test_colour_on_request(risky: Path) -> None:
    assert "\x1b[" in _run(str(risky), "--color").output


@pytest.mark.parametrize(("fail_on", "code"), [("error", 0), ("security", 1), ("warning", 1), ("suggestion", 1)])
def test_fail_on_sets_the_threshold(risky: Path, fail_on: str, code: int) -> None:
    assert _run(str(risky), "--fail-on", fail_on).exit_code == code


def test_fail_on_counts_only_that_severity_and_worse(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key_policy(DUP)))  # a suggestion only
    assert _run(str(path), "--fail-on", "warning").exit_code == 0
    assert _run(str(path), "--fail-on", "suggestion").exit_code == 1


def test_error_findings_fail_by_default(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key_policy(PUBLIC, delegation=False)))
    result = _run(str(path))
    assert result.exit_code == 1 and "[key-unmanageable]" in result.output


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert _run(str(tmp_path / "missing.json")).exit_code == 2
    assert _run(str(tmp_path), "--fail-on", "fatal").exit_code == 2
    assert _run(str(tmp_path), "--rule", "no-such-rule").exit_code == 2
    assert _run(str(tmp_path), "--account", "12").exit_code == 2
    assert _run().exit_code == 2


def test_json_output(risky: Path) -> None:
    result = _run(str(risky), "--format", "json")
    data = json.loads(result.output)
    assert data["summary"]["security"] == 1 and data["summary"]["suggestion"] == 1
    for f in data["findings"]:
        assert {"rule", "severity", "title", "message", "file", "line", "column", "pointer", "sid"} <= set(f)
    public = next(f for f in data["findings"] if f["rule"] == "public-access")
    assert public["sid"] == "Open" and public["pointer"] == "/Statement/1/Principal"
    assert public["file"] == str(risky) and public["line"] == _line(risky, '"Principal": "*"')


def test_output_file_and_rule_selection(risky: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = _run(str(risky), "--format", "json", "--rule", "redundant-action", "-o", str(out))
    assert result.exit_code == 0 and result.output == ""
    assert [f["rule"] for f in json.loads(out.read_text())["findings"]] == ["redundant-action"]


# The properties SARIF 2.1.0 requires (OASIS SARIF 2.1.0 §3.13-§3.27 and the official schema's
# `required` lists), plus the ones GitHub code scanning reads to place a result on a line.
SARIF_SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["tool", "results"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name", "rules"],
                    "properties": {"name": {"type": "string"}, "rules": {"type": "array", "items": {
                        "type": "object", "required": ["id", "shortDescription", "defaultConfiguration"],
                        "properties": {
                            "id": {"type": "string"},
                            "shortDescription": {"type": "object", "required": ["text"]},
                            "fullDescription": {"type": "object", "required": ["text"]},
                            "help": {"type": "object", "required": ["text"]},
                            "defaultConfiguration": {"type": "object", "properties": {
                                "level": {"enum": ["none", "note", "warning", "error"]}}},
                        }}}}}}},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["message", "ruleId", "level", "locations"],
                    "properties": {
                        "message": {"type": "object", "required": ["text"]},
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "ruleIndex": {"type": "integer", "minimum": 0},
                        "locations": {"type": "array", "items": {"type": "object", "properties": {
                            "physicalLocation": {"type": "object", "required": ["artifactLocation"],
                                                 "properties": {
                                "artifactLocation": {"type": "object", "required": ["uri"]},
                                "region": {"type": "object", "required": ["startLine"], "properties": {
                                    "startLine": {"type": "integer", "minimum": 1},
                                    "startColumn": {"type": "integer", "minimum": 1}}}}}}}},
                        "suppressions": {"type": "array", "items": {"type": "object", "required": ["kind"],
                                         "properties": {"kind": {"enum": ["inSource", "external"]}}}},
                    }}},
            }}},
    },
}


# SARIF objects allow no other properties (the schema's additionalProperties: false); these are the
# property names of §3.14 run, §3.19 toolComponent, §3.49 reportingDescriptor and §3.27 result we use.
SARIF_NAMES = {
    "run": {"tool", "results", "originalUriBaseIds", "columnKind", "invocations", "artifacts", "properties"},
    "driver": {"name", "version", "semanticVersion", "informationUri", "rules", "properties"},
    "rule": {"id", "name", "shortDescription", "fullDescription", "help", "helpUri", "defaultConfiguration",
             "properties"},
    "result": {"ruleId", "ruleIndex", "level", "message", "locations", "partialFingerprints", "properties",
               "suppressions"},
}


def test_sarif_has_the_required_shape_and_rule_metadata(risky: Path) -> None:
    result = _run(str(risky), "--format", "sarif")
    log = json.loads(result.output)
    jsonschema.validate(log, SARIF_SHAPE)
    assert set(log) <= {"$schema", "version", "runs"}
    run0 = log["runs"][0]
    assert set(run0) <= SARIF_NAMES["run"] and set(run0["tool"]["driver"]) <= SARIF_NAMES["driver"]
    assert all(set(r) <= SARIF_NAMES["rule"] for r in run0["tool"]["driver"]["rules"])
    assert all(set(r) <= SARIF_NAMES["result"] for r in run0["results"])
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    assert all(r["help"]["text"].startswith(f"# `{r['id']}`") for r in rules)
    public = next(r for r in run["results"] if r["ruleId"] == "public-access")
    assert rules[public["ruleIndex"]]["id"] == "public-access"
    assert public["level"] == "error" and rules[public["ruleIndex"]]["properties"]["security-severity"]
    region = public["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": _line(risky, '"Principal": "*"'), "startColumn": 20}
    note = next(r for r in run["results"] if r["ruleId"] == "redundant-action")
    assert note["level"] == "note"


def test_a_failing_rule_is_an_internal_error_finding_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(facts: object) -> list[object]:
        raise RuntimeError("boom")

    rule = RULES["redundant-action"]
    monkeypatch.setitem(_registry.RULES, "redundant-action",
                        _registry.Rule(rule.id, rule.severity, rule.title, rule.kinds, broken))
    policy = load_policy_text(json.dumps(key_policy(PUBLIC)), source="k.json")
    findings = audit_policy(AuditTarget(policy, "k.json"))
    rules = [f.rule for f in findings]
    assert "internal-error" in rules and "public-access" in rules  # the other rules still ran
    err = next(f for f in findings if f.rule == "internal-error")
    assert err.severity is Severity.ERROR and "redundant-action" in err.message and "boom" in err.message


def test_account_option_sets_the_owner_of_standalone_key_policies(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key_policy()))
    plain = json.loads(_run(str(path), "--format", "json").output)
    assert plain["findings"] == []
    other = json.loads(_run(str(path), "--format", "json", "--account", "999988887777").output)
    by_rule = {f["rule"]: f for f in other["findings"]}
    assert set(by_rule) == {"cross-account-access", "create-grant-unbounded"}  # the root is now external
    assert by_rule["cross-account-access"]["message"].startswith("account 111122223333")


def test_json_lists_policies_known_only_at_deploy_time(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n"
                    "      KeyPolicy: !ImportValue shared-policy\n")
    data = json.loads(_run(str(path), "--format", "json").output)
    assert data["unresolved"] == [{"file": str(path), "resource": "AWS::KMS::Key K"}]
    assert "only known at deploy time" in _run(str(path)).output
