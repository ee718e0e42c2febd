"""The load fast paths decide exactly as the slow ones they stand in front of.

`schema_fast` answers "valid?" for the policy schema; it must never call a document valid that
jsonschema rejects (and should accept what jsonschema accepts, or the speed is lost).
"""

from __future__ import annotations

from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsauthz.syntax.schema import _fast_check, policy_schema
from kmsauthz.syntax.schema_fast import compile_schema

_VALIDATOR = jsonschema.Draft202012Validator(policy_schema())

_names = st.sampled_from([
    "Version", "Id", "Statement", "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
    "Resource", "NotResource", "Condition", "AWS", "Service", "Federated", "CanonicalUser", "StringEquals",
    "ForAnyValue:StringLike", "NullIfExists", "Null", "BoolIfExists", "Foo:StringEquals", "kms:ViaService",
    "", "Allow", "Deny", "*", "2012-10-17", "2008-10-17", "effect",
])
_scalars = st.one_of(_names, st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False),
                     st.none(), st.text(max_size=3))
_json: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_names, inner, max_size=4)),
    max_leaves=25,
)


@st.composite
def _policyish(draw: st.DrawFn) -> Any:
    """Mostly-valid documents with one random element swapped, so both answers occur often."""
    statement = {
        "Effect": draw(st.sampled_from(["Allow", "Deny"])),
        draw(st.sampled_from(["Principal", "NotPrincipal"])): draw(st.one_of(
            st.just("*"), st.dictionaries(st.sampled_from(["AWS", "Service"]),
                                          st.one_of(_names, st.lists(_names, max_size=2)), max_size=2))),
        draw(st.sampled_from(["Action", "NotAction"])): draw(st.one_of(_names, st.lists(_names, max_size=2))),
        "Resource": "*",
        "Condition": draw(st.dictionaries(_names, st.dictionaries(_names, _json, max_size=2), max_size=2)),
    }
    for _ in range(draw(st.integers(0, 2))):
        statement[draw(_names)] = draw(_json)
    body: Any = statement if draw(st.booleans()) else [statement, dict(statement)]
    doc: dict[str, Any] = {"Version": draw(st.sampled_from(["2012-10-17", "2008-10-17", "x"])), "Statement": body}
    if draw(st.booleans()):
        doc[draw(_names)] = draw(_json)
    return doc


@settings(max_examples=400, deadline=None)
@given(st.one_of(_policyish(), _json))
def test_fast_check_agrees_with_jsonschema(document: Any) -> None:
    fast = _fast_check()
    assert fast is not None
    assert fast(document) == _VALIDATOR.is_valid(document)


def test_fast_check_accepts_a_console_policy_and_rejects_each_flaw() -> None:
    fast = _fast_check()
    assert fast is not None
    good = {"Version": "2012-10-17", "Statement": [{
        "Sid": "Use", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:root"]},
        "Action": ["kms:Decrypt"], "Resource": "*",
        "Condition": {"ForAnyValue:StringLike": {"kms:EncryptionContext:Project": ["a*", 1, True]}}}]}
    assert fast(good)
    flaws: list[tuple[str, Any]] = [
        ("Effect", "allow"), ("Principal", {}), ("Action", []), ("Condition", {"StringEqual": {"k": "v"}}),
        ("Condition", {"StringEquals": {"": "v"}}), ("Condition", {"StringEquals": {"k": None}}),
        ("NotAction", "kms:Encrypt"), ("Sid", 3),
    ]
    for field, value in flaws:
        bad = {"Statement": [dict(good["Statement"][0], **{field: value})]}  # type: ignore[index]
        assert not _VALIDATOR.is_valid(bad)
        assert not fast(bad), field


def test_unknown_keywords_are_left_to_jsonschema() -> None:
    assert compile_schema({"type": "object", "patternProperties": {"a": True}, "additionalProperties": False}) is None
    assert compile_schema({"format": "date"}) is None
    check = compile_schema({"type": "object"})
    assert check is not None
    assert not check({1: "non-string key, only from YAML"})  # jsonschema decides that one
    assert not check({"a": {1, 2}})  # not a JSON value


_json_text_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.text(max_size=4), st.integers(-(10**30), 10**30), st.booleans(), st.none(),
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json_text_values, st.sampled_from([None, 1, 2]), st.booleans())
def test_reader_fast_paths_read_what_json_reads_and_locate_every_node(value: Any, indent: int | None,
                                                                      ascii_only: bool) -> None:
    import json

    from kmsauthz.syntax.json_reader import read_json

    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    located = read_json(text)
    assert located.value == json.loads(text)
    lines = text.split("\n")

    def walk(node: Any, pointer: str) -> None:
        span = located.spans[pointer]
        start = lines[span.line - 1][span.column - 1]
        assert start == json.dumps(node, ensure_ascii=ascii_only)[0]
        assert span.end_line is not None and span.end_column is not None
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, pointer + "/" + k.replace("~", "~0").replace("/", "~1"))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{pointer}/{i}")

    walk(json.loads(text), "")

    from kmsauthz.syntax.json_reader import _fast_read, _Scanner

    fast, slow = _fast_read(text, "f.json"), _Scanner(text, "f.json").parse()
    if "\\u" not in text:
        assert fast is not None
    if fast is not None:
        assert (fast.value, fast.spans, fast.key_spans) == (slow.value, slow.spans, slow.key_spans)


def test_reader_fast_paths_leave_every_error_to_the_slow_path() -> None:
    import pytest

    from kmsauthz.errors import PolicySyntaxError
    from kmsauthz.syntax.json_reader import read_json

    cases = {
        '{"a": 01}': "leading zeros", '{"a": 1.}': "after the decimal point", '{"a": 1e}': "in the exponent",
        '{"a": -}': "expected a digit", '{"a": "x\ty"}': "control character U+0009",
        '{"a": "\\q"}': "invalid escape", '{"a": -' + "1" * 4000 + "}": "number is too long",
        '{"a": 1 // c\n}': "comments are not allowed",
    }
    for text, message in cases.items():
        with pytest.raises(PolicySyntaxError) as info:
            read_json(text)
        assert message in str(info.value), text
    for text, message in {'{"a": 1, "a": 2}': "duplicate key `a`", '{"a": NaN}': "`NaN` is not JSON",
                          '{"a": 1e999}': "out of range", '{"a": "\\ud800"}': "unpaired UTF-16 surrogate",
                          '\ufeff{}': "byte order mark", "[" * 70 + "]" * 70: "nesting is deeper",
                          '{"a": 1} x': "after the end"}.items():
        with pytest.raises(PolicySyntaxError) as info:
            read_json(text)
        assert message in str(info.value), text
    assert read_json('{"a": -' + "1" * 3999 + "}").value["a"] == -int("1" * 3999)
    assert read_json('{"a": "\\u00e9\\n", "b": 0, "c": -0, "d": 2.5e3}').value == {"a": "é\n", "b": 0, "c": 0, "d": 2500.0}


def test_reader_fast_path_keeps_the_depth_limit_exactly() -> None:
    from kmsauthz.errors import PolicySyntaxError
    from kmsauthz.syntax.json_reader import MAX_DEPTH, _fast_read, _Scanner

    for n in (MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1):
        for inner in ("1", "[]", '{"a": 1}'):
            text = "[" * n + inner + "]" * n
            fast = _fast_read(text, "d.json")
            try:
                slow = _Scanner(text, "d.json").parse()
            except PolicySyntaxError:
                assert fast is None, (n, inner)
                continue
            assert fast is not None, (n, inner)
            assert (fast.value, fast.spans) == (slow.value, slow.spans)


def test_json_typed_skips_only_the_type_walk() -> None:
    fast = _fast_check()
    assert fast is not None
    doc = {"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}}
    assert fast(doc) and fast(doc, json_typed=True)
    bad = {"Statement": {"Effect": "Allow", "Action": [], "Resource": "*"}}
    assert not fast(bad) and not fast(bad, json_typed=True)
