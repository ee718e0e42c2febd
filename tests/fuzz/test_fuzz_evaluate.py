"""Fuzz the evaluator with policies the loader accepts: any generated key policy and identity
policy, any request. ``decide`` returns a Decision (never raises), and a Decision with errors is
never an Allow. Conditions with values of the wrong type, unknown keys, policy variables and
odd patterns all flow through conditions.py, variables.py and patterns.py here.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kmsauthz.errors import InputError
from kmsauthz.evaluate import Authorizer
from kmsauthz.model.decision import Decision, Effect
from kmsauthz.model.request import Request
from kmsauthz.scenario import load_world
from kmsauthz.syntax import load_policy_document

from .strategies import OPERATORS, strings

A = "111122223333"
K1 = "1234abcd-12ab-34cd-56ef-1234567890ab"
APP = f"arn:aws:iam::{A}:role/app"
KEYS = ["aws:username", "aws:SourceIp", "aws:CurrentTime", "aws:PrincipalTag/team", "kms:EncryptionContext:app",
        "kms:EncryptionContextKeys", "kms:CallerAccount", "kms:GrantOperations", "aws:MultiFactorAuthAge",
        "kms:ViaService", "aws:PrincipalArn", "kms:KeySpec", "aws:SecureTransport", "aws:SourceVpce"]
_values = (st.sampled_from(["*", "${aws:username}", "${*}", "${aws:PrincipalTag/team, 'x'}", "10.0.0.0/8", "::1/128",
                            "2026-01-01T00:00:00Z", "1700000000", "true", "false", "app*", "a?p", "", "-1e400",
                            "arn:aws:iam::*:role/*", "dGVzdA==", "${", "$${x}"])
           | strings | st.integers(-10**6, 10**6) | st.booleans() | st.floats(allow_nan=False, allow_infinity=False))


@st.composite
def condition_blocks(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for op in draw(st.lists(st.sampled_from(OPERATORS), min_size=1, max_size=3, unique=True)):
        keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=2, unique=True))
        out[op] = {k: draw(_values | st.lists(_values, min_size=1, max_size=3)) for k in keys}
    return out


@st.composite
def worlds_and_requests(draw: st.DrawFn) -> tuple[dict[str, Any], Request]:
    def statement(key_policy: bool) -> dict[str, Any]:
        st_: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"])),
                               "Action": draw(st.sampled_from(["kms:*", "kms:Decrypt", "kms:*a*", "kms:?ncrypt"])),
                               "Resource": draw(st.sampled_from(["*", f"arn:aws:kms:*:{A}:key/*",
                                                                 "arn:aws:kms:*:${aws:username}:key/*"]))}
        if key_policy:
            st_["Principal"] = draw(st.sampled_from(["*", {"AWS": APP}, {"AWS": A}]))
        if draw(st.booleans()):
            st_["Condition"] = draw(condition_blocks())
        return st_

    key_policy = {"Version": "2012-10-17", "Statement": [statement(True) for _ in range(draw(st.integers(1, 3)))]}
    identity = {"Version": "2012-10-17", "Statement": [statement(False) for _ in range(draw(st.integers(1, 2)))]}
    world = {"keys": [{"id": K1, "account": A, "policy": key_policy}],
             "principals": [{"arn": APP, "policies": [identity], "tags": {"team": draw(strings)}}]}
    request = Request(
        principal=APP, action=draw(st.sampled_from(["kms:Decrypt", "kms:Encrypt", "kms:CreateGrant"])), key=K1,
        source_ip=draw(st.sampled_from([None, "10.1.2.3", "::1", "192.0.2.1"])),
        encryption_context=draw(st.none() | st.dictionaries(st.sampled_from(["app", "x", "App"]), strings,
                                                             max_size=2)),
        via_service=draw(st.sampled_from([None, "ec2.us-east-1.amazonaws.com"])),
        parameters=draw(st.sampled_from([{}, {"Operations": ["Decrypt"]}, {"Operations": "junk"},
                                         {"GranteePrincipal": 7}])),
        context=draw(st.sampled_from([{}, {"aws:MultiFactorAuthAge": "abc"}, {"aws:CurrentTime": "not a date"},
                                      {"aws:SecureTransport": ["true", "false"]}])),
    )
    return world, request


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds_and_requests())
def test_decide_on_any_loadable_policy_is_a_decision(case: tuple[dict[str, Any], Request]) -> None:
    world_doc, request = case
    try:
        for doc, kind in ((world_doc["keys"][0]["policy"], "key"), (world_doc["principals"][0]["policies"][0],
                                                                     "identity")):
            load_policy_document(json.loads(json.dumps(doc)), kind=kind)
        world = load_world(world_doc)
    except InputError:
        assume(False)
        return
    decision = Authorizer(world).decide(request)
    assert isinstance(decision, Decision)
    if decision.errors:
        assert decision.effect is not Effect.ALLOW and not decision.allowed
    for error in decision.errors:
        assert "internal error" not in error, error  # a crash inside decide, caught: still a bug
