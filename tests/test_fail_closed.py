"""Fail closed: a fault anywhere inside a decision is a deny that reports it, never an Allow,
never an exception out of ``Authorizer.decide``; in the local KMS a fault in the evaluator means
the operation fails (AccessDenied or KMSInternal) and performs nothing.

Faults are injected with monkeypatch into condition evaluation, context derivation, grant lookup,
principal matching, caller parsing, key resolution and the per-action statement index. Every
request used here is an Allow without the fault (checked first), so each test can fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsauthz.evaluate import Authorizer
from kmsauthz.evaluate import engine as engine_module
from kmsauthz.evaluate.compile import CompiledPolicy
from kmsauthz.evaluate.conditions import CompiledCondition, ConditionOutcome
from kmsauthz.evaluate.context import RequestContext
from kmsauthz.evaluate.principals import PrincipalMatcher
from kmsauthz.model.decision import Decision, Effect
from kmsauthz.model.request import Request
from kmsauthz.model.world import World
from kmsauthz.scenario import load_world

A = "111122223333"
K1 = "1234abcd-12ab-34cd-56ef-1234567890ab"
K1_ARN = f"arn:aws:kms:us-east-1:{A}:key/{K1}"
APP = f"arn:aws:iam::{A}:role/app"
ALICE = f"arn:aws:iam::{A}:user/alice"
WORKER = f"arn:aws:iam::{A}:role/worker"

WORLD: dict[str, Any] = {
    "region": "us-east-1",
    "organization": {"id": "o-a1b2c3d4e5", "accounts": [A]},
    "accounts": {A: {"scps": [{"Version": "2012-10-17", "Statement": [
        {"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}]}]}},
    "keys": [{
        "id": K1, "account": A, "aliases": ["alias/orders"],
        "policy": {"Version": "2012-10-17", "Statement": [
            {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "AppUse", "Effect": "Allow", "Principal": {"AWS": APP},
             "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
             "Condition": {"StringEquals": {"kms:EncryptionContext:app": "orders"}}},
            {"Sid": "OnlyFromCorp", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
             "Condition": {"NotIpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}},
        ]},
        "grants": [{"name": "worker-decrypt", "grantee": WORKER, "operations": ["Decrypt"]}],
    }],
    "principals": [
        {"arn": APP},
        {"arn": WORKER},
        {"arn": ALICE, "policies": [{"Version": "2012-10-17", "Statement": [
            {"Sid": "AliceUse", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": K1_ARN,
             "Condition": {"StringLike": {"aws:username": "ali*"}}}]}]},
    ],
}

# Each allowed through a different source of Allow: key policy statement with a condition,
# delegation + identity policy with a condition, grant.
REQUESTS = {
    "key-policy": Request(principal=APP, action="kms:Encrypt", key="alias/orders",
                          encryption_context={"app": "orders"}, source_ip="10.1.2.3"),
    "identity": Request(principal=ALICE, action="kms:Decrypt", key=K1_ARN, source_ip="10.1.2.3"),
    "grant": Request(principal=WORKER, action="kms:Decrypt", key=K1, source_ip="10.9.9.9"),
}


class InjectedFault(RuntimeError):
    """The fault these tests inject; its text must show up in Decision.errors."""


@pytest.fixture(scope="module")
def world() -> World:
    return load_world(WORLD)


def _assert_fail_closed(decision: Decision, marker: str = "injected") -> None:
    assert isinstance(decision, Decision)
    assert decision.effect is not Effect.ALLOW
    assert not decision.allowed
    assert decision.errors, "the fault must be reported in Decision.errors"
    assert any(marker in e for e in decision.errors), decision.errors


def _raiser(message: str = "injected fault") -> Callable[..., Any]:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise InjectedFault(message)
    return boom


def test_every_request_is_allowed_without_a_fault(world: World) -> None:
    auth = Authorizer(world)
    for name, request in REQUESTS.items():
        decision = auth.decide(request)
        assert decision.allowed, (name, decision.reason)
        assert not decision.errors


# -- exceptions at each stage --------------------------------------------------------------------

STAGES: dict[str, tuple[Any, str, tuple[str, ...]]] = {
    # stage: (object, attribute, requests that reach it)
    "condition evaluation": (CompiledCondition, "evaluate", ("key-policy", "identity", "grant")),
    # every lookup (`lookup`, and the folded-name fast path the conditions use) goes through here
    "context derivation": (RequestContext, "lookup_folded", ("key-policy", "identity", "grant")),
    "principal matching": (PrincipalMatcher, "kind", ("key-policy", "identity", "grant")),
    "grant lookup": (engine_module._GrantIndex, "for_caller", ("grant",)),
    "statement index": (CompiledPolicy, "for_action", ("key-policy", "identity", "grant")),
    "caller parsing": (engine_module, "parse_caller", ("key-policy", "identity", "grant")),
    "key resolution": (engine_module, "resolve", ("key-policy", "identity", "grant")),
}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_an_exception_at_a_stage_is_a_reported_deny(stage: str, world: World,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    target, attribute, names = STAGES[stage]
    monkeypatch.setattr(target, attribute, _raiser(f"injected fault in {stage}"))
    auth = Authorizer(world)  # after patching: nothing is cached yet
    for name in names:
        decision = auth.decide(REQUESTS[name])
        # the error names the exception type; a condition that cannot read a context key says
        # which key, without the exception's text (it could quote request data)
        _assert_fail_closed(decision, "InjectedFault")


def test_a_fault_in_an_allow_statements_condition_outcome_keeps_it_from_applying(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # not an exception: the condition reports an error in its outcome (bad value, unknown key
    # type). The Allow statement does not apply, the Deny statement counts as matching.
    def erroring(self: CompiledCondition, ctx: Any) -> ConditionOutcome:
        return ConditionOutcome(matched=True, missing=(), error="injected condition error")

    monkeypatch.setattr(CompiledCondition, "evaluate", erroring)
    decision = Authorizer(world).decide(REQUESTS["key-policy"])
    _assert_fail_closed(decision)
    assert decision.effect is Effect.EXPLICIT_DENY  # the Deny `OnlyFromCorp` counts as matching


def test_an_erroring_deny_condition_alone_still_denies(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    real = CompiledCondition.evaluate

    def only_ip_conditions_fail(self: CompiledCondition, ctx: Any) -> ConditionOutcome:
        if "aws:sourceip" in {k.lower() for k in self.keys}:
            return ConditionOutcome(matched=False, missing=(), error="injected ip error")
        return real(self, ctx)

    monkeypatch.setattr(CompiledCondition, "evaluate", only_ip_conditions_fail)
    for name in ("key-policy", "identity", "grant"):
        decision = Authorizer(world).decide(REQUESTS[name])
        _assert_fail_closed(decision, "injected ip error")
        assert decision.effect is Effect.EXPLICIT_DENY
        assert any(m.sid == "OnlyFromCorp" for m in decision.matched)


def test_a_fault_in_a_guardrail_layer_denies(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # the SCP is the only policy compiled for layer `scp`: fault only there
    real = CompiledPolicy.for_action

    def scp_fails(self: CompiledPolicy, action: str) -> Any:
        if self.layer == "scp":
            raise InjectedFault("injected fault in the scp layer")
        return real(self, action)

    monkeypatch.setattr(CompiledPolicy, "for_action", scp_fails)
    for name in ("key-policy", "identity", "grant"):
        _assert_fail_closed(Authorizer(world).decide(REQUESTS[name]))


def test_a_fault_in_one_part_of_a_two_resource_request_denies_the_whole(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # ReEncrypt is two authorizations (ReEncryptFrom on the source, ReEncryptTo on the destination)
    request = Request(principal=f"arn:aws:iam::{A}:root", action="kms:ReEncrypt", key=K1,
                      parameters={"DestinationKeyId": K1}, source_ip="10.0.0.1")
    assert Authorizer(world).decide(request).allowed
    real = RequestContext.lookup_folded
    calls = {"n": 0}

    def second_part_fails(self: RequestContext, name: str) -> Any:
        if self.action == "kms:reencryptto":
            calls["n"] += 1
            raise InjectedFault("injected fault in ReEncryptTo")
        return real(self, name)

    monkeypatch.setattr(RequestContext, "lookup_folded", second_part_fails)
    decision = Authorizer(world).decide(request)
    assert calls["n"] >= 1
    _assert_fail_closed(decision, "InjectedFault")
    assert decision.sub_decisions and not decision.sub_decisions[-1].allowed


# -- a fault at any call of any stage ------------------------------------------------------------

_COUNTED = ("condition evaluation", "context derivation", "principal matching", "grant lookup", "statement index")


class _NthCall:
    """Wrap a method so that its n-th call raises; count calls."""

    def __init__(self, real: Callable[..., Any], n: int) -> None:
        self.real, self.n, self.calls = real, n, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.n:
            raise InjectedFault(f"injected fault at call {self.n}")
        return self.real(*args, **kwargs)


def _patched(target: Any, attribute: str, wrapper: _NthCall) -> Iterator[None]:
    original = getattr(target, attribute)

    def method(*args: Any, **kwargs: Any) -> Any:
        return wrapper(*args, **kwargs)

    setattr(target, attribute, method)
    try:
        yield
    finally:
        setattr(target, attribute, original)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(_COUNTED), st.sampled_from(["key-policy", "identity", "grant"]), st.integers(1, 12))
def test_a_fault_at_any_call_is_never_an_allow(world: World, stage: str, name: str, n: int) -> None:
    target, attribute, _ = STAGES[stage]
    wrapper = _NthCall(getattr(target, attribute), n)
    gen = _patched(target, attribute, wrapper)
    next(gen)
    try:
        decision = Authorizer(world).decide(REQUESTS[name])
    finally:
        next(gen, None)
    if wrapper.calls >= n:
        # the fault happened: whatever stage and call, the request is not allowed and it is reported
        _assert_fail_closed(decision, "InjectedFault")
    else:
        assert decision.allowed  # the fault never fired: the decision is the normal one
        assert not decision.errors


# -- the local KMS ------------------------------------------------------------------------------------


def _kms_world() -> dict[str, Any]:
    """WORLD without the source-IP guard (the KMS client here sends no source address)."""
    import copy

    world = copy.deepcopy(WORLD)
    statements = world["keys"][0]["policy"]["Statement"]
    world["keys"][0]["policy"]["Statement"] = [s for s in statements if s.get("Sid") != "OnlyFromCorp"]
    return world


@pytest.fixture
def kms() -> Any:
    from kmsauthz.kms import LocalKMS

    return LocalKMS.from_world(_kms_world(), store=":memory:")


def _client(kms: Any, principal: str = f"arn:aws:iam::{A}:root") -> Any:
    return kms.client(principal=principal, region="us-east-1")


def _state(kms: Any) -> Any:
    """Everything an operation could change, read as the root user without faults."""
    c = _client(kms)
    keys = sorted(k["KeyId"] for k in c.list_keys()["Keys"])
    out: list[Any] = [keys, sorted(a["AliasName"] for a in c.list_aliases()["Aliases"])]
    for key in keys:
        meta = c.describe_key(KeyId=key)["KeyMetadata"]
        out.append((key, meta["KeyState"], meta.get("Description"),
                    c.get_key_policy(KeyId=key, PolicyName="default")["Policy"],
                    sorted(g["GrantId"] for g in c.list_grants(KeyId=key)["Grants"]),
                    sorted((t["TagKey"], t["TagValue"]) for t in c.list_resource_tags(KeyId=key)["Tags"])))
    return out


OPERATIONS: dict[str, Callable[[Any], Any]] = {
    "encrypt": lambda c: c.encrypt(KeyId=K1, Plaintext=b"secret", EncryptionContext={"app": "orders"}),
    "generate_data_key": lambda c: c.generate_data_key(KeyId=K1, KeySpec="AES_256"),
    "create_key": lambda c: c.create_key(Description="made under a fault"),
    "create_grant": lambda c: c.create_grant(KeyId=K1, GranteePrincipal=APP, Operations=["Encrypt"]),
    "put_key_policy": lambda c: c.put_key_policy(KeyId=K1, PolicyName="default", Policy=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},'
        '"Action":"kms:*","Resource":"*"}]}'), BypassPolicyLockoutSafetyCheck=True),
    "create_alias": lambda c: c.create_alias(AliasName="alias/made-under-fault", TargetKeyId=K1),
    "schedule_key_deletion": lambda c: c.schedule_key_deletion(KeyId=K1, PendingWindowInDays=7),
    "disable_key": lambda c: c.disable_key(KeyId=K1),
    "tag_resource": lambda c: c.tag_resource(KeyId=K1, Tags=[{"TagKey": "t", "TagValue": "v"}]),
    "update_key_description": lambda c: c.update_key_description(KeyId=K1, Description="changed"),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("where", ["inside decide", "decide itself"])
def test_an_evaluator_fault_in_the_local_kms_performs_nothing(kms: Any, operation: str, where: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from kmsauthz.kms import KMSError

    before = _state(kms)
    if where == "inside decide":
        # caught by decide: a deny with errors, which the KMS turns into AccessDeniedException
        monkeypatch.setattr(PrincipalMatcher, "kind", _raiser())
        monkeypatch.setattr(RequestContext, "lookup", _raiser())
        monkeypatch.setattr(CompiledPolicy, "for_action", _raiser())  # reached by CreateKey (SCP layer)
        expected = {"AccessDeniedException"}
    else:
        # the evaluator itself raises (a bug outside its own guard): KMSInternalException
        monkeypatch.setattr(Authorizer, "decide", _raiser())
        expected = {"KMSInternalException", "AccessDeniedException"}
    client = _client(kms)
    with pytest.raises(KMSError) as err:
        OPERATIONS[operation](client)
    assert err.value.code in expected, (err.value.code, err.value.message)
    assert "secret" not in err.value.message
    monkeypatch.undo()
    assert _state(kms) == before, f"{operation} changed the store although it was not authorized"
    # and the same operation works once the fault is gone (so the test could fail)
    OPERATIONS[operation](_client(kms))


def test_a_fault_in_the_first_context_read_is_reported_not_retried(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # The conditions' fast path once caught the fault, re-ran the clause on the full path, read the
    # key again (successfully) and allowed without reporting anything.
    wrapper = _NthCall(RequestContext.lookup_folded, 1)
    monkeypatch.setattr(RequestContext, "lookup_folded", lambda self, name: wrapper(self, name))
    decision = Authorizer(world).decide(REQUESTS["key-policy"])
    assert wrapper.calls >= 1
    _assert_fail_closed(decision, "could not be read")
