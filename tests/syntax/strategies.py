"""Hypothesis strategies: AWS policy documents covering every construct of the grammar."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

OPERATORS = [
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
    "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
]

# policy text may hold TAB, LF, CR and U+0020..U+00FF
_chars = st.characters(min_codepoint=0x20, max_codepoint=0xFF) | st.sampled_from("\t\n\r")
texts = st.text(_chars, max_size=12)
words = st.sampled_from(["kms:Decrypt", "kms:*", "*", "arn:aws:kms:us-east-1:111122223333:key/*",
                         "${aws:username}", "a b", "allow", "true", "10", "not", "action", "x,y", "\"q\"",
                         "# no comment", "// nor this", "/*", "é", "kms:GenerateDataKey*", ""])
strings = words | texts


def values(inner: st.SearchStrategy[Any] = strings) -> st.SearchStrategy[Any]:
    """A scalar or a non-empty list: both must survive the round trip as written."""
    return inner | st.lists(inner, min_size=1, max_size=4)


def principals() -> st.SearchStrategy[Any]:
    types = st.lists(st.sampled_from(["AWS", "Service", "Federated", "CanonicalUser"]), min_size=1, max_size=4,
                     unique=True)
    return st.just("*") | types.flatmap(lambda ts: st.fixed_dictionaries({t: values() for t in ts}))


def operators() -> st.SearchStrategy[str]:
    base = st.sampled_from(OPERATORS).flatmap(lambda op: st.sampled_from([op, op + "IfExists"])) | st.just("Null")
    qualifier = st.sampled_from(["", "ForAllValues:", "ForAnyValue:"])
    return st.tuples(qualifier, base).map("".join)


condition_scalars = (
    strings
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False, width=64)
)


def conditions() -> st.SearchStrategy[dict[str, Any]]:
    block = st.dictionaries(strings.filter(bool), values(condition_scalars), min_size=1, max_size=3)
    return st.dictionaries(operators(), block, max_size=3)


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["Sid"] = draw(strings)
    out["Effect"] = draw(st.sampled_from(["Allow", "Deny"]))
    for a, b, strategy in (("Principal", "NotPrincipal", principals()), ("Action", "NotAction", values()),
                           ("Resource", "NotResource", values())):
        which = draw(st.sampled_from([None, a, b]))
        if which is not None:
            out[which] = draw(strategy)
    if draw(st.booleans()):
        out["Condition"] = draw(conditions())
    return out


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    version = draw(st.sampled_from([None, "2012-10-17", "2008-10-17"]))
    if version is not None:
        doc["Version"] = version
    if draw(st.booleans()):
        doc["Id"] = draw(strings)
    if draw(st.booleans()):
        doc["Statement"] = draw(statements())
    else:
        doc["Statement"] = draw(st.lists(statements(), max_size=4))
    return doc
