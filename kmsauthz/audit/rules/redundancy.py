"""Wasted text: statements that can never apply and statements or actions made redundant."""

from __future__ import annotations

from collections.abc import Iterator

from kmsauthz.audit import knowledge
from kmsauthz.audit.findings import Severity
from kmsauthz.audit.rules._registry import KEY_AND_IAM, Hit, rule
from kmsauthz.audit.rules._text import label
from kmsauthz.audit.rules.facts import PolicyFacts, StatementFacts


def _never_reason(facts: PolicyFacts, f: StatementFacts) -> str | None:
    vl = f.action_list
    if vl is not None and not f.action_patterns:
        return "its action list is empty"
    if facts.target.is_key_policy:
        if vl is not None and not f.actions:
            if f.not_action is not None:
                return "its `NotAction` excludes every KMS action"
            if all(not pf.names_kms for pf in f.pattern_facts):
                return "it names no KMS action, and a key policy only authorizes KMS requests"
        if not f.resources_apply_to_key:
            st = f.statement
            written = st.resource.values if st.resource is not None else ()
            return ("its `Resource` " + ", ".join(f"`{v}`" for v in written)
                    + " cannot name this key (a key policy's Resource is `*`)") if written else None
        p = f.principal
        if p is not None and not p.wildcard and not f.aws_principals and not f.service_principals:
            types = {e.type for e in p.entries}
            if types and types <= {"Federated", "CanonicalUser"}:
                return f"its principal types ({', '.join(sorted(types))}) never call KMS"
    if not f.clauses:
        return None
    absent = {k for c, k in zip(f.clauses, f.clause_keys, strict=True) if c.base == "Null"
              and all(str(v).lower() == "true" for v in c.values)}
    if not absent:
        return None
    for c, k in zip(f.clauses, f.clause_keys, strict=True):
        if k in absent and c.base != "Null" and not c.if_exists and c.qualifier != "ForAllValues" \
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
    """What subsumption compares beyond effect and actions, computed once per statement when needed.

    The principals come first (they rule out most pairs: the account-root statement's `kms:*`
    covers every statement's actions); the rest is computed on the first pair they do not rule out.
    """

    __slots__ = ("clauses", "f", "other_actions", "principals", "resources")

    def __init__(self, f: StatementFacts) -> None:
        self.f = f
        self.principals = _principals(f)
        self.clauses: frozenset[tuple[str, str, tuple[str, ...]]] | None = None

    def complete(self) -> _Shape:
        if self.clauses is None:
            f = self.f
            self.clauses = frozenset((c.operator, k, tuple(str(v) for v in c.values))
                                     for c, k in zip(f.clauses, f.clause_keys, strict=True))
            self.other_actions = frozenset(pf.lower for pf in f.pattern_facts if not pf.names_kms)
            st = f.statement
            self.resources = frozenset(st.resource.values) if st.resource is not None else frozenset()
        return self


def _principals(f: StatementFacts) -> frozenset[tuple[str, str]] | None:
    p = f.principal
    if f.not_principal is not None:
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


def _may_cover(b: StatementFacts, a: StatementFacts) -> bool:
    """The cheap half of `_covers`: same effect, `a`'s actions within `b`'s, no NotResource."""
    return (a.allow == b.allow and bool(a.actions) and a.actions <= b.actions
            and a.not_resource is None and b.not_resource is None)


def _covers_shape(b: StatementFacts, a: StatementFacts, shapes: dict[int, _Shape]) -> bool:
    """The rest of `_covers`, once `_may_cover(b, a)` holds."""
    sa, sb = _shape(a, shapes), _shape(b, shapes)
    pa, pb = sa.principals, sb.principals
    if pa is None or pb is None:
        return False
    if ("AWS", "*") not in pb and not pa <= pb:
        return False
    sa.complete()
    sb.complete()
    if not sb.clauses <= sa.clauses:  # type: ignore[operator]
        return False
    if not sa.other_actions <= sb.other_actions:
        return False
    return "*" in sb.resources or sa.resources <= sb.resources


def _covers(b: StatementFacts, a: StatementFacts, shapes: dict[int, _Shape]) -> bool:
    """Whether statement `b` applies to every request statement `a` applies to, with the same effect."""
    return _may_cover(b, a) and _covers_shape(b, a, shapes)


@rule("redundant-statement", Severity.SUGGESTION, "a statement made redundant by another", kinds=KEY_AND_IAM)
def redundant_statement(facts: PolicyFacts) -> Iterator[Hit]:
    stmts = facts.statements
    if len(stmts) < 2:
        return
    shapes: dict[int, _Shape] = {}
    for a in stmts:
        actions = a.actions
        if not actions or a.not_resource is not None:
            continue  # covered by nothing (see _may_cover)
        allow = a.allow
        for b in stmts:
            if a is b or b.allow != allow or b.not_resource is not None or not actions <= b.actions:
                continue
            if not _covers_shape(b, a, shapes):
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
        pfs = f.pattern_facts
        if len(pfs) < 2:
            continue
        expanded = [(i, pf) for i, pf in enumerate(pfs) if pf.expanded]
        if len(expanded) < 2:
            continue
        vl = f.action_list
        for i, pf in expanded:
            mine = pf.expanded
            for j, qf in expanded:
                if i == j or not mine <= qf.expanded:
                    continue
                if i < j and mine == qf.expanded:
                    continue  # the same actions twice: report the later one
                span = vl.value_spans[i] if vl is not None and i < len(vl.value_spans) else None
                yield Hit(
                    f"`{pf.text}` is already covered by `{qf.text}` in the same statement",
                    statement=f.index,
                    span=span or (vl.span if vl is not None else f.span),
                )
                break
