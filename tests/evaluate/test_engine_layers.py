"""The layers of a KMS decision and how they combine (semantics.md §1.2 to §1.8, §8, §12.1, §12.2, §12.7)."""

from __future__ import annotations

from typing import Any

import pytest

from kmsauthz.evaluate import Authorizer
from kmsauthz.model import (
    AccessKey,
    AccountLayers,
    IamPrincipal,
    Organization,
    PolicyKind,
    Request,
    VpcEndpoint,
    World,
)

from .engine_worlds import (
    A_ROOT,
    ALICE,
    APP,
    APP_SESSION,
    B_ROOT,
    BOB,
    DELEGATE,
    K1,
    K1_ARN,
    PARTNER,
    SERVICE,
    A,
    B,
    key,
    policy,
    principal,
)

DECRYPT_K1 = [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": K1_ARN}]
ONLY_S3 = [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]


def decide(world: World, caller: str, action: str = "kms:Decrypt", key_ref: str | None = K1, **kw: Any) -> Any:
    return Authorizer(world).decide(Request(principal=caller, action=action, key=key_ref, **kw))


def allow_to(*principals: str, actions: Any = "kms:Decrypt", sid: str = "Direct", **extra: Any) -> dict[str, Any]:
    aws = list(principals) if len(principals) > 1 else principals[0]
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": aws}, "Action": actions, "Resource": "*", **extra}


# ---------------------------------------------------------------------------- key policy (§12.1)


def test_delegation_plus_iam_allow_allows_and_reports_both_statements() -> None:  # E1
    world = World(keys=[key()], principals=[principal(ALICE, [dict(DECRYPT_K1[0], Sid="AliceDecrypt")])])
    d = decide(world, ALICE)
    assert d.outcome == "Allow"
    assert [m.label for m in d.matched] == ["Enable IAM User Permissions", "AliceDecrypt"]
    assert [m.layer for m in d.matched] == ["key-policy", "identity"]
    assert d.layer == "key-policy"


def test_delegation_without_iam_allow_is_an_implicit_deny_of_the_identity_layer() -> None:  # E2
    d = decide(World(keys=[key()], principals=[principal(ALICE)]), ALICE)
    assert d.outcome == "ImplicitDeny"
    assert d.layer == "identity"
    assert d.reason.endswith("because no identity-based policy allows the kms:Decrypt action")


def test_iam_allow_without_delegation_has_no_effect() -> None:  # E3
    world = World(keys=[key(statements=[allow_to(BOB)])],
                  principals=[principal(ALICE, [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}])])
    d = decide(world, ALICE, "kms:Encrypt")
    assert d.outcome == "ImplicitDeny"
    assert d.reason.endswith("because no resource-based policy allows the kms:Encrypt action")


def test_iam_deny_works_without_delegation() -> None:  # E4
    world = World(keys=[key(statements=[allow_to(ALICE)])],
                  principals=[principal(ALICE, [{"Sid": "NoDecrypt", "Effect": "Deny", "Action": "kms:Decrypt",
                                                 "Resource": "*"}])])
    d = decide(world, ALICE)
    assert d.outcome == "ExplicitDeny"
    assert d.layer == "identity"
    assert [m.label for m in d.matched] == ["NoDecrypt"]
    assert d.reason.endswith("with an explicit deny in an identity-based policy")


def test_direct_user_statement_needs_no_iam_policy() -> None:  # E5
    d = decide(World(keys=[key(statements=[allow_to(ALICE, actions=["kms:Encrypt", "kms:Decrypt"])])]), ALICE,
               "kms:Encrypt")
    assert d.outcome == "Allow"


def test_root_user_is_covered_by_the_account_principal_without_iam() -> None:  # E6
    assert decide(World(keys=[key()]), A_ROOT, "kms:PutKeyPolicy").outcome == "Allow"


def test_root_user_has_no_implicit_access() -> None:  # E7
    assert decide(World(keys=[key(statements=[allow_to(ALICE)])]), A_ROOT, "kms:DisableKey").outcome == "ImplicitDeny"


def test_statement_without_resource_is_inert() -> None:  # E8
    inert = {"Effect": "Allow", "Principal": {"AWS": BOB}, "Action": "kms:Decrypt"}
    assert decide(World(keys=[key(statements=[DELEGATE, inert])]), BOB).outcome == "ImplicitDeny"


def test_action_names_are_case_insensitive() -> None:  # E9
    world = World(keys=[key()], principals=[principal(ALICE, [{"Effect": "Allow", "Action": "KMS:decrypt",
                                                                "Resource": K1_ARN}])])
    assert decide(world, ALICE, "kms:DECRYPT").outcome == "Allow"


def test_alias_arn_in_iam_resource_does_not_cover_key_use() -> None:  # E10
    world = World(keys=[key(aliases=("alias/app",))],
                  principals=[principal(ALICE, [{"Effect": "Allow", "Action": "kms:Decrypt",
                                                 "Resource": f"arn:aws:kms:us-east-1:{A}:alias/app"}])])
    assert decide(world, ALICE, key_ref="alias/app").outcome == "ImplicitDeny"


def test_iam_resource_matches_the_key_arn_when_called_by_alias() -> None:
    world = World(keys=[key(aliases=("alias/app",))], principals=[principal(ALICE, DECRYPT_K1)])
    assert decide(world, ALICE, key_ref="alias/app").outcome == "Allow"


def test_role_arn_statement_is_limited_by_the_boundary() -> None:  # E11
    world = World(keys=[key(statements=[allow_to(APP)])], principals=[principal(APP, boundary=ONLY_S3)])
    d = decide(world, APP_SESSION)
    assert d.outcome == "ImplicitDeny"
    assert d.layer == "permissions-boundary"


def test_user_arn_statement_is_not_limited_by_the_boundary() -> None:  # E12
    world = World(keys=[key(statements=[allow_to(ALICE)])], principals=[principal(ALICE, boundary=ONLY_S3)])
    assert decide(world, ALICE).outcome == "Allow"


def test_exact_session_arn_statement_is_not_limited_by_boundary_or_session_policy() -> None:
    world = World(keys=[key(statements=[allow_to(APP_SESSION)])], principals=[principal(APP, boundary=ONLY_S3)])
    assert decide(world, APP_SESSION, session_policy=policy(ONLY_S3, PolicyKind.SESSION)).outcome == "Allow"
    assert decide(world, f"arn:aws:sts::{A}:assumed-role/app/other").outcome == "ImplicitDeny"


def test_star_principal_is_not_limited_by_boundary_or_session_policy() -> None:  # §1.7
    star = {"Sid": "Star", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": A}}}
    world = World(keys=[key(statements=[star])], principals=[principal(APP, boundary=ONLY_S3)])
    assert decide(world, APP_SESSION, session_policy=policy(ONLY_S3, PolicyKind.SESSION)).outcome == "Allow"


def test_role_principal_with_a_path_matches_its_sessions() -> None:
    role = f"arn:aws:iam::{A}:role/service/app"
    world = World(keys=[key(statements=[allow_to(role)])], principals=[IamPrincipal(arn=role)])
    assert decide(world, f"arn:aws:sts::{A}:assumed-role/app/s1").outcome == "Allow"


def test_delegated_allow_must_pass_boundary_and_session_policy() -> None:
    world = World(keys=[key()], principals=[principal(APP, DECRYPT_K1, boundary=DECRYPT_K1)])
    assert decide(world, APP_SESSION).outcome == "Allow"
    d = decide(world, APP_SESSION, session_policy=policy(ONLY_S3, PolicyKind.SESSION))
    assert (d.outcome, d.layer) == ("ImplicitDeny", "session")


def test_session_policy_of_an_access_key_session_applies() -> None:
    sp = policy([{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}], PolicyKind.SESSION)
    world = World(keys=[key()], principals=[IamPrincipal(
        arn=APP, policies=[policy([{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}], PolicyKind.IDENTITY)],
        access_keys=[AccessKey(id="AKIAEXAMPLE", secret="s", session="ci", session_policy=sp)])])
    assert decide(world, f"arn:aws:sts::{A}:assumed-role/app/ci").outcome == "ImplicitDeny"
    assert decide(world, f"arn:aws:sts::{A}:assumed-role/app/ci", "kms:Encrypt").outcome == "Allow"
    assert decide(world, f"arn:aws:sts::{A}:assumed-role/app/other").outcome == "Allow"


def test_deny_in_the_session_policy_or_boundary_is_explicit() -> None:
    deny = [{"Sid": "NoKms", "Effect": "Deny", "Action": "kms:*", "Resource": "*"}]
    world = World(keys=[key(statements=[allow_to(ALICE)])], principals=[principal(ALICE, boundary=deny)])
    assert (decide(world, ALICE).outcome, decide(world, ALICE).layer) == ("ExplicitDeny", "permissions-boundary")
    world2 = World(keys=[key(statements=[allow_to(APP_SESSION)])])
    d = decide(world2, APP_SESSION, session_policy=policy(deny, PolicyKind.SESSION))
    assert (d.outcome, d.layer) == ("ExplicitDeny", "session")


def test_service_principal_statement() -> None:
    svc = {"Effect": "Allow", "Principal": {"Service": SERVICE}, "Action": "kms:Encrypt", "Resource": "*"}
    world = World(keys=[key(statements=[svc])])
    assert decide(world, SERVICE, "kms:Encrypt").outcome == "Allow"
    assert decide(world, ALICE, "kms:Encrypt").outcome == "ImplicitDeny"


def test_federated_and_canonical_user_principals_never_match() -> None:
    odd = {"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com", "CanonicalUser": "abc"},
           "Action": "kms:*", "Resource": "*"}
    assert decide(World(keys=[key(statements=[odd])]), ALICE).outcome == "ImplicitDeny"


def test_key_policy_resource_other_than_this_key_does_not_apply() -> None:  # U17
    mine = allow_to(ALICE, Resource=K1_ARN)
    other = allow_to(ALICE, Resource=f"arn:aws:kms:us-east-1:{A}:key/other")
    assert decide(World(keys=[key(statements=[mine])]), ALICE).outcome == "Allow"
    assert decide(World(keys=[key(statements=[other])]), ALICE).outcome == "ImplicitDeny"


def test_not_action_and_not_resource() -> None:
    world = World(keys=[key(statements=[{"Effect": "Allow", "Principal": {"AWS": ALICE},
                                          "NotAction": "kms:Decrypt", "Resource": "*"}])])
    assert decide(world, ALICE, "kms:Encrypt").outcome == "Allow"
    assert decide(world, ALICE).outcome == "ImplicitDeny"
    iam = [{"Effect": "Allow", "Action": "kms:*", "NotResource": f"arn:aws:kms:us-east-1:{A}:key/other"}]
    assert decide(World(keys=[key()], principals=[principal(ALICE, iam)]), ALICE).outcome == "Allow"
    iam_star = [{"Effect": "Allow", "Action": "kms:*", "NotResource": "*"}]
    assert decide(World(keys=[key()], principals=[principal(ALICE, iam_star)]), ALICE).outcome == "ImplicitDeny"


# --------------------------------------------------------------------------------- NotPrincipal (§1.6)


def _not_principal_world(listed: list[str]) -> World:
    deny = {"Sid": "AllButListed", "Effect": "Deny", "NotPrincipal": {"AWS": listed}, "Action": "kms:*",
            "Resource": "*"}
    return World(keys=[key(statements=[DELEGATE, allow_to(ALICE, BOB, APP), deny])])


def test_not_principal_deny_exempts_only_a_fully_listed_chain() -> None:
    world = _not_principal_world([ALICE, A_ROOT])
    assert decide(world, ALICE).outcome == "Allow"
    assert decide(world, BOB).outcome == "ExplicitDeny"  # same account, not listed itself
    assert decide(world, APP_SESSION).outcome == "ExplicitDeny"  # role and session not listed
    session_world = _not_principal_world([A_ROOT, APP, APP_SESSION])
    assert decide(session_world, APP_SESSION).outcome == "Allow"
    assert decide(_not_principal_world([APP_SESSION]), APP_SESSION).outcome == "ExplicitDeny"


def test_not_principal_deny_always_denies_a_principal_with_a_boundary() -> None:
    world = _not_principal_world([ALICE, A_ROOT])
    world.principals.append(principal(ALICE, boundary=[{"Effect": "Allow", "Action": "*", "Resource": "*"}]))
    assert decide(world, ALICE).outcome == "ExplicitDeny"


# -------------------------------------------------------------------------------- cross-account (§12.2)


def _cross(statements: list[dict[str, Any]], iam: list[dict[str, Any]] | None = None) -> World:
    return World(keys=[key(statements=[DELEGATE, *statements])], principals=[principal(PARTNER, iam)])


def test_cross_account_needs_key_policy_and_iam() -> None:  # E14, E15
    allow_b = allow_to(B_ROOT, actions=["kms:Decrypt", "kms:DescribeKey"], sid="AllowB")
    ok = _cross([allow_b], DECRYPT_K1)
    d = decide(ok, PARTNER, key_ref=K1_ARN)
    assert d.outcome == "Allow"
    assert d.matched[0].label == "AllowB"
    assert decide(_cross([allow_b]), PARTNER, key_ref=K1_ARN).outcome == "ImplicitDeny"


def test_cross_account_role_named_directly_still_needs_iam() -> None:  # E16
    assert decide(_cross([allow_to(PARTNER)]), PARTNER, key_ref=K1_ARN).outcome == "ImplicitDeny"
    assert decide(_cross([allow_to(PARTNER)], DECRYPT_K1), PARTNER, key_ref=K1_ARN).outcome == "Allow"


def test_iam_cannot_exceed_the_key_policy_cross_account() -> None:  # E18
    world = _cross([allow_to(B_ROOT, actions="kms:Encrypt")], [{"Effect": "Allow", "Action": "kms:*", "Resource": K1_ARN}])
    assert decide(world, PARTNER, key_ref=K1_ARN).outcome == "ImplicitDeny"


def test_non_cross_account_operations_fail_on_a_foreign_key() -> None:  # E19
    world = _cross([allow_to(B_ROOT, actions="kms:ScheduleKeyDeletion")],
                   [{"Effect": "Allow", "Action": "kms:ScheduleKeyDeletion", "Resource": K1_ARN}])
    d = decide(world, PARTNER, "kms:ScheduleKeyDeletion", K1_ARN)
    assert (d.outcome, d.layer) == ("ImplicitDeny", "cross-account")
    assert "cannot be used on a KMS key in another account" in d.reason


def test_alias_name_and_key_id_of_another_account_are_not_found() -> None:  # E20, E21
    world = World(keys=[key(aliases=("alias/shared",))])
    assert decide(world, PARTNER, key_ref="alias/shared").outcome == "NotFoundException"
    assert decide(world, PARTNER, "kms:CreateGrant", K1).outcome == "NotFoundException"


def test_public_key_policy_still_needs_iam_cross_account() -> None:  # E22
    public = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}
    assert decide(_cross([public], DECRYPT_K1), PARTNER, key_ref=K1_ARN).outcome == "Allow"
    assert decide(_cross([public]), PARTNER, key_ref=K1_ARN).outcome == "ImplicitDeny"


def test_caller_account_condition() -> None:  # E23, E24
    star = {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": A}}}
    world = World(keys=[key(statements=[star])], principals=[principal(PARTNER, DECRYPT_K1)])
    assert decide(world, f"arn:aws:iam::{A}:role/worker").outcome == "Allow"
    assert decide(world, PARTNER, key_ref=K1_ARN).outcome == "ImplicitDeny"


# -------------------------------------------------------------------------- organizations (§1.8, §12.7)


def _org_world(scps: list[Any] | None = None, rcps: list[Any] | None = None, management: str | None = None,
               key_statements: list[dict[str, Any]] | None = None) -> World:
    return World(
        organization=Organization(id="o-a1b2c3d4e5", accounts=(A, B), management_account=management),
        accounts={A: AccountLayers(scps=scps or [], rcps=rcps or [])},
        keys=[key(statements=key_statements or [DELEGATE, allow_to(ALICE, BOB, actions="kms:*")])],
        principals=[principal(ALICE), principal(BOB)],
    )


FULL = policy([{"Effect": "Allow", "Action": "*", "Resource": "*"}], PolicyKind.SCP, "FullAWSAccess")
RCP_FULL = policy([{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}], PolicyKind.RCP, "RCPFull")


def test_scp_deny_and_scp_without_allow() -> None:  # E98
    deny = policy([{"Sid": "NoDeletion", "Effect": "Deny", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}],
                  PolicyKind.SCP, "deny")
    d = decide(_org_world([FULL, deny]), ALICE, "kms:ScheduleKeyDeletion")
    assert (d.outcome, d.layer, [m.label for m in d.matched]) == ("ExplicitDeny", "scp", ["NoDeletion"])
    assert decide(_org_world([FULL, deny]), ALICE).outcome == "Allow"
    only_s3 = policy(ONLY_S3, PolicyKind.SCP, "s3")
    d = decide(_org_world([only_s3]), ALICE)
    assert (d.outcome, d.layer) == ("ImplicitDeny", "scp")  # U1: no Deny statement matched
    assert "no service control policy allows" in d.reason


def test_scps_do_not_apply_in_the_management_account_or_to_service_linked_roles() -> None:
    deny_all = policy([{"Effect": "Deny", "Action": "*", "Resource": "*"}], PolicyKind.SCP, "deny")
    assert decide(_org_world([deny_all], management=A), ALICE).outcome == "Allow"
    slr = f"arn:aws:iam::{A}:role/aws-service-role/kms.amazonaws.com/AWSServiceRoleForKMS"
    world = _org_world([deny_all], key_statements=[allow_to(slr)])
    world.principals.append(IamPrincipal(arn=slr))
    assert decide(world, slr).outcome == "Allow"


def test_rcp_deny_applies_to_keys_of_the_account() -> None:  # E99
    rcp = policy([{"Sid": "OrgOnly", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
                   "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
                                 "Bool": {"aws:PrincipalIsAWSService": "false"}}}], PolicyKind.RCP, "rcp")
    world = _org_world(rcps=[RCP_FULL, rcp], key_statements=[DELEGATE, allow_to("arn:aws:iam::999999999999:root")])
    outsider = "arn:aws:iam::999999999999:role/x"
    world.principals.append(principal(outsider, DECRYPT_K1))
    d = decide(world, outsider, key_ref=K1_ARN)
    assert (d.outcome, d.layer) == ("ExplicitDeny", "rcp")
    world.principals.append(principal(ALICE, DECRYPT_K1))
    assert decide(world, ALICE).outcome == "Allow"


def test_rcp_does_not_control_retire_grant_nor_the_management_account() -> None:  # E100
    deny_all = policy([{"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}], PolicyKind.RCP, "r")
    world = _org_world(rcps=[RCP_FULL, deny_all])
    assert decide(world, ALICE).outcome == "ExplicitDeny"
    assert decide(_org_world(rcps=[deny_all], management=A), ALICE).outcome == "Allow"


def test_principal_org_id_condition() -> None:
    org_stmt = {"Effect": "Allow", "Principal": "*", "Action": "kms:DescribeKey", "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}
    world = _org_world(key_statements=[org_stmt])
    world.principals.append(principal(PARTNER, [{"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}]))
    assert decide(world, PARTNER, "kms:DescribeKey", K1_ARN).outcome == "Allow"


# ---------------------------------------------------------------------------------- VPC endpoints (§8)

VPCE = "vpce-1234abcdf5678c90a"


def _vpce_world(endpoint_policy: Any = None) -> World:
    deny = {"Sid": "OnlyThroughVpce", "Effect": "Deny", "Principal": "*",
            "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:sourceVpce": VPCE}}}
    iam = [*DECRYPT_K1, {"Effect": "Allow", "Action": "kms:DisableKey", "Resource": K1_ARN}]
    return World(keys=[key(statements=[DELEGATE, deny])], principals=[principal(ALICE, iam)],
        vpc_endpoints=[VpcEndpoint(id=VPCE, vpc="vpc-1111aaaa", policy=endpoint_policy)])


def test_source_vpce_deny() -> None:  # E91
    world = _vpce_world()
    assert decide(world, ALICE, vpc_endpoint=VPCE).outcome == "Allow"
    d = decide(world, ALICE)
    assert (d.outcome, [m.label for m in d.matched]) == ("ExplicitDeny", ["OnlyThroughVpce"])
    assert decide(world, ALICE, vpc_endpoint=VPCE, via_service="ebs.us-east-1.amazonaws.com").outcome == "ExplicitDeny"


def test_endpoint_policy_must_allow_requests_through_it() -> None:  # E93
    ep_policy = policy([{"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:Decrypt", "Resource": K1_ARN}],
                       PolicyKind.VPC_ENDPOINT, "ep")
    world = _vpce_world(ep_policy)
    assert decide(world, ALICE, vpc_endpoint=VPCE).outcome == "Allow"
    d = decide(world, ALICE, "kms:DisableKey", vpc_endpoint=VPCE)
    assert (d.outcome, d.layer) == ("ImplicitDeny", "vpc-endpoint")
    assert decide(world, ALICE, "kms:DisableKey").outcome == "Allow"


def test_endpoint_policy_deny() -> None:  # E94
    ep_policy = policy([{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
                        {"Sid": "OwnAccountOnly", "Effect": "Deny", "Principal": "*", "Action": "kms:*",
                         "Resource": f"arn:aws:kms:*:{A}:key/*",
                         "Condition": {"StringNotEquals": {"aws:PrincipalAccount": A}}}], PolicyKind.VPC_ENDPOINT)
    world = World(keys=[key(statements=[DELEGATE, allow_to(B_ROOT)])], principals=[principal(PARTNER, DECRYPT_K1)],
                  vpc_endpoints=[VpcEndpoint(id=VPCE, vpc="vpc-1", policy=ep_policy)])
    d = decide(world, PARTNER, key_ref=K1_ARN, vpc_endpoint=VPCE)
    assert (d.outcome, d.layer) == ("ExplicitDeny", "vpc-endpoint")
    assert decide(world, PARTNER, key_ref=K1_ARN).outcome == "Allow"


def test_source_ip_conditions_on_an_endpoint() -> None:  # E49, E50
    ip_allow = allow_to(ALICE, Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
    world = World(keys=[key(statements=[ip_allow])])
    assert decide(world, ALICE, source_ip="203.0.113.7").outcome == "Allow"
    assert decide(world, ALICE, source_ip="203.0.113.7", vpc_endpoint=VPCE).outcome == "ImplicitDeny"
    ip_deny = {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
               "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}
    world = World(keys=[key(statements=[allow_to(ALICE), ip_deny])])
    assert decide(world, ALICE, source_ip="203.0.113.7").outcome == "Allow"
    assert decide(world, ALICE, source_ip="203.0.113.7", vpc_endpoint=VPCE).outcome == "ExplicitDeny"


@pytest.mark.parametrize(("via", "expected"), [(None, "ExplicitDeny"), ("ebs.us-east-1.amazonaws.com", "Allow")])
def test_service_exemption_pattern(via: str | None, expected: str) -> None:  # E92
    deny = {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpce": VPCE}, "Bool": {"aws:ViaAWSService": "false"}}}
    world = World(keys=[key(statements=[allow_to(ALICE), deny])])
    assert decide(world, ALICE, via_service=via).outcome == expected
