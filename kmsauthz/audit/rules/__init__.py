"""The audit rules and the runner that turns their hits into findings.

Each rule is a small function in one of the topic modules, registered with
:func:`~kmsauthz.audit.rules._registry.rule`; its documentation page is `docs/rules/<id>.md`.
"""

from __future__ import annotations

from kmsauthz.audit.findings import Finding, Severity
from kmsauthz.audit.rules import conditionals, elements, exposure, management, redundancy, validity
from kmsauthz.audit.rules._registry import RULES, Hit, Rule, register
from kmsauthz.audit.rules.facts import PolicyFacts
from kmsauthz.audit.target import AuditTarget
from kmsauthz.model.policy import PolicyKind
from kmsauthz.model.spans import Span

_MODULES = (management, exposure, validity, conditionals, elements, redundancy)

# Rules the input stage reports (no check function): they still have ids, docs and SARIF metadata.
INVALID_POLICY = register(Rule("invalid-policy", Severity.ERROR,
                               "the policy document is not valid", None, None))
INVALID_INPUT = register(Rule("invalid-input", Severity.ERROR,
                              "a template, plan or scenario file that cannot be read as one", None, None))
INVALID_SUPPRESSION = register(Rule("invalid-suppression", Severity.ERROR,
                                    "a suppression without a reason or naming an unknown rule", None, None))
INTERNAL_ERROR = register(Rule("internal-error", Severity.ERROR,
                               "a rule failed on this policy (a kmsauthz bug)", None, None))

# Worst severity first, then the order of the topic modules (the order of docs and SARIF metadata).
_ORDER = {m.__name__: i for i, m in enumerate((management, exposure, validity, conditionals, elements, redundancy))}
_ordered = sorted(RULES.values(), key=lambda r: (r.check is None, r.severity.rank,
                                                   _ORDER.get(getattr(r.check, "__module__", ""), 99)))
RULES.clear()
RULES.update((r.id, r) for r in _ordered)

__all__ = ["RULES", "Rule", "audit_target", "finding_for"]


def _location(target: AuditTarget, span: Span | None) -> tuple[str, int, int]:
    if target.fallback_line:
        return target.file, target.fallback_line, target.fallback_column
    if span is None or not span.line:
        return target.file, 0, 0
    source = span.source if span.source and not span.source.startswith("<") else target.file
    return source, span.line + target.line_offset, span.column


def _relative_pointer(hit: Hit, facts: PolicyFacts) -> str:
    if hit.pointer is not None:
        return hit.pointer
    if hit.span is not None and hit.span.pointer.startswith("/Statement"):
        return hit.span.pointer
    if hit.statement is not None:
        return facts.statements[hit.statement].pointer
    return ""


def finding_for(rule: Rule, hit: Hit, facts: PolicyFacts) -> Finding:
    target = facts.target
    span = hit.span
    statement = hit.statement
    if span is None:
        span = facts.statements[statement].span if statement is not None else None
        if span is None:
            span = target.policy.span
    file, line, column = _location(target, span)
    shown = target.shown if target.display else _same
    return Finding(
        rule=rule.id,
        severity=rule.severity,
        title=shown(rule.title),
        message=shown(hit.message),
        file=file,
        line=line,
        column=column,
        pointer=target.base_pointer + _relative_pointer(hit, facts),
        sid=facts.statements[statement].sid if statement is not None else None,
        statement=statement,
        origin=target.origin,
        help=shown(hit.help) if hit.help else None,
    )


def _same(text: str) -> str:
    return text


_plans: dict[PolicyKind, tuple[Rule, ...]] = {}
_plans_version = -1


def _plan(kind: PolicyKind) -> tuple[Rule, ...]:
    """The rules with a check that apply to ``kind``, in table order; rebuilt when the table changes."""
    global _plans_version
    if _plans_version != RULES.version:
        _plans.clear()
        _plans_version = RULES.version
    plan = _plans.get(kind)
    if plan is None:
        plan = _plans[kind] = tuple(r for r in RULES.values() if r.check is not None and r.applies_to(kind))
    return plan


def audit_target(target: AuditTarget, *, select: frozenset[str] | None = None) -> list[Finding]:
    """Run every rule that applies to the target's policy kind; a failing rule is reported, not raised."""
    facts = PolicyFacts(target)
    out: list[Finding] = []
    append = out.append
    for r in _plan(target.kind):
        if select is not None and r.id not in select:
            continue
        try:
            for hit in r.check(facts):  # type: ignore[misc]
                append(finding_for(r, hit, facts))
        except Exception as exc:  # fail closed: a bug in one rule must not hide the others
            file, line, column = _location(target, target.policy.span)
            append(Finding(
                rule=INTERNAL_ERROR.id, severity=Severity.ERROR, title=INTERNAL_ERROR.title,
                message=f"rule `{r.id}` failed: {type(exc).__name__}: {exc}",
                file=file, line=line, column=column, pointer=target.base_pointer, origin=target.origin,
            ))
    return out
