"""The rule registry: each rule is a small function with an id, a severity and a title."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kmsauthz.audit.findings import Severity
from kmsauthz.model.policy import PolicyKind
from kmsauthz.model.spans import Span


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule returns: a message about one place; the runner makes it a Finding."""

    message: str
    statement: int | None = None
    span: Span | None = None
    pointer: str | None = None
    """Policy-relative pointer; defaults to the span's pointer, else the statement's."""
    help: str | None = None


Check = Callable[..., Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    title: str
    kinds: frozenset[PolicyKind] | None
    """Policy kinds the rule applies to; None for every kind."""
    check: Check | None
    """None for rules reported by the input stage (an invalid document, a bad suppression)."""

    @property
    def doc(self) -> str:
        return f"docs/rules/{self.id}.md"

    def applies_to(self, kind: PolicyKind) -> bool:
        return self.kinds is None or kind in self.kinds


RULES: dict[str, Rule] = {}

KEY = frozenset({PolicyKind.KEY})
IAM = frozenset({PolicyKind.IDENTITY, PolicyKind.PERMISSIONS_BOUNDARY, PolicyKind.SESSION})
KEY_AND_IAM = KEY | IAM


def register(rule: Rule) -> Rule:
    if rule.id in RULES:
        raise ValueError(f"duplicate audit rule id `{rule.id}`")
    RULES[rule.id] = rule
    return rule


def rule(
    id: str, severity: Severity, title: str, *, kinds: frozenset[PolicyKind] | None = None
) -> Callable[[Check], Check]:
    def wrap(fn: Check) -> Check:
        register(Rule(id, severity, title, kinds, fn))
        return fn

    return wrap
