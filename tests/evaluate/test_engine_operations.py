"""Operations with several checks, resource-less actions, Regions, explanations, updates, failure.

semantics.md §1.5 notes, §2.2 to §2.4, §9, §12.4, §12.6, §12.7.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kmsauthz.evaluate import Authorizer
from kmsauthz.model import Grant, PolicyKind, Request, World

from .engine_worlds import (
    A_ROOT,
    ALICE,
    APP,
    BOB,
    DELEGATE,
    K1,
    K1_ARN,
    K2,
    K2_ARN,
    A,
    key,
    policy,
    principal,
)


def decide(w: World | Authorizer, caller: str, action: str, key_ref: str | None = K1, **kw: Any) -> Any:
    auth = w if isinstance(w, Authorizer) else Authorizer(w)
    return auth.decide(Request(principal=caller, action=action, key=key_ref, **kw))


def allow(principal_: str, actions: Any, sid: str = "S", **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": principal_}, "Action": actions, "Resource": "*", **extra}


# ---------------------------------------------------------------------------- ReEncrypt (E41, E87)


def test_reencrypt_is_two_authorizations() -> None:
    w = World(keys=[key(K1, statements=[allow(ALICE, "kms:ReEncryptFrom", "From")]),
                    key(K2, statements=[allow(ALICE, "kms:ReEncryptTo", "To")])])
    d = decide(w, ALICE, "kms:ReEncrypt", parameters={"DestinationKeyId": K2})
    assert d.outcome == "Allow"
    assert [s.action for s in d.sub_decisions] == ["kms:ReEncryptFrom", "kms:ReEncryptTo"]
    assert [m.label for m in d.matched] == ["From", "To"]
    w2 = World(keys=[key(K1, statements=[allow(ALICE, "kms:ReEncrypt*")]), key(K2, statements=[DELEGATE])])
    d = decide(w2, ALICE, "kms:ReEncrypt", parameters={"DestinationKeyId": K2})
    assert d.outcome == "ImplicitDeny"
    assert d.resource == K2_ARN
    assert [s.outcome for s in d.sub_decisions] == ["Allow", "ImplicitDeny"]
    # the permission-only action names with a destination are a whole ReEncrypt too
    assert decide(w2, ALICE, "kms:ReEncryptFrom", parameters={"DestinationKeyId": K2}).outcome == "ImplicitDeny"
    assert decide(w2, ALICE, "kms:ReEncryptFrom").outcome == "Allow"


def test_reencrypt_on_same_key() -> None:
    same = allow(ALICE, "kms:ReEncrypt*", Condition={"Bool": {"kms:ReEncryptOnSameKey": "true"}})
    w = World(keys=[key(K1, statements=[same]), key(K2, statements=[same])])
    assert decide(w, ALICE, "kms:ReEncrypt", parameters={"DestinationKeyId": K1_ARN}).outcome == "Allow"
    assert decide(w, ALICE, "kms:ReEncrypt", parameters={"DestinationKeyId": K2}).outcome == "ImplicitDeny"


def test_reencrypt_uses_the_source_and_destination_contexts() -> None:  # U8
    need = allow(ALICE, "kms:ReEncrypt*", Condition={"StringEquals": {"kms:EncryptionContext:side": "src"}})
    w = World(keys=[key(K1, statements=[need]),
                    key(K2, statements=[allow(ALICE, "kms:ReEncryptTo",
                                              Condition={"StringEquals": {"kms:EncryptionContext:side": "dst"}})])])
    params = {"DestinationKeyId": K2, "SourceEncryptionContext": {"side": "src"},
              "DestinationEncryptionContext": {"side": "dst"}}
    assert decide(w, ALICE, "kms:ReEncrypt", parameters=params).outcome == "Allow"


# --------------------------------------------------------------------------- alias operations (E83, E84)

ALIAS_ARN = f"arn:aws:kms:us-east-1:{A}:alias/test-key"


def test_create_alias_needs_the_alias_and_the_key() -> None:
    iam_alias = [{"Sid": "OnAlias", "Effect": "Allow", "Action": "kms:CreateAlias", "Resource": ALIAS_ARN}]
    w = World(keys=[key(K1, statements=[allow(BOB, "kms:*")])], principals=[principal(ALICE, iam_alias)])
    d = decide(w, ALICE, "kms:CreateAlias", parameters={"AliasName": "alias/test-key"})
    assert d.outcome == "ImplicitDeny"
    assert [s.resource for s in d.sub_decisions] == [ALIAS_ARN, K1_ARN]
    both = [{"Effect": "Allow", "Action": "kms:CreateAlias", "Resource": [ALIAS_ARN, K1_ARN]}]
    w = World(keys=[key(K1)], principals=[principal(ALICE, both)])
    assert decide(w, ALICE, "kms:CreateAlias", parameters={"AliasName": "alias/test-key"}).outcome == "Allow"
    only_key = [{"Effect": "Allow", "Action": "kms:CreateAlias", "Resource": K1_ARN}]
    w = World(keys=[key(K1)], principals=[principal(ALICE, only_key)])
    assert decide(w, ALICE, "kms:CreateAlias", parameters={"AliasName": "alias/test-key"}).outcome == "ImplicitDeny"


def test_update_alias_needs_both_keys() -> None:
    iam = [{"Effect": "Allow", "Action": "kms:UpdateAlias", "Resource": "*"}]
    w = World(keys=[key(K1, aliases=("alias/test-key",)), key(K2, statements=[allow(BOB, "kms:*")])],
              principals=[principal(ALICE, iam)])
    d = decide(w, ALICE, "kms:UpdateAlias", key_ref=None,
               parameters={"AliasName": "alias/test-key", "TargetKeyId": K2})
    assert d.outcome == "ImplicitDeny"
    assert [s.outcome for s in d.sub_decisions] == ["Allow", "Allow", "ImplicitDeny"]
    w.keys[1] = key(K2)
    assert decide(w, ALICE, "kms:UpdateAlias", key_ref=None,
                  parameters={"AliasName": "alias/test-key", "TargetKeyId": K2}).outcome == "Allow"


def test_delete_alias_of_a_missing_alias_is_not_found() -> None:
    w = World(keys=[key(K1)], principals=[principal(ALICE, [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}])])
    assert decide(w, ALICE, "kms:DeleteAlias", key_ref="alias/nope").outcome == "NotFoundException"


# ------------------------------------------------------------------------- resource-less (E65, E38, E102)


def test_create_key_is_decided_by_iam_alone() -> None:
    kp = [allow(ALICE, "kms:CreateKey")]
    w = World(keys=[key(K1, statements=kp)], principals=[principal(ALICE), principal(BOB, [
        {"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*",
         "Condition": {"StringEquals": {"kms:KeySpec": "SYMMETRIC_DEFAULT"}}}])])
    assert decide(w, ALICE, "kms:CreateKey", None).outcome == "ImplicitDeny"
    assert decide(w, BOB, "kms:CreateKey", None).outcome == "Allow"
    assert decide(w, BOB, "kms:CreateKey", None, parameters={"KeySpec": "RSA_4096"}).outcome == "ImplicitDeny"
    assert decide(w, A_ROOT, "kms:CreateKey", None).outcome == "Allow"


def test_create_key_with_tags_also_needs_tag_resource() -> None:
    w = World(principals=[principal(BOB, [{"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*"}])])
    tags = {"Tags": [{"TagKey": "Env", "TagValue": "prod"}]}
    d = decide(w, BOB, "kms:CreateKey", None, parameters=tags)
    assert d.outcome == "ImplicitDeny"
    assert [s.action for s in d.sub_decisions] == ["kms:CreateKey", "kms:TagResource"]


def test_account_scoped_resource_patterns_for_resource_less_actions() -> None:
    w = World(principals=[
        principal(ALICE, [{"Effect": "Allow", "Action": "kms:ListKeys", "Resource": f"arn:aws:kms:us-east-1:{A}:*"}]),
        principal(BOB, [{"Effect": "Allow", "Action": "kms:ListKeys", "Resource": f"arn:aws:kms:*:{A}:key/*"}]),
    ])
    assert decide(w, ALICE, "kms:ListKeys", None).outcome == "Allow"
    assert decide(w, ALICE, "kms:ListKeys", None, region="eu-west-1").outcome == "ImplicitDeny"
    assert decide(w, BOB, "kms:ListKeys", None).outcome == "ImplicitDeny"


def test_requested_region_deny() -> None:
    deny = {"Effect": "Deny", "Action": "kms:*", "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}}
    w = World(keys=[key(K1)], principals=[principal(ALICE, [deny, {"Effect": "Allow", "Action": "kms:*",
                                                                    "Resource": "*"}])])
    assert decide(w, ALICE, "kms:Decrypt").outcome == "Allow"
    assert decide(w, ALICE, "kms:CreateKey", None, region="eu-west-1").outcome == "ExplicitDeny"


# ------------------------------------------------------------------------------ resolution and Regions


def test_key_references() -> None:
    w = World(keys=[key(K1, aliases=("alias/app",), statements=[allow(ALICE, "kms:*")])])
    auth = Authorizer(w)
    for ref in (K1, K1_ARN, "alias/app", f"arn:aws:kms:us-east-1:{A}:alias/app"):
        assert decide(auth, ALICE, "kms:Decrypt", ref).outcome == "Allow", ref
    for ref in ("alias/nope", K2, f"arn:aws:kms:us-west-2:{A}:key/{K1}", "arn:aws:s3:::bucket"):
        d = decide(auth, ALICE, "kms:Decrypt", ref)
        assert (d.outcome, d.effect.value) == ("NotFoundException", "ImplicitDeny"), ref
    assert "does not exist" in decide(auth, ALICE, "kms:Decrypt", K2).reason
    assert decide(auth, ALICE, "kms:Decrypt", K1, region="us-west-2").outcome == "NotFoundException"
    assert auth.resolve_key("alias/app", caller_account=A, region="us-east-1") is w.keys[0]
    assert auth.resolve_key("alias/app", caller_account="444455556666", region="us-east-1") is None


def test_request_alias_condition() -> None:  # E35
    stmt = allow(APP, "kms:GenerateDataKey", Condition={"StringEquals": {"kms:RequestAlias": "alias/finance-key"}})
    w = World(keys=[key(K1, aliases=("alias/finance-key",), statements=[stmt])])
    assert decide(w, APP, "kms:GenerateDataKey", K1_ARN).outcome == "ImplicitDeny"
    assert decide(w, APP, "kms:GenerateDataKey", "alias/finance-key").outcome == "Allow"
    assert decide(w, APP, "kms:GenerateDataKey", f"arn:aws:kms:us-east-1:{A}:alias/finance-key").outcome == "Allow"


def test_resource_aliases_and_tags_are_absent_in_key_policies() -> None:  # U5
    stmt = allow(APP, "kms:Decrypt", Condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/a"}})
    tag = allow(APP, "kms:Decrypt", Condition={"StringEquals": {"aws:ResourceTag/Env": "prod"}})
    for s in (stmt, tag):
        w = World(keys=[key(K1, aliases=("alias/a",), tags={"Env": "prod"}, statements=[s])])
        assert decide(w, APP, "kms:Decrypt").outcome == "ImplicitDeny"
    iam = [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}}]
    w = World(keys=[key(K1, tags={"Env": "prod"})], principals=[principal(APP, iam)])
    assert decide(w, APP, "kms:Decrypt").outcome == "Allow"  # E46


def test_multi_region_replicas_have_their_own_policies() -> None:  # E97
    mrk = "mrk-1234abcd12ab34cd56ef1234567890ab"
    w = World(keys=[key(mrk, statements=[allow(APP, "kms:Decrypt")], multi_region_type="PRIMARY"),
                    key(mrk, region="eu-west-1", multi_region_type="REPLICA")],
              principals=[principal(APP)])
    assert decide(w, APP, "kms:Decrypt", mrk).outcome == "Allow"
    assert decide(w, APP, "kms:Decrypt", mrk, region="eu-west-1").outcome == "ImplicitDeny"


def test_update_primary_region_checks_both_regions() -> None:
    mrk = "mrk-1234abcd12ab34cd56ef1234567890ab"
    w = World(keys=[key(mrk, statements=[allow(APP, "kms:UpdatePrimaryRegion")], multi_region_type="PRIMARY"),
                    key(mrk, region="eu-west-1", multi_region_type="REPLICA", statements=[DELEGATE])],
              principals=[principal(APP)])
    d = decide(w, APP, "kms:UpdatePrimaryRegion", mrk, parameters={"PrimaryRegion": "eu-west-1"})
    assert d.outcome == "ImplicitDeny"
    assert [s.outcome for s in d.sub_decisions] == ["Allow", "ImplicitDeny"]


# ------------------------------------------------------------------------------------ explanations


def test_missing_keys_are_reported() -> None:
    stmt = allow(APP, "kms:Decrypt", Condition={"StringEquals": {"kms:EncryptionContext:Project": "x"}})
    d = decide(World(keys=[key(K1, statements=[stmt])]), APP, "kms:Decrypt")
    assert d.missing_keys == ("kms:EncryptionContext:Project",)


def test_reason_sentences() -> None:
    w = World(keys=[key(K1, statements=[allow(APP, "kms:Decrypt", "UseKey")])])
    allowed = decide(w, APP, "kms:Decrypt")
    assert allowed.reason == (f"User: {APP} is allowed to perform: kms:Decrypt on resource: {K1_ARN} "
                              "by key policy statement `UseKey`")
    denied = decide(w, APP, "kms:Encrypt")
    assert denied.reason == (f"User: {APP} is not authorized to perform: kms:Encrypt on resource: {K1_ARN} "
                             "because no resource-based policy allows the kms:Encrypt action")


def test_matches_carry_policy_sid_index_and_span() -> None:
    w = World(keys=[key(K1, statements=[DELEGATE, allow(APP, "kms:Decrypt", "UseKey")])])
    m = decide(w, APP, "kms:Decrypt").matched[0]
    assert (m.layer, m.sid, m.index, m.effect) == ("key-policy", "UseKey", 1, "Allow")
    assert m.policy


def test_decisions_are_deterministic() -> None:
    w = World(keys=[key(K1, statements=[DELEGATE, allow(APP, "kms:*", "A"), allow(APP, "kms:Decrypt", "B")])],
              principals=[principal(APP, [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}])])
    request = Request(principal=APP, action="kms:Decrypt", key=K1)
    first = Authorizer(w).decide(request)
    assert all(Authorizer(w).decide(request) == first for _ in range(3))
    auth = Authorizer(w)
    assert all(auth.decide(request) == first for _ in range(3))


# ------------------------------------------------------------------------------------- fail closed


def test_an_erroring_deny_statement_denies_and_an_erroring_allow_does_not_allow() -> None:
    bad = {"NumericLessThan": {"kms:EncryptionContext:n": "not-a-number"}}
    deny = {"Sid": "Bad", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": bad}
    d = decide(World(keys=[key(K1, statements=[allow(APP, "kms:*"), deny])]), APP, "kms:Decrypt")
    assert d.outcome == "ExplicitDeny"
    assert d.errors
    d = decide(World(keys=[key(K1, statements=[allow(APP, "kms:*", Condition=bad), allow(APP, "kms:*")])]),
               APP, "kms:Decrypt")
    assert d.outcome == "ImplicitDeny"
    assert d.errors and not d.allowed


def test_an_internal_error_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = Authorizer(World(keys=[key(K1, statements=[allow(APP, "kms:*")])]))

    def boom(*a: Any, **k: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(auth, "_caller", boom)
    d = auth.decide(Request(principal=APP, action="kms:Decrypt", key=K1))
    assert d.outcome == "ImplicitDeny"
    assert d.errors == ("internal error: RuntimeError: boom",)


def test_unknown_actions_are_never_allowed() -> None:
    w = World(keys=[key(K1, statements=[{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}])])
    for action in ("s3:GetObject", "kms:NoSuchThing"):
        d = decide(w, APP, action)
        assert d.outcome == "ImplicitDeny"
        assert d.reason.endswith(f"because `{action}` is not an action of AWS KMS")
    assert decide(w, APP, "KMS:DECRYPT").outcome == "Allow"


# ---------------------------------------------------------------------------------------- updates


def test_runtime_updates() -> None:
    w = World(keys=[key(K1, statements=[DELEGATE])], principals=[principal(APP)])
    auth = Authorizer(w)
    assert decide(auth, APP, "kms:Decrypt").outcome == "ImplicitDeny"
    auth.put_grant("us-east-1", K1, Grant(grant_id="g" * 64, name="g", grantee=APP, operations=("Decrypt",)))
    assert decide(auth, APP, "kms:Decrypt").outcome == "Allow"
    auth.remove_grant("us-east-1", K1, "g" * 64)
    assert decide(auth, APP, "kms:Decrypt").outcome == "ImplicitDeny"
    auth.put_principal(principal(APP, [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": K1_ARN}]))
    assert decide(auth, APP, "kms:Decrypt").outcome == "Allow"
    auth.put_key(key(K1, statements=[allow(BOB, "kms:*")], aliases=("alias/new",)))
    assert decide(auth, APP, "kms:Decrypt").outcome == "ImplicitDeny"
    assert decide(auth, BOB, "kms:Decrypt", "alias/new").outcome == "Allow"
    auth.put_alias("us-east-1", A, "alias/other", K1)
    assert decide(auth, BOB, "kms:Decrypt", "alias/other").outcome == "Allow"
    auth.put_alias("us-east-1", A, "alias/other", None)
    assert decide(auth, BOB, "kms:Decrypt", "alias/other").outcome == "NotFoundException"
    auth.remove_key("us-east-1", K1)
    assert decide(auth, BOB, "kms:Decrypt").outcome == "NotFoundException"
    assert decide(auth, BOB, "kms:Decrypt", "alias/new").outcome == "NotFoundException"


def test_concurrent_decisions_during_updates() -> None:
    w = World(keys=[key(K1, statements=[allow(APP, "kms:Decrypt")])], principals=[principal(APP)])
    auth = Authorizer(w)
    request = Request(principal=APP, action="kms:Decrypt", key=K1)
    outcomes: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            outcomes.append(auth.decide(request).outcome)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(200):
        auth.put_grant("us-east-1", K1, Grant(grant_id=f"{i:064x}", grantee=ALICE, operations=("Decrypt",)))
        auth.put_key(key(K1, statements=[allow(APP, "kms:Decrypt")], grants=[]))
    stop.set()
    for t in threads:
        t.join()
    assert outcomes and set(outcomes) == {"Allow"}


def test_session_policy_objects_are_compiled_once_per_object() -> None:
    sp = policy([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}], PolicyKind.SESSION)
    w = World(keys=[key(K1, statements=[allow(APP, "kms:*")])], principals=[principal(APP)])
    auth = Authorizer(w)
    for _ in range(3):
        assert decide(auth, f"arn:aws:sts::{A}:assumed-role/app/s", "kms:Decrypt", session_policy=sp).outcome == "Allow"
        assert decide(auth, f"arn:aws:sts::{A}:assumed-role/app/s", "kms:Encrypt",
                      session_policy=sp).outcome == "ImplicitDeny"


@pytest.mark.parametrize("params", [
    {"Operations": "Decrypt"}, {"Operations": [1, None]}, {"Constraints": ["x"]},
    {"Constraints": {"EncryptionContextEquals": "x"}}, {"DestinationKeyId": 5}, {"ValidTo": object()},
    {"Tags": "x"}, {"GrantId": ["a"]}, {"GrantToken": {"a": 1}}, {"PrimaryRegion": None},
])
def test_odd_parameters_never_cause_an_internal_error(params: dict[str, Any]) -> None:
    stmt = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*",
            "Condition": {"ForAnyValue:StringEquals": {"kms:GrantOperations": "Decrypt"},
                          "StringLike": {"aws:RequestTag/Env": "*", "kms:GrantConstraintType": "*"}}}
    auth = Authorizer(World(keys=[key(K1, statements=[DELEGATE, stmt], grants=[
        Grant(grant_id="a" * 64, grantee=ALICE, operations=("Decrypt", "RetireGrant"))])]))
    for action in ("kms:CreateGrant", "kms:ReEncrypt", "kms:ImportKeyMaterial", "kms:TagResource",
                   "kms:RetireGrant", "kms:UpdatePrimaryRegion", "kms:CreateKey", "kms:Decrypt"):
        d = auth.decide(Request(principal=ALICE, action=action, key=K1, parameters=params,
                                context={"x:y": {"a": 1}, "aws:SourceIp": ["203.0.113.1"]}))
        assert not any(e.startswith("internal error") for e in d.errors), (action, d.errors)


def test_replicate_key_needs_create_key_in_the_replica_region() -> None:
    mrk = "mrk-1234abcd12ab34cd56ef1234567890ab"

    def world(region_pattern: str) -> World:
        iam = [{"Effect": "Allow", "Action": "kms:CreateKey", "Resource": f"arn:aws:kms:{region_pattern}:{A}:*"}]
        return World(keys=[key(mrk, statements=[allow(APP, "kms:ReplicateKey")], multi_region_type="PRIMARY")],
                     principals=[principal(APP, iam)])

    params = {"ReplicaRegion": "eu-west-1"}
    d = decide(world("eu-west-1"), APP, "kms:ReplicateKey", mrk, parameters=params)
    assert d.outcome == "Allow"
    assert [s.action for s in d.sub_decisions] == ["kms:ReplicateKey", "kms:CreateKey"]
    assert decide(world("us-east-1"), APP, "kms:ReplicateKey", mrk, parameters=params).outcome == "ImplicitDeny"
