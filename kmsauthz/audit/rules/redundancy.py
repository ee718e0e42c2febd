"""Wasted text: statements that can never apply and statements or actions made redundant."""

from __future__ import annotations

from collections.abc import Iterator

from kmsauthz.audit import knowledge
from kmsauthz.audit.findings import Severity
from kmsauthz.audit.rules._registry import KEY_AND_IAM, Hit, rule
from kmsauthz.audit.rules._text import label
from kmsauthz.audit.rules.facts import PolicyFacts, StatementFacts


def _never_reason(facts: PolicyFacts, f: StatementFacts) -> str | None:
    st = f.statement
    key_policy = facts.target.is_key_policy
    vl = st.actions
    if vl is not None and not vl.values:
        return "its action list is empty"
    if key_policy and vl is not None and not f.actions:
        if st.not_action is not None:
            return "its `NotAction` excludes every KMS action"
        if all(not knowledge.names_kms(p) for p in f.action_patterns):
            return "it names no KMS action, and a key policy only authorizes KMS requests"
    if key_policy and not f.resources_apply_to_key:
        written = st.resource.values if st.resource is not None else ()
        return ("its `Resource` " + ", ".join(f"`{v}`" for v in written)
                + " cannot name this key (a key policy's Resource is `*`)") if written else None
    if key_policy and st.principal is not None and not st.principal.wildcard:
        types = {e.type for e in st.principal.entries}
        if types and types <= {"Federated", "CanonicalUser"}:
            return f"its principal types ({', '.join(sorted(types))}) never call KMS"
    absent = {c.key.lower() for c in f.clauses if c.base == "Null"
              and all(str(v).lower() == "true" for v in c.values)}
    for c in f.clauses:
        if c.key.lower() in absent and c.base != "Null" and not c.if_exists and c.qualifier != "ForAllValues" \
                and not knowledge.operator_negated(c.base):
            return f"it requires `{c.key}` to be absent (`Null`) and to match `{c.operator}`"
    return None


@rule("statement-never-applies", Severity.WARNING, "a statement that can never apply", kinds=KEY_AND_IAM)
def statement_never_applies(facts: PolicyFacts) -> Iterator[Hit]:
    for f in facts.statements:
        reason = _never_reason(facts, f)
        if reason:
            yield Hit(f"{label(f)} can never apply: {reason}", statement=f.index, span=f.span)


class _Shape:
    """What subsumption compares, computed once per statement."""

    __slots__ = ("clauses", "other_actions", "principals", "resources")

    def __init__(self, f: StatementFacts) -> None:
        self.clauses = frozenset((c.operator, c.key.lower(), tuple(str(v) for v in c.values)) for c in f.clauses)
        self.principals = _principals(f)
        self.other_actions = frozenset(p.lower() for p in f.action_patterns if not knowledge.names_kms(p))
        st = f.statement
        self.resources = frozenset(st.resource.values) if st.resource is not None else frozenset()


def _principals(f: StatementFacts) -> frozenset[tuple[str, str]] | None:
    p = f.statement.principal
    if f.statement.not_principal is not None:
        return None
    if p is None:
        return frozenset()
    if p.wildcard:
        return frozenset({("AWS", "*")})
    return frozenset((e.type, v) for e in p.entries for v in e.values.values)


def _shape(f: StatementFacts, shapes: dict[int, _Shape]) -> _Shape:
    found = shapes.get(f.index)
    if found is None:
        found = shapes[f.index] = _Shape(f)
    return found


def _covers(b: StatementFacts, a: StatementFacts, shapes: dict[int, _Shape]) -> bool:
    """Whether statement `b` applies to every request statement `a` applies to, with the same effect."""
    if a.statement.effect != b.statement.effect:
        return False
    if not a.actions or not a.actions <= b.actions:
        return False
    if a.statement.not_resource is not None or b.statement.not_resource is not None:
        return False
    sa, sb = _shape(a, shapes), _shape(b, shapes)
    if not sb.clauses <= sa.clauses:
        return False
    pa, pb = sa.principals, sb.principals
    if pa is None or pb is None:
        return False
    if ("AWS", "*") not in pb and not pa <= pb:
        return False
    if not sa.other_actions <= sb.other_actions:
        return False
    return "*" in sb.resources or sa.resources <= sb.resources


@rule("redundant-statement", Severity.SUGGESTION, "a statement made redundant by another", kinds=KEY_AND_IAM)
def redundant_statement(facts: PolicyFacts) -> Iterator[Hit]:
    stmts = facts.statements
    if len(stmts) < 2:
        return
    shapes: dict[int, _Shape] = {}
    for a in stmts:
        for b in stmts:
            if a is b or not _covers(b, a, shapes):
                continue
            mutual = _covers(a, b, shapes)
            if mutual and a.index < b.index:
                continue  # identical in effect: report the later one only
            word = "repeats" if mutual else "is covered by"
            yield Hit(
                f"{label(a)} {word} {label(b)}: it allows nothing more"
                if a.allow else
                f"{label(a)} {word} {label(b)}: it denies nothing more",
                statement=a.index,
                span=a.span,
                help="remove it, or merge the two statements",
            )
            break


@rule("redundant-action", Severity.SUGGESTION, "an action already covered by another in the statement",
      kinds=KEY_AND_IAM)
def redundant_action(facts: PolicyFacts) -> Iterator[Hit]:
    for f in facts.statements:
        pats = f.action_patterns
        if len(pats) < 2:
            continue
        vl = f.statement.actions
        expanded = [(i, p, knowledge.expand(p)) for i, p in enumerate(pats)]
        expanded = [e for e in expanded if e[2]]
        for i, p, mine in expanded:
            for j, q, theirs in expanded:
                if i == j or not mine <= theirs:
                    continue
                if mine == theirs and i < j:
                    continue  # the same actions twice: report the later one
                span = vl.value_spans[i] if vl is not None and i < len(vl.value_spans) else None
                yield Hit(
                    f"`{p}` is already covered by `{q}` in the same statement",
                    statement=f.index,
                    span=span or (vl.span if vl is not None else f.span),
                )
                break
