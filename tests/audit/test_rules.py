"""The subtle cases of each rule, beyond the documented trigger and fix (tests/audit/test_rule_docs.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kmsauthz.audit import AuditTarget, Finding, audit_policy
from kmsauthz.syntax import load_policy_text
from tests.audit.conftest import DELEGATION, key_policy

ROLE = {"AWS": "arn:aws:iam::111122223333:role/app"}
OTHER = {"AWS": "arn:aws:iam::444455556666:root"}


def st(principal: Any = None, action: Any = "kms:Decrypt", effect: str = "Allow", sid: str | None = None,
       condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect, "Action": action, "Resource": "*", **extra}
    if sid:
        out["Sid"] = sid
    if principal is not None:
        out["Principal"] = principal
    if condition:
        out["Condition"] = condition
    return out


def audit(doc: dict[str, Any], *, kind: str | None = None, account: str | None = None) -> list[Finding]:
    policy = load_policy_text(json.dumps(doc, indent=2), kind=kind, source="p.json")
    return audit_policy(AuditTarget(policy, "p.json", account=account))


def rules(doc: dict[str, Any], **kw: Any) -> list[str]:
    return [f.rule for f in audit(doc, **kw)]


class TestKeyUnmanageable:
    def test_unconditional_deny_of_put_key_policy_locks_the_key(self) -> None:
        found = audit(key_policy(st("*", "kms:PutKeyPolicy", "Deny", sid="NoChanges")))
        [f] = [f for f in found if f.rule == "key-unmanageable"]
        assert f.sid == "NoChanges" and "denies `kms:PutKeyPolicy`" in f.message

    def test_conditional_deny_leaves_a_way(self) -> None:
        doc = key_policy(st("*", "kms:PutKeyPolicy", "Deny",
                            condition={"StringNotEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/admin"}}))
        assert "key-unmanageable" not in rules(doc)

    def test_admin_role_with_put_star_is_enough(self) -> None:
        doc = key_policy(st({"AWS": "arn:aws:iam::111122223333:role/admin"}, ["kms:Put*", "kms:Describe*"]),
                         delegation=False)
        assert "key-unmanageable" not in rules(doc)

    def test_service_principal_alone_cannot_manage(self) -> None:
        doc = key_policy(st({"Service": "logs.us-east-1.amazonaws.com"}, "kms:*"), delegation=False)
        assert "key-unmanageable" in rules(doc)


class TestPublicAccess:
    def test_aws_star_mapping_is_public_too(self) -> None:
        assert "public-access" in rules(key_policy(st({"AWS": "*"})))

    def test_if_exists_does_not_bound(self) -> None:
        doc = key_policy(st("*", condition={"StringEqualsIfExists": {"kms:CallerAccount": "111122223333"}}))
        assert "public-access" in rules(doc)

    def test_organization_bound_is_enough(self) -> None:
        doc = key_policy(st("*", condition={"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}))
        assert "public-access" not in rules(doc)

    def test_perimeter_deny_bounds_it(self) -> None:
        doc = key_policy(st("*", "kms:Decrypt"),
                         st("*", "kms:*", "Deny", condition={"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}))
        assert "public-access" not in rules(doc)

    def test_via_service_alone_does_not_bound(self) -> None:
        doc = key_policy(st("*", condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}))
        assert "public-access" in rules(doc)


class TestCrossAccount:
    def test_star_bounded_to_another_account_by_caller_account(self) -> None:
        doc = key_policy(st({"AWS": "*"}, condition={"StringEquals": {"kms:CallerAccount": "444455556666"}}))
        [f] = [f for f in audit(doc) if f.rule == "cross-account-access"]
        assert f.message.startswith("account 444455556666 (any principal of the account) can call kms:Decrypt")

    def test_organization_wide_access_is_listed(self) -> None:
        doc = key_policy(st("*", condition={"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}))
        assert any("organization o-a1b2c3d4e5" in f.message for f in audit(doc) if f.rule == "cross-account-access")

    def test_named_role_of_another_account_is_listed_by_name(self) -> None:
        doc = key_policy(st({"AWS": "arn:aws:iam::444455556666:role/etl"}, ["kms:Decrypt", "kms:DescribeKey"]))
        [f] = [f for f in audit(doc) if f.rule == "cross-account-access"]
        assert "`arn:aws:iam::444455556666:role/etl`" in f.message and "kms:DescribeKey" in f.message

    def test_owner_is_inferred_from_who_administers_the_key(self) -> None:
        doc = {"Version": "2012-10-17", "Statement": [
            dict(DELEGATION, Principal={"AWS": "arn:aws:iam::444455556666:root"}), st(ROLE)]}
        [f] = [f for f in audit(doc) if f.rule == "cross-account-access"]
        assert f.message.startswith("account 111122223333")

    def test_given_account_overrides_inference(self) -> None:
        assert "cross-account-access" in rules(key_policy(st(ROLE)), account="999988887777")

    def test_only_impossible_operations_go_to_cross_account_impossible(self) -> None:
        found = rules(key_policy(st(OTHER, ["kms:Put*", "kms:TagResource"])))
        assert found.count("cross-account-impossible") == 2 and "cross-account-access" not in found

    def test_kms_star_to_another_account_is_not_impossible(self) -> None:
        assert "cross-account-impossible" not in rules(key_policy(st(OTHER, "kms:*")))


class TestSeparationOfDuties:
    def test_roles_are_combined_across_statements(self) -> None:
        doc = key_policy(st(ROLE, ["kms:Encrypt", "kms:Decrypt"], sid="Use"),
                         st(ROLE, ["kms:ScheduleKeyDeletion"], sid="Delete"))
        [f] = [f for f in audit(doc) if f.rule == "separation-of-duties"]
        assert f.sid == "Delete" and "kms:ScheduleKeyDeletion" in f.message

    def test_the_account_root_is_not_a_person(self) -> None:
        assert "separation-of-duties" not in rules(key_policy())


class TestCreateGrant:
    def test_grant_operations_limit_is_enough(self) -> None:
        doc = key_policy(st(ROLE, "kms:CreateGrant", condition={
            "ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt"]},
            "Null": {"kms:GrantOperations": "false"}}))
        assert "create-grant-unbounded" not in rules(doc)

    def test_external_account_root_is_reported(self) -> None:
        assert "create-grant-unbounded" in rules(key_policy(st(OTHER, "kms:CreateGrant")))

    def test_console_admin_create_star_is_not_reported(self) -> None:
        assert "create-grant-unbounded" not in rules(key_policy(st(ROLE, ["kms:Create*", "kms:Describe*"])))


class TestNetworkDeny:
    def test_source_ip_deny_breaks_services_too(self) -> None:
        doc = key_policy(st("*", "kms:Decrypt", "Deny", condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
        assert "vpce-deny-without-service-exemption" in rules(doc)

    def test_via_service_null_exemption(self) -> None:
        doc = key_policy(st("*", "kms:Decrypt", "Deny", condition={
            "StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d5e6f70809"}, "Null": {"kms:ViaService": "true"}}))
        assert "vpce-deny-without-service-exemption" not in rules(doc)

    def test_admin_only_deny_does_not_touch_services(self) -> None:
        doc = key_policy(st("*", "kms:PutKeyPolicy", "Deny",
                            condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d5e6f70809"}}))
        assert "vpce-deny-without-service-exemption" not in rules(doc)


class TestConditions:
    def test_key_supported_by_one_action_of_the_statement_is_fine(self) -> None:
        doc = key_policy(st(ROLE, ["kms:DescribeKey", "kms:Decrypt"],
                            condition={"StringEquals": {"kms:EncryptionContext:Dept": "x"}}))
        assert "condition-key-not-for-action" not in rules(doc)

    def test_not_action_statements_are_not_checked_for_key_support(self) -> None:
        doc = key_policy({"Effect": "Deny", "Principal": ROLE, "NotAction": "kms:Decrypt", "Resource": "*",
                          "Condition": {"StringEquals": {"kms:EncryptionContext:Dept": "x"}}})
        assert "condition-key-not-for-action" not in rules(doc)

    def test_encryption_context_pair_guards_for_all_values(self) -> None:
        doc = key_policy(st(ROLE, condition={"StringEquals": {"kms:EncryptionContext:Dept": "x"},
                                             "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Dept"]}}))
        assert "forallvalues-empty-set" not in rules(doc)

    def test_for_all_values_in_a_deny_is_not_a_widening(self) -> None:
        doc = key_policy(st(ROLE, effect="Deny", condition={
            "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Dept"], "kms:CallerAccount": ["1"]}}))
        found = rules(doc)
        assert "forallvalues-empty-set" not in found and "forallvalues-single-valued" not in found

    def test_negated_in_deny_or_on_always_present_keys_is_not_reported(self) -> None:
        doc = key_policy(st(ROLE, effect="Deny", condition={"StringNotEquals": {"kms:ViaService": "x"}}),
                         st(ROLE, condition={"StringNotEquals": {"kms:CallerAccount": "444455556666"}}))
        assert "negated-without-ifexists" not in rules(doc)

    def test_type_mismatch_and_bad_values(self) -> None:
        doc = key_policy(st(ROLE, condition={"DateGreaterThan": {"kms:ViaService": "2026-01-01"},
                                             "IpAddress": {"aws:SourceIp": "300.1.1.1"},
                                             "Bool": {"aws:SecureTransport": ["true", "false"]}}))
        found = rules(doc)
        assert "operator-type-mismatch" in found and found.count("invalid-condition-value") == 2

    def test_null_with_qualifier_is_invalid(self) -> None:
        doc = key_policy(st(ROLE, condition={"ForAnyValue:Null": {"kms:EncryptionContextKeys": "false"}}))
        assert "invalid-operator" in rules(doc)

    def test_unknown_key_has_a_suggestion(self) -> None:
        [f] = [f for f in audit(key_policy(st(ROLE, condition={"StringEquals": {"kms:CallerAcount": "1"}})))
               if f.rule == "unknown-condition-key"]
        assert "did you mean `kms:CallerAccount`" in f.message


class TestRedundancyAndDeadStatements:
    def test_a_wider_unconditioned_statement_covers_a_narrower_conditioned_one(self) -> None:
        doc = key_policy(st(ROLE, ["kms:Decrypt", "kms:Encrypt"], sid="Wide"),
                         st(ROLE, "kms:Decrypt", sid="Narrow", condition={"StringEquals": {"kms:CallerAccount": "1"}}))
        [f] = [f for f in audit(doc) if f.rule == "redundant-statement"]
        assert f.sid == "Narrow" and "covered by statement `Wide`" in f.message

    def test_a_condition_on_the_wider_statement_means_no_cover(self) -> None:
        doc = key_policy(st(ROLE, ["kms:Decrypt", "kms:Encrypt"], condition={"StringEquals": {"kms:CallerAccount": "1"}}),
                         st(ROLE, "kms:Decrypt"))
        assert "redundant-statement" not in rules(doc)

    def test_a_role_is_not_covered_by_its_account_root(self) -> None:
        assert "redundant-statement" not in rules(key_policy(st(ROLE, "kms:Decrypt")))

    def test_null_true_and_a_value_can_never_both_hold(self) -> None:
        doc = key_policy(st(ROLE, condition={"Null": {"kms:ViaService": "true"},
                                             "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}))
        assert "statement-never-applies" in rules(doc)

    def test_alias_arn_resource_in_a_key_policy(self) -> None:
        doc = key_policy(dict(st(ROLE), Resource="arn:aws:kms:us-east-1:111122223333:alias/orders"))
        assert "statement-never-applies" in rules(doc)

    def test_list_star_is_not_reported_as_iam_only(self) -> None:
        assert "key-policy-cannot-control" not in rules(key_policy(st(ROLE, "kms:List*")))


class TestIdentityPolicies:
    def test_key_policy_rules_do_not_run_on_identity_policies(self) -> None:
        doc = {"Version": "2012-10-17", "Statement": [st(None, "kms:*")]}
        found = rules(doc)
        assert "key-unmanageable" not in found and "iam-crypto-on-any-key" in found

    @pytest.mark.parametrize(("resource", "reported"), [
        ("arn:aws:kms:*:*:key/*", True),
        ("arn:aws:kms:us-east-1:111122223333:key/*", False),
    ])
    def test_any_account_key_patterns(self, resource: str, reported: bool) -> None:
        doc = {"Version": "2012-10-17", "Statement": [dict(st(None), Resource=resource)]}
        assert ("iam-crypto-on-any-key" in rules(doc)) is reported

    def test_resource_account_condition_bounds_it(self) -> None:
        doc = {"Version": "2012-10-17", "Statement": [
            st(None, condition={"StringEquals": {"aws:ResourceAccount": "111122223333"}})]}
        assert "iam-crypto-on-any-key" not in rules(doc)


def test_retire_grant_in_a_key_policy_is_ineffective_with_its_own_reason() -> None:
    [f] = [f for f in audit(key_policy(st(ROLE, "kms:RetireGrant"))) if f.rule == "key-policy-cannot-control"]
    assert "not effective in a key policy" in f.message and "IAM policy" not in f.message
