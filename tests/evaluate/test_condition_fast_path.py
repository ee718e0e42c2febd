"""The condition fast path gives the outcome of the full clause-by-clause evaluation."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kmsauthz.evaluate.conditions import compile_condition
from kmsauthz.model.policy import Condition, ConditionClause

OPERATORS = (
    "StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase",
    "NumericEquals", "NumericLessThan", "DateGreaterThan", "Bool", "ArnLike", "ArnNotLike",
    "IpAddress", "NotIpAddress", "BinaryEquals", "Null",
)
VALUES = ("a", "A*", "true", "false", "10", "10.0", "2026-01-01T00:00:00Z", "1767225600",
          "arn:aws:iam::111122223333:role/*", "10.0.0.0/8", "QUJD", "", "*")
KEYS = ("k:one", "k:two", "k:multi")


class _Ctx:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def lookup(self, key: str) -> Any:
        return self.values.get(key.lower())


def _clause(qualifier: str, op: str, if_exists: bool, key: str, values: list[str]) -> ConditionClause:
    if_exists = if_exists and op != "Null"
    return ConditionClause(
        operator=f"{qualifier}{op}{'IfExists' if if_exists else ''}", base=op,
        qualifier=qualifier.rstrip(":") or None, if_exists=if_exists, key=key, values=tuple(values))


clauses = st.builds(
    _clause,
    st.sampled_from(("", "", "ForAnyValue:", "ForAllValues:")),
    st.sampled_from(OPERATORS), st.booleans(), st.sampled_from(KEYS),
    st.lists(st.sampled_from(VALUES), min_size=1, max_size=3),
)
contexts = st.dictionaries(
    st.sampled_from(("k:one", "k:two", "k:multi")),
    st.one_of(st.sampled_from((*VALUES, "10.1.2.3", "arn:aws:iam::111122223333:role/x")),
              st.lists(st.sampled_from(VALUES), max_size=3).map(tuple)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(clauses, min_size=1, max_size=3), contexts)
def test_fast_path_agrees_with_full_evaluation(items: list[ConditionClause], ctx_values: dict[str, Any]) -> None:
    compiled = compile_condition(Condition(clauses=tuple(items)), variables=True)
    ctx = _Ctx(ctx_values)
    assert compiled.evaluate(ctx) == compiled._evaluate_clauses(ctx)


def test_fast_path_is_used_for_plain_clauses() -> None:
    compiled = compile_condition(
        Condition(clauses=(_clause("", "StringLike", False, "k:one", ["a*"]),)), variables=True)
    assert compiled._fast is not None
    assert compiled.evaluate(_Ctx({"k:one": "abc"})).matched
    assert not compiled.evaluate(_Ctx({"k:one": "b"})).matched
    assert compiled.evaluate(_Ctx({})).missing == ("k:one",)
