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


class Registry(dict[str, Rule]):
    """The rule table; ``version`` changes on every write, so runners can keep per-kind plans."""

    version: int = 0

    def _changed(self) -> None:
        self.version += 1

    def __setitem__(self, key: str, value: Rule) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed()

    def update(self, *args: object, **kwargs: Rule) -> None:  # type: ignore[override]
        super().update(*args, **kwargs)  # type: ignore[arg-type]
        self._changed()

    def clear(self) -> None:
        super().clear()
        self._changed()

    def pop(self, *args: object) -> object:  # type: ignore[override]
        self._changed()
        return super().pop(*args)  # type: ignore[arg-type]

    def popitem(self) -> tuple[str, Rule]:
        self._changed()
        return super().popitem()

    def setdefault(self, key: str, default: Rule) -> Rule:  # type: ignore[override]
        self._changed()
        return super().setdefault(key, default)

    def __ior__(self, other: object) -> Registry:  # type: ignore[override,misc]
        self.update(other)
        return self


RULES: Registry = Registry()

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
