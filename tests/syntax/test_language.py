"""The policy language: every construct, spans with JSON pointers, comments, located syntax errors."""

from __future__ import annotations

import pytest

from kmsauthz.errors import PolicySyntaxError, PolicyValidationError
from kmsauthz.model.policy import PolicyKind
from kmsauthz.syntax import load_policy_text, to_json, to_kmsp
from kmsauthz.syntax.document import policy_to_document
from kmsauthz.syntax.formatter import format_kmsp

EVERYTHING = """\
// every construct of the language
version "2012-10-17"
id "key-policy-everything"

allow "Delegate to IAM" {
  principal aws "arn:aws:iam::111122223333:root"
  action kms:*
  resource *
}

deny {
  not principal aws ["arn:aws:iam::111122223333:role/Admin", "111122223333"]
  not principal service logs.amazonaws.com
  not action [kms:Describe*]
  not resource "arn:aws:kms:us-east-1:111122223333:key/*"
  when ForAnyValue:StringLikeIfExists aws:PrincipalTag/team ["a*", "${aws:username}"]
   and NumericLessThanEquals kms:x [10, 2.5]
   and Bool aws:SecureTransport false
   and Null kms:y "true"
}

allow "Everyone" {
  principal aws *   /* {"AWS": "*"} is not the same text as "*" */
  principal federated cognito-identity.amazonaws.com
  principal canonical-user "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
  action kms:Decrypt, kms:Encrypt
  resource [*]
  when {}
}
"""


def test_every_construct_maps_to_the_aws_document() -> None:
    policy = load_policy_text(EVERYTHING, kind=PolicyKind.KEY, source="all.kmsp")
    doc = policy_to_document(policy)
    assert doc["Version"] == "2012-10-17" and doc["Id"] == "key-policy-everything"
    first, second, third = doc["Statement"]
    assert first == {"Sid": "Delegate to IAM", "Effect": "Allow",
                     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}
    assert second == {
        "Effect": "Deny",
        "NotPrincipal": {"AWS": ["arn:aws:iam::111122223333:role/Admin", "111122223333"],
                         "Service": "logs.amazonaws.com"},
        "NotAction": ["kms:Describe*"],
        "NotResource": "arn:aws:kms:us-east-1:111122223333:key/*",
        "Condition": {
            "ForAnyValue:StringLikeIfExists": {"aws:PrincipalTag/team": ["a*", "${aws:username}"]},
            "NumericLessThanEquals": {"kms:x": [10, 2.5]},
            "Bool": {"aws:SecureTransport": False},
            "Null": {"kms:y": "true"},
        },
    }
    assert third["Principal"] == {
        "AWS": "*",
        "Federated": "cognito-identity.amazonaws.com",
        "CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
    }
    assert third["Action"] == ["kms:Decrypt", "kms:Encrypt"] and third["Resource"] == ["*"]
    assert third["Condition"] == {}
    clause = policy.statements[1].condition.clauses[0]
    assert (clause.qualifier, clause.base, clause.if_exists) == ("ForAnyValue", "StringLike", True)
    assert isinstance(policy.statements[1].condition.clauses[1].values[0], int)


def test_star_and_aws_star_differ() -> None:
    star = load_policy_text('allow { principal * action kms:* resource * }')
    aws_star = load_policy_text('allow { principal aws * action kms:* resource * }')
    assert policy_to_document(star)["Statement"][0]["Principal"] == "*"
    assert policy_to_document(aws_star)["Statement"][0]["Principal"] == {"AWS": "*"}
    assert star.statements[0].principal.wildcard and not aws_star.statements[0].principal.wildcard


def test_statement_object_form() -> None:
    policy = load_policy_text('statement object\nallow { action kms:* resource * }')
    assert not policy.statement_is_list
    assert to_json(policy) == (
        '{\n  "Statement": {\n    "Effect": "Allow",\n    "Action": "kms:*",\n    "Resource": "*"\n  }\n}\n'
    )
    assert to_kmsp(policy).startswith("statement object\n\nallow {")


def test_spans_name_line_column_and_json_pointer() -> None:
    policy = load_policy_text(EVERYTHING, kind=PolicyKind.KEY, source="all.kmsp")
    second = policy.statements[1]
    assert (second.span.line, second.span.column, second.span.pointer) == (11, 1, "/Statement/1")
    assert second.span.end_line == 20
    vl = second.not_principal.entries[0].values
    assert [(s.line, s.column, s.pointer) for s in vl.value_spans] == [
        (12, 22, "/Statement/1/NotPrincipal/AWS/0"), (12, 62, "/Statement/1/NotPrincipal/AWS/1")]
    clause = second.condition.clauses[1]
    assert (clause.span.line, clause.span.pointer) == (17, "/Statement/1/Condition/NumericLessThanEquals/kms:x")
    assert (clause.operator_span.line, clause.operator_span.column) == (17, 8)
    assert policy.statements[0].sid_span.column == 7


def test_validation_errors_point_into_the_kmsp_file() -> None:
    text = 'version "2012-10-17"\n\nallow "Use" {\n  action kms:Decrypt\n  resource *\n}\n'
    with pytest.raises(PolicyValidationError) as info:
        load_policy_text(text, kind=PolicyKind.KEY, source="k.kmsp")
    problem = info.value.problems[0]
    assert (problem.span.source, problem.span.line, problem.span.column) == ("k.kmsp", 3, 1)
    assert "needs Principal or NotPrincipal" in problem.message
    with pytest.raises(PolicyValidationError) as info:
        load_policy_text('allow { action kms:* resource *\n  when StringEqual k "v" }', source="k.kmsp")
    problem = info.value.problems[0]
    assert (problem.span.line, problem.span.column, problem.span.pointer) == (2, 8, "/Statement/0/Condition/StringEqual")


@pytest.mark.parametrize(
    ("text", "line", "column", "width", "words"),
    [
        ('allow {\n  acton kms:*\n}', 2, 3, 5, "unexpected `acton`: expected `action`, `not`, `principal`, "
                                              "`resource`, `when` or `}`"),
        ('allow {\n  action\n}', 3, 1, 1, "unexpected `}`: expected `[`, a quoted string or a value"),
        ('allow {\n  action kms:*\n', 3, 1, 1, "unexpected end of file"),
        ('allow "x {\n}', 1, 7, 1, "unterminated string"),
        ('allow { when StringEquals k v }', 1, 29, 1, "expected `[`, `false`, `true`, a number or a quoted string"),
        ('allow { principal users "x" }', 1, 19, 5, "expected `*` or a principal type"),
        ('allow { action a action b }', 1, 18, 6, "duplicate `action`"),
        ('allow { principal * principal aws "x" }', 1, 21, 9, "cannot be combined"),
        ('allow { principal aws "a" principal aws "b" }', 1, 37, 3, "duplicate principal type `aws`"),
        ('allow { when Bool k true and Bool k false }', 1, 35, 1, "duplicate condition `Bool k`"),
        ('allow { action a }\nversion "2012-10-17"', 2, 1, 1, "unexpected `version`: expected a statement (`allow` or `deny`) or end of file"),
        ('version "2012-10-17"\nversion "2012-10-17"', 2, 1, 7, "duplicate `version`"),
        ("statement object\nallow { }\ndeny { }", 1, 1, 16, "needs exactly one statement, found 2"),
        ('allow { action "\\ud800" }', 1, 16, 8, "unpaired UTF-16 surrogate"),
        ("allow { action kms:* } \x00", 1, 24, 1, "NUL byte"),
        ('allow { when Bool k 1e999 }', 1, 21, 5, "out of range"),
        ("deny { resource * ] }", 1, 19, 1, "unexpected `]`"),
    ],
)
def test_syntax_errors_have_location_caret_and_expectation(
    text: str, line: int, column: int, width: int, words: str
) -> None:
    with pytest.raises(PolicySyntaxError) as info:
        load_policy_text(text, source="bad.kmsp", format="kmsp")
    problem = info.value.problems[0]
    assert (problem.span.line, problem.span.column) == (line, column), problem.message
    assert words in problem.message, problem.message
    first, source_line, caret = problem.render().splitlines()[-3:]
    assert first.startswith(f"bad.kmsp:{line}:{column}: ")
    assert source_line.startswith(f"{line} | ")
    assert caret.strip("| ").startswith("^" * width)
    assert caret.index("^") == source_line.index("|") + 2 + column - 1


def test_keywords_are_plain_values_where_a_value_stands() -> None:
    policy = load_policy_text('allow { action [allow, not, action, when, true] resource * }')
    assert policy.statements[0].action.values == ("allow", "not", "action", "when", "true")


def test_comments_of_all_three_kinds_are_ignored_and_kept_by_fmt() -> None:
    text = (
        "# header comment\n"
        'version "2012-10-17"\n'
        "\n"
        "/* about the\n   statement */\n"
        'allow "A" {\n'
        "  action   kms:Decrypt // why\n"
        "  # before resource\n"
        "  resource *\n"
        "  // at the end\n"
        "}\n"
        "// trailing\n"
    )
    assert load_policy_text(text).statements[0].action.values == ("kms:Decrypt",)
    assert format_kmsp(text) == (
        "# header comment\n"
        'version "2012-10-17"\n'
        "\n"
        "/* about the\n   statement */\n"
        'allow "A" {\n'
        "  action kms:Decrypt  // why\n"
        "  # before resource\n"
        "  resource *\n"
        "  // at the end\n"
        "}\n"
        "\n"
        "// trailing\n"
    )
    assert format_kmsp(format_kmsp(text)) == format_kmsp(text)


def test_long_lists_break_one_item_per_line() -> None:
    actions = ", ".join(f"kms:Action{i:02d}" for i in range(12))
    text = to_kmsp(load_policy_text(f"allow {{ action [{actions}] resource * }}"))
    assert "  action [\n    kms:Action00,\n" in text and "    kms:Action11,\n  ]\n" in text
    assert format_kmsp(text) == text
