"""Condition operators against the IAM User Guide's documented rules and edge cases.

Pages: reference_policies_elements_condition_operators.html (operators, missing keys, IfExists,
Null), reference_policies_multi-value-conditions.html (AND/OR/NOR, set qualifiers),
reference_policies_variables.html (variables in values), semantics.md §5 and §12.3 and §12.4.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsauthz.evaluate.conditions import (
    OPERATORS,
    ConditionOutcome,
    ValueType,
    compile_condition,
    operator_info,
    parse_date,
    parse_number,
    parse_operator,
    scalar_text,
)
from kmsauthz.evaluate.protocols import ContextValue
from kmsauthz.model.policy import Condition, ConditionClause


class Ctx:
    """A case-insensitive context over a mapping, counting lookups."""

    def __init__(self, values: Mapping[str, ContextValue] | None = None) -> None:
        self._values = {k.lower(): v for k, v in (values or {}).items()}
        self.asked: list[str] = []

    def lookup(self, key: str) -> ContextValue | None:
        self.asked.append(key)
        return self._values.get(key.lower())


class BrokenCtx:
    def lookup(self, key: str) -> ContextValue | None:
        raise RuntimeError("boom")


def cond(block: Mapping[str, Mapping[str, Any]]) -> Condition:
    """A Condition model from a JSON-shaped block (as the syntax layer builds it)."""
    clauses = []
    for operator, keys in block.items():
        qualifier, base = operator.split(":", 1) if ":" in operator else (None, operator)
        if_exists = base.endswith("IfExists")
        if if_exists:
            base = base[: -len("IfExists")]
        for key, values in keys.items():
            scalar = not isinstance(values, list)
            clauses.append(
                ConditionClause(
                    operator=operator,
                    base=base,
                    qualifier=qualifier if qualifier in ("ForAllValues", "ForAnyValue") else None,
                    if_exists=if_exists,
                    key=key,
                    values=tuple([values] if scalar else values),
                    scalar=scalar,
                )
            )
    return Condition(clauses=tuple(clauses))


def ev(
    block: Mapping[str, Mapping[str, Any]],
    ctx: Mapping[str, ContextValue] | None = None,
    *,
    variables: bool = True,
) -> ConditionOutcome:
    return compile_condition(cond(block), variables=variables).evaluate(Ctx(ctx))


def matched(
    block: Mapping[str, Mapping[str, Any]], ctx: Mapping[str, ContextValue] | None = None, **kw: bool
) -> bool:
    out = ev(block, ctx, **kw)
    assert out.error is None, out.error
    return out.matched


# ---------------------------------------------------------------- the table

ALL_OPERATORS = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
    "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
    "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
    "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals",
    "ArnNotLike", "Null",
}  # fmt: skip
NEGATED = {
    "StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NumericNotEquals",
    "DateNotEquals", "NotIpAddress", "ArnNotEquals", "ArnNotLike",
}  # fmt: skip

# a valid policy value per base operator, and a request value that matches it
SAMPLE: dict[str, tuple[str, str]] = {
    "StringEquals": ("a", "a"),
    "StringNotEquals": ("a", "b"),
    "StringEqualsIgnoreCase": ("A", "a"),
    "StringNotEqualsIgnoreCase": ("A", "b"),
    "StringLike": ("a*", "abc"),
    "StringNotLike": ("a*", "bcd"),
    "NumericEquals": ("10", "10.0"),
    "NumericNotEquals": ("10", "11"),
    "NumericLessThan": ("10", "9"),
    "NumericLessThanEquals": ("10", "10"),
    "NumericGreaterThan": ("10", "11"),
    "NumericGreaterThanEquals": ("10", "10"),
    "DateEquals": ("2020-01-01T00:00:00Z", "1577836800"),
    "DateNotEquals": ("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"),
    "DateLessThan": ("2020-01-01T00:00:00Z", "2019-12-31T23:59:59Z"),
    "DateLessThanEquals": ("2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z"),
    "DateGreaterThan": ("2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z"),
    "DateGreaterThanEquals": ("2020-01-01T00:00:00Z", "2020-01-01"),
    "Bool": ("true", "true"),
    "BinaryEquals": ("QmluYXJ5VmFsdWVJbkJhc2U2NA==", "QmluYXJ5VmFsdWVJbkJhc2U2NA=="),
    "IpAddress": ("203.0.113.0/24", "203.0.113.7"),
    "NotIpAddress": ("203.0.113.0/24", "198.51.100.1"),
    "ArnEquals": ("arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:us-west-2:111122223333:key/k"),
    "ArnLike": ("arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:us-west-2:111122223333:key/k"),
    "ArnNotEquals": ("arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:us-west-2:444455556666:key/k"),
    "ArnNotLike": ("arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:us-west-2:444455556666:key/k"),
}


def test_table_covers_every_aws_operator() -> None:
    assert set(OPERATORS) == ALL_OPERATORS
    assert {n for n, i in OPERATORS.items() if i.negated} == NEGATED
    assert set(SAMPLE) == ALL_OPERATORS - {"Null"}


def test_table_attributes() -> None:
    assert {n for n, i in OPERATORS.items() if i.variables_allowed} == {
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
        "StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Bool",
    }  # fmt: skip
    assert {n for n, i in OPERATORS.items() if i.wildcards} == {
        "StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
    }  # fmt: skip
    assert OPERATORS["Null"].if_exists_allowed is False
    assert OPERATORS["Null"].qualifiers_allowed is False
    assert all(i.if_exists_allowed and i.qualifiers_allowed for n, i in OPERATORS.items() if n != "Null")
    assert OPERATORS["StringNotLike"].positive == "StringLike"
    assert OPERATORS["IpAddress"].type is ValueType.IP_ADDRESS
    assert OPERATORS["StringEqualsIgnoreCase"].case_sensitive is False
    assert OPERATORS["Bool"].single_value is True


@pytest.mark.parametrize(
    ("name", "base", "qualifier", "if_exists"),
    [
        ("StringEquals", "StringEquals", None, False),
        ("StringLikeIfExists", "StringLike", None, True),
        ("ForAnyValue:StringLike", "StringLike", "ForAnyValue", False),
        ("ForAllValues:StringNotEqualsIfExists", "StringNotEquals", "ForAllValues", True),
        ("Null", "Null", None, False),
        ("NotIpAddressIfExists", "NotIpAddress", None, True),
    ],
)
def test_parse_operator(name: str, base: str, qualifier: str | None, if_exists: bool) -> None:
    parsed = parse_operator(name)
    assert parsed is not None
    assert (parsed.info.name, parsed.qualifier, parsed.if_exists) == (base, qualifier, if_exists)
    assert operator_info(name) is OPERATORS[base]


@pytest.mark.parametrize(
    "name",
    [
        "NullIfExists",
        "ForAnyValue:Null",
        "ForAllValues:Null",
        "stringequals",
        "StringEqual",
        "ForSomeValues:StringEquals",
        "",
        "IfExists",
    ],
)
def test_invalid_operator_names(name: str) -> None:
    assert parse_operator(name) is None
    assert operator_info(name) is None


# ---------------------------------------------------------------- every operator, present and missing


@pytest.mark.parametrize("op", sorted(SAMPLE))
def test_each_operator_matches_its_sample(op: str) -> None:
    policy, request = SAMPLE[op]
    assert matched({op: {"k": policy}}, {"k": request})


@pytest.mark.parametrize("op", sorted(SAMPLE))
def test_each_operator_on_a_missing_key(op: str) -> None:
    """Positive operators are false, negated ones true (the Important box of the operators page)."""
    policy, _ = SAMPLE[op]
    out = ev({op: {"k": policy}}, {})
    assert out.error is None
    assert out.matched is (op in NEGATED)
    assert out.missing == ("k",)


@pytest.mark.parametrize("op", sorted(SAMPLE))
def test_each_if_exists_operator(op: str) -> None:
    """`...IfExists`: true when absent, evaluated normally when present (#Conditions_IfExists)."""
    policy, request = SAMPLE[op]
    assert matched({op + "IfExists": {"k": policy}}, {})
    assert matched({op + "IfExists": {"k": policy}}, {"k": request})
    other = {"StringEqualsIgnoreCase": "zz", "StringNotEqualsIgnoreCase": "A"}.get(op)
    if other is not None:
        assert not matched({op + "IfExists": {"k": policy}}, {"k": other})


@pytest.mark.parametrize("op", sorted(SAMPLE))
def test_each_operator_with_set_qualifiers_on_absent_key(op: str) -> None:
    policy, _ = SAMPLE[op]
    assert matched({"ForAllValues:" + op: {"k": policy}}, {}) is True
    assert matched({"ForAnyValue:" + op: {"k": policy}}, {}) is False


def test_if_exists_deny_with_negated_operator_on_missing_key() -> None:
    # E42: StringNotEqualsIfExists on a missing key is true, so a Deny still applies
    block = {
        "StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-1"},
        "Bool": {"aws:PrincipalIsAWSService": "false"},
    }
    assert matched(block, {"aws:PrincipalIsAWSService": "false"})
    assert not matched(block, {"aws:PrincipalIsAWSService": "false", "aws:PrincipalOrgID": "o-1"})


# ---------------------------------------------------------------- block logic


def test_values_or_keys_and_operators_and() -> None:
    # reference_policies_multi-value-conditions.html#reference_policies_multiple-conditions-eval
    block = {
        "StringEqualsIgnoreCase": {
            "aws:PrincipalTag/department": ["finance", "hr", "legal"],
            "aws:PrincipalTag/role": ["audit", "security"],
        },
        "StringEquals": {"aws:PrincipalAccount": "123456789012"},
    }
    good = {
        "aws:PrincipalTag/department": "HR",
        "aws:PrincipalTag/role": "audit",
        "aws:PrincipalAccount": "123456789012",
    }
    assert matched(block, good)
    assert not matched(block, {**good, "aws:PrincipalTag/role": "dev"})
    assert not matched(block, {**good, "aws:PrincipalAccount": "111122223333"})
    out = ev(block, {"aws:PrincipalAccount": "123456789012"})
    assert not out.matched
    assert out.missing == ("aws:PrincipalTag/department", "aws:PrincipalTag/role")


def test_negated_operator_with_several_values_is_nor() -> None:
    # E48: StringNotEquals over two accounts is true only outside both
    block = {"StringNotEquals": {"aws:PrincipalAccount": ["111122223333", "444455556666"]}}
    assert not matched(block, {"aws:PrincipalAccount": "111122223333"})
    assert not matched(block, {"aws:PrincipalAccount": "444455556666"})
    assert matched(block, {"aws:PrincipalAccount": "999999999999"})


def test_key_names_are_case_insensitive_through_the_context() -> None:
    assert matched({"StringEquals": {"AWS:SourceVpce": "vpce-1"}}, {"aws:sourcevpce": "vpce-1"})


def test_none_and_empty_condition_always_match() -> None:
    c = compile_condition(None, variables=True)
    assert c.always and c.keys == () and c.evaluate(Ctx()) == ConditionOutcome(True, (), None)
    e = compile_condition(Condition(), variables=False)
    assert e.always and e.evaluate(BrokenCtx()).matched


def test_keys_lists_clause_keys_and_variable_keys_once() -> None:
    c = compile_condition(
        cond(
            {
                "StringEquals": {"kms:EncryptionContext:user": "${aws:username}", "aws:SourceVpce": "v"},
                "StringLike": {"KMS:EncryptionContext:USER": "${AWS:USERNAME}*"},
            }
        ),
        variables=True,
    )
    assert c.keys == ("kms:EncryptionContext:user", "aws:username", "aws:SourceVpce")


def test_empty_policy_value_list() -> None:
    assert not matched({"StringEquals": {"k": []}}, {"k": "a"})
    assert matched({"StringNotEquals": {"k": []}}, {"k": "a"})


# ---------------------------------------------------------------- set qualifiers and multivalued keys


def test_for_all_values_is_vacuously_true() -> None:
    # E29 and the Warning on reference_policies_multi-value-conditions.html
    block = {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["AppName"]}}
    assert matched(block, {})
    assert matched(block, {"kms:EncryptionContextKeys": ()})
    assert matched(block, {"kms:EncryptionContextKeys": ""})  # "an empty string" is a null data set
    assert matched(block, {"kms:EncryptionContextKeys": ("AppName",)})
    assert not matched(block, {"kms:EncryptionContextKeys": ("AppName", "Other")})


def test_for_any_value_is_false_on_the_empty_set() -> None:
    block = {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "AppName"}}
    assert not matched(block, {})  # E30
    assert not matched(block, {"kms:EncryptionContextKeys": ()})
    assert matched(block, {"kms:EncryptionContextKeys": ("Other", "AppName")})
    assert not matched(block, {"kms:EncryptionContextKeys": ("Other",)})


def test_dynamodb_examples_from_the_multi_value_page() -> None:
    allow = {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["PostDateTime", "Message", "Tags"]}}
    assert not matched(allow, {"dynamodb:Attributes": ("PostDateTime", "UserName")})
    assert matched(allow, {"dynamodb:Attributes": ("Message", "Tags")})
    deny = {"ForAnyValue:StringEquals": {"dynamodb:Attributes": ["ID", "PostDateTime"]}}
    assert matched(deny, {"dynamodb:Attributes": ("UserName", "Message", "PostDateTime")})
    assert not matched(deny, {"dynamodb:Attributes": ("UserName",)})


def test_negated_operators_under_qualifiers() -> None:
    # per value: "v matches none of the policy values"
    all_not = {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret", "private"]}}
    assert matched(all_not, {"aws:TagKeys": ("a", "b")})
    assert not matched(all_not, {"aws:TagKeys": ("a", "secret")})
    assert matched(all_not, {})
    any_not = {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["secret", "private"]}}
    assert matched(any_not, {"aws:TagKeys": ("secret", "b")})
    assert not matched(any_not, {"aws:TagKeys": ("secret", "private")})
    assert not matched(any_not, {})


def test_for_all_values_like_on_aliases() -> None:
    # E37: ForAllValues:StringLike alone allows a key with no aliases
    block = {"ForAllValues:StringLike": {"kms:ResourceAliases": "alias/*Test*"}}
    assert matched(block, {"kms:ResourceAliases": ()})
    assert matched(block, {"kms:ResourceAliases": ("alias/myTestKey",)})
    assert not matched(block, {"kms:ResourceAliases": ("alias/myTestKey", "alias/prod")})


def test_qualifier_on_single_valued_key_treats_it_as_a_one_element_set() -> None:
    assert matched({"ForAnyValue:StringEquals": {"aws:SourceVpce": "v"}}, {"aws:SourceVpce": "v"})
    assert matched({"ForAllValues:StringEquals": {"aws:SourceVpce": "v"}}, {"aws:SourceVpce": "v"})
    assert not matched({"ForAllValues:StringEquals": {"aws:SourceVpce": "v"}}, {"aws:SourceVpce": "w"})


def test_unqualified_operator_on_a_multivalued_value() -> None:
    # U16: positive = any request value matches; negated = no request value matches
    assert matched(
        {"StringEquals": {"kms:GrantOperations": "Decrypt"}}, {"kms:GrantOperations": ("Encrypt", "Decrypt")}
    )
    assert not matched(
        {"StringEquals": {"kms:GrantOperations": "Sign"}}, {"kms:GrantOperations": ("Encrypt", "Decrypt")}
    )
    assert not matched({"StringEquals": {"kms:GrantOperations": "Sign"}}, {"kms:GrantOperations": ()})
    assert not matched(
        {"StringNotEquals": {"kms:GrantOperations": "Decrypt"}},
        {"kms:GrantOperations": ("Encrypt", "Decrypt")},
    )
    assert matched(
        {"StringNotEquals": {"kms:GrantOperations": "Sign"}}, {"kms:GrantOperations": ("Encrypt", "Decrypt")}
    )
    assert matched({"StringNotEquals": {"kms:GrantOperations": "Sign"}}, {"kms:GrantOperations": ()})


@settings(max_examples=150, deadline=None)
@given(
    request=st.one_of(st.none(), st.lists(st.sampled_from("abcd"), max_size=4).map(tuple)),
    policy=st.lists(st.sampled_from("abcd"), max_size=3),
)
def test_qualifier_laws(request: tuple[str, ...] | None, policy: list[str]) -> None:
    ctx = {} if request is None else {"k": request}
    members = set(request or ())
    any_eq = matched({"ForAnyValue:StringEquals": {"k": policy}}, ctx)
    all_eq = matched({"ForAllValues:StringEquals": {"k": policy}}, ctx)
    any_ne = matched({"ForAnyValue:StringNotEquals": {"k": policy}}, ctx)
    all_ne = matched({"ForAllValues:StringNotEquals": {"k": policy}}, ctx)
    assert any_eq is bool(members & set(policy))
    assert all_eq is members.issubset(policy)
    assert any_ne is bool(members - set(policy))
    assert all_ne is not bool(members & set(policy))


# ---------------------------------------------------------------- Null


def test_null() -> None:
    # E39 / E31
    assert matched({"Null": {"kms:BypassPolicyLockoutSafetyCheck": "true"}}, {})
    assert not matched(
        {"Null": {"kms:BypassPolicyLockoutSafetyCheck": True}}, {"kms:BypassPolicyLockoutSafetyCheck": "true"}
    )
    assert not matched({"Null": {"kms:EncryptionContextKeys": "false"}}, {})
    assert matched({"Null": {"kms:EncryptionContextKeys": False}}, {"kms:EncryptionContextKeys": ("x",)})
    assert matched({"Null": {"k": "FALSE"}}, {"k": ""})  # present with an empty value
    assert matched({"Null": {"k": "false"}}, {"k": ()})  # present, no members
    out = ev({"Null": {"k": "true"}}, {})
    assert out.missing == ("k",)


def test_null_rejects_non_booleans_and_modifiers() -> None:
    assert ev({"Null": {"k": "yes"}}).error == "`yes` is not `true` or `false` (operator `Null`, key `k`)"
    assert "does not take `IfExists`" in (ev({"NullIfExists": {"k": "true"}}).error or "")
    assert "does not take a set qualifier" in (ev({"ForAnyValue:Null": {"k": "true"}}).error or "")
    assert ev({"Null": {"k": []}}).error is not None


# ---------------------------------------------------------------- strings


def test_string_case_rules() -> None:
    assert not matched({"StringEquals": {"k": "ExampleApp"}}, {"k": "exampleapp"})
    assert matched({"StringEqualsIgnoreCase": {"k": "ExampleApp"}}, {"k": "EXAMPLEAPP"})
    assert not matched({"StringNotEqualsIgnoreCase": {"k": "ExampleApp"}}, {"k": "exampleAPP"})
    assert not matched({"StringLike": {"k": "Example*"}}, {"k": "example-x"})


def test_string_equals_has_no_wildcards() -> None:
    assert not matched({"StringEquals": {"k": "a*"}}, {"k": "abc"})
    assert matched({"StringEquals": {"k": "a*"}}, {"k": "a*"})


def test_string_like() -> None:
    assert matched({"StringLike": {"k": ["", "home/", "home/bob/*"]}}, {"k": ""})
    assert matched({"StringLike": {"k": "alias/?-key"}}, {"k": "alias/a-key"})
    assert not matched({"StringLike": {"k": "alias/?-key"}}, {"k": "alias/ab-key"})
    assert matched({"StringNotLike": {"k": "alias/prod-*"}}, {"k": "alias/test-1"})


def test_scalar_json_values_compare_as_text() -> None:
    assert matched({"StringEquals": {"k": True}}, {"k": "true"})
    assert matched({"StringEquals": {"k": 10}}, {"k": "10"})


def test_arn_like_versus_string_like() -> None:
    # E47
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert not matched({"ArnLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})
    assert matched({"ArnNotLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})
    assert matched({"StringLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})


def test_arn_equals_behaves_like_arn_like() -> None:
    for op in ("ArnEquals", "ArnLike"):
        assert matched(
            {op: {"k": "arn:aws:sns:*:123456789012:topic-?"}},
            {"k": "arn:aws:sns:us-east-1:123456789012:topic-1"},
        )
        assert not matched(
            {op: {"k": "arn:aws:sns:*:123456789012:topic"}}, {"k": "arn:aws:sns:us-east-1:123456789012:Topic"}
        )
    assert not matched({"ArnEquals": {"k": "arn:aws:sns:us-east-1:1:t"}}, {"k": "not-an-arn"})


# ---------------------------------------------------------------- numbers


def test_numeric_comparisons() -> None:
    assert matched({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"})
    assert not matched({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "11"})
    assert matched({"NumericEquals": {"k": 1.5}}, {"k": "1.50"})
    assert matched({"NumericGreaterThan": {"k": "-1"}}, {"k": "0"})
    assert matched({"NumericNotEquals": {"k": ["1", "2"]}}, {"k": "3"})
    assert not matched({"NumericNotEquals": {"k": ["1", "2"]}}, {"k": "2.0"})
    assert matched({"NumericLessThan": {"k": ".5"}}, {"k": "0.25"})


def test_numeric_valid_to_example() -> None:
    # E52: the number decides
    block = {"NumericLessThanEquals": {"kms:ValidTo": 1546257599.0}}
    assert matched(block, {"kms:ValidTo": "1546257599"})
    assert not matched(block, {"kms:ValidTo": "1546300799"})


@pytest.mark.parametrize("bad", ["ten", "1e3", "NaN", "Infinity", "", "1.2.3", "${aws:username}", True])
def test_numeric_policy_value_must_be_a_number(bad: object) -> None:
    c = compile_condition(cond({"NumericEquals": {"k": bad}}), variables=True)
    assert c.errors  # found at compile time
    out = c.evaluate(Ctx({"k": "1"}))
    assert out.matched is False and out.error is not None and "is not a number" in out.error


def test_numeric_request_value_must_be_a_number() -> None:
    out = ev({"NumericEquals": {"k": "1"}}, {"k": "one"})
    assert out == ConditionOutcome(False, (), "request value of `k` is not a number: `one`")


def test_parse_number() -> None:
    assert parse_number("10") == 10 and parse_number("-0.5") == parse_number("-.5")
    assert parse_number("1e5") is None and parse_number("") is None


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("2020-01-01T00:00:00Z", "1577836800"),
        ("2020-01-01T00:00:01Z", "1577836801"),
        ("2020-01-01", "1577836800"),
        ("2020-01", "1577836800"),
        ("2020", "1577836800"),
        ("2020-01-01T00:00Z", "1577836800"),
        ("2020-01-01T01:00:00+01:00", "1577836800"),
        ("2019-12-31T19:00:00-05:00", "1577836800"),
        ("2020-01-01T00:00:00.250Z", "1577836800.250"),
        ("2020-01-01T00:00:00", "1577836800"),
        ("1577836800", "1577836800"),
        ("1577836800.5", "1577836800.5"),
    ],
)
def test_date_formats(text: str, epoch: str) -> None:
    assert parse_date(text) == parse_number(epoch)


@pytest.mark.parametrize(
    "bad",
    [
        "yesterday",
        "2020-13-01",
        "2020-02-30",
        "2020-01-01T25:00:00Z",
        "2020/01/01",
        "2020-01-01T00:00:00+25:00",
    ],
)
def test_invalid_dates(bad: str) -> None:
    assert parse_date(bad) is None
    out = ev({"DateLessThan": {"aws:CurrentTime": bad}}, {"aws:CurrentTime": "2020-01-01T00:00:00Z"})
    assert out.matched is False and out.error is not None and "is not a date" in out.error


def test_date_comparisons_across_formats() -> None:
    # E53
    assert matched(
        {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:01Z"}},
        {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
    )
    assert matched(
        {"DateLessThan": {"aws:EpochTime": "2020-01-01T00:00:00Z"}}, {"aws:EpochTime": "1577836799"}
    )
    assert matched(
        {"DateEquals": {"aws:CurrentTime": "1577836800"}}, {"aws:CurrentTime": "2020-01-01T00:00:00Z"}
    )
    assert matched(
        {"DateNotEquals": {"aws:CurrentTime": "2020-01-01"}}, {"aws:CurrentTime": "2020-01-01T00:00:00.001Z"}
    )
    assert not matched(
        {"DateGreaterThanEquals": {"aws:CurrentTime": "2020-01-01"}},
        {"aws:CurrentTime": "2019-12-31T23:59:59.999Z"},
    )
    assert matched(
        {"DateLessThanEquals": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}},
        {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"},
    )


def test_date_request_value_must_be_a_date() -> None:
    out = ev({"DateLessThan": {"aws:CurrentTime": "2020"}}, {"aws:CurrentTime": "soon"})
    assert out.error == "request value of `aws:CurrentTime` is not a date: `soon`"


# ---------------------------------------------------------------- booleans


def test_bool() -> None:
    assert matched({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "false"})
    assert not matched({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"})
    assert matched({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"})
    assert matched({"Bool": {"aws:SecureTransport": "TRUE"}}, {"aws:SecureTransport": "True"})
    assert not matched({"Bool": {"aws:SecureTransport": "true"}}, {})


def test_bool_errors() -> None:
    assert (
        ev({"Bool": {"k": "yes"}}, {"k": "true"}).error
        == "`yes` is not `true` or `false` (operator `Bool`, key `k`)"
    )
    assert ev({"Bool": {"k": "true"}}, {"k": "1"}).error == "request value of `k` is not a boolean: `1`"
    assert ev({"Bool": {"k": 1}}, {"k": "true"}).error is not None


# ---------------------------------------------------------------- binary


def test_binary_equals() -> None:
    assert matched({"BinaryEquals": {"k": "QmluYXJ5"}}, {"k": "QmluYXJ5"})
    assert not matched({"BinaryEquals": {"k": "QmluYXJ5"}}, {"k": "QmluYXJa"})
    assert ev({"BinaryEquals": {"k": "not base64!"}}, {"k": "QQ=="}).error is not None
    assert ev({"BinaryEquals": {"k": "QQ=="}}, {"k": "***"}).error == "request value of `k` is not base64"


# ---------------------------------------------------------------- IP addresses


def test_ip_address() -> None:
    assert matched({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.255"})
    assert not matched({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.114.0"})
    # E51: a bare address is /32
    assert matched({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}, {"aws:SourceIp": "203.0.113.7"})
    assert not matched({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}, {"aws:SourceIp": "203.0.113.8"})
    # host bits beyond the mask are ignored
    assert matched({"IpAddress": {"aws:SourceIp": "203.0.113.9/24"}}, {"aws:SourceIp": "203.0.113.1"})


def test_ipv6() -> None:
    block = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}}
    assert matched(block, {"aws:SourceIp": "2001:db8:1234:5678:abcd::1"})
    assert not matched(block, {"aws:SourceIp": "2001:db8:1234:5679::1"})
    assert matched(block, {"aws:SourceIp": "203.0.113.5"})
    # a bare IPv6 address is a single address (/128)
    assert matched({"IpAddress": {"k": "2001:db8::1"}}, {"k": "2001:DB8:0:0:0:0:0:1"})
    assert not matched({"IpAddress": {"k": "2001:db8::1"}}, {"k": "2001:db8::2"})
    # IPv4 request values never fall in IPv6 blocks and vice versa
    assert not matched({"IpAddress": {"k": "::/0"}}, {"k": "10.0.0.1"})
    assert not matched({"IpAddress": {"k": "0.0.0.0/0"}}, {"k": "::1"})


def test_not_ip_address() -> None:
    # E50: NotIpAddress on a missing key (VPC endpoint request) is true
    assert matched({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {})
    assert not matched(
        {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "10.0.0.0/8"]}}, {"aws:SourceIp": "10.1.2.3"}
    )
    assert matched(
        {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "10.0.0.0/8"]}}, {"aws:SourceIp": "192.0.2.1"}
    )


def test_ip_errors() -> None:
    assert "is not an IP address or CIDR block" in (
        ev({"IpAddress": {"k": "10.0.0.0/33"}}, {"k": "10.0.0.1"}).error or ""
    )
    assert "is not an IP address or CIDR block" in (
        ev({"IpAddress": {"k": "vpce-1"}}, {"k": "10.0.0.1"}).error or ""
    )
    assert (
        ev({"IpAddress": {"k": "10.0.0.0/8"}}, {"k": "nope"}).error
        == "request value of `k` is not an IP address: `nope`"
    )


# ---------------------------------------------------------------- policy variables


def test_variable_in_encryption_context_value() -> None:
    # E54 / E55 / E56
    block = {"StringEquals": {"kms:EncryptionContext:user": "${aws:username}"}}
    assert matched(block, {"kms:EncryptionContext:user": "bob", "aws:username": "bob"})
    assert not matched(block, {"kms:EncryptionContext:user": "alice", "aws:username": "bob"})
    assert not matched(block, {"kms:EncryptionContext:user": "bob", "aws:username": "bob"}, variables=False)
    assert matched(block, {"kms:EncryptionContext:user": "${aws:username}"}, variables=False)
    out = ev(block, {"kms:EncryptionContext:user": "anything"})
    assert out.matched is False and out.error is None
    assert out.missing == ("aws:username",)


def test_negated_operator_matches_an_unresolved_variable() -> None:
    # E57 (#policy-vars-no-value)
    block = {"StringNotEquals": {"kms:EncryptionContext:team": "${aws:PrincipalTag/team}"}}
    assert matched(block, {"kms:EncryptionContext:team": "x"})
    assert not matched(block, {"kms:EncryptionContext:team": "x", "aws:PrincipalTag/team": "x"})
    assert not matched({"StringNotLike": {"k": ["${aws:username}", "a*"]}}, {"k": "abc"})


def test_variable_with_default_in_condition() -> None:
    block = {"StringEquals": {"k": "${aws:PrincipalTag/team, 'none'}"}}
    assert matched(block, {"k": "none"})
    assert matched(block, {"k": "red", "aws:PrincipalTag/team": "red"})


def test_substituted_text_is_literal_in_like_patterns() -> None:
    block = {"StringLike": {"s3:prefix": "home/${aws:username}/*"}}
    assert matched(block, {"s3:prefix": "home/bob/x", "aws:username": "bob"})
    assert not matched(block, {"s3:prefix": "home/bobby/x", "aws:username": "bob"})
    # a user name containing `*` is not a wildcard
    assert not matched(block, {"s3:prefix": "home/anyone/x", "aws:username": "*"})
    assert matched(block, {"s3:prefix": "home/*/x", "aws:username": "*"})


def test_special_variables_in_like_patterns() -> None:
    # E59
    block = {"StringLike": {"k": "alias/${*}literal"}}
    assert matched(block, {"k": "alias/*literal"})
    assert not matched(block, {"k": "alias/xliteral"})
    assert matched({"StringLike": {"k": "a${?}*"}}, {"k": "a?bc"})
    assert not matched({"StringLike": {"k": "a${?}*"}}, {"k": "abc"})
    assert matched({"StringEquals": {"k": "cost${$}"}}, {"k": "cost$"})


def test_variables_in_arn_operators() -> None:
    block = {"ArnLike": {"aws:SourceArn": "arn:aws:iam::111122223333:user/${aws:username}"}}
    assert matched(block, {"aws:SourceArn": "arn:aws:iam::111122223333:user/bob", "aws:username": "bob"})
    assert not matched(block, {"aws:SourceArn": "arn:aws:iam::111122223333:user/bob", "aws:username": "b*"})
    assert not matched(block, {"aws:SourceArn": "arn:aws:iam::111122223333:user/bob"})


def test_variables_in_ignore_case_operator() -> None:
    assert matched(
        {"StringEqualsIgnoreCase": {"k": "team-${aws:PrincipalTag/team}"}},
        {"k": "TEAM-RED", "aws:PrincipalTag/team": "red"},
    )


def test_variables_in_bool_are_substituted() -> None:
    # U10: the operator page allows it
    assert matched({"Bool": {"k": "${aws:SecureTransport}"}}, {"k": "true", "aws:SecureTransport": "true"})
    assert ev({"Bool": {"k": "${aws:username}"}}, {"k": "true", "aws:username": "bob"}).error is not None


def test_variables_are_not_substituted_for_other_types() -> None:
    # "You can't use a policy variable with ... Numeric, Date, Boolean, Binary, IP Address, or Null"
    out = ev({"NumericEquals": {"k": "${aws:MultiFactorAuthAge}"}}, {"k": "5", "aws:MultiFactorAuthAge": "5"})
    assert out.error is not None and "is not a number" in out.error
    assert ev({"IpAddress": {"k": "${aws:SourceIp}"}}, {"k": "10.0.0.1"}).error is not None


def test_multivalued_key_as_variable_never_resolves() -> None:
    block = {"StringEquals": {"k": "${aws:TagKeys}"}}
    out = ev(block, {"k": "a", "aws:TagKeys": ("a",)})
    assert out.matched is False and out.error is None and out.missing == ("aws:TagKeys",)


def test_malformed_variable_is_an_error() -> None:
    out = ev({"StringEquals": {"k": "${aws:username"}}, {"k": "x"})
    assert out.matched is False
    assert out.error == "missing brace in variable `${aws:username` (operator `StringEquals`, key `k`)"
    # literal text without variable support
    assert matched({"StringEquals": {"k": "${aws:username"}}, {"k": "${aws:username"}, variables=False)


# ---------------------------------------------------------------- errors and failing closed


def test_unknown_operator_is_an_error_not_a_crash() -> None:
    out = ev({"StringEqualz": {"k": "a"}}, {"k": "a"})
    assert out == ConditionOutcome(False, (), "unknown condition operator `StringEqualz`")
    assert (
        ev({"ForSomeValues:StringEquals": {"k": "a"}}).error
        == "unknown set qualifier `ForSomeValues` in condition operator `ForSomeValues:StringEquals`"
    )


def test_an_error_dominates_a_false_clause() -> None:
    # the engine fails closed on errors (a Deny with an invalid clause still denies)
    out = ev({"StringEquals": {"k": "no"}, "NumericEquals": {"n": "x"}}, {"k": "yes", "n": "1"})
    assert out.matched is False and out.error is not None


def test_a_broken_context_is_an_error() -> None:
    c = compile_condition(cond({"StringEquals": {"k": "a"}}), variables=True)
    out = c.evaluate(BrokenCtx())
    assert out.matched is False and out.error == "context key `k` could not be read: RuntimeError"


def test_explain_reports_each_clause() -> None:
    c = compile_condition(
        cond({"StringEquals": {"a": "1", "b": "2"}, "Null": {"c": "true"}}), variables=False
    )
    outs = c.explain(Ctx({"a": "1", "b": "3"}))
    assert [(o.operator, o.key, o.matched, o.missing) for o in outs] == [
        ("StringEquals", "a", True, False),
        ("StringEquals", "b", False, False),
        ("Null", "c", True, True),
    ]


def test_lookups_only_for_needed_keys() -> None:
    c = compile_condition(cond({"StringEquals": {"a": "1"}}), variables=True)
    ctx = Ctx({"a": "1", "b": "2"})
    c.evaluate(ctx)
    assert ctx.asked == ["a"]


@settings(max_examples=150, deadline=None)
@given(
    operator=st.one_of(
        st.sampled_from(sorted(OPERATORS)),
        st.text(max_size=12),
        st.sampled_from(sorted(OPERATORS)).map(lambda o: o + "IfExists"),
        st.sampled_from(sorted(OPERATORS)).map(lambda o: "ForAllValues:" + o),
    ),
    values=st.lists(
        st.one_of(st.text(max_size=12), st.booleans(), st.integers(), st.floats(allow_nan=True)), max_size=3
    ),
    request=st.one_of(st.none(), st.text(max_size=12), st.lists(st.text(max_size=6), max_size=3).map(tuple)),
)
def test_never_raises(operator: str, values: list[Any], request: ContextValue | None) -> None:
    clause = ConditionClause(operator=operator, base=operator, key="k", values=tuple(values))
    c = compile_condition(Condition(clauses=(clause,)), variables=True)
    out = c.evaluate(Ctx({} if request is None else {"k": request}))
    assert isinstance(out, ConditionOutcome)
    if out.error is not None:
        assert out.matched is False


def test_context_values_that_are_not_text_are_errors() -> None:
    # fail closed on a context bug instead of comparing non-text values
    for bad in (1, ("a", 2), True):
        out = ev({"StringEquals": {"k": "1"}}, {"k": bad})  # type: ignore[dict-item]
        assert out.matched is False and out.error == "context value of `k` is not text"


NEGATED_PAIRS = sorted((n, i.positive) for n, i in OPERATORS.items() if i.negated and i.positive)


@settings(max_examples=200, deadline=None)
@given(pair=st.sampled_from(NEGATED_PAIRS), data=st.data())
def test_negated_operator_is_the_negation_of_its_positive_on_present_values(
    pair: tuple[str, str], data: st.DataObject
) -> None:
    negated, positive = pair
    policy_value, matching = SAMPLE[positive]
    request = data.draw(st.sampled_from([matching, SAMPLE[negated][1]]))
    policy = data.draw(st.lists(st.sampled_from([policy_value, SAMPLE[negated][0]]), min_size=1, max_size=2))
    pos = matched({positive: {"k": policy}}, {"k": request})
    neg = matched({negated: {"k": policy}}, {"k": request})
    assert neg is not pos
    # and IfExists changes nothing when the key is present
    assert matched({negated + "IfExists": {"k": policy}}, {"k": request}) is neg
    assert matched({positive + "IfExists": {"k": policy}}, {"k": request}) is pos


def test_json_floats_are_decimals() -> None:
    assert scalar_text(1e16) == "10000000000000000"
    assert scalar_text(1.5) == "1.5" and scalar_text(10) == "10" and scalar_text(False) == "false"
    assert matched({"NumericGreaterThan": {"k": 1e16}}, {"k": "10000000000000001"})
    assert ev({"NumericEquals": {"k": float("inf")}}, {"k": "1"}).error is not None


def test_static_and_variable_values_mix() -> None:
    block = {"StringEquals": {"k": ["a", "${aws:username}"]}}
    assert matched(block, {"k": "a"})
    assert matched(block, {"k": "bob", "aws:username": "bob"})
    assert not matched(block, {"k": "bob"})
    neg = {"StringNotEquals": {"k": ["a", "${aws:username}"]}}
    assert matched(neg, {"k": "bob"})
    assert not matched(neg, {"k": "bob", "aws:username": "bob"})


def test_for_all_values_string_not_equals_data_exchange_example() -> None:
    # reference_policies_examples_resource_account_data_exch.html: the Deny applies "if the calling
    # service is not AWS Data Exchange", and not when dataexchange.amazonaws.com made the call
    block = {
        "StringNotEquals": {"aws:ResourceAccount": ["111122223333"]},
        "ForAllValues:StringNotEquals": {"aws:CalledVia": ["dataexchange.amazonaws.com"]},
    }
    assert matched(block, {"aws:ResourceAccount": "999999999999"})
    assert matched(block, {"aws:ResourceAccount": "999999999999", "aws:CalledVia": ("athena.amazonaws.com",)})
    assert not matched(
        block, {"aws:ResourceAccount": "999999999999", "aws:CalledVia": ("dataexchange.amazonaws.com",)}
    )
    assert not matched(block, {"aws:ResourceAccount": "111122223333"})
