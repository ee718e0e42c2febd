"""Regression tests for the evaluator review findings (GitHub issue 3)."""

from __future__ import annotations

from typing import Any

import pytest

from kmsauthz.evaluate import explain
from kmsauthz.evaluate.engine import Authorizer
from kmsauthz.evaluate.reference import reference_outcome
from kmsauthz.model import Decision, Effect, Request, World
from tests.evaluate.engine_worlds import ALICE, DELEGATE, K1_ARN, REGION, key, principal


def _decide(world: World, **kw: Any) -> Decision:
    return Authorizer(world).decide(Request(principal=ALICE, key=K1_ARN, **kw))


def _allow(condition: dict[str, Any], action: str = "kms:Encrypt") -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": action, "Resource": "*",
            "Condition": condition}


# -- a. the prefix index only indexes textual comparisons ------------------------------------------

@pytest.mark.parametrize(("operator", "policy_values", "request_value"), [
    ("NumericEquals", [f"{i}.0" for i in range(12)], "3"),
    ("NumericEquals", [f"0{i}" for i in range(12)], "3"),
    ("DateEquals", [f"2026-01-{i + 1:02d}T00:00:00Z" for i in range(12)], "1767312000"),  # 2026-01-02
    ("Bool", ["TRUE"] * 12, "true"),
    ("BinaryEquals", [" QUJDQQ=="] * 12, "QUJDQQ=="),  # base64 is compared decoded
])
def test_index_does_not_skip_value_typed_operators(operator: str, policy_values: list[str],
                                                    request_value: str) -> None:
    # twelve Allow statements, one per value: enough for the slice to get a prefix index
    stmts = [DELEGATE] + [_allow({operator: {"kms:EncryptionContext:n": v}}) for v in policy_values]
    world = World(region=REGION, keys=[key(statements=stmts)])
    decision = _decide(world, action="kms:Encrypt", encryption_context={"n": request_value})
    assert decision.effect is Effect.ALLOW, decision.reason


def test_index_still_used_for_string_equals() -> None:
    stmts = [DELEGATE] + [_allow({"StringEquals": {"kms:EncryptionContext:n": str(i)}}) for i in range(12)]
    world = World(region=REGION, keys=[key(statements=stmts)])
    assert _decide(world, action="kms:Encrypt", encryption_context={"n": "3"}).effect is Effect.ALLOW
    assert _decide(world, action="kms:Encrypt", encryption_context={"n": "3.0"}).effect is Effect.IMPLICIT_DENY
    slice_ = Authorizer(world)._keys  # the compiled key policy indexes the slice
    entries = [e for es in slice_.values() for e in (es if isinstance(es, list) else [es])]
    assert any(e.policy.for_action("kms:encrypt").allow_index is not None for e in entries)


# -- b. a malformed policy variable in Resource / NotResource fails closed --------------------------

BAD_RESOURCE = "arn:aws:kms:*:*:key/${aws:username"


@pytest.mark.parametrize("element", ["Resource", "NotResource"])
def test_malformed_resource_variable_never_allows(element: str) -> None:
    alice = principal(ALICE, [{"Effect": "Allow", "Action": "kms:Encrypt", element: BAD_RESOURCE}])
    world = World(region=REGION, keys=[key()], principals=[alice])
    decision = _decide(world, action="kms:Encrypt")
    assert decision.effect is Effect.IMPLICIT_DENY
    assert decision.errors and "${aws:username" in decision.errors[0]
    assert reference_outcome(world, Request(principal=ALICE, key=K1_ARN, action="kms:Encrypt")) == "ImplicitDeny"


@pytest.mark.parametrize("element", ["Resource", "NotResource"])
def test_malformed_resource_variable_deny_applies(element: str) -> None:
    alice = principal(ALICE, [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"},
                              {"Effect": "Deny", "Action": "kms:Encrypt", element: BAD_RESOURCE}])
    world = World(region=REGION, keys=[key()], principals=[alice])
    decision = _decide(world, action="kms:Encrypt")
    assert decision.effect is Effect.EXPLICIT_DENY, decision.reason
    assert decision.errors and "resource `arn:aws:kms:*:*:key/${aws:username`" in decision.errors[0]
    assert reference_outcome(world, Request(principal=ALICE, key=K1_ARN, action="kms:Encrypt")) == "ExplicitDeny"


def test_malformed_resource_variable_in_key_policy_deny() -> None:
    stmts = [DELEGATE, {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:Encrypt", "Resource": "*"},
             {"Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt", "Resource": BAD_RESOURCE}]
    world = World(region=REGION, keys=[key(statements=stmts)])
    assert _decide(world, action="kms:Encrypt").effect is Effect.EXPLICIT_DENY


# -- c. AWS's wording of the reason ------------------------------------------------------------------

_HEAD = f"User: {ALICE} is not authorized to perform: kms:Decrypt on resource: {K1_ARN}"


@pytest.mark.parametrize(("layer", "explicit", "implicit"), [
    ("identity", "with an explicit deny in an identity-based policy",
     "because no identity-based policy allows the kms:Decrypt action"),
    ("key-policy", "with an explicit deny in a resource-based policy",
     "because no resource-based policy allows the kms:Decrypt action"),
    ("scp", "with an explicit deny in a service control policy",
     "because no service control policy allows the kms:Decrypt action"),
    ("rcp", "with an explicit deny in a resource control policy",
     "because no resource control policy allows the kms:Decrypt action"),
    ("permissions-boundary", "with an explicit deny in a permissions boundary",
     "because no permissions boundary allows the kms:Decrypt action"),
    ("session", "with an explicit deny in a session policy",
     "because no session policy allows the kms:Decrypt action"),
    ("vpc-endpoint", "with an explicit deny in a VPC endpoint policy",
     "because no VPC endpoint policy allows the kms:Decrypt action"),
])
def test_reason_wording(layer: str, explicit: str, implicit: str) -> None:
    assert explain.explicit_deny(ALICE, "kms:Decrypt", K1_ARN, layer) == f"{_HEAD} {explicit}"
    assert explain.implicit_deny(ALICE, "kms:Decrypt", K1_ARN, layer) == f"{_HEAD} {implicit}"


def test_grant_reason_is_an_aws_phrase() -> None:
    text = explain.implicit_deny(ALICE, "kms:Decrypt", K1_ARN, "grant")
    assert text == f"{_HEAD} because no identity-based policy allows the kms:Decrypt action"
    assert "grant" not in text


def test_boundary_deny_reason_from_the_engine() -> None:
    alice = principal(ALICE, [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}],
                      boundary=[{"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
                                {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}])
    world = World(region=REGION, keys=[key()], principals=[alice])
    decision = _decide(world, action="kms:Decrypt")
    assert (decision.effect, decision.layer) == (Effect.EXPLICIT_DENY, "permissions-boundary")
    assert decision.reason == f"{_HEAD} with an explicit deny in a permissions boundary"


# -- d. CreateGrant's encryption-context keys come from its Constraints ------------------------------

_GRANT_PARAMS = {"GranteePrincipal": "arn:aws:iam::111122223333:user/bob", "Operations": ["Decrypt"]}


def _create_grant(condition: dict[str, Any], **kw: Any) -> tuple[Decision, str]:
    world = World(region=REGION, keys=[key(statements=[_allow(condition, "kms:CreateGrant")])])
    request = Request(principal=ALICE, key=K1_ARN, action="kms:CreateGrant", **kw)
    return Authorizer(world).decide(request), reference_outcome(world, request)


def test_create_grant_ignores_the_request_encryption_context() -> None:
    decision, ref = _create_grant({"StringEquals": {"kms:EncryptionContext:Dept": "sales"}},
                                  encryption_context={"Dept": "sales"}, parameters=_GRANT_PARAMS)
    assert (decision.effect, ref) == (Effect.IMPLICIT_DENY, "ImplicitDeny")
    assert decision.missing_keys == ("kms:EncryptionContext:Dept",)


@pytest.mark.parametrize("kind", ["EncryptionContextEquals", "EncryptionContextSubset"])
def test_create_grant_reads_the_constraints(kind: str) -> None:
    params = {**_GRANT_PARAMS, "Constraints": {kind: {"Dept": "sales"}}}
    condition = {"StringEquals": {"kms:EncryptionContext:Dept": "sales", "kms:GrantConstraintType": kind},
                 "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Dept"]}}
    decision, ref = _create_grant(condition, encryption_context={"Dept": "other"}, parameters=params)
    assert (decision.effect, ref) == (Effect.ALLOW, "Allow"), decision.reason


def test_create_grant_keys_from_constraints_not_request() -> None:
    params = {**_GRANT_PARAMS, "Constraints": {"EncryptionContextSubset": {"Team": "a"}}}
    condition = {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "Dept"}}
    decision, _ = _create_grant(condition, encryption_context={"Dept": "sales"}, parameters=params)
    assert decision.effect is Effect.IMPLICIT_DENY


# -- e. ReEncrypt: each half reads its own side ------------------------------------------------------

def test_reencrypt_halves_read_their_own_side() -> None:
    stmts = [
        _allow({"StringEquals": {"kms:EncryptionContext:side": "src",
                                 "kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_1"}}, "kms:ReEncryptFrom"),
        _allow({"StringEquals": {"kms:EncryptionContext:side": "dst",
                                 "kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                                 "kms:ReEncryptOnSameKey": "true"}}, "kms:ReEncryptTo"),
    ]
    world = World(region=REGION, keys=[key(statements=stmts)])
    params = {"SourceEncryptionContext": {"side": "src"}, "DestinationEncryptionContext": {"side": "dst"},
              "SourceEncryptionAlgorithm": "RSAES_OAEP_SHA_1",
              "DestinationEncryptionAlgorithm": "RSAES_OAEP_SHA_256", "DestinationKeyId": K1_ARN}
    request = Request(principal=ALICE, key=K1_ARN, action="kms:ReEncryptFrom", parameters=params)
    decision = Authorizer(world).decide(request)
    assert decision.effect is Effect.ALLOW, decision.reason
    assert [d.action for d in decision.sub_decisions] == ["kms:ReEncryptFrom", "kms:ReEncryptTo"]
    swapped = {**params, "SourceEncryptionContext": {"side": "dst"}, "DestinationEncryptionContext": {"side": "src"}}
    denied = Authorizer(world).decide(request.model_copy(update={"parameters": swapped}))
    assert denied.effect is Effect.IMPLICIT_DENY
