"""The positional JSON reader: spans by pointer, and every kind of malformed input rejected, located."""

from __future__ import annotations

import pytest

from kmsauthz.errors import DocumentTooLargeError, PolicySyntaxError
from kmsauthz.syntax.json_reader import MAX_DEPTH, MAX_INPUT_BYTES, read_json

DOC = """{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
     "Condition": {"NumericLessThan": {"a/b~c": 10.5}}}
  ]
}"""


def test_values_and_types_are_kept() -> None:
    located = read_json(DOC)
    st = located.value["Statement"][0]
    assert st["Action"] == ["kms:Encrypt", "kms:Decrypt"]
    value = st["Condition"]["NumericLessThan"]["a/b~c"]
    assert value == 10.5 and isinstance(value, float)
    assert read_json('{"a": 10}').value["a"].__class__ is int
    assert read_json('{"a": true, "b": null}').value == {"a": True, "b": None}
    assert read_json('"\\u00e9\\ud83d\\ude00\\n"').value == "é😀\n"


def test_every_node_has_line_column_and_pointer() -> None:
    located = read_json(DOC, "doc.json")
    version = located.spans["/Version"]
    assert (version.source, version.line, version.column, version.pointer) == ("doc.json", 2, 14, "/Version")
    decrypt = located.spans["/Statement/0/Action/1"]
    assert (decrypt.line, decrypt.column) == (4, 51)
    escaped = located.spans["/Statement/0/Condition/NumericLessThan/a~1b~0c"]
    assert (escaped.line, escaped.column) == (5, 49)
    assert located.spans[""].line == 1 and located.spans[""].end_line == 7
    assert located.key_spans["/Statement"].column == 3


def _error(data: str | bytes) -> PolicySyntaxError:
    with pytest.raises(PolicySyntaxError) as info:
        read_json(data, "bad.json")
    return info.value


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('{"a": 1,}', 1, 9, "trailing comma"),
        ("[1, 2,]", 1, 7, "trailing comma"),
        ('{"a": 1, "a": 2}', 1, 10, "duplicate key `a`"),
        ('{"a": NaN}', 1, 7, "`NaN` is not JSON"),
        ('{"a": Infinity}', 1, 7, "`Infinity` is not JSON"),
        ('{"a": -Infinity}', 1, 7, "`-Infinity` is not JSON"),
        ('{\n  // note\n  "a": 1}', 2, 3, "comments are not allowed"),
        ('{"a": 1} /* x */', 1, 10, "comments are not allowed"),
        ("{'a': 1}", 1, 2, "member name in double quotes"),
        ('{"a": 01}', 1, 7, "leading zeros"),
        ('{"a": 1.}', 1, 9, "digit after the decimal point"),
        ('{"a" 1}', 1, 6, "expected `:`"),
        ('{"a": 1 "b": 2}', 1, 9, "expected `,` or `}`"),
        ('{"a": "x\ty"}', 1, 9, "control character U+0009"),
        ('{"a": "\\x"}', 1, 8, "invalid escape"),
        ('{"a": "\\ud800"}', 1, 8, "unpaired UTF-16 surrogate"),
        ('{"a": "abc', 1, 7, "unterminated string"),
        ('{"a": 1}}', 1, 9, "after the end of the JSON document"),
        ("", 1, 1, "empty document"),
        ("\ufeff{}", 1, 1, "byte order mark"),
        ('{"a":\x00 1}', 1, 6, "NUL byte"),
        ('{"a": tru}', 1, 7, "expected a value"),
    ],
)
def test_malformed_json_is_located(text: str, line: int, column: int, words: str) -> None:
    error = _error(text)
    problem = error.problems[0]
    assert (problem.span.line, problem.span.column) == (line, column), problem.message
    assert words in problem.message
    assert problem.code == "policy-syntax"
    # the source line and a caret under the offending column
    rendered = error.render()
    assert rendered.startswith(f"bad.json:{line}:{column}: ")
    caret_line = rendered.splitlines()[-1]
    gutter = rendered.splitlines()[-2].index("|") + 2
    assert caret_line.index("^") - gutter == column - 1


def test_invalid_utf8_names_the_position() -> None:
    error = _error(b'{"a":\n "x\xff"}')
    assert "invalid UTF-8" in error.problems[0].message
    assert (error.problems[0].span.line, error.problems[0].span.column) == (2, 4)


def test_nesting_bound() -> None:
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    read_json(ok)
    error = _error("[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2))
    assert f"deeper than {MAX_DEPTH}" in error.problems[0].message


def test_huge_input_is_refused_before_parsing() -> None:
    with pytest.raises(DocumentTooLargeError):
        read_json(b" " * (MAX_INPUT_BYTES + 1))
