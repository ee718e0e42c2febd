"""Differential test: the compiled engine and the plain reference evaluator agree.

Hypothesis draws worlds (key policies, identity policies, boundaries, session policies, SCPs,
RCPs, endpoint policies, grants) and requests over a small vocabulary, so that statements often
match requests; every drawn world is asked a batch of requests, thousands in all. Both
evaluators must give the same outcome: Allow, ExplicitDeny, ImplicitDeny or the KMS error.
"""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsauthz.evaluate import Authorizer
from kmsauthz.evaluate.reference import reference_outcome
from kmsauthz.model import PolicyKind, Request, World

from .engine_worlds import K1, A, key, policy, requests, worlds

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios"


def _agree(world: World, batch: list[Request]) -> None:
    auth = Authorizer(world)
    for request in batch:
        engine = auth.decide(request)
        reference = reference_outcome(world, request)
        assert engine.outcome == reference, (
            f"engine {engine.outcome} ({engine.reason}; errors {engine.errors}) "
            f"but reference {reference} for {request!r}"
        )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.lists(requests(), min_size=10, max_size=10))
def test_engine_agrees_with_reference(world: World, batch: list[Request]) -> None:
    _agree(world, batch)


@st.composite
def _many_statements(draw):  # type: ignore[no-untyped-def]
    """Enough Allow statements on one key to build the engine's prefix index (INDEX_THRESHOLD)."""
    n = draw(st.integers(8, 30))
    statements = []
    for i in range(n):
        team = draw(st.integers(0, 12))
        op = draw(st.sampled_from(("ArnLike", "StringLike", "StringEquals", "ArnEquals", "StringLikeIfExists")))
        value = f"arn:aws:iam::{A}:role/team-{team:02d}-*" if op != "StringEquals" else f"arn:aws:iam::{A}:role/team-{team:02d}"
        cond = {op: {"aws:PrincipalArn": value}}
        if draw(st.booleans()):
            cond["StringLike"] = {"kms:EncryptionContext:Project": f"p{draw(st.integers(0, 3))}/*"}
        statements.append({"Sid": f"T{i}", "Effect": draw(st.sampled_from(("Allow",) * 5 + ("Deny",))),
                           "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*",
                           "Condition": cond})
    return statements


@settings(max_examples=150, deadline=None)
@given(_many_statements(), st.lists(st.tuples(st.integers(0, 13), st.sampled_from(("role", "session")),
                                              st.integers(0, 4)), min_size=5, max_size=5))
def test_prefix_index_agrees_with_reference(statements, callers) -> None:  # type: ignore[no-untyped-def]
    world = World(keys=[key(K1, statements=statements)])
    batch = []
    for team, form, project in callers:
        name = f"team-{team:02d}" if form == "role" else f"team-{team:02d}-x"
        principal = (f"arn:aws:iam::{A}:role/{name}" if form == "role"
                     else f"arn:aws:sts::{A}:assumed-role/{name}/s")
        batch.append(Request(principal=principal, action="kms:Decrypt", key=K1,
                             encryption_context={"Project": f"p{project}/x"} if project < 4 else None))
    _agree(world, batch)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared scenarios not beside the project")
def test_reference_passes_the_shared_conformance_scenarios() -> None:
    from kmsauthz.scenario import load_scenario

    files = sorted(glob.glob(str(SHARED / "*.yaml")))
    assert files
    for path in files:
        scenario = load_scenario(path)
        for case in scenario.cases:
            assert reference_outcome(scenario.world, case.request) == case.expect, (path, case.name)


def test_version_2008_keeps_variables_literal_in_both() -> None:
    stmt = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:user/hiro"}, "Action": "kms:Decrypt",
            "Resource": "*", "Condition": {"StringEquals": {"kms:EncryptionContext:owner": "${aws:username}"}}}
    for version, expected in (("2012-10-17", "Allow"), ("2008-10-17", "ImplicitDeny")):
        world = World(keys=[key(K1, statements=[])])
        world.keys[0].policy = policy([stmt], PolicyKind.KEY, version=version)
        request = Request(principal=f"arn:aws:iam::{A}:user/hiro", action="kms:Decrypt", key=K1,
                          encryption_context={"owner": "hiro"})
        assert Authorizer(world).decide(request).outcome == expected
        assert reference_outcome(world, request) == expected
