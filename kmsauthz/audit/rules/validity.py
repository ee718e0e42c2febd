"""Names and types that do not exist or do not fit: actions, condition keys, operators, values."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from functools import cache, lru_cache

from kmsauthz import catalog
from kmsauthz.audit import knowledge
from kmsauthz.audit.findings import Severity
from kmsauthz.audit.rules._registry import KEY, KEY_AND_IAM, Hit, rule
from kmsauthz.audit.rules._text import actions_text
from kmsauthz.audit.rules.facts import PolicyFacts, StatementFacts, account_of
from kmsauthz.evaluate import conditions
from kmsauthz.model.policy import ConditionClause
from kmsauthz.model.spans import Span


def _value_span(f: StatementFacts, i: int) -> Span | None:
    vl = f.action_list
    if vl is None:
        return f.span
    if i < len(vl.value_spans) and vl.value_spans[i] is not None:
        return vl.value_spans[i]
    return vl.span or f.span


@lru_cache(maxsize=2048)
def _suggest_from(word: str, choices: tuple[str, ...]) -> str | None:
    lowered = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[found[0]] if found else None


def _suggest(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    return _suggest_from(word, tuple(choices))


@rule("unknown-action", Severity.ERROR, "a KMS action that does not exist", kinds=KEY_AND_IAM)
def unknown_action(facts: PolicyFacts) -> Iterator[Hit]:
    """IAM Access Analyzer INVALID_ACTION: a misspelled action never matches any request."""
    names = _action_names()
    for f in facts.statements:
        for i, pf in enumerate(f.pattern_facts):
            if not pf.kms_service or pf.expanded:
                continue
            p = pf.text
            guess = _suggest(p, names)
            yield Hit(
                f"`{p}` matches no KMS action" + (f" (did you mean `{guess}`?)" if guess else ""),
                statement=f.index,
                span=_value_span(f, i),
                help="KMS action names are listed in the catalog (docs/catalog.md)",
            )


@rule("action-not-kms", Severity.WARNING, "a key policy names actions of another service", kinds=KEY)
def action_not_kms(facts: PolicyFacts) -> Iterator[Hit]:
    """A key policy only ever authorizes KMS requests; `s3:GetObject` in it is dead text."""
    for f in facts.statements:
        if f.not_action is not None:
            continue
        for i, pf in enumerate(f.pattern_facts):
            if pf.names_kms:
                continue
            yield Hit(
                f"`{pf.text}` is not a KMS action: a key policy statement never applies to it",
                statement=f.index,
                span=_value_span(f, i),
            )


@rule("key-policy-cannot-control", Severity.WARNING,
      "a key policy names actions that only an IAM policy can allow", kinds=KEY)
def key_policy_cannot_control(facts: PolicyFacts) -> Iterator[Hit]:
    """CreateKey, ListKeys, ListAliases, GenerateRandom, custom key store operations... are not
    authorized against a key, so a key policy statement for them has no effect (semantics §2.2)."""
    for f in facts.statements:
        if f.not_action is not None:
            continue
        for i, pf in enumerate(f.pattern_facts):
            ineffective = pf.ineffective
            if not ineffective:
                continue
            p, expanded, explicit = pf.text, pf.expanded, pf.explicit
            if explicit or ineffective == expanded:
                iam_only = ineffective - {"kms:RetireGrant"}
                why = []
                if iam_only == {p} or (explicit and len(iam_only) == 1):
                    why.append("only an IAM policy can allow it")
                elif iam_only:
                    why.append(f"{actions_text(iam_only)} can only be allowed in an IAM policy")
                if "kms:RetireGrant" in ineffective:
                    # grant-manage.html: "The kms:RetireGrant permission is not effective in a key policy"
                    why.append("kms:RetireGrant is not effective in a key policy (the grant names who may "
                               "retire it)" if not explicit else "the permission is not effective in a key policy "
                               "(the grant names who may retire it)")
                yield Hit(
                    f"`{p}` in a key policy has no effect: " + "; ".join(why),
                    statement=f.index,
                    span=_value_span(f, i),
                    help="move the permission to an IAM policy of the principal" if iam_only
                    else "name the retiring principal in the grant instead",
                )


@rule("cross-account-impossible", Severity.WARNING,
      "another account is allowed an operation that KMS never permits across accounts", kinds=KEY)
def cross_account_impossible(facts: PolicyFacts) -> Iterator[Hit]:
    """Only the operations of semantics §2.2 CROSS_ACCOUNT_OK can use another account's key
    (KMS guide, key-policy-modifying-external-accounts.html#cross-account-use)."""
    if facts.owner is None:
        return
    for f in facts.statements:
        if not f.allow or f.not_action is not None or not f.aws_principals:
            continue
        external = sorted({a for a in map(account_of, f.aws_principals) if a is not None and facts.is_external(a)})
        if not external:
            continue
        for i, pf in enumerate(f.pattern_facts):
            impossible = pf.cross_impossible
            if impossible and (pf.explicit or impossible == pf.expanded):
                p = pf.text
                yield Hit(
                    f"`{p}` is allowed to account {', '.join(external)}, but "
                    f"{actions_text(impossible)} can never succeed on another account's key",
                    statement=f.index,
                    span=_value_span(f, i),
                    help="remove the action, or perform it from the key's own account",
                )


@cache
def _condition_key_names() -> tuple[str, ...]:
    return tuple(k.name for k in catalog.CONDITION_KEYS.values() if "${" not in k.name)


@cache
def _action_names() -> tuple[str, ...]:
    return tuple(sorted(knowledge.all_actions()))


@rule("unknown-condition-key", Severity.ERROR, "a kms: condition key that does not exist",
      kinds=KEY_AND_IAM)
def unknown_condition_key(facts: PolicyFacts) -> Iterator[Hit]:
    """Access Analyzer "Invalid service condition key": KMS never sets the key, so positive
    operators on it never match and negated ones always do."""
    for f in facts.statements:
        for c, low in zip(f.clauses, f.clause_keys, strict=True):
            if not low.startswith("kms:") or knowledge.condition_key(c.key) is not None:
                continue
            guess = _suggest(c.key, _condition_key_names())
            yield Hit(
                f"`{c.key}` is not a KMS condition key" + (f" (did you mean `{guess}`?)" if guess else ""),
                statement=f.index,
                span=c.span or f.span,
            )


@rule("condition-key-not-for-action", Severity.ERROR,
      "a condition key that KMS never sets for the actions in the statement", kinds=KEY_AND_IAM)
def condition_key_not_for_action(facts: PolicyFacts) -> Iterator[Hit]:
    """Access Analyzer "Unsupported action for condition key"; e.g. an encryption-context key on
    kms:DescribeKey makes an Allow unsatisfiable (KMS guide, conditions-kms.html)."""
    for f in facts.statements:
        if f.not_action is not None or not f.actions or not f.clauses:
            continue
        for c, low in zip(f.clauses, f.clause_keys, strict=True):
            if not low.startswith("kms:") or knowledge.condition_key(c.key) is None:
                continue
            if knowledge.key_supported_by_any(c.key, f.actions):
                continue
            yield Hit(
                f"KMS never sets `{c.key}` for {actions_text(f.actions, 4)}: "
                + ("this Allow can never apply" if f.allow and not _matches_absent(c)
                   else "the condition does not test what it seems to"),
                statement=f.index,
                span=c.span or f.span,
            )


def _matches_absent(c: ConditionClause) -> bool:
    """Whether the clause is true when its key is absent from the request."""
    if c.base == "Null":
        return any(str(v).lower() == "true" for v in c.values)
    return c.if_exists or c.qualifier == "ForAllValues" or knowledge.operator_negated(c.base)


@rule("key-policy-unsupported-condition", Severity.WARNING,
      "a condition key that KMS supports only in IAM policies", kinds=KEY)
def key_policy_unsupported_condition(facts: PolicyFacts) -> Iterator[Hit]:
    """`aws:ResourceTag/*` and `kms:ResourceAliases` are IAM-only (KMS guide abac.html, semantics §4.4)."""
    for f in facts.statements:
        for c in f.clauses:
            if not knowledge.key_supported_in(c.key, "key"):
                yield Hit(
                    f"`{c.key}` is not supported in key policies: KMS evaluates it only in IAM policies",
                    statement=f.index,
                    span=c.span or f.span,
                    help="move the tag or alias condition to the IAM policies that use the key",
                )


@rule("invalid-operator", Severity.ERROR, "a condition operator that does not exist", kinds=KEY_AND_IAM)
def invalid_operator(facts: PolicyFacts) -> Iterator[Hit]:
    for f in facts.statements:
        seen: set[str] = set()
        for c in f.clauses:
            if c.operator in seen:
                continue
            seen.add(c.operator)
            span = c.operator_span or c.span or f.span
            if c.base == "Null" and c.if_exists:
                yield Hit("`NullIfExists` does not exist: `Null` already tests whether the key is present",
                          statement=f.index, span=span)
            elif c.base == "Null" and c.qualifier is not None:
                yield Hit(f"`{c.operator}`: `Null` takes no set qualifier, it tests whether the key is present",
                          statement=f.index, span=span)
            elif knowledge.operator(c.operator) is None:
                guess = _suggest(c.base, _operator_names())
                yield Hit(
                    f"`{c.operator}` is not a condition operator"
                    + (f" (did you mean `{guess}`?)" if guess else ""),
                    statement=f.index, span=span,
                )


@cache
def _operator_names() -> tuple[str, ...]:
    return tuple(knowledge.conditions.OPERATORS)


# operator value type → the key types it can compare (IAM reference_policies_elements_datatypes.html)
_COMPATIBLE = {
    "Date": {"date", "numeric"},
    "Numeric": {"numeric", "date"},
    "Bool": {"bool", "boolean"},
    "IpAddress": {"ipaddress", "ip"},
    "Binary": {"binary"},
}


@rule("operator-type-mismatch", Severity.ERROR,
      "the operator's type does not fit the condition key's type", kinds=KEY_AND_IAM)
def operator_type_mismatch(facts: PolicyFacts) -> Iterator[Hit]:
    """A Date operator on a String key, Bool on a String key...: the comparison fails on every request
    (Access Analyzer "Data type mismatch")."""
    for f in facts.statements:
        for c in f.clauses:
            op_type = knowledge.operator_type(c.base)
            key_type = knowledge.key_type(c.key)
            if op_type not in _COMPATIBLE or key_type is None:
                continue
            if not knowledge.key_types(c.key) & _COMPATIBLE[op_type]:
                yield Hit(
                    f"`{c.operator}` compares {op_type} values but `{c.key}` is of type {key_type}",
                    statement=f.index,
                    span=c.operator_span or c.span or f.span,
                    help=f"use an operator for {key_type} values",
                )


def _needs_reading(c: ConditionClause) -> bool:
    """Whether compiling the clause can fail: a typed operator, or a value with a policy variable."""
    if knowledge.operator_type(c.base) not in ("String", "Arn"):
        return True
    return any(isinstance(v, str) and "${" in v for v in c.values)


@rule("invalid-condition-value", Severity.ERROR, "a condition value that its operator cannot read",
      kinds=KEY_AND_IAM)
def invalid_condition_value(facts: PolicyFacts) -> Iterator[Hit]:
    """The operator table compiles every value (numbers, dates, CIDRs, base64, policy variables) the
    way the evaluator does; whatever it cannot read fails closed at evaluation, so it is reported here."""
    variables = facts.policy.supports_variables
    for f in facts.statements:
        if not any(_needs_reading(c) for c in f.clauses):
            continue  # plain String/ARN values always compile: skip the work
        compiled = conditions.compile_condition(f.statement.condition, variables=variables)
        for c, cc in zip(f.clauses, compiled.clauses, strict=False):
            if cc.error is not None and knowledge.operator(c.operator) is not None:
                message = cc.error if f"`{c.operator}`" in cc.error else f"`{c.operator}` on `{c.key}`: {cc.error}"
                yield Hit(message, statement=f.index, span=c.span or f.span)
            elif knowledge.operator_type(c.base) == "Bool" and len({str(v).lower() for v in c.values}) > 1:
                yield Hit(f"`{c.operator}` on `{c.key}` lists both true and false: it matches every request "
                          "that has the key", statement=f.index, span=c.span or f.span)


@rule("missing-qualifier", Severity.ERROR,
      "a multivalued condition key used without ForAnyValue or ForAllValues", kinds=KEY_AND_IAM)
def missing_qualifier(facts: PolicyFacts) -> Iterator[Hit]:
    """Access Analyzer MISSING_QUALIFIER (`kms:GrantOperations`, `kms:EncryptionContextKeys`,
    `aws:TagKeys`...)."""
    for f in facts.statements:
        for c in f.clauses:
            if c.qualifier is None and c.base != "Null" and knowledge.key_multivalued(c.key):
                yield Hit(
                    f"`{c.key}` holds a set of values: write `ForAnyValue:{c.operator}` (some value "
                    f"matches) or `ForAllValues:{c.operator}` (every value matches)",
                    statement=f.index,
                    span=c.operator_span or c.span or f.span,
                )


@rule("wildcard-without-like", Severity.WARNING,
      "a wildcard in a value of an operator that does not expand wildcards", kinds=KEY_AND_IAM)
def wildcard_without_like(facts: PolicyFacts) -> Iterator[Hit]:
    for f in facts.statements:
        for c in f.clauses:
            if c.base not in ("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
                              "StringNotEqualsIgnoreCase"):
                continue
            wild = [v for v in c.values if isinstance(v, str) and "${" not in v and ("*" in v or "?" in v)]
            if wild:
                like = c.operator.replace("EqualsIgnoreCase", "Like").replace("Equals", "Like")
                yield Hit(
                    f"`{c.operator}` compares {', '.join(f'`{v}`' for v in wild)} literally: "
                    f"`*` and `?` are wildcards only with `{like}`",
                    statement=f.index,
                    span=c.span or f.span,
                )
