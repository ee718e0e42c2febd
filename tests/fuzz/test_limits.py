"""Limits as AWS sets them, for policies: each a specific error, never a slowdown or a crash.

Sizes (kmsauthz/syntax/rules.py cites the AWS pages): key policy 32,768 bytes; IAM managed
policies and permissions boundaries 6,144 characters not counting white space; session policies
2,048; SCPs and RCPs 5,120 characters; VPC endpoint policies 20,480 characters. "Never a
slowdown" is shown by what the loader does *not* run on an oversized document (counted calls),
not by timing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kmsauthz.errors import DocumentTooLargeError, PolicySyntaxError
from kmsauthz.evaluate import Authorizer
from kmsauthz.model.request import Request
from kmsauthz.scenario import load_world
from kmsauthz.syntax import load_policy_document, load_policy_text, loader, to_kmsp

from .test_hostile_patterns import counted_steps

ROOT = {"AWS": "arn:aws:iam::111122223333:root"}

# kind: (limit, the message, whether its statements take a Principal)
LIMITS = {
    "key": (32_768, "a key policy can be at most 32,768 bytes", True),
    "identity": (6_144, "an IAM managed policy can be at most 6,144 non-whitespace characters", False),
    "permissions-boundary": (6_144, "a permissions boundary can be at most 6,144 non-whitespace characters", False),
    "session": (2_048, "a session policy can be at most 2,048 non-whitespace characters", False),
    "scp": (5_120, "a service control policy can be at most 5,120 characters", False),
    "rcp": (5_120, "a resource control policy can be at most 5,120 characters", True),
    "vpc-endpoint": (20_480, "a VPC endpoint policy can be at most 20,480 characters", True),
}


def _sized(kind: str, size: int) -> str:
    """Compact JSON of exactly ``size`` characters (all ASCII, no white space) for the kind."""
    st: dict[str, Any] = {"Sid": "", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}
    if LIMITS[kind][2]:
        st["Principal"] = "*" if kind in ("rcp", "vpc-endpoint") else ROOT
    if kind == "rcp":
        st["Effect"] = "Deny"
    base = json.dumps({"Version": "2012-10-17", "Statement": [st]}, separators=(",", ":"))
    st["Sid"] = "S" * (size - len(base))
    text = json.dumps({"Version": "2012-10-17", "Statement": [st]}, separators=(",", ":"))
    assert len(text) == size
    return text


@pytest.mark.parametrize("kind", sorted(LIMITS))
def test_each_kind_loads_at_its_limit_and_is_refused_one_over(kind: str) -> None:
    limit, message, _ = LIMITS[kind]
    load_policy_text(_sized(kind, limit), kind=kind)
    with pytest.raises(DocumentTooLargeError) as err:
        load_policy_text(_sized(kind, limit + 1), kind=kind, source="p.json")
    problem = err.value.problems[0]
    assert problem.code == "policy-too-large"
    assert problem.message == f"{message}; this one is {limit + 1:,}"
    assert problem.span is not None and problem.span.source == "p.json"


def test_a_key_policy_is_measured_in_utf8_bytes() -> None:
    # `é` (U+00E9) is allowed in a policy and takes two bytes: 16,400 of them are over 32,768 bytes
    text = _sized("key", 1_000).replace('"Sid":"', '"Sid":"' + "\u00e9" * 16_400, 1)
    assert len(text) < 32_768 < len(text.encode())
    with pytest.raises(DocumentTooLargeError, match="a key policy can be at most 32,768 bytes"):
        load_policy_text(text, kind="key")


def test_the_policy_language_form_is_measured_as_the_json_it_stands_for() -> None:
    policy = load_policy_text(_sized("key", 32_768), kind="key")
    assert load_policy_text(to_kmsp(policy), kind="key", format="kmsp") == policy
    kmsp = 'allow "' + "S" * 33_000 + '" { principal * action kms:* resource * }'
    with pytest.raises(DocumentTooLargeError, match="a key policy can be at most 32,768 bytes"):
        load_policy_text(kmsp, format="kmsp")


def test_an_inline_document_is_measured_as_compact_json() -> None:
    doc = json.loads(_sized("session", 2_049))
    with pytest.raises(DocumentTooLargeError, match="a session policy can be at most 2,048"):
        load_policy_document(doc, kind="session")


def test_an_oversized_document_is_refused_before_the_schema_and_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"schema": 0}

    def counting(*args: Any, **kwargs: Any) -> None:
        calls["schema"] += 1

    monkeypatch.setattr(loader, "validate_document", counting)
    statements = [{"Effect": "Allow", "Principal": ROOT, "Action": ["kms:Decrypt"] * 20, "Resource": "*"}] * 200
    text = json.dumps({"Statement": statements})
    assert 32_768 < len(text) < loader.MAX_POLICY_TEXT
    with pytest.raises(DocumentTooLargeError, match="a key policy can be at most 32,768 bytes"):
        load_policy_text(text)
    assert calls["schema"] == 0
    load_policy_text(_sized("key", 1_000))
    assert calls["schema"] == 1  # (the counter works)


@pytest.mark.parametrize("format", ["json", "kmsp"])
def test_text_far_over_every_limit_is_refused_before_it_is_parsed(format: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parsed although far over every limit")

    monkeypatch.setattr(loader, "read_json", never)
    monkeypatch.setattr(loader, "parse_kmsp", never)
    text = ("{" if format == "json" else "allow {") + " " * (loader.MAX_POLICY_TEXT + 1)
    with pytest.raises(DocumentTooLargeError) as err:
        load_policy_text(text, format=format)
    assert "more than the 131,072 kmsauthz parses" in str(err.value)


def test_deep_nesting_in_a_condition_value_is_refused_with_its_limit() -> None:
    value = "[" * 70 + '"x"' + "]" * 70
    text = ('{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", '
            '"Condition": {"StringEquals": {"aws:x": ' + value + "}}}]}")
    with pytest.raises(PolicySyntaxError, match="nesting is deeper than 64 levels"):
        load_policy_text(text)


# -- huge condition blocks -----------------------------------------------------------------------

A = "111122223333"
K1 = "1234abcd-12ab-34cd-56ef-1234567890ab"


def _huge_condition_policy() -> dict[str, Any]:
    """One statement whose condition block is as large as a key policy allows."""
    values = [f"v{i}*" for i in range(2_000)]
    keys = {f"kms:EncryptionContext:k{i}": [f"x{i}?"] for i in range(200)}
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Huge", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringLike": {"kms:EncryptionContext:app": values},
                       "ForAnyValue:StringLike": {"kms:EncryptionContextKeys": values[:300]},
                       "StringNotLikeIfExists": keys}}]}
    assert 25_000 < len(json.dumps(policy, separators=(",", ":"))) <= 32_768
    return policy


def test_a_huge_condition_block_loads_and_decides_in_bounded_work() -> None:
    policy = _huge_condition_policy()
    load_policy_text(json.dumps(policy, separators=(",", ":")), kind="key")
    world = load_world({"keys": [{"id": K1, "account": A, "policy": policy}]})
    context = {"app": "z" * 2_000, **{f"k{i}": "y" for i in range(50)}}
    request = Request(principal=f"arn:aws:iam::{A}:root", action="kms:Decrypt", key=K1, encryption_context=context)
    with counted_steps() as total:
        decision = Authorizer(world).decide(request)
    assert not decision.errors
    # `app` = "zzz..." matches none of the `v*` values, so the Deny's condition fails: Root allows
    assert decision.effect.value == "Allow"
    assert total[1] >= 2_000  # every value of the huge block was matched
    # each of the 2,000 values reads `app` once (they fail on their first character): bounded by
    # values x (their length + 1) plus the text each reads, not by anything multiplicative
    assert 0 < total[0] <= 2_000 * 8 + 300 * 60 * 8 + 200 * 8 + 50_000, total
