"""Properties every decision must have, over random worlds (hypothesis).

- adding a Deny statement anywhere never turns a deny into an allow;
- adding an Allow statement anywhere never turns an allow into a deny;
- the order of statements, of condition clauses and of the values inside any list never changes
  the decision;
- evaluation is deterministic: the same world and request give an equal Decision, field by field.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsauthz.evaluate import Authorizer
from kmsauthz.model import Policy, Request, World
from kmsauthz.model.policy import Condition, ConditionClause, Principal, PrincipalEntry, Statement, ValueList

from .engine_worlds import policy, requests, statements, worlds

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BATCH = st.lists(requests(), min_size=8, max_size=8)


def _policies(world: World) -> list[tuple[str, Callable[[Policy], None]]]:
    """Every policy slot of the world with a setter, so a test can replace one."""
    slots: list[tuple[str, Callable[[Policy], None]]] = []
    for k in world.keys:
        slots.append(("key", lambda p, k=k: setattr(k, "policy", p)))
    for pr in world.principals:
        for i in range(len(pr.policies)):
            slots.append(("identity", lambda p, pr=pr, i=i: pr.policies.__setitem__(i, p)))
        if pr.permissions_boundary is not None:
            slots.append(("boundary", lambda p, pr=pr: setattr(pr, "permissions_boundary", p)))
    return slots


def _current(world: World, index: int) -> Policy:
    found: list[Policy] = []
    for k in world.keys:
        found.append(k.policy)
    for pr in world.principals:
        found.extend(pr.policies)
        if pr.permissions_boundary is not None:
            found.append(pr.permissions_boundary)
    return found[index]


def _outcomes(world: World, batch: list[Request]) -> list[str]:
    auth = Authorizer(world)
    return [auth.decide(r).outcome for r in batch]


def _add_statement(world: World, slot: int, extra: dict[str, Any]) -> World:
    changed = world.model_copy(deep=True)
    kind, setter = _policies(changed)[slot % len(_policies(changed))]
    old = _current(changed, slot % len(_policies(changed)))
    if kind != "key":
        extra = {k: v for k, v in extra.items() if k not in ("Principal", "NotPrincipal")}
    added = policy([extra], old.kind).statements[0]
    setter(old.model_copy(update={"statements": (*old.statements, added)}))
    return changed


@SETTINGS
@given(worlds(), BATCH, st.integers(0, 50), statements(principals=True))
def test_adding_a_deny_never_turns_a_deny_into_an_allow(world: World, batch: list[Request], slot: int,
                                                       extra: dict[str, Any]) -> None:
    extra = dict(extra, Effect="Deny")
    extra.pop("NotPrincipal", None)
    extra.setdefault("Principal", "*")
    before = _outcomes(world, batch)
    after = _outcomes(_add_statement(world, slot, extra), batch)
    for b, a, r in zip(before, after, batch, strict=True):
        if b != "Allow":
            assert a != "Allow", r


@SETTINGS
@given(worlds(), BATCH, st.integers(0, 50), statements(principals=True))
def test_adding_an_allow_never_turns_an_allow_into_a_deny(world: World, batch: list[Request], slot: int,
                                                         extra: dict[str, Any]) -> None:
    extra = dict(extra, Effect="Allow")
    if "NotPrincipal" in extra:
        extra["Principal"] = extra.pop("NotPrincipal")
    extra.setdefault("Principal", "*")
    before = _outcomes(world, batch)
    after = _outcomes(_add_statement(world, slot, extra), batch)
    for b, a, r in zip(before, after, batch, strict=True):
        if b == "Allow":
            assert a == "Allow", r


def _shuffled_values(v: ValueList | None, rng: random.Random) -> ValueList | None:
    if v is None:
        return None
    values = list(v.values)
    rng.shuffle(values)
    return v.model_copy(update={"values": tuple(values)})


def _shuffled_principal(p: Principal | None, rng: random.Random) -> Principal | None:
    if p is None or p.wildcard:
        return p
    entries = [PrincipalEntry(type=e.type, values=_shuffled_values(e.values, rng)) for e in p.entries]  # type: ignore[arg-type]
    rng.shuffle(entries)
    return p.model_copy(update={"entries": tuple(entries)})


def _shuffled_condition(c: Condition | None, rng: random.Random) -> Condition | None:
    if c is None:
        return None
    clauses: list[ConditionClause] = []
    for clause in c.clauses:
        values = list(clause.values)
        rng.shuffle(values)
        clauses.append(clause.model_copy(update={"values": tuple(values)}))
    rng.shuffle(clauses)
    return c.model_copy(update={"clauses": tuple(clauses)})


def _shuffled(p: Policy, rng: random.Random) -> Policy:
    out: list[Statement] = []
    for s in p.statements:
        out.append(s.model_copy(update={
            "principal": _shuffled_principal(s.principal, rng),
            "not_principal": _shuffled_principal(s.not_principal, rng),
            "action": _shuffled_values(s.action, rng),
            "not_action": _shuffled_values(s.not_action, rng),
            "resource": _shuffled_values(s.resource, rng),
            "not_resource": _shuffled_values(s.not_resource, rng),
            "condition": _shuffled_condition(s.condition, rng),
        }))
    rng.shuffle(out)
    return p.model_copy(update={"statements": tuple(out)})


@SETTINGS
@given(worlds(), BATCH, st.integers(0, 2**32))
def test_statement_and_value_order_never_change_the_decision(world: World, batch: list[Request], seed: int) -> None:
    rng = random.Random(seed)
    changed = world.model_copy(deep=True)
    for k in changed.keys:
        k.policy = _shuffled(k.policy, rng)
        rng.shuffle(k.grants)
    for pr in changed.principals:
        pr.policies = [_shuffled(p, rng) for p in pr.policies]
        rng.shuffle(pr.policies)
        if pr.permissions_boundary is not None:
            pr.permissions_boundary = _shuffled(pr.permissions_boundary, rng)
    for layers in changed.accounts.values():
        layers.scps = [_shuffled(p, rng) for p in layers.scps]
        layers.rcps = [_shuffled(p, rng) for p in layers.rcps]
    for ep in changed.vpc_endpoints:
        if ep.policy is not None:
            ep.policy = _shuffled(ep.policy, rng)
    assert _outcomes(changed, batch) == _outcomes(world, batch)


@SETTINGS
@given(worlds(), BATCH)
def test_evaluation_is_deterministic(world: World, batch: list[Request]) -> None:
    first = Authorizer(world)
    second = Authorizer(world.model_copy(deep=True))
    for r in batch:
        a, b, c = first.decide(r), first.decide(r), second.decide(r)
        assert a == b
        assert a.model_dump() == c.model_dump()
