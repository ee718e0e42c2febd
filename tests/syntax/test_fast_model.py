"""The unvalidated fast paths of loading build exactly what the checked paths build.

`fast_policy_from_document` makes model nodes without pydantic, and the JSON reader defers spans;
both must be indistinguishable from validated nodes with eager spans: field values and their types,
`__dict__`, fields set, `==`, `hash`, `model_dump`, `repr`, and every span.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from kmsauthz.errors import InputError as PolicyError
from kmsauthz.model.policy import Policy, PolicyKind
from kmsauthz.model.spans import Span, deferred_span
from kmsauthz.syntax import load_policy_text
from kmsauthz.syntax.document import (
    checked_policy_from_document,
    fast_policy_from_document,
    policy_from_document,
)
from kmsauthz.syntax.json_reader import _Scanner, read_json
from tests.syntax.strategies import documents

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted(p for d in ("fixtures/policies", "tests/syntax/data", "tests/scenario/data/policies",
                              "tests/audit/data") for p in (ROOT / d).glob("*.json"))


def same_node(fast: Any, slow: Any, path: str = "policy") -> None:
    """Deep identity of two model values: types, fields, fields set, and spans (which `==` ignores)."""
    assert type(fast) is type(slow), path
    if isinstance(slow, BaseModel):
        assert list(fast.__dict__) == list(slow.__dict__), path
        assert fast.__pydantic_fields_set__ == slow.__pydantic_fields_set__, path
        assert type(fast.__pydantic_fields_set__) is type(slow.__pydantic_fields_set__), path
        assert fast.__pydantic_extra__ == slow.__pydantic_extra__, path
        assert fast.__pydantic_private__ == slow.__pydantic_private__, path
        for name in slow.__dict__:
            same_node(fast.__dict__[name], slow.__dict__[name], f"{path}.{name}")
    elif isinstance(slow, tuple):
        assert len(fast) == len(slow), path
        for i, (a, b) in enumerate(zip(fast, slow, strict=True)):
            same_node(a, b, f"{path}[{i}]")
    elif isinstance(slow, Span):
        assert (fast.source, fast.line, fast.column, fast.pointer, fast.end_line, fast.end_column) == (
            slow.source, slow.line, slow.column, slow.pointer, slow.end_line, slow.end_column), path
        assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow), path
    else:
        assert fast == slow, path


def check_document(document: Any, text: str | None = None, kind: PolicyKind = PolicyKind.KEY) -> None:
    located = read_json(text if text is not None else json.dumps(document, indent=2), "doc.json")
    slow_located = _Scanner(located.text, "doc.json").parse()
    try:
        slow = checked_policy_from_document(located.value, kind=kind, name="doc", source="doc.json",
                                            locate=slow_located.locate)
    except PolicyError:
        assert fast_policy_from_document(located.value, kind=kind, name="doc", source="doc.json",
                                         span_at=located.span_at) is None
        return
    # What the checked path accepts from JSON, the fast builder accepts too (and builds the same).
    assert fast_policy_from_document(located.value, kind=kind, name="doc", source="doc.json",
                                     span_at=located.span_at) is not None
    fast = policy_from_document(located.value, kind=kind, name="doc", source="doc.json", locate=located.locate)
    assert isinstance(fast, Policy)
    assert fast == slow and hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
    assert fast.model_dump() == slow.model_dump()
    assert fast.model_dump(exclude_unset=True) == slow.model_dump(exclude_unset=True)
    assert fast.model_dump_json() == slow.model_dump_json()
    same_node(fast, slow)
    assert pickle.loads(pickle.dumps(fast)) == slow


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixtures_build_the_same_nodes_fast_and_checked(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except ValueError:
        return
    if not isinstance(document, dict):
        return
    try:
        read_json(text)
    except PolicyError:
        return
    check_document(document, text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.sampled_from(list(PolicyKind)), st.sampled_from([None, 2]))
def test_generated_documents_build_the_same_nodes(document: dict[str, Any], kind: PolicyKind,
                                                  indent: int | None) -> None:
    check_document(document, json.dumps(document, indent=indent), kind)


def test_names_needing_escapes_and_odd_values() -> None:
    check_document({"Statement": {"Effect": "Allow", "Principal": {"AWS": ["a", "b"]}, "Action": "x",
                                  "Condition": {"StringEquals": {"aws:PrincipalTag/a~b": [1, 2.5, True, "s"]},
                                                "ForAnyValue:StringLike": {"k": []}}}})
    for bad in ({"Statement": [{"Effect": "allow"}]}, {"Statement": {"Effect": ["Allow"]}},
                {"Statement": [{"Effect": "Allow", "Sid": 3}]}, {"Version": ["2012-10-17"], "Statement": []},
                {"Statement": [{"Effect": "Allow", "Principal": "a*"}]},
                {"Statement": [{"Effect": "Allow", "Condition": {"Foo:StringEquals": {"k": "v"}}}]},
                {"Statement": [{"Effect": "Allow", "Condition": {"StringEquals": {"k": None}}}]},
                {"Statement": [{"Effect": "Allow", "Action": ["a", 1]}]}, {"Statement": None}, {"Other": 1}):
        check_document(bad)
    # Not JSON types (YAML can give them): never built unvalidated.
    assert fast_policy_from_document({"Statement": {"Effect": "Allow", "Action": ("a",)}}, kind=PolicyKind.KEY,
                                     name="n", source="s", span_at=lambda p: Span("s", 0, 0, p)) is None
    assert fast_policy_from_document({"Statement": []}, kind="key", name="n", source="s",  # type: ignore[arg-type]
                                     span_at=lambda p: Span("s", 0, 0, p)) is None


def test_deferred_spans_resolve_once_and_match_eager_ones() -> None:
    text = '{\n  "Statement": {"Effect": "Allow", "Action": ["a", "b"], "Resource": "*"}\n}'
    located = read_json(text, "f.json")
    assert located._deferred is not None and located._deferred.spans is None  # nothing computed by reading
    policy = load_policy_text(text, kind="identity", source="f.json")
    span = policy.statements[0].action.span  # type: ignore[union-attr]
    assert object.__getattribute__(span, "_at") is not None  # not resolved by loading
    assert span == Span("f.json", 2, 46, "/Statement/Action", 2, 56)
    assert object.__getattribute__(span, "_at") is None  # resolved once, the document let go
    assert span == _Scanner(text, "f.json").parse().spans["/Statement/Action"]
    assert span.describe() == "f.json:2:46"
    assert deferred_span("f.json", located, "/nowhere") == Span("f.json", 0, 0, "/nowhere")
    with pytest.raises(AttributeError):
        span.no_such_field  # type: ignore[attr-defined]  # noqa: B018
