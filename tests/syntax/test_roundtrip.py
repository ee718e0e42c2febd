"""JSON → model → language → model → JSON is the identity; the printer is idempotent."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsauthz.syntax.document import policy_to_document
from kmsauthz.syntax.formatter import format_kmsp
from kmsauthz.syntax.json_reader import read_json
from kmsauthz.syntax.language import parse_kmsp
from kmsauthz.syntax.loader import build_policy
from kmsauthz.syntax.printer import to_json, to_kmsp
from tests.syntax.strategies import documents

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def exact(value: Any) -> Any:
    """A comparable form that keeps list order, member order and JSON types (True is not 1)."""
    if isinstance(value, dict):
        return ("object", [(k, exact(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("array", [exact(v) for v in value])
    return (type(value).__name__, value)


def normal_order(doc: dict[str, Any]) -> dict[str, Any]:
    """AWS gives no meaning to the order of a statement's elements; everything else keeps its order."""
    order = ["Version", "Id", "Statement", "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
             "Resource", "NotResource", "Condition"]

    def statement(st: Any) -> Any:
        return {k: st[k] for k in order if k in st} if isinstance(st, dict) else st

    out = {k: doc[k] for k in order if k in doc}
    raw = out["Statement"]
    out["Statement"] = [statement(s) for s in raw] if isinstance(raw, list) else statement(raw)
    return out


def _model(text: str, fmt: str) -> Any:
    if fmt == "json":
        located = read_json(text)
        return build_policy(located.value, kind=None, source="t", name="t", locate=located.locate,
                            check_rules=False)
    parsed = parse_kmsp(text)
    return build_policy(parsed.document, kind=None, source="t", name="t", locate=parsed.locate, check_rules=False)


@SETTINGS
@given(documents())
def test_json_language_json_is_identity(doc: dict[str, Any]) -> None:
    policy = _model(json.dumps(doc), "json")
    kmsp = to_kmsp(policy)
    again = _model(kmsp, "kmsp")
    assert exact(policy_to_document(again)) == exact(normal_order(doc))
    assert exact(json.loads(to_json(again))) == exact(normal_order(doc))


@SETTINGS
@given(documents())
def test_printer_is_idempotent(doc: dict[str, Any]) -> None:
    kmsp = to_kmsp(_model(json.dumps(doc), "json"))
    assert format_kmsp(kmsp) == kmsp
    assert format_kmsp(format_kmsp(kmsp)) == kmsp


@SETTINGS
@given(documents())
def test_language_parse_gives_spans_with_pointers(doc: dict[str, Any]) -> None:
    parsed = parse_kmsp(to_kmsp(_model(json.dumps(doc), "json")))
    statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    prefix = "/Statement" if not isinstance(doc["Statement"], list) else None
    for i, statement in enumerate(statements):
        base = prefix or f"/Statement/{i}"
        span = parsed.spans[base + "/Effect"]
        assert span.line > 0 and span.column == 1 and span.pointer == base + "/Effect"
        for name in ("Action", "NotAction", "Resource", "NotResource"):
            if name in statement:
                assert parsed.spans[f"{base}/{name}"].line > span.line


@SETTINGS
@given(documents(), st.lists(st.tuples(st.integers(0, 200), st.booleans(), st.sampled_from(["//", "#", "/*"])),
                             max_size=6))
def test_fmt_keeps_every_comment_and_is_stable(doc: dict[str, Any], spots: list[tuple[int, bool, str]]) -> None:
    lines = to_kmsp(_model(json.dumps(doc), "json")).splitlines()
    comments = []
    for n, (where, own_line, style) in enumerate(spots):
        if not lines:
            break
        i = where % len(lines)
        text = f"/* note {n} */" if style == "/*" else f"{style} note {n}"
        comments.append(text)
        if own_line:
            lines.insert(i, text)
        else:
            lines[i] = lines[i] + "  " + text
    source = "\n".join(lines) + "\n"
    once = format_kmsp(source)
    assert format_kmsp(once) == once
    for text in comments:
        assert text in once
    assert exact(policy_to_document(_model(once, "kmsp"))) == exact(normal_order(doc))
