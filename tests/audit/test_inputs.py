"""Finding policies where teams keep them: policy files, templates, plans, scenarios, folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmsauthz.audit import UnreadableInput, audit_paths
from kmsauthz.audit.inputs import discover, load_file
from tests.audit.conftest import DATA, ROOT, key_policy, rules_of

RISKY = DATA / "cloudformation" / "risky-key.yaml"


def _line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return n
    raise AssertionError(needle)


class TestCloudFormationYaml:
    def test_finds_key_policies_and_kms_iam_policies_only(self) -> None:
        result = load_file(RISKY)
        origins = [t.origin for t in result.targets]
        assert origins == ["AWS::KMS::Key RiskyKey", "AWS::KMS::Key JsonStringKey",
                           "AWS::IAM::ManagedPolicy Reader"]
        assert result.unresolved == ["AWS::KMS::Key UnknownPolicyKey"]
        assert result.findings == []

    def test_short_form_intrinsics_resolve(self) -> None:
        key = load_file(RISKY).targets[0]
        sts = key.policy.statements
        assert sts[0].principal.values_of("AWS") == ("arn:aws:iam::000000000000:root",)  # type: ignore[union-attr]
        assert sts[1].principal.values_of("AWS") == ("arn:aws:iam::000000000000:role/AdminRole",)  # type: ignore[union-attr]
        assert [s.sid for s in sts] == ["Enable IAM User Permissions", "AdminAlsoDecrypts", "PartnerDecrypt",
                                        "DenyOutsideEndpoint", "ImportedPrincipal"]
        vpce = sts[3].condition.clauses[0]  # type: ignore[union-attr]
        assert vpce.values == ("vpce-0a1b2c3d4e5f60718",)  # from Fn::FindInMap

    def test_findings_point_at_template_lines_and_pointers(self) -> None:
        report = audit_paths([RISKY])
        by_rule = {f.rule: f for f in report.active}
        sod = by_rule["separation-of-duties"]
        assert sod.line == _line_of(RISKY, "AWS: !GetAtt AdminRole.Arn")
        assert sod.pointer == "/Resources/RiskyKey/Properties/KeyPolicy/Statement/1/Principal"
        assert sod.origin == "AWS::KMS::Key RiskyKey"
        assert "!GetAtt AdminRole.Arn" in sod.message  # placeholders are printed as written
        vpce = by_rule["vpce-deny-without-service-exemption"]
        assert vpce.line == _line_of(RISKY, "aws:SourceVpce: !FindInMap")

    def test_deploy_time_accounts_are_other_accounts_shown_as_written(self) -> None:
        report = audit_paths([RISKY])
        cross = [f for f in report.active if f.rule == "cross-account-access"]
        assert {f.sid for f in cross} == {"PartnerDecrypt", "ImportedPrincipal"}
        assert any("${PartnerAccount}" in f.message for f in cross)
        assert any("«ImportValue shared-ops-role-arn»" in f.message for f in cross)

    def test_key_policy_given_as_json_string(self) -> None:
        report = audit_paths([RISKY])
        public = [f for f in report.active if f.rule == "public-access"]
        assert [f.origin for f in public] == ["AWS::KMS::Key JsonStringKey"]
        assert public[0].line == _line_of(RISKY, "KeyPolicy: '{")

    def test_iam_policy_rules_run_on_template_iam_policies(self) -> None:
        report = audit_paths([RISKY])
        iam = [f for f in report.active if f.rule == "iam-crypto-on-any-key"]
        assert [f.origin for f in iam] == ["AWS::IAM::ManagedPolicy Reader"]

    def test_broken_yaml_template_is_a_finding_with_its_line(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.yaml"
        path.write_text('AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  K:\n    Type: [unclosed\n')
        report = audit_paths([path])
        assert [(f.rule, f.line > 0) for f in report.active] == [("invalid-input", True)]

    def test_invalid_embedded_policy_is_an_invalid_policy_finding(self, tmp_path: Path) -> None:
        path = tmp_path / "t.yaml"
        path.write_text(
            "Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy:\n"
            "        Statement:\n          - Effect: allow\n            Principal: '*'\n"
            "            Action: kms:Decrypt\n            Resource: '*'\n")
        report = audit_paths([path])
        bad = [f for f in report.active if f.rule == "invalid-policy"]
        assert bad and bad[0].line == 7
        assert bad[0].pointer.startswith("/Resources/K/Properties/KeyPolicy/Statement/0")


def test_cloudformation_json_template_with_long_form_intrinsics() -> None:
    path = ROOT / "fixtures" / "cloudformation" / "logs-key.json"
    [target] = load_file(path).targets
    service = target.policy.statements[1].principal.values_of("Service")  # type: ignore[union-attr]
    assert service == ("logs.zz-deploy-1.amazonaws.com",)
    clause = target.policy.statements[1].condition.clauses[0]  # type: ignore[union-attr]
    assert clause.values == ("arn:aws:logs:zz-deploy-1:000000000000:log-group:«Ref LogGroupName»",)
    assert clause.span is not None and clause.span.line == _line_of(path, '"kms:EncryptionContext:aws:logs:arn"')


class TestTerraform:
    PLAN = ROOT / "fixtures" / "terraform" / "payments.tfplan.json"

    def test_policies_held_as_json_strings_are_audited(self) -> None:
        result = load_file(self.PLAN)
        assert result.kind == "terraform"
        assert [t.origin for t in result.targets] == [
            "aws_kms_key.payments", "aws_kms_key_policy.backup", "aws_iam_policy.payments_service",
            "aws_iam_role_policy.describe_key"]
        assert all(t.account == "111122223333" for t in result.targets[:2])  # from aws_caller_identity

    def test_findings_point_at_the_resource_in_the_plan(self, tmp_path: Path) -> None:
        policy = key_policy({"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt",
                             "Resource": "*"})
        plan = {"format_version": "1.2", "planned_values": {"root_module": {"child_modules": [{"resources": [
            {"address": "module.kms.aws_kms_key.this", "type": "aws_kms_key", "name": "this",
             "values": {"policy": json.dumps(policy)}}]}]}}}
        path = tmp_path / "plan.json"
        path.write_text(json.dumps(plan, indent=1))
        report = audit_paths([path])
        [f] = [f for f in report.active if f.rule == "public-access"]
        assert f.origin == "module.kms.aws_kms_key.this"
        assert f.line == _line_of(path, '"address": "module.kms.aws_kms_key.this"')
        assert f.pointer == ("/planned_values/root_module/child_modules/0/resources/0/values/policy"
                             "/Statement/1/Principal")

    def test_unknown_policy_is_counted_not_audited(self, tmp_path: Path) -> None:
        plan = {"format_version": "1.2",
                "planned_values": {"root_module": {"resources": [
                    {"address": "aws_kms_key.k", "type": "aws_kms_key", "name": "k", "values": {}}]}},
                "resource_changes": [{"address": "aws_kms_key.k", "type": "aws_kms_key",
                                      "change": {"after_unknown": {"policy": True}}}]}
        path = tmp_path / "plan.json"
        path.write_text(json.dumps(plan))
        report = audit_paths([path])
        assert report.unresolved == [(str(path), "aws_kms_key.k")] and report.policies == 0

    def test_invalid_policy_string_is_a_finding(self, tmp_path: Path) -> None:
        plan = {"format_version": "1.2", "planned_values": {"root_module": {"resources": [
            {"address": "aws_kms_key.k", "type": "aws_kms_key", "name": "k", "values": {"policy": "{not json"}}]}}}
        path = tmp_path / "plan.json"
        path.write_text(json.dumps(plan))
        report = audit_paths([path])
        assert [(f.rule, f.origin, f.line) for f in report.active] == [("invalid-policy", "aws_kms_key.k", 1)]


def test_scenario_files_audit_every_key_and_iam_policy(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(
        "keys:\n"
        "  - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n"
        '    account: "111122223333"\n'
        "    policy:\n"
        '      Version: "2012-10-17"\n'
        "      Statement:\n"
        "        - Sid: Partner\n"
        "          Effect: Allow\n"
        '          Principal: {AWS: "arn:aws:iam::444455556666:root"}\n'
        "          Action: kms:Decrypt\n"
        '          Resource: "*"\n'
        "principals:\n"
        "  - arn: arn:aws:iam::111122223333:role/app\n"
        "    policies:\n"
        '      - Version: "2012-10-17"\n'
        "        Statement:\n"
        "          - Effect: Allow\n"
        "            Action: kms:Decrypt\n"
        '            Resource: "*"\n'
        "cases: []\n")
    report = audit_paths([path])
    assert report.kinds["scenario"] == 1 and report.policies == 2
    found = {(f.rule, f.line) for f in report.active}
    assert ("key-unmanageable", 5) in found
    assert ("cross-account-access", 9) in found
    assert any(r == "iam-crypto-on-any-key" for r, _ in found)


def test_invalid_json_policy_is_a_finding_with_location(audit_doc) -> None:  # type: ignore[no-untyped-def]
    report = audit_doc('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",}]}')
    [f] = report.active
    assert f.rule == "invalid-policy" and f.line == 1 and f.column > 1


def test_folders_are_searched_and_other_files_skipped_quietly(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "policy.json").write_text("{}")
    (tmp_path / "sub" / "deeper" / "key.json").write_text(json.dumps(key_policy()))
    (tmp_path / "README.md").write_text("# hello")
    (tmp_path / "package.json").write_text('{"name": "x"}')
    (tmp_path / "notes.yaml").write_text("a: [1, 2]\n")
    report = audit_paths([tmp_path])
    assert report.policies == 1 and report.files == 1
    assert report.skipped == 3  # README.md, package.json, notes.yaml
    files, skipped = discover([tmp_path])
    assert [f.name for f in files] == ["notes.yaml", "package.json", "key.json"] and skipped == 1


def test_missing_path_is_unreadable_input(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInput, match="does not exist"):
        audit_paths([tmp_path / "nope.json"])


def test_kmsp_file_is_audited_with_its_own_positions() -> None:
    report = audit_paths([ROOT / "fixtures" / "policies" / "key-cross-account.kmsp"])
    [first, *_] = [f for f in report.active if f.rule == "cross-account-access"]
    assert first.file.endswith("key-cross-account.kmsp") and first.line > 1


def test_same_policy_reached_twice_is_reported_once(tmp_path: Path) -> None:
    policy = tmp_path / "key.json"
    policy.write_text(json.dumps(key_policy({"Sid": "Open", "Effect": "Allow", "Principal": "*",
                                             "Action": "kms:Decrypt", "Resource": "*"})))
    report = audit_paths([policy, tmp_path])
    assert [f.rule for f in report.active].count("public-access") == 1
    assert rules_of(report) == {"public-access"}


def test_invalid_utf8_policy_is_reported_by_the_syntax_layer(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_bytes(b'{"Version": "2012-10-17", "Statement": [{"Sid": "caf\xe9"}]}')
    report = audit_paths([path])
    assert [f.rule for f in report.active] == ["invalid-policy"]
    assert "utf-8" in report.active[0].message.lower()


def test_kmsp_syntax_error_is_one_line_finding_at_its_place(tmp_path: Path) -> None:
    path = tmp_path / "bad.kmsp"
    path.write_text('version "2012-10-17"\nallow "x" {\n  principal *\n  action kms:Decrypt\n  resourc *\n}\n')
    [f] = audit_paths([path]).active
    assert (f.rule, f.line, f.column) == ("invalid-policy", 5, 3)
    assert "\n" not in f.message and "`resourc`" in f.message
