"""A deferred document's positions, looked up one pointer at a time, are the scanner's."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kmsauthz.syntax.json_reader import _LOCAL_LOOKUPS, _fast_read, _locate_in_text, _Scanner

_keys = st.sampled_from(["a", "b", "", "a/b", "~", "~1", "0", "01", 'q"', "x\\y", "é", "Statement"]) | st.text(max_size=3)
_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(_values, st.sampled_from([None, 0, 2]), st.booleans())
def test_one_pointer_lookups_are_the_scanners_spans(value: Any, indent: int | None, ascii_only: bool) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    fast = _fast_read(text, "f.json")
    if fast is None:  # `\u` escapes: the scanner reads it
        return
    spans = _Scanner(text, "f.json").parse().spans
    for pointer, span in spans.items():
        assert _locate_in_text(text, "f.json", pointer) == span, pointer
        for odd in (pointer + "/0", pointer + "/x", pointer + "/00", pointer + "/-1", pointer + "/~2"):
            if odd not in spans:
                assert _locate_in_text(text, "f.json", odd) is None, odd
    assert _locate_in_text(text, "f.json", "x") is None


def test_many_lookups_switch_to_all_positions_at_once() -> None:
    text = json.dumps({"a": list(range(20))}, indent=1)
    located = _fast_read(text, "f.json")
    assert located is not None
    slow = _Scanner(text, "f.json").parse()
    for i in range(20):
        assert located.locate(f"/a/{i}") == slow.spans[f"/a/{i}"]
        assert located._deferred is not None
        assert (located._deferred.spans is None) == (i < _LOCAL_LOOKUPS)
    assert located.locate("/b") is None
