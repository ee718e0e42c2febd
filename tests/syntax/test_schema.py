"""Each rule of grammar/policy.schema.json rejects a document written to break it, located."""

from __future__ import annotations

import json

import pytest

from kmsauthz.errors import PolicyValidationError
from kmsauthz.syntax import load_policy_text
from kmsauthz.syntax.schema import policy_schema, schema_problems

OK_STATEMENT = '{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}'


def _doc(statement: str) -> str:
    # the statement sits on line 3, starting at column 5
    return '{\n  "Statement": [\n    ' + statement + "\n  ]\n}"


def _col(statement: str, needle: str) -> int:
    return 5 + statement.index(needle)


CASES = [
    # (rule, document text, pointer, line, column, message fragment)
    ("document is an object", "[1]", "", 1, 1, "the document must be a JSON object, got a list"),
    ("Statement is required", '{"Version": "2012-10-17"}', "", 1, 1, "the document is missing Statement"),
    ("no unknown top-level fields", '{"Statement": [], "Statment": 1}', "/Statment", 1, 31,
     "unknown field `Statment`"),
    ("Version is one of two dates", '{"Version": "2012-10-18", "Statement": []}', "/Version", 1, 13,
     'Version must be "2012-10-17" or "2008-10-17", got "2012-10-18"'),
    ("Id is a string", '{"Id": 7, "Statement": []}', "/Id", 1, 8, "Id must be a string, got 7"),
    ("Statement is an object or a list", '{"Statement": "Allow"}', "/Statement", 1, 15,
     "Statement must be an object or a list of objects"),
]

STATEMENT_CASES = [
    # (rule, statement text, pointer suffix, needle for the column, message fragment)
    ("a statement is an object", '"Allow"', "", '"Allow"', "Statement[0] must be an object, got \"Allow\""),
    ("Effect is required", '{"Action": "kms:*", "Resource": "*"}', "", "{", "Statement[0] is missing Effect"),
    ("no unknown statement fields", '{"Effect": "Allow", "Actions": "kms:*"}', "/Actions", '"kms:*"',
     "unknown field `Actions`"),
    ("Sid is a string", '{"Sid": 1, "Effect": "Allow"}', "/Sid", "1", "Statement[0].Sid must be a string, got 1"),
    ("Effect is Allow or Deny, case-sensitive", '{"Effect": "allow"}', "/Effect", '"allow"',
     'Statement[0].Effect must be "Allow" or "Deny", got "allow"'),
    ("Principal excludes NotPrincipal", '{"Effect": "Deny", "Principal": "*", "NotPrincipal": "*"}', "", "{",
     "Principal and NotPrincipal cannot both appear"),
    ("Action excludes NotAction", '{"Effect": "Allow", "Action": "a", "NotAction": "b"}', "", "{",
     "Action and NotAction cannot both appear"),
    ("Resource excludes NotResource", '{"Effect": "Allow", "Resource": "a", "NotResource": "b"}', "", "{",
     "Resource and NotResource cannot both appear"),
    ("Action is a string or a list", '{"Effect": "Allow", "Action": {"a": 1}}', "/Action", '{"a"',
     "Statement[0].Action must be a string or a non-empty list of strings, got an object"),
    ("a list of values is not empty", '{"Effect": "Allow", "Resource": []}', "/Resource", "[]",
     "Statement[0].Resource must not be an empty list"),
    ("list items are strings", '{"Effect": "Allow", "NotAction": ["a", 2]}', "/NotAction/1", "2]",
     "Statement[0].NotAction[1] must be a string, got 2"),
    ("Principal is \"*\" or a mapping", '{"Effect": "Allow", "Principal": "everyone"}', "/Principal",
     '"everyone"', 'Statement[0].Principal must be "*" or an object'),
    ("principal types are AWS, Service, Federated, CanonicalUser",
     '{"Effect": "Allow", "NotPrincipal": {"Aws": "*"}}', "/NotPrincipal/Aws", '"*"', "unknown field `Aws`"),
    ("a principal mapping is not empty", '{"Effect": "Allow", "Principal": {}}', "/Principal", "{}",
     "got an empty object"),
    ("principal values are strings", '{"Effect": "Allow", "Principal": {"AWS": 111122223333}}',
     "/Principal/AWS", "111122223333", "Statement[0].Principal.AWS must be a string or a non-empty list"),
    ("Condition is a mapping", '{"Effect": "Allow", "Condition": ["StringEquals"]}', "/Condition",
     '["String', "Statement[0].Condition must be an object mapping condition operators"),
    ("operators are known", '{"Effect": "Allow", "Condition": {"StringEqual": {"k": "v"}}}',
     "/Condition/StringEqual", '{"k"', "unknown condition operator `StringEqual`"),
    ("Null takes no IfExists", '{"Effect": "Allow", "Condition": {"NullIfExists": {"k": "true"}}}',
     "/Condition/NullIfExists", '{"k"', "unknown condition operator `NullIfExists`"),
    ("set qualifiers are ForAllValues and ForAnyValue",
     '{"Effect": "Allow", "Condition": {"ForEachValue:StringEquals": {"k": "v"}}}',
     "/Condition/ForEachValue:StringEquals", '{"k"', "unknown condition operator `ForEachValue:StringEquals`"),
    ("an operator block is a mapping", '{"Effect": "Allow", "Condition": {"Bool": true}}', "/Condition/Bool",
     "true", "Statement[0].Condition.Bool must be a non-empty object mapping condition keys to values, got true"),
    ("an operator block names a key", '{"Effect": "Allow", "Condition": {"Bool": {}}}', "/Condition/Bool", "{}}",
     "got an empty object"),
    ("condition keys are not empty", '{"Effect": "Allow", "Condition": {"Bool": {"": "true"}}}',
     "/Condition/Bool/", '"true"', "a condition key must not be empty"),
    ("condition values are strings, numbers, booleans", '{"Effect": "Allow", "Condition": {"Bool": {"k": null}}}',
     "/Condition/Bool/k", "null", "Statement[0].Condition.Bool.k must be a string, number or boolean"),
    ("condition list items are scalars", '{"Effect": "Allow", "Condition": {"Bool": {"k": [{}]}}}',
     "/Condition/Bool/k/0", "{}]", "Statement[0].Condition.Bool.k[0] must be a string, number or boolean"),
    ("condition value lists are not empty", '{"Effect": "Allow", "Condition": {"Bool": {"k": []}}}',
     "/Condition/Bool/k", "[]", "Statement[0].Condition.Bool.k must not be an empty list"),
]


def _only_problem(text: str) -> tuple[str, int, int, str]:
    with pytest.raises(PolicyValidationError) as info:
        load_policy_text(text, source="p.json")
    problems = info.value.problems
    assert len(problems) == 1, [p.message for p in problems]
    p = problems[0]
    assert p.span is not None and p.span.source == "p.json"
    return p.span.pointer, p.span.line, p.span.column, p.message


@pytest.mark.parametrize(("rule", "text", "pointer", "line", "column", "words"), CASES, ids=[c[0] for c in CASES])
def test_document_rules(rule: str, text: str, pointer: str, line: int, column: int, words: str) -> None:
    assert _only_problem(text) == (pointer, line, column, _message_like(words, _only_problem(text)[3]))


def _message_like(words: str, message: str) -> str:
    assert words in message, message
    return message


@pytest.mark.parametrize(("rule", "statement", "suffix", "needle", "words"), STATEMENT_CASES,
                         ids=[c[0] for c in STATEMENT_CASES])
def test_statement_rules(rule: str, statement: str, suffix: str, needle: str, words: str) -> None:
    pointer, line, column, message = _only_problem(_doc(statement))
    assert pointer == "/Statement/0" + suffix
    assert (line, column) == (3, _col(statement, needle))
    assert words in message, message


def test_every_violation_is_reported_in_document_order() -> None:
    text = _doc('{"Effect": "allow", "Action": []}') .replace(
        "\n  ]", ',\n    {"Effect": "Deny", "Resource": 5, "Foo": 1}\n  ]')
    with pytest.raises(PolicyValidationError) as info:
        load_policy_text(text)
    got = [(p.span.line, p.span.pointer) for p in info.value.problems]
    assert got == [
        (3, "/Statement/0/Effect"),
        (3, "/Statement/0/Action"),
        (4, "/Statement/1/Resource"),
        (4, "/Statement/1/Foo"),
    ]


def test_valid_statement_passes_the_schema() -> None:
    assert schema_problems(json.loads(_doc(OK_STATEMENT)), source="x") == []


def test_the_loader_uses_the_schema_file() -> None:
    """The schema file drives validation: its operator pattern is what rejects an operator."""
    schema = policy_schema()
    pattern = schema["$defs"]["condition"]["propertyNames"]["pattern"]
    assert "StringEquals" in pattern and "NotIpAddress" in pattern
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(
    ("statement", "hint"),
    [
        ('{"Effect": "Allow", "action": "kms:*"}', "did you mean `Action`? names are case-sensitive"),
        ('{"Effect": "Allow", "Condition": {"StringEqual": {"k": "v"}}}', "did you mean `StringEquals`?"),
        ('{"Effect": "Allow", "Condition": {"ForAnyValue:stringlike": {"k": "v"}}}',
         "did you mean `ForAnyValue:StringLike`? names are case-sensitive"),
        ('{"Effect": "Allow", "Condition": {"NullIfExists": {"k": "true"}}}', "the Null operator cannot take IfExists"),
    ],
)
def test_misspelt_names_get_help(statement: str, hint: str) -> None:
    with pytest.raises(PolicyValidationError) as info:
        load_policy_text(_doc(statement))
    assert info.value.problems[0].help == hint
    assert f"help: {hint}" in info.value.render()


def test_validation_follows_the_schema_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loosen the schema's Effect enum and the loader's verdict changes: the file is not decorative."""
    from kmsauthz.syntax import schema as schema_module

    loose = json.loads(json.dumps(policy_schema()))
    loose["$defs"]["statement"]["properties"]["Effect"]["enum"].append("allow")
    schema_module._validator.cache_clear()
    monkeypatch.setattr(schema_module, "policy_schema", lambda: loose)
    try:
        assert schema_problems(json.loads(_doc('{"Effect": "allow"}')), source="x") == []
    finally:
        schema_module._validator.cache_clear()
    monkeypatch.undo()
    assert schema_problems(json.loads(_doc('{"Effect": "allow"}')), source="x")
