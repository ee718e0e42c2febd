"""Grants: allow-only, constraints, tokens, CreateGrant from a grant, RetireGrant (semantics.md §3, §12.5)."""

from __future__ import annotations

from typing import Any

import pytest

from kmsauthz.evaluate import Authorizer
from kmsauthz.model import Grant, GrantConstraints, Request, World

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
    A,
    key,
    principal,
)

CAROL = f"arn:aws:iam::{A}:user/carol"
DAVE = f"arn:aws:iam::{A}:user/dave"


def grant(grantee: str = ALICE, ops: tuple[str, ...] = ("Decrypt",), **kw: Any) -> Grant:
    gid = kw.pop("grant_id", f"{abs(hash((grantee, ops, tuple(sorted(kw))))):064x}"[:64])
    return Grant(grant_id=gid, grantee=grantee, operations=ops, **kw)


def world(*grants: Grant, statements: list[dict[str, Any]] | None = None, principals: list[Any] = ()) -> World:
    return World(keys=[key(statements=statements if statements is not None else [DELEGATE], grants=list(grants))],
                 principals=list(principals))


def decide(w: World, caller: str, action: str = "kms:Decrypt", key_ref: str = K1, **kw: Any) -> Any:
    return Authorizer(w).decide(Request(principal=caller, action=action, key=key_ref, **kw))


def test_a_grant_allows_its_operations_only() -> None:
    w = world(grant(ALICE, ("Decrypt",), name="alice-decrypt"))
    d = decide(w, ALICE)
    assert (d.outcome, d.layer, [m.label for m in d.matched]) == ("Allow", "grant", ["alice-decrypt"])
    assert d.matched[0].grant_id
    assert decide(w, ALICE, "kms:Encrypt").outcome == "ImplicitDeny"
    assert decide(w, BOB).outcome == "ImplicitDeny"


def test_encryption_context_equals() -> None:  # E66
    w = world(grant(constraints=GrantConstraints(encryption_context_equals={"Department": "IT"})))
    assert decide(w, ALICE, encryption_context={"Department": "IT"}).outcome == "Allow"
    assert decide(w, ALICE, encryption_context={"Department": "IT", "Purpose": "Test"}).outcome == "ImplicitDeny"
    assert decide(w, ALICE).outcome == "ImplicitDeny"
    assert decide(w, ALICE, encryption_context={"department": "IT"}).outcome == "ImplicitDeny"  # U7


def test_encryption_context_subset() -> None:  # E67
    w = world(grant(constraints=GrantConstraints(encryption_context_subset={"Department": "IT"})))
    assert decide(w, ALICE, encryption_context={"Department": "IT", "Purpose": "Test"}).outcome == "Allow"
    assert decide(w, ALICE, encryption_context={"Purpose": "Test"}).outcome == "ImplicitDeny"


def test_constraints_are_ignored_for_operations_without_a_context() -> None:  # E68
    w = world(grant(ops=("Decrypt", "DescribeKey"),
                    constraints=GrantConstraints(encryption_context_equals={"Department": "IT"})))
    assert decide(w, ALICE, "kms:DescribeKey").outcome == "Allow"


def test_pending_grant_needs_its_token() -> None:  # E69
    w = world(grant(pending=True, token="tok-1"))
    assert decide(w, ALICE).outcome == "ImplicitDeny"
    assert decide(w, ALICE, grant_tokens=("other",)).outcome == "ImplicitDeny"
    assert decide(w, ALICE, grant_tokens=("tok-1",)).outcome == "Allow"


def test_key_policy_deny_beats_a_grant() -> None:  # E80
    deny = {"Sid": "NoBob", "Effect": "Deny", "Principal": {"AWS": BOB}, "Action": "kms:Decrypt", "Resource": "*"}
    d = decide(world(grant(BOB), statements=[DELEGATE, deny]), BOB)
    assert (d.outcome, [m.label for m in d.matched]) == ("ExplicitDeny", ["NoBob"])


def test_iam_deny_beats_a_grant() -> None:
    w = world(grant(ALICE), principals=[principal(ALICE, [{"Effect": "Deny", "Action": "kms:*", "Resource": "*"}])])
    assert decide(w, ALICE).outcome == "ExplicitDeny"


def test_grant_to_a_role_covers_its_sessions_within_the_boundary() -> None:  # U3
    w = world(grant(APP), principals=[principal(APP, boundary=[{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])])
    assert decide(w, APP_SESSION).outcome == "ImplicitDeny"
    w = world(grant(APP), principals=[principal(APP)])
    assert decide(w, APP_SESSION).outcome == "Allow"
    w = world(grant(APP_SESSION), principals=[principal(APP, boundary=[{"Effect": "Allow", "Action": "s3:*",
                                                                        "Resource": "*"}])])
    assert decide(w, APP_SESSION).outcome == "Allow"


def test_cross_account_grant_to_a_role_needs_no_iam_policy() -> None:  # U4
    w = world(grant(PARTNER), principals=[principal(PARTNER)])
    assert decide(w, PARTNER, key_ref=K1_ARN).outcome == "Allow"


def test_grant_to_an_account_works_like_delegation() -> None:  # U2
    w = world(grant(B_ROOT), principals=[principal(PARTNER)])
    assert decide(w, PARTNER, key_ref=K1_ARN).outcome == "ImplicitDeny"
    w = world(grant(B_ROOT), principals=[principal(PARTNER, [{"Effect": "Allow", "Action": "kms:Decrypt",
                                                               "Resource": K1_ARN}])])
    assert decide(w, PARTNER, key_ref=K1_ARN).outcome == "Allow"


def test_create_grant_from_a_parent_grant() -> None:  # E70
    parent = grant(ALICE, ("GenerateDataKey", "Decrypt", "CreateGrant"), name="parent",
                   constraints=GrantConstraints(encryption_context_subset={"Department": "IT"}))
    w = world(parent, statements=[])

    def create(ops: list[str], constraints: dict[str, Any] | None) -> str:
        params: dict[str, Any] = {"Operations": ops, "GranteePrincipal": BOB}
        if constraints is not None:
            params["Constraints"] = constraints
        return decide(w, ALICE, "kms:CreateGrant", parameters=params).outcome

    assert create(["Decrypt", "CreateGrant"], {"EncryptionContextEquals": {"Department": "IT"}}) == "Allow"
    assert create(["Decrypt"], {"EncryptionContextSubset": {"Department": "IT", "Project": "x"}}) == "Allow"
    assert create(["ReEncryptFrom"], {"EncryptionContextSubset": {"Department": "IT"}}) == "ImplicitDeny"
    assert create(["Decrypt"], None) == "ImplicitDeny"
    assert create(["Decrypt"], {"EncryptionContextSubset": {"Department": "HR"}}) == "ImplicitDeny"


def test_create_grant_from_an_equals_parent() -> None:
    parent = grant(ALICE, ("Decrypt", "CreateGrant"),
                   constraints=GrantConstraints(encryption_context_equals={"Department": "IT"}))
    w = world(parent, statements=[])
    equal = {"Operations": ["Decrypt"], "Constraints": {"EncryptionContextEquals": {"Department": "IT"}}}
    subset = {"Operations": ["Decrypt"], "Constraints": {"EncryptionContextSubset": {"Department": "IT"}}}
    assert decide(w, ALICE, "kms:CreateGrant", parameters=equal).outcome == "Allow"
    assert decide(w, ALICE, "kms:CreateGrant", parameters=subset).outcome == "ImplicitDeny"


def test_a_policy_that_allows_create_grant_is_not_capped_by_the_parent() -> None:  # U6
    parent = grant(ALICE, ("Decrypt", "CreateGrant"))
    allow = {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:CreateGrant", "Resource": "*"}
    w = world(parent, statements=[allow])
    assert decide(w, ALICE, "kms:CreateGrant", parameters={"Operations": ["Encrypt"]}).outcome == "Allow"


def test_grant_operations_condition_on_create_grant() -> None:  # E71
    stmt = {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:CreateGrant", "Resource": "*",
            "Condition": {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "ReEncryptTo"]}}}
    w = world(statements=[stmt])
    assert decide(w, ALICE, "kms:CreateGrant", parameters={"Operations": ["Encrypt"]}).outcome == "Allow"
    assert decide(w, ALICE, "kms:CreateGrant", parameters={"Operations": ["Encrypt", "Decrypt"]}).outcome == "ImplicitDeny"


def test_grant_is_for_aws_resource() -> None:  # E72
    stmt = {"Sid": "Allow attachment of persistent resources", "Effect": "Allow", "Principal": {"AWS": ALICE},
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}}}
    w = world(statements=[stmt])
    assert decide(w, ALICE, "kms:CreateGrant").outcome == "ImplicitDeny"
    assert decide(w, ALICE, "kms:CreateGrant", via_service="ec2.us-east-1.amazonaws.com").outcome == "Allow"


def test_retire_grant_by_retiring_principal_grantee_and_issuer() -> None:  # E73, E74, E75
    g = grant(BOB, ("Decrypt",), retiring=CAROL, grant_id="a" * 64)
    retirable = grant(ALICE, ("Decrypt", "RetireGrant"), grant_id="b" * 64)
    dave = {"Effect": "Allow", "Principal": {"AWS": DAVE}, "Action": "kms:RetireGrant", "Resource": "*"}
    w = world(g, retirable, statements=[dave])

    def retire(caller: str, gid: str) -> str:
        return decide(w, caller, "kms:RetireGrant", parameters={"GrantId": gid}).outcome

    assert retire(CAROL, "a" * 64) == "Allow"
    assert retire(BOB, "a" * 64) == "ImplicitDeny"
    bob = decide(w, BOB, "kms:RetireGrant", parameters={"GrantId": "a" * 64})
    assert (bob.layer, bob.reason.endswith("because no identity-based policy allows the kms:RetireGrant action")) == ("grant", True)
    assert retire(ALICE, "b" * 64) == "Allow"
    assert retire(DAVE, "a" * 64) == "ImplicitDeny"  # kms:RetireGrant in a key policy is not effective
    assert retire(A_ROOT, "a" * 64) == "Allow"  # the issuing account
    w.principals.append(principal(DAVE, [{"Effect": "Allow", "Action": "kms:RetireGrant", "Resource": "*"}]))
    assert retire(DAVE, "a" * 64) == "Allow"  # delegated by the issuing account through IAM


def test_retire_grant_deny_and_token() -> None:  # E76
    g = grant(BOB, ("Decrypt",), retiring=CAROL, token="tok", grant_id="c" * 64)
    w = world(g, principals=[principal(CAROL, [{"Effect": "Deny", "Action": "kms:RetireGrant", "Resource": "*"}])])
    assert decide(w, CAROL, "kms:RetireGrant", parameters={"GrantToken": "tok"}).outcome == "ExplicitDeny"
    w2 = world(g)
    assert decide(w2, CAROL, "kms:RetireGrant", parameters={"GrantToken": "tok"}).outcome == "Allow"
    assert decide(w2, CAROL, "kms:RetireGrant", parameters={"GrantToken": "nope"}).outcome == "ImplicitDeny"


@pytest.mark.parametrize("n", [0, 5000])
def test_many_grants_for_other_principals(n: int) -> None:
    grants = [Grant(grant_id=f"{i:064x}", grantee=f"arn:aws:iam::{A}:role/r{i}", operations=("Decrypt",))
              for i in range(n)]
    grants.append(grant(ALICE, name="mine"))
    w = world(*grants)
    d = decide(w, ALICE)
    assert (d.outcome, d.matched[0].label) == ("Allow", "mine")
    assert decide(w, BOB).outcome == "ImplicitDeny"
