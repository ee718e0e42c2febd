"""Crashes the fuzzers found, one test each, so they stay fixed (docs/hardening.md, "Found and fixed")."""

from __future__ import annotations

import pytest

from kmsauthz.errors import PolicySyntaxError
from kmsauthz.syntax import load_policy_text


@pytest.mark.parametrize("digit", ["\u00b2", "\u0663", "\uff11", "\u07c0"])
def test_non_ascii_digits_are_not_json_numbers(digit: str) -> None:
    # `str.isdigit` is true for these; the reader once sent `²` to int() (ValueError escaped)
    # and read `٣` as the number 3
    with pytest.raises(PolicySyntaxError) as err:
        load_policy_text('{"Statement": ' + digit + "}")
    assert "expected a value" in str(err.value)
    with pytest.raises(PolicySyntaxError):
        load_policy_text('{"Statement": 1' + digit + "}")
    with pytest.raises(PolicySyntaxError):
        load_policy_text('{"Statement": 1.' + digit + "}")
    with pytest.raises(PolicySyntaxError):
        load_policy_text('{"Statement": 1e' + digit + "}")
