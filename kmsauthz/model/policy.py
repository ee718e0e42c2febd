"""The policy model: one representation for AWS JSON documents and the policy language.

The model is exact: it keeps what is needed to print the original document back (a value
written as a scalar stays a scalar, a one-element list stays a list, statement and value
order are kept, numbers and booleans keep their JSON type). It is *not* the form the evaluator
runs on; :mod:`kmsauthz.evaluate.compile` turns it into indexed matchers.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kmsauthz.model.spans import Span

Scalar = str | bool | int | float
"""A condition value as JSON allows it. Kept with its JSON type for lossless round trips."""

VERSIONS = ("2008-10-17", "2012-10-17")


class PolicyKind(StrEnum):
    """Which layer a document belongs to; the rules that differ by kind are checked by kind."""

    KEY = "key"
    IDENTITY = "identity"
    PERMISSIONS_BOUNDARY = "permissions-boundary"
    SESSION = "session"
    SCP = "scp"
    RCP = "rcp"
    VPC_ENDPOINT = "vpc-endpoint"

    @property
    def is_resource_policy(self) -> bool:
        """Kinds whose statements name principals."""
        return self in (PolicyKind.KEY, PolicyKind.RCP, PolicyKind.VPC_ENDPOINT)


class _Node(BaseModel):
    """Frozen, exact nodes whose equality ignores where they came from.

    Source positions (fields named ``span``/``*_span``/``*_spans``) never take part in ``==`` or
    ``hash``: the same policy loaded from JSON and from the policy language is equal.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    def _identity(self) -> tuple[object, ...]:
        return tuple(
            getattr(self, name) for name in type(self).model_fields if not _is_position_field(name)
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._identity() == other._identity()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._identity()))


def _is_position_field(name: str) -> bool:
    return name == "span" or name.endswith(("_span", "_spans"))


class ValueList(_Node):
    """A JSON value that may be written as one string or a list of strings."""

    values: tuple[str, ...]
    scalar: bool = False
    """True when the document wrote a single value, not a list."""
    span: Span | None = Field(default=None, repr=False)
    value_spans: tuple[Span | None, ...] = Field(default=(), repr=False)


PrincipalType = Literal["AWS", "Service", "Federated", "CanonicalUser"]


class PrincipalEntry(_Node):
    """One `"AWS": [...]`-style member of a Principal mapping."""

    type: PrincipalType
    values: ValueList


class Principal(_Node):
    """`Principal` or `NotPrincipal`: either the bare string `"*"` or a mapping by type."""

    wildcard: bool = False
    """The document wrote the string `"*"` (not `{"AWS": "*"}`, which is an entry)."""
    entries: tuple[PrincipalEntry, ...] = ()
    span: Span | None = Field(default=None, repr=False)

    def values_of(self, type_: PrincipalType) -> tuple[str, ...]:
        out: list[str] = []
        for e in self.entries:
            if e.type == type_:
                out.extend(e.values.values)
        return tuple(out)


class ConditionClause(_Node):
    """One `operator: {key: values}` pair of a Condition block.

    ``operator`` is written as in the document (for example ``ForAnyValue:StringLikeIfExists``);
    ``base``, ``qualifier`` and ``if_exists`` are its parts.
    """

    operator: str
    base: str
    qualifier: Literal["ForAllValues", "ForAnyValue"] | None = None
    if_exists: bool = False
    key: str
    values: tuple[Scalar, ...]
    scalar: bool = False
    span: Span | None = Field(default=None, repr=False)
    operator_span: Span | None = Field(default=None, repr=False)


class Condition(_Node):
    """A Condition block; ``clauses`` keep document order (operator, then key)."""

    clauses: tuple[ConditionClause, ...] = ()
    span: Span | None = Field(default=None, repr=False)

    def operators(self) -> tuple[str, ...]:
        """Operators in first-appearance order (the block's JSON keys)."""
        seen: dict[str, None] = {}
        for c in self.clauses:
            seen.setdefault(c.operator, None)
        return tuple(seen)


class Statement(_Node):
    sid: str | None = None
    effect: Literal["Allow", "Deny"]
    principal: Principal | None = None
    not_principal: Principal | None = None
    action: ValueList | None = None
    not_action: ValueList | None = None
    resource: ValueList | None = None
    not_resource: ValueList | None = None
    condition: Condition | None = None
    span: Span | None = Field(default=None, repr=False)
    sid_span: Span | None = Field(default=None, repr=False)

    @property
    def actions(self) -> ValueList | None:
        return self.action if self.action is not None else self.not_action

    @property
    def resources(self) -> ValueList | None:
        return self.resource if self.resource is not None else self.not_resource


class Policy(_Node):
    version: str | None = None
    id: str | None = None
    statements: tuple[Statement, ...] = ()
    statement_is_list: bool = True
    """False when the document wrote `Statement` as a single object."""
    kind: PolicyKind = PolicyKind.IDENTITY
    name: str = "policy"
    """A label for explanations: a file name, `key policy of <key>`, a principal's policy name."""
    span: Span | None = Field(default=None, repr=False)

    @property
    def supports_variables(self) -> bool:
        """Policy variables are only replaced under Version 2012-10-17."""
        return self.version == "2012-10-17"
