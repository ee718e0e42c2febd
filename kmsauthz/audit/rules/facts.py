"""What every rule needs to know about a statement, computed once per policy."""

from __future__ import annotations

import re
from functools import cached_property, lru_cache

from kmsauthz.audit import knowledge
from kmsauthz.audit.target import AuditTarget
from kmsauthz.model.policy import ConditionClause, Policy, Principal, Statement, ValueList
from kmsauthz.model.spans import Span

_ACCOUNT = re.compile(r"^\d{12}$")
_ARN_ACCOUNT = re.compile(r"^arn:[^:]+:(?:iam|sts)::(\d{12}|\*):(.*)$")

ADMIN_ACTIONS = frozenset({
    "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:DisableKey",
    "kms:EnableKey", "kms:DisableKeyRotation", "kms:EnableKeyRotation", "kms:RotateKeyOnDemand",
    "kms:DeleteImportedKeyMaterial", "kms:ImportKeyMaterial", "kms:UpdateKeyDescription",
    "kms:UpdatePrimaryRegion", "kms:ReplicateKey", "kms:TagResource", "kms:UntagResource",
})
"""Actions that change the key itself (KMS guide, key-policy-default.html, "Key administrators")."""

CRYPTO_ACTIONS = knowledge.crypto_actions()
_ALL_ACTIONS = knowledge.all_actions()
"""The cryptographic operations that use a key (KMS concepts.html, "cryptographic operations")."""


@lru_cache(maxsize=4096)
def account_of(value: str) -> str | None:
    """The account a Principal AWS value names: `111122223333`, an IAM/STS ARN; None for `*`."""
    if _ACCOUNT.match(value):
        return value
    m = _ARN_ACCOUNT.match(value)
    if m and m.group(1) != "*":
        return m.group(1)
    return None


@lru_cache(maxsize=4096)
def is_account_principal(value: str) -> bool:
    """A bare account id or `arn:aws:iam::ACCOUNT:root`: delegation to the account's IAM."""
    if _ACCOUNT.match(value):
        return True
    m = _ARN_ACCOUNT.match(value)
    return bool(m and m.group(2) == "root" and value.split(":")[2] == "iam")


@lru_cache(maxsize=4096)
def is_wildcard_principal(value: str) -> bool:
    """`*`, or an account wildcard such as `arn:aws:iam::*:root`."""
    if value == "*":
        return True
    m = _ARN_ACCOUNT.match(value)
    return bool(m and m.group(1) == "*")


class StatementFacts:
    """One statement and what the rules ask about it, computed eagerly (cheaper than lazy here).

    Every rule reads these instead of the model, so each fact is derived once per statement:
    the Action patterns with their catalog expansions, the principals by type, the condition keys.
    """

    __slots__ = ("action_list", "action_patterns", "actions", "allow", "aws_principals", "clause_keys", "clauses",
                 "condition_keys", "index", "not_action", "not_principal", "not_resource", "pattern_facts",
                 "pointer", "principal", "public", "resources_apply_to_key", "service_principals", "sid", "span",
                 "statement")

    def __init__(self, index: int, statement: Statement, pointer: str) -> None:
        self.index = index
        self.statement = statement
        self.pointer = pointer
        self.sid: str | None = statement.sid
        self.allow: bool = statement.effect == "Allow"
        self.span: Span | None = statement.span
        not_action = statement.not_action
        vl = statement.action if statement.action is not None else not_action
        self.action_list: ValueList | None = vl
        """`Action`, else `NotAction` (as `Statement.actions`)."""
        self.not_action: ValueList | None = not_action
        self.not_resource: ValueList | None = statement.not_resource
        patterns = vl.values if vl is not None else ()
        self.action_patterns: tuple[str, ...] = patterns
        pfs = tuple(map(knowledge.pattern, patterns))
        self.pattern_facts: tuple[knowledge.PatternFacts, ...] = pfs
        # knowledge.expand_all from the patterns' own expansions (its cache keyed by the whole list
        # mostly misses: statements rarely repeat a list)
        if len(pfs) == 1:
            covered = pfs[0].expanded
        else:
            covered = frozenset().union(*[pf.expanded for pf in pfs]) if pfs else frozenset()
        self.actions: frozenset[str] = _ALL_ACTIONS - covered if not_action is not None else covered
        p = statement.principal
        self.principal: Principal | None = p
        self.not_principal: Principal | None = statement.not_principal
        aws: tuple[str, ...] = ()
        service: tuple[str, ...] = ()
        public = False
        if p is not None:
            for e in p.entries:
                if e.type == "AWS":
                    aws += e.values.values
                elif e.type == "Service":
                    service += e.values.values
            public = p.wildcard or any(is_wildcard_principal(v) for v in aws)
        self.aws_principals = aws
        self.service_principals = service
        self.public: bool = public
        c = statement.condition
        clauses: tuple[ConditionClause, ...] = c.clauses if c is not None else ()
        self.clauses = clauses
        keys = tuple(cl.key.lower() for cl in clauses) if clauses else ()
        self.clause_keys: tuple[str, ...] = keys
        """Each clause's key, lower-case (condition keys compare case-insensitively)."""
        self.condition_keys: frozenset[str] = frozenset(keys)
        self.resources_apply_to_key: bool = _applies_to_key(statement)

    def covers(self, action: str) -> bool:
        return action in self.actions

    def clauses_on(self, *keys: str) -> list[ConditionClause]:
        if not self.clauses:
            return []
        wanted = {k.lower() for k in keys}
        if wanted.isdisjoint(self.condition_keys):
            return []
        return [c for c, k in zip(self.clauses, self.clause_keys, strict=True) if k in wanted]


def _applies_to_key(st: Statement) -> bool:
    """Whether Resource can name a KMS key (always for `*`; a key policy's Resource is its key)."""
    not_resource = st.not_resource
    if not_resource is not None:
        return "*" not in not_resource.values
    resource = st.resource
    if resource is None:
        return False
    values = resource.values
    return "*" in values or any(_names_a_key(v) for v in values)


@lru_cache(maxsize=1024)
def _names_a_key(value: str) -> bool:
    if value == "*":
        return True
    parts = value.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return False
    service, resource = parts[2], parts[5]
    if not knowledge.patterns.compile_wildcard(service, case_sensitive=False).match("kms"):
        return False
    return resource.startswith(("key/", "*", "k*", "ke*", "key*")) or resource == "*"


class PolicyFacts:
    """The statements of one target with their facts, and the key's owning account."""

    def __init__(self, target: AuditTarget) -> None:
        self.target = target
        policy = target.policy
        self.statements: list[StatementFacts] = []
        for i, st in enumerate(policy.statements):
            pointer = "/Statement" if not policy.statement_is_list else f"/Statement/{i}"
            self.statements.append(StatementFacts(i, st, pointer))

    @property
    def policy(self) -> Policy:
        return self.target.policy

    @cached_property
    def owner(self) -> str | None:
        """The key's account: given by the input, else inferred from who may administer the key."""
        if self.target.account:
            return self.target.account
        return infer_owner(self.statements)

    def is_external(self, account: str | None) -> bool:
        return account is not None and self.owner is not None and account != self.owner


def infer_owner(statements: list[StatementFacts]) -> str | None:
    """The account a standalone key policy most likely belongs to.

    The account root (or bare id) given `kms:PutKeyPolicy` without a condition is the owner in every
    default and console policy; failing that, the account of any principal that may administer the key.
    """
    candidates: list[str] = []
    fallback: list[str] = []
    for f in statements:
        if not f.allow or not f.covers("kms:PutKeyPolicy"):
            continue
        for v in f.aws_principals:
            acct = account_of(v)
            if acct is None:
                continue
            (candidates if is_account_principal(v) and not f.clauses else fallback).append(acct)
    for group in (candidates, fallback):
        if group:
            return max(dict.fromkeys(group), key=group.count)  # ties: the first named
    return None
