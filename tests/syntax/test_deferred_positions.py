"""A deferred document's positions, looked up pointer by pointer, are the scanner's."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kmsauthz.syntax.json_reader import _fast_read, _Scanner, _TextPositions

_keys = st.sampled_from(["a", "b", "", "a/b", "~", "~1", "0", "01", 'q"', "x\\y", "é", "Statement"]) | st.text(max_size=3)
_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(_values, st.sampled_from([None, 0, 2]), st.booleans(), st.randoms(use_true_random=False))
def test_pointer_lookups_are_the_scanners_spans(value: Any, indent: int | None, ascii_only: bool,
                                                rng: Any) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    if _fast_read(text, "f.json") is None:  # `\u` escapes: the scanner reads it
        return
    spans = _Scanner(text, "f.json").parse().spans
    pointers = list(spans)
    rng.shuffle(pointers)
    shared = _TextPositions(text, "f.json")  # lookups in any order build on each other's steps
    for pointer in pointers:
        assert shared.resolve(pointer) == spans[pointer], pointer
        assert _TextPositions(text, "f.json").resolve(pointer) == spans[pointer], pointer
        for odd in (pointer + "/0", pointer + "/x", pointer + "/00", pointer + "/-1", pointer + "/~2", pointer + "/9"):
            if odd not in spans:
                assert shared.resolve(odd) is None, odd
    assert shared.resolve("x") is None
    assert shared.spans is None  # never needed every position at once


def test_every_position_at_once_when_asked() -> None:
    text = json.dumps({"a": list(range(20)), "b": {"c": [1, {"d": "e"}]}}, indent=1)
    located = _fast_read(text, "f.json")
    assert located is not None
    slow = _Scanner(text, "f.json").parse()
    assert located.locate("/b/c/1/d") == slow.spans["/b/c/1/d"]
    assert located.spans == slow.spans and located.key_offsets == slow.key_offsets
    assert located.locate("/a/19") == slow.spans["/a/19"] and located.locate("/a/20") is None


def test_spans_read_from_many_threads_at_once_are_right() -> None:
    import sys
    import threading

    from kmsauthz.syntax import load_policy_text

    statements = [{"Sid": f"S{i}", "Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::111122223333:role/r{i}"]},
                   "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"} for i in range(30)]
    text = json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)
    eager = _Scanner(text, "t.json").parse().spans
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for _ in range(5):
            policy = load_policy_text(text, kind="key", source="t.json")
            spans = [(s.span, f"/Statement/{i}") for i, s in enumerate(policy.statements)]
            spans += [(s.action.span, f"/Statement/{i}/Action") for i, s in enumerate(policy.statements)]  # type: ignore[union-attr]
            errors: list[str] = []

            def read(order: list[tuple[object, str]], errors: list[str] = errors) -> None:
                for span, pointer in order:
                    if (span.line, span.column, span.end_line, span.end_column) != (  # type: ignore[attr-defined]
                            eager[pointer].line, eager[pointer].column, eager[pointer].end_line,
                            eager[pointer].end_column):
                        errors.append(pointer)

            threads = [threading.Thread(target=read, args=(spans[k::3] + spans[:k],)) for k in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors
    finally:
        sys.setswitchinterval(old)
