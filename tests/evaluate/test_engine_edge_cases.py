"""The condition and variable edge cases of semantics.md §12.3 and §12.4, through the whole engine."""

from __future__ import annotations

from typing import Any

import pytest

from kmsauthz.evaluate import Authorizer
from kmsauthz.model import Organization, PolicyKind, Request, World

from .engine_worlds import ALICE, APP, APP_SESSION, DELEGATE, K1, A, B, key, policy, principal

HIRO = f"arn:aws:iam::{A}:user/hiro"


def one(condition: dict[str, Any] | None, *, caller: str = ALICE, effect: str = "Allow",
        actions: Any = "*", **kw: Any) -> World:
    stmt: dict[str, Any] = {"Sid": "S", "Effect": effect, "Principal": {"AWS": "*"}, "Action": actions, "Resource": "*"}
    if condition:
        stmt["Condition"] = condition
    statements = [stmt] if effect == "Allow" else [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}, stmt]
    return World(keys=[key(K1, statements=statements, **kw)])


def outcome(world: World, caller: str = ALICE, action: str = "kms:Decrypt", key_ref: str | None = K1, **kw: Any) -> str:
    return Authorizer(world).decide(Request(principal=caller, action=action, key=key_ref, **kw)).outcome


@pytest.mark.parametrize(("ec", "expected"), [
    ({"AppName": "ExampleApp", "Project": "Alpha"}, "Allow"),   # E26
    (None, "ImplicitDeny"),                                      # E27
    ({"appname": "ExampleApp"}, "Allow"),                        # E28: key part is case-insensitive
    ({"AppName": "exampleapp"}, "ImplicitDeny"),                 # E28: value is not
])
def test_encryption_context_pairs(ec: dict[str, str] | None, expected: str) -> None:
    w = one({"StringEquals": {"kms:EncryptionContext:AppName": "ExampleApp"}}, actions="kms:GenerateDataKey")
    assert outcome(w, action="kms:GenerateDataKey", encryption_context=ec) == expected


def test_encryption_context_keys_set_operators() -> None:  # E29, E30, E31
    all_of = one({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["AppName"]}})
    any_of = one({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "AppName"}})
    some = one({"Null": {"kms:EncryptionContextKeys": "false"}})
    assert outcome(all_of) == "Allow"
    assert outcome(any_of) == "ImplicitDeny"
    assert outcome(some) == "ImplicitDeny"
    assert outcome(some, encryption_context={"x": "y"}) == "Allow"


def test_several_values_of_one_deny_key() -> None:  # E32
    w = one({"StringEquals": {"kms:EncryptionContext:Stage": ["Restricted", "Production"]}}, effect="Deny",
            actions="kms:GenerateDataKey")
    assert outcome(w, action="kms:GenerateDataKey", encryption_context={"Stage": "Test"}) == "Allow"
    assert outcome(w, action="kms:GenerateDataKey", encryption_context={"Stage": "Production"}) == "ExplicitDeny"


def test_context_conditions_on_an_action_without_context() -> None:  # E34
    w = one({"StringEquals": {"kms:EncryptionContext:k": "v"}}, actions=["kms:Decrypt", "kms:DescribeKey"])
    assert outcome(w, action="kms:DescribeKey", encryption_context={"k": "v"}) == "ImplicitDeny"


def test_resource_aliases_in_iam() -> None:  # E36, E37
    any_alias = [{"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": f"arn:aws:kms:*:{A}:key/*",
                  "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/finance-key"}}}]
    all_alias = [{"Effect": "Allow", "Action": "kms:EnableKey", "Resource": "*",
                  "Condition": {"ForAllValues:StringLike": {"kms:ResourceAliases": "alias/*Test*"}}}]
    with_alias = World(keys=[key(K1, aliases=("alias/finance-key",))], principals=[principal(ALICE, any_alias)])
    without = World(keys=[key(K1)], principals=[principal(ALICE, any_alias + all_alias)])
    assert outcome(with_alias, action="kms:GenerateDataKey") == "Allow"
    assert outcome(without, action="kms:GenerateDataKey") == "ImplicitDeny"
    assert outcome(without, action="kms:EnableKey") == "Allow"


def test_bypass_policy_lockout_flag() -> None:  # E39
    w = one({"Null": {"kms:BypassPolicyLockoutSafetyCheck": "true"}}, actions="kms:PutKeyPolicy")
    assert outcome(w, action="kms:PutKeyPolicy") == "Allow"
    assert outcome(w, action="kms:PutKeyPolicy", parameters={"BypassPolicyLockoutSafetyCheck": True}) == "ImplicitDeny"


def test_message_type_default() -> None:  # E40
    w = one({"StringEquals": {"kms:MessageType": "RAW"}}, actions="kms:Sign", key_spec="ECC_NIST_P256")
    assert outcome(w, action="kms:Sign") == "Allow"
    assert outcome(w, action="kms:Sign", parameters={"MessageType": "DIGEST"}) == "ImplicitDeny"


def test_rcp_style_deny_for_a_caller_in_no_organization() -> None:  # E42
    w = one({"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-1"}, "Bool": {"aws:PrincipalIsAWSService": "false"}},
            effect="Deny")
    assert outcome(w) == "ExplicitDeny"
    w.organization = Organization(id="o-1", accounts=(A,))
    assert outcome(w) == "Allow"


def test_multi_region_key_type_of_a_single_region_key() -> None:  # E43
    assert outcome(one({"StringEquals": {"kms:MultiRegionKeyType": "REPLICA"}})) == "ImplicitDeny"


def test_via_service_conditions() -> None:  # E44, E45
    deny = one({"StringNotEquals": {"kms:ViaService": "ec2.us-west-2.amazonaws.com"}}, effect="Deny")
    assert outcome(deny) == "ExplicitDeny"
    assert outcome(deny, via_service="ec2.us-west-2.amazonaws.com") == "Allow"
    allow = one({"StringEquals": {"kms:ViaService": ["ec2.us-west-2.amazonaws.com", "rds.us-west-2.amazonaws.com"]}},
                actions="kms:Encrypt")
    assert outcome(allow, action="kms:Encrypt") == "ImplicitDeny"
    assert outcome(allow, action="kms:Encrypt", via_service="ec2.us-west-2.amazonaws.com") == "Allow"
    assert outcome(allow, action="kms:Encrypt", via_service="lambda.us-west-2.amazonaws.com") == "ImplicitDeny"


def test_negated_operator_over_several_values() -> None:  # E48
    w = one({"StringNotEquals": {"aws:PrincipalAccount": [A, B]}}, effect="Deny")
    assert outcome(w) == "Allow"
    assert outcome(w, caller="arn:aws:iam::999999999999:role/x", key_ref=f"arn:aws:kms:us-east-1:{A}:key/{K1}") \
        == "ExplicitDeny"


def test_valid_to_in_unix_seconds() -> None:  # E52
    w = one({"NumericLessThanEquals": {"kms:ValidTo": "1546257599.0"}}, actions="kms:ImportKeyMaterial")
    assert outcome(w, action="kms:ImportKeyMaterial", parameters={"ValidTo": "2018-12-31T11:59:59Z"}) == "Allow"
    assert outcome(w, action="kms:ImportKeyMaterial", parameters={"ValidTo": "2018-12-31T23:59:59Z"}) == "ImplicitDeny"


def test_current_time() -> None:  # E53
    assert outcome(one({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:01Z"}})) == "Allow"


def _owner_world(version: str) -> World:
    stmt = {"Effect": "Allow", "Principal": {"AWS": [HIRO, APP]}, "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:EncryptionContext:user": "${aws:username}"}}}
    w = World(keys=[key(K1, statements=[])])
    w.keys[0].policy = policy([stmt], PolicyKind.KEY, version=version)
    return w


def test_username_variable() -> None:  # E54, E55, E56
    assert outcome(_owner_world("2012-10-17"), HIRO, encryption_context={"user": "hiro"}) == "Allow"
    assert outcome(_owner_world("2012-10-17"), HIRO, encryption_context={"user": "alice"}) == "ImplicitDeny"
    assert outcome(_owner_world("2008-10-17"), HIRO, encryption_context={"user": "hiro"}) == "ImplicitDeny"
    assert outcome(_owner_world("2012-10-17"), APP_SESSION, encryption_context={"user": "app"}) == "ImplicitDeny"


def test_negated_operator_with_an_unresolvable_variable() -> None:  # E57
    w = one({"StringNotEquals": {"kms:EncryptionContext:team": "${aws:PrincipalTag/team}"}}, effect="Deny")
    assert outcome(w, encryption_context={"team": "x"}) == "ExplicitDeny"


def test_resource_variable_with_a_default() -> None:  # E58
    iam = [{"Effect": "Allow", "Action": "kms:Decrypt",
            "Resource": f"arn:aws:kms:us-east-1:{A}:key/${{aws:PrincipalTag/keyid, 'none'}}"}]
    untagged = World(keys=[key(K1)], principals=[principal(ALICE, iam)])
    tagged = World(keys=[key(K1)], principals=[principal(ALICE, iam, tags={"keyid": K1})])
    assert outcome(untagged) == "ImplicitDeny"
    assert outcome(tagged) == "Allow"


def test_a_substituted_value_is_literal_in_a_pattern() -> None:  # E59 (the substituted side)
    w = World(keys=[key(K1, statements=[DELEGATE])], principals=[principal(ALICE, [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringLike": {"kms:EncryptionContext:path": "${aws:PrincipalTag/prefix}/*"}}}],
        tags={"prefix": "a*"})])
    assert outcome(w, encryption_context={"path": "a*/x"}) == "Allow"
    assert outcome(w, encryption_context={"path": "abc/x"}) == "ImplicitDeny"
