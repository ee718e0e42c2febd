"""Policy variables: parsing, rendering, defaults, specials, multivalued keys, malformed forms."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from kmsauthz.evaluate.patterns import compile_wildcard_parts
from kmsauthz.evaluate.protocols import ContextValue
from kmsauthz.evaluate.variables import Variable, compile_template, has_variables


class Ctx:
    """A case-insensitive mapping context, like the request context."""

    def __init__(self, values: Mapping[str, ContextValue] | None = None) -> None:
        self._values = {k.lower(): v for k, v in (values or {}).items()}
        self.asked: list[str] = []

    def lookup(self, key: str) -> ContextValue | None:
        self.asked.append(key)
        return self._values.get(key.lower())


def test_has_variables() -> None:
    assert has_variables("home/${aws:username}/")
    assert not has_variables("home/$aws:username/")
    assert not has_variables("plain")


def test_parse_parts_and_keys() -> None:
    t = compile_template("arn:aws:s3:::b/home/${aws:username}/${aws:PrincipalTag/team, 'none'}")
    assert t.error is None
    assert t.parts == (
        "arn:aws:s3:::b/home/",
        Variable("aws:username"),
        "/",
        Variable("aws:PrincipalTag/team", "none"),
    )
    assert t.keys == ("aws:username", "aws:PrincipalTag/team")
    assert not t.is_constant


def test_render_substitutes_and_key_names_are_case_insensitive() -> None:
    t = compile_template("home/${AWS:UserName}/")
    assert t.render(Ctx({"aws:username": "bob"})) == "home/bob/"


def test_render_none_when_a_variable_has_no_value() -> None:
    # reference_policies_variables.html#policy-vars-no-value
    t = compile_template("home/${aws:username}/")
    assert t.render(Ctx()) is None
    assert t.render_pieces(Ctx()) is None
    assert t.unresolved(Ctx()) == ("aws:username",)
    assert t.unresolved(Ctx({"aws:username": "bob"})) == ()


def test_default_value_used_only_when_absent() -> None:
    # reference_policies_variables.html#policy-vars-default-values
    t = compile_template("DOC-EXAMPLE-BUCKET-${aws:PrincipalTag/team, 'company-wide'}")
    assert t.render(Ctx()) == "DOC-EXAMPLE-BUCKET-company-wide"
    assert t.render(Ctx({"aws:PrincipalTag/team": "yellow"})) == "DOC-EXAMPLE-BUCKET-yellow"
    assert t.unresolved(Ctx()) == ()


def test_default_without_space_and_empty_default() -> None:
    assert compile_template("${aws:username,'x'}").render(Ctx()) == "x"
    assert compile_template("a${aws:username, ''}b").render(Ctx()) == "ab"


def test_present_but_empty_value_substitutes_empty_text() -> None:
    assert (
        compile_template("team-${aws:PrincipalTag/team}").render(Ctx({"aws:PrincipalTag/team": ""}))
        == "team-"
    )


def test_multivalued_key_is_not_a_variable() -> None:
    # reference_policies_condition-single-vs-multi-valued-context-keys: not usable as a variable
    t = compile_template("${aws:TagKeys}")
    assert t.render(Ctx({"aws:TagKeys": ("a",)})) is None
    assert t.render(Ctx({"aws:TagKeys": ()})) is None
    assert compile_template("${aws:TagKeys, 'd'}").render(Ctx({"aws:TagKeys": ("a", "b")})) == "d"


@pytest.mark.parametrize(
    ("text", "rendered"), [("${*}", "*"), ("${?}", "?"), ("${$}", "$"), ("a${*}b${?}c${$}", "a*b?c$")]
)
def test_special_characters(text: str, rendered: str) -> None:
    t = compile_template(text)
    assert t.is_constant
    assert t.render(Ctx()) == rendered


def test_substituted_and_special_text_is_literal_in_patterns() -> None:
    t = compile_template("alias/${*}literal")
    pieces = t.render_pieces(Ctx())
    assert pieces == (("alias/", True), ("*", False), ("literal", True))
    assert pieces is not None
    m = compile_wildcard_parts(pieces)
    assert m.match("alias/*literal")
    assert not m.match("alias/xliteral")
    u = compile_template("home/${aws:username}/*")
    up = u.render_pieces(Ctx({"aws:username": "a*"}))
    assert up is not None
    um = compile_wildcard_parts(up)
    assert um.match("home/a*/file")
    assert not um.match("home/admin/file")


def test_default_value_keeps_wildcards_the_author_wrote() -> None:
    t = compile_template("${aws:PrincipalTag/team, 'team-*'}")
    pieces = t.render_pieces(Ctx())
    assert pieces == (("team-*", True),)


def test_lookups_are_lazy_and_in_order() -> None:
    ctx = Ctx({"aws:username": "bob"})
    compile_template("${aws:username}-${aws:userid}").render(ctx)
    assert ctx.asked == ["aws:username", "aws:userid"]


def test_dollar_without_brace_is_text() -> None:
    t = compile_template("cost$5 and $}")
    assert t.error is None and t.render(Ctx()) == "cost$5 and $}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("home/${aws:username", "missing brace in variable"),
        ("${}", "empty variable"),
        ("${ }", "empty variable"),
        ("${aws:user name}", "unsupported space in variable"),
        ("${aws:username, 'x}", "missing quote in variable"),
        ("${aws:username, x}", "malformed variable"),
    ],
)
def test_malformed_variables_are_reported_not_raised(text: str, message: str) -> None:
    t = compile_template(text)
    assert t.error is not None and t.error.startswith(message)
    assert f"`{text[text.index('${') :]}" in t.error
    assert t.render(Ctx({"aws:username": "bob"})) is None
    assert not t.is_constant


def test_templates_are_cached() -> None:
    assert compile_template("${aws:username}") is compile_template("${aws:username}")


def test_special_variables_are_not_keys() -> None:
    t = compile_template("a${*}${aws:username}${?}")
    assert t.keys == ("aws:username",)
    assert t.unresolved(Ctx()) == ("aws:username",)
