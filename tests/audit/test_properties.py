"""Properties over generated policies: no rule ever fails, every finding has a place in the document."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kmsauthz.audit import AuditTarget, audit_policy
from kmsauthz.errors import InputError
from kmsauthz.syntax import load_policy_text

ACCOUNTS = ["111122223333", "444455556666"]
principals = st.one_of(
    st.just("*"),
    st.builds(lambda a, n: {"AWS": f"arn:aws:iam::{a}:{n}"}, st.sampled_from(ACCOUNTS),
              st.sampled_from(["root", "role/app", "user/ana"])),
    st.just({"Service": "logs.us-east-1.amazonaws.com"}),
    st.just({"AWS": "*"}),
)
actions = st.lists(st.sampled_from([
    "kms:*", "*", "kms:Decrypt", "kms:Encrypt", "kms:Get*", "kms:GetKeyPolicy", "kms:CreateGrant",
    "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CreateKey", "kms:ReEncrypt*", "kms:Decript",
    "s3:GetObject", "kms:RetireGrant", "KMS:describekey"]), min_size=1, max_size=4, unique=True)
keys = st.sampled_from([
    "kms:CallerAccount", "kms:ViaService", "kms:EncryptionContext:Dept", "kms:EncryptionContextKeys",
    "kms:GrantOperations", "kms:GrantIsForAWSResource", "aws:SourceVpce", "aws:SourceIp", "aws:PrincipalOrgID",
    "aws:CurrentTime", "kms:RequestAlias", "kms:Nope", "aws:ResourceTag/Project", "aws:SourceArn"])
operators = st.sampled_from([
    "StringEquals", "StringNotEquals", "StringLike", "StringNotEqualsIfExists", "ForAllValues:StringEquals",
    "ForAnyValue:StringLike", "Bool", "BoolIfExists", "Null", "DateGreaterThan", "NumericLessThan",
    "IpAddress", "NotIpAddress", "ArnLike"])
values = st.lists(st.sampled_from(["111122223333", "true", "false", "vpce-1a2b3c4d", "10.0.0.0/8", "2026-01-01",
                                   "x*", "${aws:username}", "Decrypt", "30"]), min_size=1, max_size=2)
conditions = st.dictionaries(operators, st.dictionaries(keys, values, min_size=1, max_size=2), max_size=2)


@st.composite
def statements(draw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Effect": draw(st.sampled_from(["Allow", "Deny"])),
        "Principal": draw(principals),
        ("NotAction" if draw(st.booleans()) and draw(st.booleans()) else "Action"): draw(actions),
        "Resource": draw(st.sampled_from(["*", "arn:aws:kms:us-east-1:111122223333:key/*", "arn:aws:s3:::b"])),
    }
    if draw(st.booleans()):
        out["Sid"] = draw(st.sampled_from(["A", "B", "Allow use", "Deny outside"]))
    cond = draw(conditions)
    if cond:
        out["Condition"] = cond
    return out


policies = st.builds(
    lambda version, sts: ({"Version": version} if version else {}) | {"Statement": sts},
    st.sampled_from(["2012-10-17", "2008-10-17", None]),
    st.lists(statements(), min_size=1, max_size=5),
)


@settings(max_examples=80, deadline=None)
@given(policies)
def test_rules_never_fail_and_findings_are_located(doc: dict[str, Any]) -> None:
    text = json.dumps(doc, indent=2)
    try:
        policy = load_policy_text(text, source="gen.json")
    except InputError:
        return  # the syntax layer rejects it; the audit reports that as invalid-policy
    findings = audit_policy(AuditTarget(policy, "gen.json"))
    assert not [f for f in findings if f.rule == "internal-error"], [f.message for f in findings]
    lines = text.count("\n") + 1
    for f in findings:
        assert 1 <= f.line <= lines and f.column >= 1, f
        assert f.pointer == "" or f.pointer.startswith("/Statement")
        if f.statement is not None:
            assert f.pointer.startswith(f"/Statement/{f.statement}")
            assert f.sid == doc["Statement"][f.statement].get("Sid")
