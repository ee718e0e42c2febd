"""IAM condition operators: one table, compiled once, evaluated against a ConditionContext.

Sources (IAM User Guide; local copies under /work/shared/reference/iam-user-guide/):

- reference_policies_elements_condition_operators.html — every operator, `...IfExists`, `Null`;
- reference_policies_multi-value-conditions.html — AND across operators and keys, OR across one
  key's values, NOR for negated operators, `ForAllValues` / `ForAnyValue`;
- reference_policies_condition-single-vs-multi-valued-context-keys.html;
- reference_policies_variables.html — variables in String and ARN condition values.

Block semantics. Operators are ANDed, keys under one operator are ANDed, the values of one key
are ORed (a positive operator matches when the request value matches any policy value; a
negated operator when it matches none). A missing key makes a positive operator false and a
negated operator true, an `...IfExists` operator true, `Null: true` true.

Set qualifiers take the request value as a set V (a single value is a one-element set; an
absent key, an empty list and an empty string are the empty set, "null data set" in the AWS
text): ``ForAnyValue:Op`` is true iff some v in V satisfies Op; ``ForAllValues:Op`` iff every v
does (so true on the empty set). With a negated Op, "v satisfies Op" means v matches none of the
policy values, so ``ForAllValues:StringNotEquals`` means no request value is listed and
``ForAnyValue:StringNotEquals`` means some request value is not listed.

A multivalued request value under an unqualified operator is undocumented (AWS requires a
qualifier; Access Analyzer reports MISSING_QUALIFIER). We read a positive operator as
"any request value matches any policy value" and a negated operator as its exact negation
("no request value matches any policy value"), which keeps the missing-key rule (the empty set)
consistent for both. semantics.md U16.

Errors. Anything that cannot be evaluated (an unknown operator, a qualifier or `IfExists` where
none is allowed, a policy value that is not a number/date/boolean/CIDR/base64 for its
operator, a malformed policy variable, a request value of the wrong type, a context that
raises) yields ``ConditionOutcome(matched=False, error=...)``. The engine then fails closed (it
treats an errored Deny statement as matching). Nothing here raises to the caller.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import Literal, NamedTuple

from kmsauthz.evaluate.patterns import (
    ArnMatcher,
    WildcardMatcher,
    compile_arn_parts,
    compile_arn_pattern,
    compile_wildcard,
    compile_wildcard_parts,
    fold,
)
from kmsauthz.evaluate.protocols import ConditionContext, ContextValue
from kmsauthz.evaluate.variables import Template, compile_template, has_variables
from kmsauthz.model.policy import Condition, ConditionClause, Scalar

__all__ = [
    "IF_EXISTS",
    "OPERATORS",
    "QUALIFIERS",
    "ClauseOutcome",
    "Comparison",
    "CompiledCondition",
    "ConditionOutcome",
    "OperatorInfo",
    "ParsedOperator",
    "ValueType",
    "compile_condition",
    "operator_info",
    "parse_date",
    "parse_number",
    "parse_operator",
    "scalar_text",
]

IF_EXISTS = "IfExists"
QUALIFIERS = ("ForAllValues", "ForAnyValue")
Qualifier = Literal["ForAllValues", "ForAnyValue"]


class ValueType(StrEnum):
    """The data type an operator compares (reference_policies_elements_datatypes.html)."""

    STRING = "String"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOLEAN = "Boolean"
    BINARY = "Binary"
    IP_ADDRESS = "IPAddress"
    ARN = "ARN"
    NULL = "Null"


class Comparison(StrEnum):
    """How one request value is compared with one policy value."""

    EQUALS = "equals"
    EQUALS_IGNORE_CASE = "equals-ignore-case"
    LIKE = "like"
    LESS = "less"
    LESS_EQUALS = "less-equals"
    GREATER = "greater"
    GREATER_EQUALS = "greater-equals"
    IN_NETWORK = "in-network"
    ARN_LIKE = "arn-like"
    EXISTS = "exists"


@dataclass(frozen=True, slots=True)
class OperatorInfo:
    """One base condition operator (without qualifier or `IfExists`)."""

    name: str
    type: ValueType
    comparison: Comparison
    negated: bool
    """True for the `...Not...` operators and NotIpAddress: they match when no policy value matches."""
    if_exists_allowed: bool = True
    qualifiers_allowed: bool = True
    variables_allowed: bool = False
    """Policy variables are substituted in this operator's values (under Version 2012-10-17)."""
    wildcards: bool = False
    """`*` and `?` in policy values are wildcards."""
    case_sensitive: bool = True
    single_value: bool = False
    """Access Analyzer reports more than one policy value as an error (Bool)."""
    positive: str | None = None
    """For a negated operator, the positive operator it negates."""


def _op(name: str, type_: ValueType, cmp: Comparison, **kw: object) -> OperatorInfo:
    return OperatorInfo(name, type_, cmp, **kw)  # type: ignore[arg-type]


_S, _N, _D = ValueType.STRING, ValueType.NUMERIC, ValueType.DATE
_C = Comparison

_TABLE: tuple[OperatorInfo, ...] = (
    # String (#Conditions_String); variables allowed (reference_policies_variables.html#policy-vars-conditionelement)
    _op("StringEquals", _S, _C.EQUALS, negated=False, variables_allowed=True),
    _op("StringNotEquals", _S, _C.EQUALS, negated=True, variables_allowed=True, positive="StringEquals"),
    _op(
        "StringEqualsIgnoreCase",
        _S,
        _C.EQUALS_IGNORE_CASE,
        negated=False,
        variables_allowed=True,
        case_sensitive=False,
    ),
    _op(
        "StringNotEqualsIgnoreCase",
        _S,
        _C.EQUALS_IGNORE_CASE,
        negated=True,
        variables_allowed=True,
        case_sensitive=False,
        positive="StringEqualsIgnoreCase",
    ),
    _op("StringLike", _S, _C.LIKE, negated=False, variables_allowed=True, wildcards=True),
    _op(
        "StringNotLike",
        _S,
        _C.LIKE,
        negated=True,
        variables_allowed=True,
        wildcards=True,
        positive="StringLike",
    ),
    # Numeric (#Conditions_Numeric)
    _op("NumericEquals", _N, _C.EQUALS, negated=False),
    _op("NumericNotEquals", _N, _C.EQUALS, negated=True, positive="NumericEquals"),
    _op("NumericLessThan", _N, _C.LESS, negated=False),
    _op("NumericLessThanEquals", _N, _C.LESS_EQUALS, negated=False),
    _op("NumericGreaterThan", _N, _C.GREATER, negated=False),
    _op("NumericGreaterThanEquals", _N, _C.GREATER_EQUALS, negated=False),
    # Date (#Conditions_Date)
    _op("DateEquals", _D, _C.EQUALS, negated=False),
    _op("DateNotEquals", _D, _C.EQUALS, negated=True, positive="DateEquals"),
    _op("DateLessThan", _D, _C.LESS, negated=False),
    _op("DateLessThanEquals", _D, _C.LESS_EQUALS, negated=False),
    _op("DateGreaterThan", _D, _C.GREATER, negated=False),
    _op("DateGreaterThanEquals", _D, _C.GREATER_EQUALS, negated=False),
    # Boolean (#Conditions_Boolean): the operator page allows variables, the variables page does
    # not; semantics.md U10 chooses to substitute.
    _op(
        "Bool",
        ValueType.BOOLEAN,
        _C.EQUALS,
        negated=False,
        variables_allowed=True,
        single_value=True,
        case_sensitive=False,
    ),
    # Binary (#Conditions_BinaryEquals)
    _op("BinaryEquals", ValueType.BINARY, _C.EQUALS, negated=False),
    # IP address (#Conditions_IPAddress)
    _op("IpAddress", ValueType.IP_ADDRESS, _C.IN_NETWORK, negated=False),
    _op("NotIpAddress", ValueType.IP_ADDRESS, _C.IN_NETWORK, negated=True, positive="IpAddress"),
    # ARN (#Conditions_ARN): ArnEquals and ArnLike behave identically, as do the negations
    _op("ArnEquals", ValueType.ARN, _C.ARN_LIKE, negated=False, variables_allowed=True, wildcards=True),
    _op("ArnLike", ValueType.ARN, _C.ARN_LIKE, negated=False, variables_allowed=True, wildcards=True),
    _op(
        "ArnNotEquals",
        ValueType.ARN,
        _C.ARN_LIKE,
        negated=True,
        variables_allowed=True,
        wildcards=True,
        positive="ArnEquals",
    ),
    _op(
        "ArnNotLike",
        ValueType.ARN,
        _C.ARN_LIKE,
        negated=True,
        variables_allowed=True,
        wildcards=True,
        positive="ArnLike",
    ),
    # Null (#Conditions_Null): no IfExists ("except the Null condition", #Conditions_IfExists);
    # a set qualifier has no meaning for an existence test, so it is reported as an error.
    _op("Null", ValueType.NULL, _C.EXISTS, negated=False, if_exists_allowed=False, qualifiers_allowed=False),
)

OPERATORS: Mapping[str, OperatorInfo] = MappingProxyType({op.name: op for op in _TABLE})
"""Every base operator AWS defines, by exact name.

Operator names are case-sensitive: IAM rejects `stringEquals` with "MalformedPolicyDocument:
Invalid Condition type : stringEquals" (observed, github.com/ministryofjustice/
modernisation-platform-environments/pull/8893); an unknown spelling is an evaluation error here.
"""


@dataclass(frozen=True, slots=True)
class ParsedOperator:
    """A full operator name split into its parts, e.g. `ForAnyValue:StringLikeIfExists`."""

    name: str
    info: OperatorInfo
    qualifier: Qualifier | None = None
    if_exists: bool = False


def _split_operator(name: str) -> tuple[str | None, str, bool]:
    qualifier: str | None = None
    base = name
    if ":" in name:
        qualifier, base = name.split(":", 1)
    if_exists = False
    if base.endswith(IF_EXISTS) and base not in OPERATORS:
        base, if_exists = base[: -len(IF_EXISTS)], True
    return qualifier, base, if_exists


def _parse_operator_or_error(name: str) -> ParsedOperator | str:
    if not isinstance(name, str) or not name:
        return "empty condition operator"
    qualifier, base, if_exists = _split_operator(name)
    info = OPERATORS.get(base)
    if info is None:
        return f"unknown condition operator `{name}`"
    if qualifier is not None and qualifier not in QUALIFIERS:
        return f"unknown set qualifier `{qualifier}` in condition operator `{name}`"
    if qualifier is not None and not info.qualifiers_allowed:
        return f"condition operator `{base}` does not take a set qualifier (`{name}`)"
    if if_exists and not info.if_exists_allowed:
        return f"condition operator `{base}` does not take `IfExists` (`{name}`)"
    q: Qualifier | None = (
        "ForAllValues" if qualifier == "ForAllValues" else "ForAnyValue" if qualifier else None
    )
    return ParsedOperator(name, info, q, if_exists)


def parse_operator(name: str) -> ParsedOperator | None:
    """Parse a full operator name; None when it is not a valid IAM operator."""
    parsed = _parse_operator_or_error(name)
    return parsed if isinstance(parsed, ParsedOperator) else None


def operator_info(name: str) -> OperatorInfo | None:
    """The base operator's table entry for a base or full name (`ForAllValues:StringLikeIfExists`).

    None when the name is not a valid operator, including invalid combinations such as
    `NullIfExists` or `ForAnyValue:Null`.
    """
    parsed = parse_operator(name)
    return parsed.info if parsed is not None else None


# ---------------------------------------------------------------- value parsing


def scalar_text(value: Scalar) -> str:
    """A JSON scalar as IAM reads it: `true` ≡ `"true"`, `10` ≡ `"10"`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value):
        text = repr(value)
        # JSON numbers are decimals: `1e16` is written out, never in exponent form
        return format(Decimal(text), "f") if "e" in text or "E" in text else text
    return str(value)


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def parse_number(text: str) -> Decimal | None:
    """An integer or decimal (#Conditions_Numeric); None when ``text`` is not one."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return None


_DATE = re.compile(
    r"(?P<y>\d{4})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2})"
    r"(?:[Tt ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?"
    r"(?P<tz>[Zz]|[+-]\d{2}:?\d{2}|[+-]\d{2})?)?)?)?"
)
_YEAR = re.compile(r"\d{4}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_date(text: str) -> Decimal | None:
    """An instant as exact epoch seconds; None when ``text`` is not a date IAM accepts.

    IAM takes the W3C profile of ISO 8601 — `YYYY`, `YYYY-MM`, `YYYY-MM-DD`,
    `YYYY-MM-DDThh:mmTZD`, `YYYY-MM-DDThh:mm:ssTZD`, `YYYY-MM-DDThh:mm:ss.sTZD` — or epoch
    seconds (#Conditions_Date, reference_policies_elements_datatypes.html). A time without a zone
    designator is read as UTC. Exactly four digits are a year (`2020`), never epoch second 2020.
    """
    text = text.strip()
    if _NUMBER.fullmatch(text) and not _YEAR.fullmatch(text):
        return Decimal(text)
    m = _DATE.fullmatch(text)
    if m is None:
        return None
    g = m.groupdict()
    try:
        tz = UTC
        if g["tz"] and g["tz"] not in "Zz":
            raw = g["tz"].replace(":", "")
            sign = -1 if raw[0] == "-" else 1
            hours, minutes = int(raw[1:3]), int(raw[3:5] or 0) if len(raw) > 3 else 0
            if hours > 23 or minutes > 59:
                return None
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        when = datetime(
            int(g["y"]),
            int(g["mo"] or 1),
            int(g["d"] or 1),
            int(g["h"] or 0),
            int(g["mi"] or 0),
            int(g["s"] or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    delta = when - _EPOCH
    seconds = Decimal(delta.days * 86400 + delta.seconds)
    if g["f"]:
        seconds += Decimal("0." + g["f"])
    return seconds


def _parse_bool(text: str) -> bool | None:
    low = text.strip().lower()
    if low == "true":
        return True
    if low == "false":
        return False
    return None


def _parse_binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_network(text: str) -> _Network | None:
    """A CIDR or bare address (/32, /128); host bits beyond the mask are ignored (#Conditions_IPAddress)."""
    text = text.strip()
    _, slash, prefix = text.partition("/")
    if slash and not (prefix.isdigit() and prefix.isascii()):
        return None  # "standard CIDR format": a prefix length, not a netmask
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _parse_address(text: str) -> _Address | None:
    text = text.strip()
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    # a request value written as a one-address network (`203.0.113.7/32`)
    net = _parse_network(text)
    if net is not None and net.num_addresses == 1:
        return net.network_address
    return None


# ---------------------------------------------------------------- compiled values


class _EvalError(Exception):
    """A value that cannot be evaluated; becomes ``ConditionOutcome.error``."""


Matcher = Callable[[str], bool]
"""Does one request value match one policy value."""

_NEVER: Matcher = lambda _v: False  # noqa: E731 - an unresolved variable equals nothing


def _ordered(cmp: Comparison, a: Decimal, b: Decimal) -> bool:
    if cmp is Comparison.EQUALS:
        return a == b
    if cmp is Comparison.LESS:
        return a < b
    if cmp is Comparison.LESS_EQUALS:
        return a <= b
    if cmp is Comparison.GREATER:
        return a > b
    return a >= b


def _typed_matcher(info: OperatorInfo, text: str, key: str) -> Matcher:
    """A matcher for one policy value of a non-string operator, parsed now (compile time)."""
    t = info.type
    if t is ValueType.NUMERIC or t is ValueType.DATE:
        parse = parse_number if t is ValueType.NUMERIC else parse_date
        kind = "number" if t is ValueType.NUMERIC else "date"
        bound = parse(text)
        if bound is None:
            raise _EvalError(f"`{text}` is not a {kind} (operator `{info.name}`, key `{key}`)")
        cmp = info.comparison

        def ordered(v: str) -> bool:
            got = parse(v)
            if got is None:
                raise _EvalError(f"request value of `{key}` is not a {kind}: `{v}`")
            return _ordered(cmp, got, bound)

        return ordered
    if t is ValueType.BOOLEAN:
        want = _parse_bool(text)
        if want is None:
            raise _EvalError(f"`{text}` is not `true` or `false` (operator `Bool`, key `{key}`)")

        def boolean(v: str) -> bool:
            got = _parse_bool(v)
            if got is None:
                raise _EvalError(f"request value of `{key}` is not a boolean: `{v}`")
            return got is want

        return boolean
    if t is ValueType.BINARY:
        want_bytes = _parse_binary(text)
        if want_bytes is None:
            raise _EvalError(f"`{text}` is not base64 (operator `BinaryEquals`, key `{key}`)")

        def binary(v: str) -> bool:
            got = _parse_binary(v)
            if got is None:
                raise _EvalError(f"request value of `{key}` is not base64")
            return got == want_bytes

        return binary
    if t is ValueType.IP_ADDRESS:
        net = _parse_network(text)
        if net is None:
            raise _EvalError(
                f"`{text}` is not an IP address or CIDR block (operator `{info.name}`, key `{key}`)"
            )

        def in_network(v: str) -> bool:
            addr = _parse_address(v)
            if addr is None:
                raise _EvalError(f"request value of `{key}` is not an IP address: `{v}`")
            return addr.version == net.version and addr in net

        return in_network
    raise _EvalError(f"operator `{info.name}` has no typed comparison")  # pragma: no cover


def _string_matcher(info: OperatorInfo, text: str) -> Matcher:
    cmp = info.comparison
    if cmp is Comparison.EQUALS:
        return lambda v: v == text
    if cmp is Comparison.EQUALS_IGNORE_CASE:
        want = fold(text)
        return lambda v: fold(v) == want
    if cmp is Comparison.LIKE:
        return compile_wildcard(text).match
    if cmp is Comparison.ARN_LIKE:
        return compile_arn_pattern(text).match
    raise _EvalError(f"operator `{info.name}` has no string comparison")  # pragma: no cover


def _pieces_matcher(info: OperatorInfo, tpl: Template, ctx: ConditionContext, key: str) -> Matcher:
    """Render a variable-bearing policy value for this request; substituted text is literal."""
    pieces = tpl.render_pieces(ctx)
    if pieces is None:
        return _NEVER
    cmp = info.comparison
    if cmp is Comparison.LIKE:
        m: WildcardMatcher = compile_wildcard_parts(pieces)
        return m.match
    if cmp is Comparison.ARN_LIKE:
        a: ArnMatcher = compile_arn_parts(pieces)
        return a.match
    rendered = "".join(text for text, _ in pieces)
    if info.type is ValueType.BOOLEAN:
        return _typed_matcher(info, rendered, key)
    return _string_matcher(info, rendered)


@dataclass(frozen=True, slots=True)
class _PolicyValue:
    """One policy value, compiled: a fixed matcher, or a template rendered per request."""

    text: str
    """The value as compared by equality operators (a constant template already rendered)."""
    matcher: Matcher | None = None
    template: Template | None = None
    flag: bool | None = None
    """For `Null`: the policy's `true` (the key must be absent) or `false`."""

    def bind(self, info: OperatorInfo, ctx: ConditionContext, key: str) -> Matcher:
        if self.matcher is not None:
            return self.matcher
        assert self.template is not None
        return _pieces_matcher(info, self.template, ctx, key)


# ---------------------------------------------------------------- outcomes


class ConditionOutcome(NamedTuple):
    """The result of a Condition block for one request.

    ``missing`` lists the keys the block asked for that the request context lacked (as written,
    first-appearance order); ``error`` is set when the block could not be evaluated, and then
    ``matched`` is False (the engine decides how to fail closed).
    """

    matched: bool
    missing: tuple[str, ...] = ()
    error: str | None = None


class ClauseOutcome(NamedTuple):
    """One `operator: {key: values}` clause's result, for explanations."""

    operator: str
    key: str
    matched: bool
    missing: bool
    """The clause's key was absent from the context."""
    error: str | None = None
    unresolved: tuple[str, ...] = ()
    """Keys of policy variables in the values that had no value (so those values matched nothing)."""


ALWAYS = ConditionOutcome(True)


@dataclass(frozen=True, slots=True)
class _CompiledClause:
    operator: str
    key: str
    parsed: ParsedOperator | None
    values: tuple[_PolicyValue, ...]
    error: str | None
    static_hit: Matcher | None = None
    """"Does a request value match any policy value", built at compile time when no value has a variable."""

    def evaluate(self, ctx: ConditionContext) -> ClauseOutcome:
        if self.error is not None:
            return ClauseOutcome(self.operator, self.key, False, False, self.error)
        parsed = self.parsed
        assert parsed is not None
        try:
            raw = ctx.lookup(self.key)
        except Exception as exc:  # fail closed on a broken context, never crash the caller
            return ClauseOutcome(
                self.operator,
                self.key,
                False,
                False,
                f"context key `{self.key}` could not be read: {type(exc).__name__}",
            )
        absent = raw is None
        unresolved: tuple[str, ...] = ()
        try:
            matched = self._decide(parsed, raw, ctx)
            if not absent and any(v.template is not None for v in self.values):
                unresolved = self._unresolved(ctx)
        except _EvalError as exc:
            return ClauseOutcome(self.operator, self.key, False, absent, str(exc))
        except Exception as exc:  # a policy variable whose lookup fails, or a bug: fail closed
            return ClauseOutcome(
                self.operator,
                self.key,
                False,
                absent,
                f"condition `{self.operator}` on `{self.key}` failed: {type(exc).__name__}",
            )
        return ClauseOutcome(self.operator, self.key, matched, absent, None, unresolved)

    def _unresolved(self, ctx: ConditionContext) -> tuple[str, ...]:
        seen: dict[str, str] = {}
        for v in self.values:
            if v.template is not None:
                for k in v.template.unresolved(ctx):
                    seen.setdefault(k.lower(), k)
        return tuple(seen.values())

    def _decide(self, parsed: ParsedOperator, raw: ContextValue | None, ctx: ConditionContext) -> bool:
        info = parsed.info
        if info.comparison is Comparison.EXISTS:
            # Null: true = the key must be absent; false = it must be present (#Conditions_Null).
            # A present multivalued key with no members still counts as present.
            return any(v.flag is (raw is None) for v in self.values)
        if raw is None:
            if parsed.if_exists:
                return True  # #Conditions_IfExists
            if parsed.qualifier == "ForAllValues":
                return True  # vacuous (reference_policies_multi-value-conditions.html)
            if parsed.qualifier == "ForAnyValue":
                return False
            return info.negated  # negated operators match a missing key
        if not (isinstance(raw, str) or (isinstance(raw, tuple) and all(isinstance(v, str) for v in raw))):
            raise _EvalError(f"context value of `{self.key}` is not text")
        hit = self.static_hit
        if hit is None:
            hit = _any_of(tuple(v.bind(info, ctx, self.key) for v in self.values))
        negated = info.negated

        def satisfies(value: str) -> bool:
            return bool(hit(value)) != negated

        if parsed.qualifier is not None:
            members: tuple[str, ...] = (raw,) if isinstance(raw, str) else raw
            if members == ("",):
                members = ()  # an empty string is a "null data set"
            if parsed.qualifier == "ForAllValues":
                return all(satisfies(v) for v in members)
            return any(satisfies(v) for v in members)
        if isinstance(raw, str):
            return satisfies(raw)
        # unqualified operator on a multivalued value (undocumented; see the module docstring)
        return any(hit(v) for v in raw) != negated


def _null_flag(text: str, key: str) -> bool:
    want = _parse_bool(text)
    if want is None:
        raise _EvalError(f"`{text}` is not `true` or `false` (operator `Null`, key `{key}`)")
    return want


def _compile_clause(clause: ConditionClause, variables: bool) -> _CompiledClause:
    operator, key = clause.operator, clause.key
    parsed = _parse_operator_or_error(operator)
    if isinstance(parsed, str):
        return _CompiledClause(operator, key, None, (), parsed)
    if not isinstance(key, str) or not key:
        return _CompiledClause(operator, key, None, (), f"empty condition key under `{operator}`")
    info = parsed.info
    values: list[_PolicyValue] = []
    try:
        for raw in clause.values:
            if raw is None or isinstance(raw, list | dict):
                raise _EvalError(f"condition value for `{key}` must be a string, number or boolean")
            text = scalar_text(raw)
            if info.comparison is Comparison.EXISTS:
                values.append(_PolicyValue(text, flag=_null_flag(text, key)))
            elif variables and info.variables_allowed and has_variables(text):
                tpl = compile_template(text)
                if tpl.error is not None:
                    raise _EvalError(f"{tpl.error} (operator `{operator}`, key `{key}`)")
                if tpl.is_constant:  # only `${*}`-style specials: render once
                    rendered = tpl.render(_NoContext()) or ""
                    values.append(_PolicyValue(rendered, _pieces_matcher(info, tpl, _NoContext(), key)))
                else:
                    values.append(_PolicyValue(text, template=tpl))
            elif info.type in (ValueType.STRING, ValueType.ARN):
                values.append(_PolicyValue(text, _string_matcher(info, text)))
            else:
                values.append(_PolicyValue(text, _typed_matcher(info, text, key)))
    except _EvalError as exc:
        return _CompiledClause(operator, key, parsed, (), str(exc))
    if info.comparison is Comparison.EXISTS and not values:
        return _CompiledClause(
            operator, key, parsed, (), f"`Null` on `{key}` needs a value `true` or `false`"
        )
    return _CompiledClause(operator, key, parsed, tuple(values), None, _static_hit(info, values))


def _any_of(matchers: tuple[Matcher, ...]) -> Matcher:
    if len(matchers) == 1:
        return matchers[0]
    return lambda v: any(m(v) for m in matchers)


def _static_hit(info: OperatorInfo, values: list[_PolicyValue]) -> Matcher | None:
    """One matcher for all values when none has a variable; a set lookup for string equality."""
    if info.comparison is Comparison.EXISTS or any(v.matcher is None for v in values):
        return None
    if info.type is ValueType.STRING and info.comparison is Comparison.EQUALS:
        return frozenset(v.text for v in values).__contains__
    if info.comparison is Comparison.EQUALS_IGNORE_CASE:
        folded = frozenset(fold(v.text) for v in values)
        return lambda v: fold(v) in folded
    return _any_of(tuple(v.matcher for v in values if v.matcher is not None))


class _NoContext:
    def lookup(self, key: str) -> ContextValue | None:
        return None


_NULL, _ABSENT_TRUE, _ABSENT_FALSE = 0, 1, 2

_FastClause = tuple[str, str, int, frozenset[bool], "Matcher | None", bool, "str | None"]
"""(key as written, key folded, absent rule, Null flags, matcher, negated, qualifier)."""

_MATCHED = ConditionOutcome(True)
_NOT_MATCHED = ConditionOutcome(False)


class _Fallback(Exception):
    """The fast path met something only the full clause evaluation reports properly."""


def _fast_clause(c: _CompiledClause) -> _FastClause | None:
    """The clause as plain data for :meth:`CompiledCondition.evaluate`'s fast path, or None.

    Only clauses without compile errors and without per-request templates qualify; anything
    unusual at evaluation time (a non-text value, a matcher raising) falls back to the full path,
    so both paths give one outcome.
    """
    parsed = c.parsed
    if c.error is not None or parsed is None:
        return None
    info = parsed.info
    if info.comparison is Comparison.EXISTS:
        if any(v.flag is None for v in c.values):
            return None
        return (c.key, c.key.lower(), _NULL, frozenset(bool(v.flag) for v in c.values), None, False, None)
    if c.static_hit is None:
        return None
    if parsed.if_exists or parsed.qualifier == "ForAllValues":
        absent = _ABSENT_TRUE
    elif parsed.qualifier == "ForAnyValue":
        absent = _ABSENT_FALSE
    else:
        absent = _ABSENT_TRUE if info.negated else _ABSENT_FALSE
    return (c.key, c.key.lower(), absent, frozenset(), c.static_hit, info.negated, parsed.qualifier)


def _fast_evaluate(plan: tuple[_FastClause, ...], ctx: ConditionContext) -> ConditionOutcome:
    """:meth:`_CompiledClause.evaluate` for every clause, inlined (same rules as ``_decide``)."""
    folded_lookup = getattr(ctx, "lookup_folded", None)
    matched = True
    missing: dict[str, str] | None = None
    for key, folded, absent, flags, hit, negated, qualifier in plan:
        try:
            raw = folded_lookup(folded) if folded_lookup is not None else ctx.lookup(key)
        except Exception as exc:  # as the full path: a broken context is a reported error, never retried
            return ConditionOutcome(False, (), f"context key `{key}` could not be read: {type(exc).__name__}")
        if raw is None:
            if missing is None:
                missing = {}
            missing.setdefault(folded, key)
            ok = True in flags if absent == _NULL else absent == _ABSENT_TRUE
        elif absent == _NULL:
            ok = False in flags
        else:
            assert hit is not None
            if type(raw) is str:
                if qualifier is None:
                    ok = bool(hit(raw)) != negated
                    if not ok:
                        matched = False
                    continue
                members: tuple[str, ...] = () if raw == "" else (raw,)
            elif type(raw) is tuple and all(type(v) is str for v in raw):
                if qualifier is None:
                    ok = any(hit(v) for v in raw) != negated
                    if not ok:
                        matched = False
                    continue
                members = () if raw == ("",) else raw
            else:
                raise _Fallback
            if qualifier == "ForAllValues":
                ok = all(bool(hit(v)) != negated for v in members)
            else:
                ok = any(bool(hit(v)) != negated for v in members)
        if not ok:
            matched = False
    if missing is None:
        return _MATCHED if matched else _NOT_MATCHED
    return ConditionOutcome(matched, tuple(missing.values()), None)


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """A Condition block compiled once; :meth:`evaluate` per request."""

    clauses: tuple[_CompiledClause, ...] = ()
    _fast: tuple[_FastClause, ...] | None = field(default=None, init=False, repr=False, compare=False)
    """Every clause as plain data when all qualify (the common case), for the fast path."""

    def __post_init__(self) -> None:
        plan = tuple(_fast_clause(c) for c in self.clauses)
        if plan and all(p is not None for p in plan):
            object.__setattr__(self, "_fast", plan)

    @property
    def always(self) -> bool:
        """No clause: the block imposes nothing."""
        return not self.clauses

    @property
    def keys(self) -> tuple[str, ...]:
        """Condition keys referenced (in clauses and in policy variables), as written, deduplicated."""
        seen: dict[str, str] = {}
        for c in self.clauses:
            seen.setdefault(c.key.lower(), c.key)
            for v in c.values:
                if v.template is not None:
                    for k in v.template.keys:
                        seen.setdefault(k.lower(), k)
        return tuple(seen.values())

    @property
    def errors(self) -> tuple[str, ...]:
        """Problems found at compile time (these clauses always evaluate to an error)."""
        return tuple(c.error for c in self.clauses if c.error is not None)

    def explain(self, ctx: ConditionContext) -> tuple[ClauseOutcome, ...]:
        """Every clause's outcome, in document order."""
        return tuple(c.evaluate(ctx) for c in self.clauses)

    def evaluate(self, ctx: ConditionContext) -> ConditionOutcome:
        """AND of every clause; every clause is evaluated so that errors and missing keys are all seen."""
        if not self.clauses:
            return ALWAYS
        fast = self._fast
        if fast is not None:
            try:
                return _fast_evaluate(fast, ctx)
            except (_Fallback, _EvalError):
                pass  # a value the fast path does not handle, or one to report precisely: the full path
            except Exception as exc:  # a fault must be reported, not hidden by a second evaluation
                return ConditionOutcome(False, (), f"condition evaluation failed: {type(exc).__name__}")
        return self._evaluate_clauses(ctx)

    def _evaluate_clauses(self, ctx: ConditionContext) -> ConditionOutcome:
        matched = True
        error: str | None = None
        missing: dict[str, str] = {}
        for c in self.clauses:
            out = c.evaluate(ctx)
            if out.missing:
                missing.setdefault(c.key.lower(), c.key)
            for k in out.unresolved:
                missing.setdefault(k.lower(), k)
            if out.error is not None and error is None:
                error = out.error
            matched = matched and out.matched
        if error is not None:
            return ConditionOutcome(False, tuple(missing.values()), error)
        return ConditionOutcome(matched, tuple(missing.values()), None)


_ALWAYS_CONDITION = CompiledCondition()


def compile_condition(condition: Condition | None, *, variables: bool) -> CompiledCondition:
    """Compile a Condition block; ``variables`` is ``Policy.supports_variables`` (Version 2012-10-17).

    ``None`` or an empty block compiles to a condition that always matches. Never raises: a
    clause that cannot be compiled evaluates to an error outcome.
    """
    if condition is None or not condition.clauses:
        return _ALWAYS_CONDITION
    return CompiledCondition(tuple(_compile_clause(c, variables) for c in condition.clauses))
