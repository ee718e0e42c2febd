"""Engine shortcuts that must not change an answer. A key policy never sees `aws:ResourceTag/*` or `kms:ResourceAliases` (abac.html, semantics §4.4),
whichever way its text spells them; a key policy that names neither reads the context directly
(the engine skips the view then), and must decide exactly as through the view."""

from __future__ import annotations

from typing import Any

import pytest

from kmsauthz.evaluate import Authorizer
from kmsauthz.model import Request, World
from tests.evaluate.engine_worlds import ALICE, K1, K1_ARN, key, principal

USE = {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:Decrypt", "Resource": "*"}


def decide(statements: list[dict[str, Any]], **kw: Any) -> str:
    world = World(keys=[key(K1, statements=statements, tags={"Project": "alpha"}, aliases=("alias/app",))],
                  principals=[principal(ALICE)])
    return Authorizer(world).decide(Request(principal=ALICE, action="kms:Decrypt", key=K1_ARN, **kw)).outcome


@pytest.mark.parametrize("name", ["aws:ResourceTag/Project", "AWS:RESOURCETAG/Project", "aws:resourcetag/project"])
def test_resource_tags_are_absent_in_a_key_policy(name: str) -> None:
    assert decide([{**USE, "Condition": {"StringEquals": {name: "alpha"}}}]) == "ImplicitDeny"
    assert decide([{**USE, "Condition": {"Null": {name: "true"}}}]) == "Allow"


def test_resource_aliases_are_absent_in_a_key_policy() -> None:
    cond = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/app"}}
    assert decide([{**USE, "Condition": cond}]) == "ImplicitDeny"
    assert decide([{**USE, "Condition": {"Null": {"Kms:ResourceAliases": "true"}}}]) == "Allow"


def test_a_variable_naming_a_resource_tag_reads_it_as_absent() -> None:
    # a policy variable that resolves to nothing makes its condition fail (reference_policies_variables.html)
    cond = {"StringEquals": {"kms:EncryptionContext:Project": "${aws:ResourceTag/Project}"}}
    assert decide([{**USE, "Condition": cond}], encryption_context={"Project": "alpha"}) == "ImplicitDeny"


def test_a_key_policy_without_hidden_names_still_reads_the_context() -> None:
    cond = {"StringEquals": {"kms:EncryptionContext:Project": "alpha"}}
    assert decide([{**USE, "Condition": cond}], encryption_context={"Project": "alpha"}) == "Allow"
    assert decide([{**USE, "Condition": cond}], encryption_context={"Project": "beta"}) == "ImplicitDeny"


def test_an_undeclared_endpoint_gives_its_id_and_no_vpc_in_each_region() -> None:
    # one authorizer for every request: the endpoint model it builds once per (id, Region) must not
    # carry one request's facts into another's
    by_vpce = {**USE, "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}}}
    no_vpc = {**USE, "Sid": "NoVpc", "Action": "kms:Encrypt", "Condition": {"Null": {"aws:SourceVpc": "true"}}}
    world = World(keys=[key(K1, statements=[by_vpce, no_vpc])], principals=[principal(ALICE)])
    auth = Authorizer(world)

    def outcome(action: str, endpoint: str | None) -> str:
        return auth.decide(Request(principal=ALICE, action=action, key=K1_ARN, vpc_endpoint=endpoint)).outcome

    for _ in range(2):
        assert outcome("kms:Decrypt", "vpce-0123456789abcdef0") == "Allow"
        assert outcome("kms:Decrypt", "vpce-0fedcba9876543210") == "ImplicitDeny"
        assert outcome("kms:Decrypt", None) == "ImplicitDeny"
        assert outcome("kms:Encrypt", "vpce-0123456789abcdef0") == "Allow"
