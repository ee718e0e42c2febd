"""The kind rules' shortcuts (text-wide character test, one-test principal values) change no answer."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsauthz.model.policy import PolicyKind
from kmsauthz.syntax.document import policy_from_document
from kmsauthz.syntax.json_reader import read_json
from kmsauthz.syntax.rules import _ACCOUNT, _GROUP_ARN, _PRINCIPAL_ARN, _UNIQUE_ID, _clean_text, kind_problems
from tests.syntax.strategies import documents

_ALLOWED = re.compile(r"[^\t\n\r\u0020-\u00ff]")


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(max_codepoint=0x200)) | st.text(st.characters(blacklist_categories=[]), max_size=5))
def test_clean_text_is_the_regex(text: str) -> None:
    assert _clean_text(text) == (_ALLOWED.search(text) is None)


def _reported(type_: str, value: str) -> bool:
    """The rules as first written (`_check_principal_values` before its shortcut)."""
    if type_ == "AWS":
        if value == "*" or _ACCOUNT.fullmatch(value) or _UNIQUE_ID.fullmatch(value):
            return False
        return "*" in value or "?" in value or bool(_GROUP_ARN.match(value)) or not _PRINCIPAL_ARN.fullmatch(value)
    return type_ == "Service" and ("*" in value or "?" in value)


_principal_values = st.sampled_from([
    "*", "111122223333", "11112222333", "AIDAJQABLZS4A3QDU576Q", "arn:aws:iam::111122223333:root",
    "arn:aws:iam::111122223333:group/g", "arn:aws:sts::111122223333:assumed-role/r/s", "arn:aws:iam::*:root",
    "arn:aws:iam::111122223333:role/a?", "logs.amazonaws.com", "*.amazonaws.com", "arn:aws-cn:iam::111122223333:user/u",
    "arn:aws:s3:::bucket", "a*", "?", "",
]) | st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["AWS", "Service", "Federated", "CanonicalUser"]), _principal_values)
def test_principal_shortcut_reports_what_the_rules_report(type_: str, value: str) -> None:
    document = {"Statement": [{"Effect": "Allow", "Principal": {type_: value}, "Action": "kms:*", "Resource": "*"}]}
    located = read_json(json.dumps(document))
    policy = policy_from_document(located.value, kind=PolicyKind.KEY, source="<string>", locate=located.locate)
    problems = kind_problems(policy, located.value, locate=located.locate)
    assert bool(problems) == _reported(type_, value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.sampled_from(list(PolicyKind)), st.sampled_from(["", "\x01", "\u0100", "\\n"]))
def test_raw_text_shortcut_changes_no_problem(document: dict[str, Any], kind: PolicyKind, odd: str) -> None:
    if odd:
        document = dict(document, Id=f"x{json.loads(json.dumps(odd))}")
    text = json.dumps(document, indent=1, ensure_ascii=False)
    located = read_json(text)
    try:
        policy = policy_from_document(located.value, kind=kind, source="<string>", locate=located.locate)
    except Exception:
        return
    with_text = kind_problems(policy, located.value, locate=located.locate, raw_text=text)
    without = kind_problems(policy, located.value, locate=located.locate, raw_text=None)
    # the size rule measures the text when it has it: compare the other rules
    assert [p for p in with_text if p.code != "policy-too-large"] == [p for p in without if p.code != "policy-too-large"]
