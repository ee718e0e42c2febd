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


@pytest.mark.parametrize("char", ["\x85", "\x7f", "\x9f"])
def test_printed_policy_language_has_no_raw_line_breaking_characters(char: str) -> None:
    # `to_kmsp` once printed U+0085 (NEL) raw inside a string; `str.splitlines`, editors and
    # line-based tools then cut the string in two (found by hypothesis in the fmt round trip)
    from kmsauthz.syntax import to_kmsp

    policy = load_policy_text('{"Statement": {"Sid": "s' + char + '", "Effect": "Allow", "Principal": "*", "Action": "kms:' + char
                              + '", "Resource": "a' + char + 'b", "Condition": {"Null": {"k' + char + '": "x"}}}}')
    printed = to_kmsp(policy)
    assert char not in printed
    assert len(printed.splitlines()) == len(printed.split("\n")) - (1 if printed.endswith("\n") else 0)
    assert load_policy_text(printed, format="kmsp") == policy


def test_quoted_escapes_unicode_line_separators() -> None:
    from kmsauthz.syntax.printer import quoted

    assert quoted("a\u2028b\u2029c\x85") == '"a\\u2028b\\u2029c\\u0085"'
    assert quoted("caf\u00e9") == '"caf\u00e9"'  # printable Latin-1 stays as written
