"""Suppressing a rule for one statement, with a reason: comments, sidecar files, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

from kmsauthz.audit import audit_paths
from kmsauthz.audit.report import report_dict
from kmsauthz.audit.sarif import sarif_log
from tests.audit.conftest import key_policy

PUBLIC = {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
KMSP = '''version "2012-10-17"

allow "Enable IAM User Permissions" {
  principal aws "arn:aws:iam::111122223333:root"
  action kms:*
  resource *
}

%s
allow "Public decrypt" {
  principal *
  action kms:Decrypt
  resource *
}
'''


def test_kmsp_comment_suppresses_the_statement_below(tmp_path: Path) -> None:
    path = tmp_path / "key.kmsp"
    path.write_text(KMSP % "// kmsauthz-audit: ignore public-access sandbox key, no data (SEC-42)")
    report = audit_paths([path])
    assert report.active == []
    [f] = report.suppressed
    assert f.rule == "public-access" and f.suppressed is not None
    assert f.suppressed.reason == "sandbox key, no data (SEC-42)"
    assert f.suppressed.source == "inSource" and f.suppressed.location == f"{path}:9"
    assert not report.failed(__import__("kmsauthz.audit", fromlist=["Severity"]).Severity.SUGGESTION)


def test_comment_for_another_rule_suppresses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "key.kmsp"
    path.write_text(KMSP % "// kmsauthz-audit: ignore cross-account-access not this one")
    report = audit_paths([path])
    assert [f.rule for f in report.active] == ["public-access"]


def test_comment_without_reason_is_an_error_and_suppresses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "key.kmsp"
    path.write_text(KMSP % "// kmsauthz-audit: ignore public-access")
    report = audit_paths([path])
    assert sorted(f.rule for f in report.active) == ["invalid-suppression", "public-access"]
    bad = next(f for f in report.active if f.rule == "invalid-suppression")
    assert bad.line == 9 and "needs a reason" in bad.message


def test_comment_naming_unknown_rule_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "key.kmsp"
    path.write_text(KMSP % "// kmsauthz-audit: ignore public-acess typo")
    report = audit_paths([path])
    bad = next(f for f in report.active if f.rule == "invalid-suppression")
    assert "unknown rule `public-acess`" in bad.message


def test_yaml_comment_in_a_template(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy:\n"
        '        Version: "2012-10-17"\n        Statement:\n'
        "          - Sid: Root\n            Effect: Allow\n"
        "            Principal: {AWS: !Sub 'arn:aws:iam::${AWS::AccountId}:root'}\n"
        "            Action: kms:*\n            Resource: '*'\n"
        "          # kmsauthz-audit: ignore public-access,redundant-statement public test fixture\n"
        "          - Sid: Open\n            Effect: Allow\n            Principal: '*'\n"
        "            Action: kms:Decrypt\n            Resource: '*'\n")
    report = audit_paths([path])
    assert report.active == []
    assert [f.rule for f in report.suppressed] == ["public-access"]


def test_sidecar_suppresses_by_sid_for_json(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "key.json").write_text(json.dumps(key_policy(PUBLIC), indent=2))
    (tmp_path / ".kmsauthz-audit.yaml").write_text(
        "ignore:\n  - rule: public-access\n    file: policies/*.json\n    sid: Open\n"
        "    reason: sandbox key (SEC-42)\n")
    report = audit_paths([tmp_path / "policies"])
    assert report.active == []
    [f] = report.suppressed
    assert f.suppressed is not None and f.suppressed.source == "external"
    assert report_dict(report)["findings"][0]["suppressed"]["reason"] == "sandbox key (SEC-42)"
    [result] = sarif_log(report)["runs"][0]["results"]
    assert result["suppressions"] == [{"kind": "external", "justification": "sandbox key (SEC-42)"}]


def test_sidecar_by_statement_index_and_not_other_statements(tmp_path: Path) -> None:
    doc = key_policy(PUBLIC, dict(PUBLIC, Sid="Open2", Action="kms:Encrypt"))
    (tmp_path / "key.json").write_text(json.dumps(doc))
    (tmp_path / ".kmsauthz-audit.yaml").write_text(
        "ignore:\n  - rule: public-access\n    statement: 1\n    reason: reviewed\n")
    report = audit_paths([tmp_path])
    assert [(f.rule, f.sid) for f in report.active] == [("public-access", "Open2")]
    assert [(f.rule, f.sid) for f in report.suppressed] == [("public-access", "Open")]


def test_sidecar_entry_without_reason_or_statement_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "key.json").write_text(json.dumps(key_policy(PUBLIC)))
    (tmp_path / ".kmsauthz-audit.yaml").write_text(
        "ignore:\n  - rule: public-access\n    sid: Open\n  - rule: public-access\n    reason: everything\n")
    report = audit_paths([tmp_path])
    rules = sorted(f.rule for f in report.active)
    assert rules == ["invalid-suppression", "invalid-suppression", "public-access"]


def test_yaml_comment_in_a_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(
        "keys:\n  - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n    account: '111122223333'\n    policy:\n"
        "      Version: '2012-10-17'\n      Statement:\n"
        "        - Sid: Root\n          Effect: Allow\n"
        "          Principal: {AWS: 'arn:aws:iam::111122223333:root'}\n          Action: kms:*\n"
        "          Resource: '*'\n"
        "        # kmsauthz-audit: ignore cross-account-access partner reads exports (SEC-9)\n"
        "        - Sid: Partner\n          Effect: Allow\n"
        "          Principal: {AWS: 'arn:aws:iam::444455556666:root'}\n          Action: kms:Decrypt\n"
        "          Resource: '*'\n"
        "cases: []\n")
    report = audit_paths([path])
    assert report.active == []
    assert [(f.rule, f.sid) for f in report.suppressed] == [("cross-account-access", "Partner")]


def test_sidecar_origin_narrows_to_one_template_resource(tmp_path: Path) -> None:
    import json as _json

    open_policy = {"Version": "2012-10-17", "Statement": [PUBLIC]}
    template = {"Resources": {name: {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": open_policy}}
                              for name in ("KeyA", "KeyB")}}
    (tmp_path / "stack.json").write_text(_json.dumps(template, indent=2))
    (tmp_path / ".kmsauthz-audit.yaml").write_text(
        "ignore:\n  - rules: [public-access, key-unmanageable]\n    file: stack.json\n    statement: 0\n"
        "    origin: AWS::KMS::Key KeyA\n    reason: test stack\n")
    report = audit_paths([tmp_path])
    assert {f.origin for f in report.active if f.rule == "public-access"} == {"AWS::KMS::Key KeyB"}
    assert {f.origin for f in report.suppressed} == {"AWS::KMS::Key KeyA"}
    assert {f.origin for f in report.active if f.rule == "key-unmanageable"} == {"AWS::KMS::Key KeyA",
                                                                                 "AWS::KMS::Key KeyB"}


def test_sidecar_policy_level_entry(tmp_path: Path) -> None:
    (tmp_path / "key.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [PUBLIC]}))
    (tmp_path / ".kmsauthz-audit.yaml").write_text(
        "ignore:\n  - rule: key-unmanageable\n    policy: true\n    reason: throwaway test key\n")
    report = audit_paths([tmp_path])
    assert [f.rule for f in report.active] == ["public-access"]
    assert [f.rule for f in report.suppressed] == ["key-unmanageable"]


def test_top_of_file_comment_covers_policy_level_findings(tmp_path: Path) -> None:
    path = tmp_path / "key.kmsp"
    path.write_text('// kmsauthz-audit: ignore key-unmanageable,public-access throwaway sandbox key\n'
                    'version "2012-10-17"\n\nallow "Public decrypt" {\n  principal *\n'
                    '  action kms:Decrypt\n  resource *\n}\n')
    report = audit_paths([path])
    assert report.active == []
    assert sorted(f.rule for f in report.suppressed) == ["key-unmanageable", "public-access"]
