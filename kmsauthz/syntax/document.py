"""AWS JSON document (already parsed into Python values) ⇄ the policy model.

`policy_from_document` is structural: it turns a mapping into the model and reports shapes it
cannot represent. JSON Schema validation (`schema.py`) and the rules that differ by policy kind
(`rules.py`) run before/after it. Locations come from a ``locate`` callable that maps a JSON
pointer to a :class:`Span` (the position-recording JSON reader provides one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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

Locate = Callable[[str], Span | None]

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
    """Build the model from a parsed AWS JSON policy document; raise with every problem found."""
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
