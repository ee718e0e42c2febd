"""Conditions that do not mean what they seem to: set qualifiers and absent keys."""

from __future__ import annotations

from collections.abc import Iterator

from kmsauthz.audit import knowledge
from kmsauthz.audit.findings import Severity
from kmsauthz.audit.rules._registry import KEY_AND_IAM, Hit, rule
from kmsauthz.audit.rules.facts import PolicyFacts
from kmsauthz.model.policy import ConditionClause

# Keys every KMS request on a key carries (semantics §4.1 presence "P", §4.2 "always"); any other
# key may be absent, and a negated operator is then true.
ALWAYS_PRESENT = frozenset({
    "kms:calleraccount", "kms:keyspec", "kms:keyusage", "kms:keyorigin", "kms:multiregion",
    "kms:customermasterkeyspec", "kms:customermasterkeyusage", "aws:principalaccount", "aws:principalarn",
    "aws:principaltype", "aws:userid", "aws:currenttime", "aws:epochtime", "aws:securetransport",
    "aws:requestedregion", "aws:viaawsservice", "aws:principalisawsservice", "aws:resourceaccount",
})


@rule("forallvalues-single-valued", Severity.SECURITY,
      "ForAllValues on a single-valued key in an Allow", kinds=KEY_AND_IAM)
def forallvalues_single_valued(facts: PolicyFacts) -> Iterator[Hit]:
    """Access Analyzer FORALLVALUES_WITH_SINGLE_VALUED_KEY: ForAllValues is true when the key is absent,
    so the Allow applies to requests without it."""
    for f in facts.statements:
        if not f.allow:
            continue
        for c in f.clauses:
            if c.qualifier != "ForAllValues" or knowledge.condition_key(c.key) is None:
                continue
            if knowledge.key_multivalued(c.key) or _kms_rejects(c.key):
                continue
            yield Hit(
                f"`{c.operator}` on single-valued `{c.key}` is also true when the request has no "
                f"`{c.key}`: drop `ForAllValues:` and write `{c.base}{'IfExists' if c.if_exists else ''}`",
                statement=f.index,
                span=c.operator_span or c.span or f.span,
            )


def _kms_rejects(key: str) -> bool:
    low = key.lower()
    return low.startswith("kms:encryptioncontext:") or low.startswith("aws:requesttag/")


@rule("forallvalues-rejected-by-kms", Severity.ERROR,
      "ForAllValues on an encryption-context or request-tag key, which KMS rejects", kinds=KEY_AND_IAM)
def forallvalues_rejected(facts: PolicyFacts) -> Iterator[Hit]:
    """KMS refuses such a policy with `OverlyPermissiveCondition` (KMS guide, conditions-kms.html
    #conditions-kms-encryption-context; semantics §4)."""
    for f in facts.statements:
        for c in f.clauses:
            if c.qualifier == "ForAllValues" and _kms_rejects(c.key):
                yield Hit(
                    f"KMS rejects `ForAllValues` with `{c.key}` (OverlyPermissiveCondition)",
                    statement=f.index,
                    span=c.operator_span or c.span or f.span,
                    help=f"use `{c.base}` without a qualifier",
                )


@rule("forallvalues-empty-set", Severity.SECURITY,
      "ForAllValues in an Allow without a guard against an empty or absent set", kinds=KEY_AND_IAM)
def forallvalues_empty_set(facts: PolicyFacts) -> Iterator[Hit]:
    """ForAllValues is vacuously true for a request without the key (IAM
    reference_policies_multi-value-conditions.html); pair it with `Null {key: false}`."""
    for f in facts.statements:
        if not f.allow:
            continue
        for c in f.clauses:
            if c.qualifier != "ForAllValues" or not knowledge.key_multivalued(c.key):
                continue
            low = c.key.lower()
            guarded = any(_requires_presence(g, low) for g in f.clauses if g is not c)
            if not guarded:
                yield Hit(
                    f"`{c.operator}` on `{c.key}` is also true when the request has no `{c.key}` "
                    "at all, so this Allow applies to such requests too",
                    statement=f.index,
                    span=c.operator_span or c.span or f.span,
                    help=f'add `"Null": {{"{c.key}": "false"}}` to the same condition block',
                )


# A clause on one of these keys can only match when the multivalued key is present too: an
# encryption-context pair means kms:EncryptionContextKeys is non-empty (conditions-kms.html).
_IMPLIES_PRESENCE = {"kms:encryptioncontextkeys": "kms:encryptioncontext:", "aws:tagkeys": "aws:requesttag/"}


def _requires_presence(g: ConditionClause, key: str) -> bool:
    """Whether clause `g` is false for a request without `key` (so it guards a ForAllValues on it)."""
    gk = g.key.lower()
    if g.base == "Null":
        return gk == key and all(str(v).lower() == "false" for v in g.values)
    if g.if_exists or g.qualifier == "ForAllValues" or knowledge.operator_negated(g.base):
        return False
    family = _IMPLIES_PRESENCE.get(key)
    return gk == key or (family is not None and gk.startswith(family))


@rule("negated-without-ifexists", Severity.WARNING,
      "a negated operator in an Allow on a key that may be absent", kinds=KEY_AND_IAM)
def negated_without_ifexists(facts: PolicyFacts) -> Iterator[Hit]:
    """A negated operator is true when the key is absent (IAM reference_policies_elements_condition
    _operators.html, "...IfExists"); in an Allow that widens access to requests without the key.
    Deny statements are not reported: there absence usually should deny."""
    for f in facts.statements:
        if not f.allow:
            continue
        for c in f.clauses:
            if c.if_exists or c.qualifier is not None or not knowledge.operator_negated(c.base):
                continue
            if c.key.lower() in ALWAYS_PRESENT or any(_requires_presence(g, c.key.lower()) for g in f.clauses
                                                       if g is not c and g.base == "Null"):
                continue
            yield Hit(
                f"`{c.operator}` on `{c.key}` is true for every request without `{c.key}`, so this "
                "Allow applies to them: write "
                f"`{c.operator}IfExists` if that is intended, or add `\"Null\": {{\"{c.key}\": \"false\"}}`",
                statement=f.index,
                span=c.operator_span or c.span or f.span,
            )
