"""Model → compiled form: small matcher objects, indexed so a request looks at few statements.

Compile once per policy (the engine caches compiled policies and recompiles only what changes):

- every statement becomes a :class:`CStatement` — a principal matcher, an action matcher, a
  resource matcher, the compiled condition, and the prebuilt :class:`~kmsauthz.model.Match` that
  explanations report — plain Python objects, no pydantic on the hot path;
- a :class:`CompiledPolicy` is indexed by action: statements whose `Action` names the action
  literally sit in an exact-action dict, the others (wildcards, `NotAction`) in a short list. The
  first request for an action builds its :class:`ActionSlice` (the Deny and the Allow statements
  that can match it, in document order) and keeps it, so 10,000 statements for other actions
  cost a dict lookup;
- a slice with many Allow statements gets a :class:`PrefixIndex` over one condition key: when most
  of its statements require, say, ``ArnLike aws:PrincipalArn arn:aws:iam::A:role/team-007-*``, the
  statements are bucketed by that pattern's literal prefix and a request only evaluates the
  statements whose prefix its own value starts with. Only a positive, unqualified, non-IfExists
  String/Arn equality or Like clause without policy variables is indexed — a clause the request
  value must satisfy for the statement to apply — so the index can only skip statements that
  could not have matched. Deny statements are never skipped (an erroring Deny must still be seen
  to fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kmsauthz.evaluate.conditions import (
    Comparison,
    CompiledCondition,
    ValueType,
    compile_condition,
    parse_operator,
)
from kmsauthz.evaluate.patterns import (
    ArnMatcher,
    WildcardMatcher,
    compile_arn_parts,
    compile_arn_pattern,
    compile_wildcard,
    has_wildcards,
)
from kmsauthz.evaluate.principals import PrincipalMatcher
from kmsauthz.evaluate.protocols import ConditionContext
from kmsauthz.evaluate.variables import Template, compile_template, has_variables
from kmsauthz.model.decision import Match
from kmsauthz.model.policy import Policy, Statement, ValueList
from kmsauthz.model.world import Grant

__all__ = [
    "ActionMatcher",
    "ActionSlice",
    "CGrant",
    "CStatement",
    "CompiledPolicy",
    "PrefixIndex",
    "ResourceMatcher",
    "compile_grant",
    "compile_policy",
]

INDEX_THRESHOLD = 8
"""A slice with at least this many Allow statements gets a :class:`PrefixIndex`."""


# ------------------------------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True)
class ActionMatcher:
    """`Action` / `NotAction`: literal names (lower-case) and wildcard patterns."""

    exact: frozenset[str]
    patterns: tuple[WildcardMatcher, ...]
    negated: bool

    @classmethod
    def of(cls, values: ValueList, negated: bool) -> ActionMatcher:
        exact: set[str] = set()
        patterns: list[WildcardMatcher] = []
        for value in values.values:
            if has_wildcards(value):
                patterns.append(compile_wildcard(value, case_sensitive=False))
            else:
                exact.add(value.lower())
        return cls(frozenset(exact), tuple(patterns), negated)

    def matches(self, action: str) -> bool:
        """``action`` is lower-case (`kms:decrypt`)."""
        hit = action in self.exact or any(p.match(action) for p in self.patterns)
        return hit != self.negated


# ------------------------------------------------------------------------------------ resources


@dataclass(frozen=True, slots=True)
class ResourceMatcher:
    """`Resource` / `NotResource` against one ARN (policy variables rendered per request)."""

    star: bool
    """The element lists `*`."""
    literals: frozenset[str]
    """ARNs without wildcards: an equality test (segment-wise matching of a literal is equality)."""
    patterns: tuple[ArnMatcher, ...]
    templates: tuple[Template, ...]
    negated: bool
    error: str | None = None
    """A malformed policy variable in the element: the statement fails closed (an Allow never
    applies, a Deny applies and reports it) instead of matching or missing by accident."""

    @classmethod
    def of(cls, values: ValueList, negated: bool, variables: bool) -> ResourceMatcher:
        star = False
        literals: set[str] = set()
        patterns: list[ArnMatcher] = []
        templates: list[Template] = []
        error: str | None = None
        for value in values.values:
            if value == "*":
                star = True
            elif variables and has_variables(value):
                tpl = compile_template(value)
                if tpl.error is not None and error is None:
                    error = f"`{value}`: {tpl.error}"
                templates.append(tpl)
            elif not has_wildcards(value):
                literals.add(value)
            else:
                patterns.append(compile_arn_pattern(value))
        return cls(star, frozenset(literals), tuple(patterns), tuple(templates), negated, error)

    @property
    def any(self) -> bool:
        """Matches every resource without looking (`Resource: "*"`); never when malformed."""
        return self.star and not self.negated and self.error is None

    def matches(self, arn: str, ctx: ConditionContext) -> bool:
        if self.star:
            return not self.negated  # NotResource "*" excludes everything
        listed = self._listed(arn, ctx)
        return listed != self.negated

    def _listed(self, arn: str, ctx: ConditionContext) -> bool:
        if arn in self.literals:
            return True
        for p in self.patterns:
            if p.match(arn):
                return True
        for tpl in self.templates:
            pieces = tpl.render_pieces(ctx)
            if pieces is not None and compile_arn_parts(pieces).match(arn):
                return True
        return False


# ----------------------------------------------------------------------------------- statements


@dataclass(slots=True, eq=False)
class CStatement:
    index: int
    allow: bool
    action: ActionMatcher | None
    resource: ResourceMatcher | None
    condition: CompiledCondition
    principal: PrincipalMatcher | None
    """`Principal` (resource policies); None for identity-type policies and for `NotPrincipal`."""
    not_principal: PrincipalMatcher | None
    match: Match
    statement: Statement
    any_resource: bool = False
    """`Resource: "*"`: no resource test needed."""
    has_condition: bool = False
    needs_principal: bool = False
    """A key-policy statement without Principal/NotPrincipal never applies."""

    def __post_init__(self) -> None:
        self.any_resource = self.resource is not None and self.resource.any
        self.has_condition = bool(self.condition.clauses)
        self.needs_principal = self.match.layer == "key-policy"

    @property
    def inert(self) -> bool:
        """No Action or no Resource: stored by KMS, never applies (§1.4, E8)."""
        return self.action is None or self.resource is None


def _compile_statement(index: int, st: Statement, policy: Policy, layer: str, label: str) -> CStatement:
    variables = policy.supports_variables
    action = None
    if st.action is not None:
        action = ActionMatcher.of(st.action, False)
    elif st.not_action is not None:
        action = ActionMatcher.of(st.not_action, True)
    resource = None
    if st.resource is not None:
        resource = ResourceMatcher.of(st.resource, False, variables)
    elif st.not_resource is not None:
        resource = ResourceMatcher.of(st.not_resource, True, variables)
    principal = PrincipalMatcher.of(st.principal) if st.principal is not None else None
    not_principal = PrincipalMatcher.of(st.not_principal) if st.not_principal is not None else None
    match = Match(
        layer=layer, policy=label, effect=st.effect, sid=st.sid, index=index, span=st.span,
    )
    return CStatement(
        index=index,
        allow=st.effect == "Allow",
        action=action,
        resource=resource,
        condition=compile_condition(st.condition, variables=variables),
        principal=principal,
        not_principal=not_principal,
        match=match,
        statement=st,
    )


# ---------------------------------------------------------------------------------- prefix index


_TEXTUAL = frozenset({ValueType.STRING, ValueType.ARN})
"""Only operators that compare text can be indexed by a literal prefix of the policy value."""
_INDEXED = frozenset({Comparison.EQUALS, Comparison.LIKE, Comparison.ARN_LIKE})


def _literal_prefix(value: str, comparison: Comparison) -> str:
    if comparison is Comparison.EQUALS:
        return value
    cut = len(value)
    for ch in "*?":
        at = value.find(ch)
        if 0 <= at < cut:
            cut = at
    return value[:cut]


def _index_prefixes(st: CStatement, key: str) -> tuple[str, ...] | None:
    """The literal prefixes one of the statement's values for ``key`` must start with, or None."""
    condition = st.statement.condition
    if condition is None or st.condition.errors:
        return None
    for clause in condition.clauses:
        if clause.key.lower() != key:
            continue
        parsed = parse_operator(clause.operator)
        if parsed is None or parsed.qualifier is not None or parsed.if_exists:
            continue
        info = parsed.info
        if info.type not in _TEXTUAL or info.negated or info.comparison not in _INDEXED:
            continue  # Numeric/Date/Bool/Binary values compare by meaning: "10.0" equals "10"
        texts = [v for v in clause.values if isinstance(v, str) and not isinstance(v, bool)]
        if not texts or len(texts) != len(clause.values) or any("${" in t for t in texts):
            continue
        return tuple(_literal_prefix(t, info.comparison).lower() for t in texts)
    return None


@dataclass(slots=True)
class PrefixIndex:
    """Allow statements bucketed by the literal prefix their condition requires of one key."""

    key: str
    statements: tuple[CStatement, ...]
    always: tuple[int, ...]
    """Positions (in ``statements``) of statements that are not indexed."""
    by_length: tuple[tuple[int, dict[str, tuple[int, ...]]], ...]

    @classmethod
    def build(cls, statements: Sequence[CStatement]) -> PrefixIndex | None:
        counts: dict[str, int] = {}
        for st in statements:
            cond = st.statement.condition
            if cond is None:
                continue
            for k in {c.key.lower() for c in cond.clauses}:
                counts[k] = counts.get(k, 0) + 1
        best: PrefixIndex | None = None
        best_indexed = 0
        for key, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:4]:
            always: list[int] = []
            tables: dict[int, dict[str, list[int]]] = {}
            for pos, st in enumerate(statements):
                prefixes = _index_prefixes(st, key)
                if prefixes is None or any(not p for p in prefixes):
                    always.append(pos)
                    continue
                for p in set(prefixes):
                    tables.setdefault(len(p), {}).setdefault(p, []).append(pos)
            indexed = len(statements) - len(always)
            if indexed > best_indexed:
                best_indexed = indexed
                best = cls(
                    key=key,
                    statements=tuple(statements),
                    always=tuple(always),
                    by_length=tuple(
                        (length, {p: tuple(v) for p, v in table.items()})
                        for length, table in sorted(tables.items())
                    ),
                )
        if best is None or best_indexed * 2 < len(statements):
            return None
        return best

    def candidates(self, ctx: ConditionContext) -> Iterable[CStatement]:
        value = ctx.lookup(self.key)
        if not isinstance(value, str):
            return self.statements  # absent or multivalued: evaluate everything (explanations see why)
        low = value.lower()
        hits: set[int] = set(self.always)
        n = len(low)
        for length, table in self.by_length:
            if length > n:
                break
            got = table.get(low[:length])
            if got:
                hits.update(got)
        if not hits:
            return ()
        statements = self.statements
        return [statements[i] for i in sorted(hits)]


# ------------------------------------------------------------------------------------- policies


@dataclass(slots=True)
class ActionSlice:
    """The statements of one policy that can match one action, in document order."""

    denies: tuple[CStatement, ...]
    allows: tuple[CStatement, ...]
    allow_index: PrefixIndex | None = None

    def allow_candidates(self, ctx: ConditionContext) -> Iterable[CStatement]:
        if self.allow_index is not None:
            return self.allow_index.candidates(ctx)
        return self.allows


_EMPTY_SLICE = ActionSlice((), ())


@dataclass(slots=True, eq=False)
class CompiledPolicy:
    policy: Policy
    layer: str
    label: str
    statements: tuple[CStatement, ...]
    _exact: dict[str, tuple[CStatement, ...]] = field(default_factory=dict, repr=False)
    _wild: tuple[CStatement, ...] = field(default=(), repr=False)
    _slices: dict[str, ActionSlice] = field(default_factory=dict, repr=False)

    def for_action(self, action: str) -> ActionSlice:
        """The slice for a lower-case action; built on first use, then kept."""
        found = self._slices.get(action)
        if found is not None:
            return found
        chosen = [st for st in self._exact.get(action, ())]
        chosen.extend(st for st in self._wild if st.action is not None and st.action.matches(action))
        if not chosen:
            built = _EMPTY_SLICE
        else:
            chosen.sort(key=lambda st: st.index)
            denies = tuple(st for st in chosen if not st.allow)
            allows = tuple(st for st in chosen if st.allow)
            index = PrefixIndex.build(allows) if len(allows) >= INDEX_THRESHOLD else None
            built = ActionSlice(denies, allows, index)
        if len(self._slices) < 4096:
            self._slices[action] = built
        return built


def compile_policy(policy: Policy, *, layer: str, label: str | None = None) -> CompiledPolicy:
    """Compile a policy for one layer (`key-policy`, `identity`, `scp`, …)."""
    name = label or policy.name
    statements = tuple(
        _compile_statement(i, st, policy, layer, name) for i, st in enumerate(policy.statements)
    )
    exact: dict[str, list[CStatement]] = {}
    wild: list[CStatement] = []
    for st in statements:
        if st.inert:
            continue
        matcher = st.action
        assert matcher is not None
        if matcher.negated or matcher.patterns:
            wild.append(st)
            continue
        for name_ in matcher.exact:
            exact.setdefault(name_, []).append(st)
    return CompiledPolicy(
        policy=policy,
        layer=layer,
        label=name,
        statements=statements,
        _exact={k: tuple(v) for k, v in exact.items()},
        _wild=tuple(wild),
    )


# --------------------------------------------------------------------------------------- grants


@dataclass(slots=True, eq=False)
class CGrant:
    grant: Grant
    operations: frozenset[str]
    """Lower-case actions (`kms:decrypt`)."""
    equals: dict[str, str] | None
    subset: dict[str, str] | None
    match: Match

    @property
    def grant_id(self) -> str:
        return self.grant.grant_id

    def constraint_ok(self, ec: dict[str, str] | None) -> bool:
        """EncryptionContextEquals / Subset against the request's context (§3.3); case-sensitive."""
        if self.equals is not None:
            return (ec or {}) == self.equals
        if self.subset is not None:
            have = ec or {}
            return all(have.get(k) == v for k, v in self.subset.items())
        return True


def compile_grant(grant: Grant, key_arn: str) -> CGrant:
    c = grant.constraints
    return CGrant(
        grant=grant,
        operations=frozenset(f"kms:{op}".lower() for op in grant.operations),
        equals=dict(c.encryption_context_equals) if c is not None and c.encryption_context_equals is not None else None,
        subset=dict(c.encryption_context_subset) if c is not None and c.encryption_context_subset is not None else None,
        match=Match(
            layer="grant", policy=key_arn, effect="Allow", grant_id=grant.grant_id,
            grant_name=grant.name, span=grant.span,
        ),
    )
