"""AWS JSON document (already parsed into Python values) ⇄ the policy model.

`policy_from_document` is structural: it turns a mapping into the model and reports shapes it
cannot represent. JSON Schema validation (`schema.py`) and the rules that differ by policy kind
(`rules.py`) run before/after it. Locations come from a ``locate`` callable that maps a JSON
pointer to a :class:`Span` (the position-recording JSON reader provides one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from kmsauthz.errors import PolicyValidationError, Problem
from kmsauthz.model.policy import (
    Condition,
    ConditionClause,
    Policy,
    PolicyKind,
    Principal,
    PrincipalEntry,
    Statement,
    ValueList,
)
from kmsauthz.model.spans import Span, pointer_join
from kmsauthz.model.unchecked import unchecked
from kmsauthz.syntax.json_reader import Located

Locate = Callable[[str], Span | None]
_M = TypeVar("_M", bound=BaseModel)

STATEMENT_FIELDS = (
    "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
    "Resource", "NotResource", "Condition",
)
POLICY_FIELDS = ("Version", "Id", "Statement")
PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
QUALIFIERS = ("ForAllValues", "ForAnyValue")


class _Reader:
    def __init__(self, source: str, locate: Locate | None) -> None:
        self.source = source
        self._locate = locate
        self.problems: list[Problem] = []

    def span(self, pointer: str) -> Span:
        if self._locate is not None:
            found = self._locate(pointer)
            if found is not None:
                return found
        return Span(self.source, 0, 0, pointer)

    def fail(self, pointer: str, message: str) -> None:
        self.problems.append(Problem(message, self.span(pointer), "policy-invalid"))


def _join(pointer: str, part: str | int) -> str:
    """:func:`pointer_join` for one part, without its escaping work when there is nothing to escape."""
    if type(part) is int:
        return f"{pointer}/{part}"
    if type(part) is not str or "~" in part or "/" in part:
        return pointer_join(pointer, part)
    return f"{pointer}/{part}"


def where(pointer: str) -> str:
    """`/Statement/2/Effect` → `Statement[2].Effect`, the form used in messages."""
    out = ""
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "the document"


def _value_list(r: _Reader, value: Any, pointer: str) -> ValueList | None:
    if isinstance(value, str):
        here = r.span(pointer)
        return ValueList(values=(value,), scalar=True, span=here, value_spans=(here,))
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        span = r.span
        return ValueList(
            values=tuple(value),
            scalar=False,
            span=span(pointer),
            value_spans=tuple([span(f"{pointer}/{i}") for i in range(len(value))]),
        )
    r.fail(pointer, f"{where(pointer)} must be a string or a list of strings")
    return None


def _principal(r: _Reader, value: Any, pointer: str) -> Principal | None:
    if value == "*":
        return Principal(wildcard=True, span=r.span(pointer))
    if not isinstance(value, Mapping):
        r.fail(pointer, f'{where(pointer)} must be "*" or a mapping of principal types')
        return None
    entries: list[PrincipalEntry] = []
    for type_, values in value.items():
        p = _join(pointer, type_)
        if type_ not in PRINCIPAL_TYPES:
            r.fail(p, f"{where(p)}: unknown principal type `{type_}` (expected one of "
                      f"{', '.join(PRINCIPAL_TYPES)})")
            continue
        vl = _value_list(r, values, p)
        if vl is not None:
            entries.append(PrincipalEntry(type=type_, values=vl))
    return Principal(entries=tuple(entries), span=r.span(pointer))


def split_operator(operator: str) -> tuple[str | None, str, bool]:
    """`ForAnyValue:StringLikeIfExists` → (`ForAnyValue`, `StringLike`, True)."""
    qualifier: str | None = None
    base = operator
    if ":" in operator:
        qualifier, _, base = operator.partition(":")
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base[: -len("IfExists")]
    return qualifier, base, if_exists


def _condition(r: _Reader, value: Any, pointer: str) -> Condition | None:
    if not isinstance(value, Mapping):
        r.fail(pointer, f"{where(pointer)} must be a mapping of operators")
        return None
    clauses: list[ConditionClause] = []
    for operator, block in value.items():
        op_ptr = _join(pointer, operator)
        qualifier, base, if_exists = split_operator(operator)
        if qualifier is not None and qualifier not in QUALIFIERS:
            r.fail(op_ptr, f"{where(op_ptr)}: unknown set qualifier `{qualifier}` "
                           "(expected ForAllValues or ForAnyValue)")
            continue
        if not isinstance(block, Mapping):
            r.fail(op_ptr, f"{where(op_ptr)} must be a mapping of condition keys to values")
            continue
        for key, values in block.items():
            k_ptr = _join(op_ptr, key)
            scalar = not isinstance(values, list)
            items = [values] if scalar else values
            if not all(isinstance(v, (str, bool, int, float)) for v in items):
                r.fail(k_ptr, f"{where(k_ptr)} values must be strings, numbers or booleans")
                continue
            clauses.append(
                ConditionClause(
                    operator=operator,
                    base=base,
                    qualifier=qualifier,  # type: ignore[arg-type]
                    if_exists=if_exists,
                    key=key,
                    values=tuple(items),
                    scalar=scalar,
                    span=r.span(k_ptr),
                    operator_span=r.span(op_ptr),
                )
            )
    return Condition(clauses=tuple(clauses), span=r.span(pointer))


def _statement(r: _Reader, value: Any, pointer: str) -> Statement | None:
    if not isinstance(value, Mapping):
        r.fail(pointer, f"{where(pointer)} must be an object")
        return None
    for field in value:
        if field not in STATEMENT_FIELDS:
            p = _join(pointer, field)
            r.fail(p, f"{where(pointer)}: unknown field `{field}`")
    effect = value.get("Effect")
    if effect not in ("Allow", "Deny"):
        p = _join(pointer, "Effect")
        got = "nothing" if "Effect" not in value else f"`{effect}`"
        r.fail(p if "Effect" in value else pointer, f'{where(p)} must be "Allow" or "Deny", got {got}')
        return None
    sid = value.get("Sid")
    if sid is not None and not isinstance(sid, str):
        r.fail(_join(pointer, "Sid"), f"{where(_join(pointer, 'Sid'))} must be a string")
        sid = None
    fields: dict[str, Any] = {}
    for name, attr in (("Principal", "principal"), ("NotPrincipal", "not_principal")):
        if name in value:
            fields[attr] = _principal(r, value[name], _join(pointer, name))
    for name, attr in (("Action", "action"), ("NotAction", "not_action"),
                       ("Resource", "resource"), ("NotResource", "not_resource")):
        if name in value:
            fields[attr] = _value_list(r, value[name], _join(pointer, name))
    if "Condition" in value:
        fields["condition"] = _condition(r, value["Condition"], _join(pointer, "Condition"))
    return Statement(
        sid=sid,
        effect=effect,
        span=r.span(pointer),
        sid_span=r.span(_join(pointer, "Sid")) if "Sid" in value else None,
        **fields,
    )


def policy_from_document(
    data: Any,
    *,
    kind: PolicyKind = PolicyKind.IDENTITY,
    name: str = "policy",
    source: str = "<string>",
    locate: Locate | None = None,
) -> Policy:
    """Build the model from a parsed AWS JSON policy document; raise with every problem found.

    A plain document (nearly all) is built by :func:`fast_policy_from_document`, without
    pydantic validation, and with deferred spans when ``locate`` is a JSON reader's; anything
    else by the checked path below, which words every problem.
    """
    fast = fast_policy_from_document(data, kind=kind, name=name, source=source, span_at=_span_getter(locate, source))
    if fast is not None:
        return fast
    return checked_policy_from_document(data, kind=kind, name=name, source=source, locate=locate)


def checked_policy_from_document(
    data: Any,
    *,
    kind: PolicyKind = PolicyKind.IDENTITY,
    name: str = "policy",
    source: str = "<string>",
    locate: Locate | None = None,
) -> Policy:
    """:func:`policy_from_document` always through pydantic-validated nodes (the reference the fast builder matches)."""
    r = _Reader(source, locate)
    if not isinstance(data, Mapping):
        r.fail("", "a policy document must be a JSON object")
        raise PolicyValidationError(r.problems)
    for field in data:
        if field not in POLICY_FIELDS:
            r.fail(_join("", field), f"unknown top-level field `{field}` (expected Version, Id, Statement)")
    version = data.get("Version")
    if version is not None and version not in ("2008-10-17", "2012-10-17"):
        r.fail("/Version", f'Version must be "2012-10-17" or "2008-10-17", got `{version}`')
    policy_id = data.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        r.fail("/Id", "Id must be a string")
        policy_id = None
    raw = data.get("Statement")
    statements: list[Statement] = []
    is_list = True
    if raw is None:
        r.fail("", "a policy document needs a Statement")
    elif isinstance(raw, Mapping):
        is_list = False
        st = _statement(r, raw, "/Statement")
        if st is not None:
            statements.append(st)
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            st = _statement(r, item, _join("/Statement", i))
            if st is not None:
                statements.append(st)
    else:
        r.fail("/Statement", "Statement must be an object or a list of objects")
    if r.problems:
        raise PolicyValidationError(r.problems)
    return Policy(
        version=version,
        id=policy_id,
        statements=tuple(statements),
        statement_is_list=is_list,
        kind=kind,
        name=name,
        span=r.span(""),
    )


def _value_list_to_json(vl: ValueList) -> str | list[str]:
    return vl.values[0] if vl.scalar and len(vl.values) == 1 else list(vl.values)


def _principal_to_json(p: Principal) -> Any:
    if p.wildcard:
        return "*"
    return {e.type: _value_list_to_json(e.values) for e in p.entries}


def _condition_to_json(c: Condition) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for clause in c.clauses:
        block = out.setdefault(clause.operator, {})
        block[clause.key] = clause.values[0] if clause.scalar and len(clause.values) == 1 else list(clause.values)
    return out


def statement_to_document(st: Statement) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if st.sid is not None:
        out["Sid"] = st.sid
    out["Effect"] = st.effect
    if st.principal is not None:
        out["Principal"] = _principal_to_json(st.principal)
    if st.not_principal is not None:
        out["NotPrincipal"] = _principal_to_json(st.not_principal)
    for attr, name in (("action", "Action"), ("not_action", "NotAction"),
                       ("resource", "Resource"), ("not_resource", "NotResource")):
        vl = getattr(st, attr)
        if vl is not None:
            out[name] = _value_list_to_json(vl)
    if st.condition is not None:
        out["Condition"] = _condition_to_json(st.condition)
    return out


def policy_to_document(policy: Policy) -> dict[str, Any]:
    """The AWS JSON form of the model (as Python values), equal to the document it came from."""
    out: dict[str, Any] = {}
    if policy.version is not None:
        out["Version"] = policy.version
    if policy.id is not None:
        out["Id"] = policy.id
    statements = [statement_to_document(s) for s in policy.statements]
    if not policy.statement_is_list and len(statements) == 1:
        out["Statement"] = statements[0]
    else:
        out["Statement"] = statements
    return out


# The fast builder ----------------------------------------------------------------------------
# Nodes without pydantic validation, for documents from the JSON reader (exact JSON types). It
# accepts exactly what `policy_from_document` accepts without a problem and builds the same
# values (same types, same `__dict__` in field order, same fields set), or returns None and the
# caller uses `policy_from_document`, which words every problem.

_VALUE_LIST_SET = frozenset({"values", "scalar", "span", "value_spans"})
_ENTRY_SET = frozenset({"type", "values"})
_WILDCARD_SET = frozenset({"wildcard", "span"})
_MAPPING_SET = frozenset({"entries", "span"})
_CLAUSE_SET = frozenset(ConditionClause.model_fields)
_CONDITION_SET = frozenset({"clauses", "span"})
_POLICY_SET = frozenset(Policy.model_fields)
_STATEMENT_BASE = frozenset({"sid", "effect", "span", "sid_span"})
_POLICY_KEYS = frozenset(POLICY_FIELDS)
_PRINCIPAL_KEYS = frozenset(PRINCIPAL_TYPES)
_VERSIONS = frozenset(("2008-10-17", "2012-10-17"))
_EFFECTS = frozenset(("Allow", "Deny"))
_SCALAR_TYPES = frozenset((str, bool, int, float))


class _Decline(Exception):
    """The fast builder meets something `policy_from_document` would report (or might treat otherwise)."""


def _node(cls: type[_M], values: dict[str, Any], fields_set: frozenset[str]) -> _M:
    return unchecked(cls, values, set(fields_set))


def _fast_value_list(value: Any, pointer: str, span_at: Callable[[str], Span]) -> ValueList:
    t = type(value)
    if t is str:
        here = span_at(pointer)
        return _node(ValueList, {"values": (value,), "scalar": True, "span": here, "value_spans": (here,)},
                     _VALUE_LIST_SET)
    if t is not list:
        raise _Decline
    for v in value:
        if type(v) is not str:
            raise _Decline
    prefix = pointer + "/"
    return _node(ValueList, {
        "values": tuple(value), "scalar": False, "span": span_at(pointer),
        "value_spans": tuple([span_at(prefix + str(i)) for i in range(len(value))]),
    }, _VALUE_LIST_SET)


def _fast_principal(value: Any, pointer: str, span_at: Callable[[str], Span]) -> Principal:
    t = type(value)
    if t is str:
        if value != "*":
            raise _Decline
        return _node(Principal, {"wildcard": True, "entries": (), "span": span_at(pointer)}, _WILDCARD_SET)
    if t is not dict:
        raise _Decline
    entries = []
    for type_, values in value.items():
        if type_ not in _PRINCIPAL_KEYS:
            raise _Decline
        vl = _fast_value_list(values, f"{pointer}/{type_}", span_at)
        entries.append(_node(PrincipalEntry, {"type": type_, "values": vl}, _ENTRY_SET))
    return _node(Principal, {"wildcard": False, "entries": tuple(entries), "span": span_at(pointer)}, _MAPPING_SET)


def _fast_condition(value: Any, pointer: str, span_at: Callable[[str], Span]) -> Condition:
    if type(value) is not dict:
        raise _Decline
    clauses = []
    for operator, block in value.items():
        if type(operator) is not str or type(block) is not dict:
            raise _Decline
        op_ptr = _join(pointer, operator)
        qualifier, base, if_exists = split_operator(operator)
        if qualifier is not None and qualifier not in QUALIFIERS:
            raise _Decline
        for key, values in block.items():
            if type(key) is not str:
                raise _Decline
            scalar = type(values) is not list
            items = (values,) if scalar else tuple(values)
            for v in items:
                if type(v) not in _SCALAR_TYPES:
                    raise _Decline
            clauses.append(_node(ConditionClause, {
                "operator": operator, "base": base, "qualifier": qualifier, "if_exists": if_exists,
                "key": key, "values": items, "scalar": scalar,
                "span": span_at(_join(op_ptr, key)), "operator_span": span_at(op_ptr),
            }, _CLAUSE_SET))
    return _node(Condition, {"clauses": tuple(clauses), "span": span_at(pointer)}, _CONDITION_SET)


_STATEMENT_EMPTY = dict.fromkeys(Statement.model_fields)
"""Every Statement field, None, in field order (the defaults of all but ``effect``)."""
_STATEMENT_PRINCIPALS = {"Principal": "principal", "NotPrincipal": "not_principal"}
_STATEMENT_LISTS = {"Action": "action", "NotAction": "not_action", "Resource": "resource",
                    "NotResource": "not_resource"}


def _fast_statement(value: Any, pointer: str, span_at: Callable[[str], Span]) -> Statement:
    if type(value) is not dict:
        raise _Decline
    out = _STATEMENT_EMPTY.copy()
    fields_set = set(_STATEMENT_BASE)
    prefix = pointer + "/"
    for name, x in value.items():
        if name == "Effect":
            if type(x) is not str or x not in _EFFECTS:
                raise _Decline
            out["effect"] = x
        elif name == "Sid":
            if x is not None and type(x) is not str:
                raise _Decline
            out["sid"] = x
            out["sid_span"] = span_at(prefix + "Sid")
        elif name in _STATEMENT_LISTS:
            attr = _STATEMENT_LISTS[name]
            out[attr] = _fast_value_list(x, prefix + name, span_at)
            fields_set.add(attr)
        elif name in _STATEMENT_PRINCIPALS:
            attr = _STATEMENT_PRINCIPALS[name]
            out[attr] = _fast_principal(x, prefix + name, span_at)
            fields_set.add(attr)
        elif name == "Condition":
            out["condition"] = _fast_condition(x, prefix + name, span_at)
            fields_set.add("condition")
        else:
            raise _Decline  # an unknown field (or a non-string key)
    if out["effect"] is None:
        raise _Decline
    out["span"] = span_at(pointer)
    return unchecked(Statement, out, fields_set)


def _span_getter(locate: Locate | None, source: str) -> Callable[[str], Span]:
    """``span_at`` for :func:`fast_policy_from_document`: the span `_Reader.span` would give."""
    owner = getattr(locate, "__self__", None)
    if type(owner) is Located and getattr(locate, "__func__", None) is Located.locate and owner.source == source:
        return owner.span_factory()  # deferred: positions worked out only if a span is read

    def span_at(pointer: str) -> Span:
        found = locate(pointer) if locate is not None else None
        return found if found is not None else Span(source, 0, 0, pointer)

    return span_at


def fast_policy_from_document(
    data: Any, *, kind: PolicyKind, name: str, source: str, span_at: Callable[[str], Span]
) -> Policy | None:
    """:func:`policy_from_document` for a document of exact JSON types, without pydantic validation.

    ``span_at(pointer)`` gives the span of a node that exists (it may defer the lookup). The
    result equals, field by field and type by type, what :func:`policy_from_document` builds;
    None when the document has anything that function would report or a value of a non-JSON
    type: the caller then uses that function.
    """
    if type(data) is not dict or type(kind) is not PolicyKind or type(name) is not str or type(source) is not str:
        return None
    try:
        for field in data:
            if field not in _POLICY_KEYS:
                raise _Decline
        version = data.get("Version")
        if version is not None and (type(version) is not str or version not in _VERSIONS):
            raise _Decline
        policy_id = data.get("Id")
        if policy_id is not None and type(policy_id) is not str:
            raise _Decline
        raw = data.get("Statement")
        t = type(raw)
        if t is dict:
            statements: tuple[Statement, ...] = (_fast_statement(raw, "/Statement", span_at),)
            is_list = False
        elif t is list:
            statements = tuple([_fast_statement(item, f"/Statement/{i}", span_at) for i, item in enumerate(raw)])
            is_list = True
        else:
            raise _Decline
    except _Decline:
        return None
    return _node(Policy, {
        "version": version, "id": policy_id, "statements": statements, "statement_is_list": is_list,
        "kind": kind, "name": name, "span": span_at(""),
    }, _POLICY_SET)
