"""Each rule of a policy kind rejects a document written to break it, with its location."""

from __future__ import annotations

import json

import pytest

from kmsauthz.errors import DocumentTooLargeError, PolicyValidationError
from kmsauthz.model.policy import PolicyKind
from kmsauthz.syntax import load_policy_document, load_policy_text
from kmsauthz.syntax.rules import legacy_scp_problems

ROOT = {"AWS": "arn:aws:iam::111122223333:root"}


def _text(*statements: dict[str, object]) -> str:
    """One statement per line (statement i on line i + 3), so locations are easy to state."""
    body = ",\n".join("    " + json.dumps(s) for s in statements)
    return '{\n  "Version": "2012-10-17",\n  "Statement": [\n' + body + "\n  ]\n}"


def _problems(text: str, kind: PolicyKind | None) -> list[tuple[str, int, int, str]]:
    with pytest.raises(PolicyValidationError) as info:
        load_policy_text(text, kind=kind, source="p.json")
    return [(p.span.pointer, p.span.line, p.span.column, p.message) for p in info.value.problems]


def _col(text: str, line: int, needle: str) -> int:
    return text.splitlines()[line - 1].index(needle) + 1


def _one(text: str, kind: PolicyKind | None, pointer: str, line: int, needle: str, words: str) -> None:
    problems = _problems(text, kind)
    assert len(problems) == 1, problems
    got_pointer, got_line, got_column, message = problems[0]
    assert (got_pointer, got_line, got_column) == (pointer, line, _col(text, line, needle))
    assert words in message, message


def test_key_policy_statement_needs_a_principal() -> None:
    text = _text({"Sid": "A", "Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"},
                 {"Sid": "B", "Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    _one(text, PolicyKind.KEY, "/Statement/1", 5, "{", "needs Principal or NotPrincipal")


def test_key_policy_sid_may_have_spaces_and_repeat() -> None:
    st = {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"}
    policy = load_policy_text(_text(st, st), kind=PolicyKind.KEY)
    assert [s.sid for s in policy.statements] == ["Allow use of the key"] * 2


@pytest.mark.parametrize("kind", [PolicyKind.IDENTITY, PolicyKind.PERMISSIONS_BOUNDARY, PolicyKind.SESSION])
def test_iam_policies_have_no_principal(kind: PolicyKind) -> None:
    text = _text({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"})
    _one(text, kind, "/Statement/0/Principal", 4, '"*"', "cannot have Principal")


@pytest.mark.parametrize("kind", [PolicyKind.IDENTITY, PolicyKind.PERMISSIONS_BOUNDARY, PolicyKind.SESSION])
def test_iam_sid_is_alphanumeric(kind: PolicyKind) -> None:
    text = _text({"Sid": "Use the key", "Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    _one(text, kind, "/Statement/0/Sid", 4, '"Use the key"', "may contain only letters")


def test_identity_policy_rejects_duplicate_sids() -> None:
    st = {"Sid": "UseKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}
    _one(_text(st, st), PolicyKind.IDENTITY, "/Statement/1/Sid", 5, '"UseKey"', "duplicate Sid `UseKey`")


def test_identity_statement_needs_action_and_resource() -> None:
    text = _text({"Effect": "Allow", "Action": "kms:*"}, {"Effect": "Allow", "NotResource": "*"})
    problems = _problems(text, PolicyKind.IDENTITY)
    assert [(p[0], p[1], p[3].split(": ")[-1]) for p in problems] == [
        ("/Statement/0", 4, "a statement of an identity policy needs Resource or NotResource"),
        ("/Statement/1", 5, "a statement of an identity policy needs Action or NotAction"),
    ]


def test_scp_has_no_principal() -> None:
    text = _text({"Effect": "Deny", "NotPrincipal": ROOT, "Action": "kms:*", "Resource": "*"})
    _one(text, PolicyKind.SCP, "/Statement/0/NotPrincipal", 4, '{"AWS"', "cannot have NotPrincipal")


def test_scp_full_iam_language_is_accepted_but_legacy_grammar_is_reported() -> None:
    """AWS accepts the full IAM language in SCPs since 2025-09-19; the old limits stay reportable."""
    text = _text(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:kms:*:*:key/*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}},
        {"Effect": "Deny", "Action": "kms:*Key", "NotResource": "*"},
    )
    policy = load_policy_text(text, kind=PolicyKind.SCP)
    messages = [(p.span.pointer, p.message.split(": ", 1)[1]) for p in legacy_scp_problems(policy)]
    assert messages == [
        ("/Statement/0/Condition", "SCP syntax: Condition only with Deny"),
        ("/Statement/0/NotAction", "SCP syntax: NotAction only with Deny"),
        ("/Statement/0/Resource", 'SCP syntax: an Allow can only have Resource "*"'),
        ("/Statement/1/NotResource", "SCP syntax: NotResource is not supported"),
        ("/Statement/1/Action", "SCP syntax: `kms:*Key`: wildcards only at the end of an action"),
    ]


def test_rcp_principal_must_be_star() -> None:
    text = _text({"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"})
    _one(text, PolicyKind.RCP, "/Statement/0/Principal", 4, '{"AWS"', 'Principal of a resource control policy must be "*"')


def test_rcp_has_no_not_action() -> None:
    text = _text({"Effect": "Deny", "Principal": "*", "NotAction": "kms:Decrypt", "Resource": "*"})
    _one(text, PolicyKind.RCP, "/Statement/0/NotAction", 4, '"kms:Decrypt"', "cannot have NotAction")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("arn:aws:iam::111122223333:user/*", "partial wildcard"),
        ("arn:aws:iam::111122223333:role/App*", "partial wildcard"),
        ("arn:aws:iam::111122223333:group/Admins", "IAM group"),
        ("bob", "not a valid AWS principal"),
    ],
)
def test_invalid_principal_values(value: str, words: str) -> None:
    text = _text({"Effect": "Allow", "Principal": {"AWS": ["111122223333", value]}, "Action": "kms:*",
                  "Resource": "*"})
    _one(text, PolicyKind.KEY, "/Statement/0/Principal/AWS/1", 4, json.dumps(value), words)


def test_valid_principal_values() -> None:
    values = ["*", "111122223333", "arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:role/a/b/App",
              "arn:aws:sts::111122223333:assumed-role/App/session", "AIDAJQABLZS4A3QDU576Q"]
    text = _text({"Effect": "Allow", "Principal": {"AWS": values, "Service": "logs.amazonaws.com"},
                  "Action": "kms:*", "Resource": "*"})
    policy = load_policy_text(text)
    assert policy.kind == PolicyKind.KEY
    assert policy.statements[0].principal.values_of("AWS") == tuple(values)


def test_service_principal_without_wildcards() -> None:
    text = _text({"Effect": "Allow", "Principal": {"Service": "*.amazonaws.com"}, "Action": "kms:*",
                  "Resource": "*"})
    _one(text, PolicyKind.KEY, "/Statement/0/Principal/Service", 4, '"*.amazonaws.com"', "cannot contain wildcards")


def test_characters_outside_latin1_are_rejected() -> None:
    text = _text({"Sid": "K", "Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*",
                  "Condition": {"StringEquals": {"kms:EncryptionContext:team": "\u0142\u00f3d\u017a"}}})
    text = text.replace("\\u0142\\u00f3d\\u017a", "\u0142\u00f3d\u017a")
    _one(text, PolicyKind.KEY, "/Statement/0/Condition/StringEquals/kms:EncryptionContext:team", 4,
         '"\u0142', "character U+0142 is not allowed")


def _key_policy_of_size(n_bytes: int) -> str:
    base = _text({"Sid": "", "Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"})
    pad = n_bytes - len(base.encode())
    return base.replace('"Sid": ""', '"Sid": "' + "x" * pad + '"')


def test_key_policy_size_limit_is_32768_bytes() -> None:
    load_policy_text(_key_policy_of_size(32_768), kind=PolicyKind.KEY)
    with pytest.raises(DocumentTooLargeError) as info:
        load_policy_text(_key_policy_of_size(32_769), kind=PolicyKind.KEY, source="big.json")
    problem = info.value.problems[0]
    assert problem.code == "policy-too-large"
    assert problem.message == "a key policy can be at most 32,768 bytes; this one is 32,769"
    assert (problem.span.source, problem.span.line, problem.span.pointer) == ("big.json", 1, "")


def test_identity_policy_size_ignores_white_space() -> None:
    st = {"Sid": "A", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}
    compact = len(json.dumps({"Version": "2012-10-17", "Statement": [st]}, separators=(",", ":")))
    st["Sid"] = "A" * (6_144 - compact + 1)
    fits = json.dumps({"Version": "2012-10-17", "Statement": [st]}, indent=8)
    assert len(fits) > 6_144
    load_policy_text(fits, kind=PolicyKind.IDENTITY)
    st["Sid"] += "A"
    with pytest.raises(DocumentTooLargeError, match="at most 6,144 non-whitespace characters; this one is 6,145"):
        load_policy_text(json.dumps({"Version": "2012-10-17", "Statement": [st]}), kind=PolicyKind.IDENTITY)


def test_session_policy_limit() -> None:
    st = {"Effect": "Allow", "Action": ["kms:Decrypt"] * 200, "Resource": "*"}
    with pytest.raises(DocumentTooLargeError, match="a session policy can be at most 2,048"):
        load_policy_document({"Statement": [st]}, kind=PolicyKind.SESSION, source="s")


def test_kind_is_inferred_from_principal() -> None:
    with_principal = _text({"Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"})
    without = _text({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    assert load_policy_text(with_principal).kind == PolicyKind.KEY
    assert load_policy_text(without).kind == PolicyKind.IDENTITY


def test_missing_version_is_valid_and_has_no_variables() -> None:
    policy = load_policy_text('{"Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}')
    assert policy.version is None and not policy.supports_variables and not policy.statement_is_list


def test_inline_document_with_locate_callable() -> None:
    from kmsauthz.model.spans import Span

    def locate(pointer: str) -> Span | None:
        return Span("world.yaml", 10 + pointer.count("/"), 7, pointer)

    doc = {"Statement": [{"Sid": "bad sid", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
    with pytest.raises(PolicyValidationError) as info:
        load_policy_document(doc, kind="identity", source="world.yaml", name="inline", locate=locate)
    span = info.value.problems[0].span
    assert (span.source, span.line, span.column, span.pointer) == ("world.yaml", 13, 7, "/Statement/0/Sid")
