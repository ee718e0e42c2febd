"""The audit's fast paths give exactly what the plain ones gave."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kmsauthz.audit import audit_paths
from kmsauthz.audit.findings import Severity
from kmsauthz.audit.report import _indented, report_dict, report_json
from kmsauthz.audit.rules import RULES, _plan
from kmsauthz.audit.rules._registry import Rule
from kmsauthz.model.policy import PolicyKind
from tests.audit.conftest import key_policy

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_indented_is_json_dumps_indent_2(value: object) -> None:
    assert _indented(value, "") == json.dumps(value, indent=2, ensure_ascii=False)


def test_report_json_is_json_dumps_of_the_report(tmp_path: Path) -> None:
    doc = key_policy({"Sid": "Ünïcode \"quoted\"\n", "Effect": "Allow", "Principal": "*", "Action": "kms:*",
                      "Resource": "*"})
    (tmp_path / "p.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    report = audit_paths([tmp_path])
    assert report.findings
    assert report_json(report) == json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"


def test_values_json_writes_otherwise_fall_back_to_json() -> None:
    class Sub(str):
        pass

    data = {"a": 1.5, "b": Sub("x")}
    from kmsauthz.audit import report as module

    try:
        _indented(data, "")
    except module._Unsupported:
        pass
    else:
        raise AssertionError("a float must not be written by the fast encoder")


def test_rule_plans_follow_the_registry() -> None:
    before = _plan(PolicyKind.KEY)
    extra = Rule("zz-test-only", Severity.WARNING, "test", frozenset({PolicyKind.KEY}), lambda facts: iter(()))
    RULES[extra.id] = extra
    try:
        assert _plan(PolicyKind.KEY) == (*before, extra)
    finally:
        del RULES[extra.id]
    assert _plan(PolicyKind.KEY) == before
