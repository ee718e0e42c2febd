"""The compiled schema check's dispatches (fused object/array passes, `oneOf` by type) agree with jsonschema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsauthz.syntax.schema_fast import compile_schema

SCHEMAS: list[dict[str, Any]] = [
    # disjoint branches: a dispatch on the value's type
    {"oneOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {"type": "string"}}]},
    {"oneOf": [{"const": "*"}, {"type": "object", "minProperties": 1, "additionalProperties": False,
                                "properties": {"a": {"type": "number"}}}]},
    {"oneOf": [{"type": ["string", "number", "boolean"]}, {"type": "array", "items": {"type": "null"}}]},
    # overlapping branches: still "exactly one"
    {"oneOf": [{"type": "string"}, {"enum": ["a", "b"]}]},
    {"oneOf": [{"type": "integer"}, {"type": "number"}]},
    {"oneOf": [{"type": "number"}, {"minLength": 2}]},
    {"oneOf": [{"$ref": "#/$defs/s"}, {"type": "object"}], "$defs": {"s": {"type": "string", "minLength": 1}}},
    # objects with every member keyword at once, and keywords beside them
    {"type": "object", "required": ["a"], "minProperties": 2, "propertyNames": {"pattern": "^[a-c]"},
     "properties": {"a": {"type": "boolean"}}, "additionalProperties": {"type": "array", "minItems": 1},
     "allOf": [{"not": {"type": "object", "required": ["b", "c"]}}]},
    {"anyOf": [{"type": "null"}, {"type": "array", "items": {"oneOf": [{"type": "integer"}, {"type": "string"}]}}]},
]

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from([1.0, 2.5, -0.0]),
                     st.sampled_from(["", "a", "b", "c", "ab", "*", "z"]))
_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["a", "b", "c", "d", "ab"]), inner, max_size=4)),
    max_leaves=12,
)


@pytest.mark.parametrize("schema", SCHEMAS, ids=[str(i) for i in range(len(SCHEMAS))])
@settings(max_examples=300, deadline=None)
@given(value=_values)
def test_compiled_check_agrees_with_jsonschema(schema: dict[str, Any], value: Any) -> None:
    check = compile_schema(schema)
    assert check is not None
    assert check(value) == jsonschema.Draft202012Validator(schema).is_valid(value), (schema, value)


def test_overlapping_branches_are_not_dispatched() -> None:
    check = compile_schema({"oneOf": [{"type": "string"}, {"enum": ["a", "b"]}]})
    assert check is not None
    assert check("x") and not check("a")  # "a" matches both branches
