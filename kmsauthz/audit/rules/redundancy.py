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


def _clause_keys(f: StatementFacts) -> frozenset[tuple[str, str, tuple[str, ...]]]:
    return frozenset((c.operator, c.key.lower(), tuple(str(v) for v in c.values)) for c in f.clauses)


def _principals(f: StatementFacts) -> frozenset[tuple[str, str]] | None:
    p = f.statement.principal
    if f.statement.not_principal is not None:
        return None
    if p is None:
        return frozenset()
    if p.wildcard:
        return frozenset({("AWS", "*")})
    return frozenset((e.type, v) for e in p.entries for v in e.values.values)


def _covers(b: StatementFacts, a: StatementFacts) -> bool:
    """Whether statement `b` applies to every request statement `a` applies to, with the same effect."""
    if a.statement.effect != b.statement.effect:
        return False
    if a.statement.not_resource is not None or b.statement.not_resource is not None:
        return False
    if not _clause_keys(b) <= _clause_keys(a):
        return False
    pa, pb = _principals(a), _principals(b)
    if pa is None or pb is None:
        return False
    if ("AWS", "*") not in pb and not pa <= pb:
        return False
    if not a.actions or not a.actions <= b.actions:
        return False
    other_a = {p.lower() for p in a.action_patterns if not knowledge.names_kms(p)}
    other_b = {p.lower() for p in b.action_patterns if not knowledge.names_kms(p)}
    if not other_a <= other_b:
        return False
    ra = set(a.statement.resource.values) if a.statement.resource is not None else set()
    rb = set(b.statement.resource.values) if b.statement.resource is not None else set()
    return "*" in rb or ra <= rb


@rule("redundant-statement", Severity.SUGGESTION, "a statement made redundant by another", kinds=KEY_AND_IAM)
def redundant_statement(facts: PolicyFacts) -> Iterator[Hit]:
    stmts = facts.statements
    for a in stmts:
        for b in stmts:
            if a is b or not _covers(b, a):
                continue
            if _covers(a, b) and a.index < b.index:
                continue  # identical in effect: report the later one only
            word = "repeats" if _covers(a, b) else "is covered by"
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
        vl = f.statement.actions
        for i, p in enumerate(pats):
            mine = knowledge.expand(p)
            if not mine:
                continue
            for j, q in enumerate(pats):
                if i == j:
                    continue
                theirs = knowledge.expand(q)
                same = p.lower() == q.lower() or mine == theirs
                if mine <= theirs and (not same or j < i):
                    span = vl.value_spans[i] if vl is not None and i < len(vl.value_spans) else None
                    yield Hit(
                        f"`{p}` is already covered by `{q}` in the same statement",
                        statement=f.index,
                        span=span or (vl.span if vl is not None else f.span),
                    )
                    break
