"""Who can manage the key: the lockout check and separation of duties."""

from __future__ import annotations

from collections.abc import Iterator

from kmsauthz.audit.findings import Severity
from kmsauthz.audit.rules._registry import KEY, Hit, rule
from kmsauthz.audit.rules._text import actions_text, label
from kmsauthz.audit.rules.facts import (
    ADMIN_ACTIONS,
    CRYPTO_ACTIONS,
    PolicyFacts,
    is_account_principal,
    is_wildcard_principal,
)

# The actions that let a principal take the key away from everyone else (the console's
# "key administrators" set minus the read-only ones); holding one of them is administering.
STRONG_ADMIN = frozenset({
    "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DeleteImportedKeyMaterial",
    "kms:UpdatePrimaryRegion",
})


@rule("key-unmanageable", Severity.ERROR, "no principal could ever change this key policy again", kinds=KEY)
def key_unmanageable(facts: PolicyFacts) -> Iterator[Hit]:
    """KMS's lockout safety check refuses a key policy that would not let the caller run
    PutKeyPolicy later (KMS guide, key-policy-default.html#prevent-unmanageable-key; semantics §6.2)."""
    admins = [
        f for f in facts.statements
        if f.allow and f.covers("kms:PutKeyPolicy") and f.resources_apply_to_key
        and (f.aws_principals or (f.principal is not None and f.principal.wildcard))
    ]
    blocking = [
        f for f in facts.statements
        if not f.allow and f.covers("kms:PutKeyPolicy") and f.resources_apply_to_key and f.public
        and not f.clauses and f.not_principal is None
    ]
    policy_span = facts.policy.span
    if blocking:
        f = blocking[0]
        yield Hit(
            f"{label(f)} denies `kms:PutKeyPolicy` to every principal without a "
            "condition: nobody could change this key policy again, and KMS refuses it unless the "
            "lockout safety check is bypassed",
            statement=f.index,
            span=f.span,
            help="limit the Deny with a condition, or leave kms:PutKeyPolicy out of it",
        )
    elif not admins:
        yield Hit(
            "no statement allows `kms:PutKeyPolicy` to any principal: nobody could change this key "
            "policy again, and KMS refuses it unless the lockout safety check is bypassed",
            span=policy_span,
            pointer="/Statement",
            help="add the default statement that allows the key's account "
                 "(`arn:aws:iam::ACCOUNT:root`) `kms:*`, or name the key administrators",
        )


@rule("separation-of-duties", Severity.WARNING,
      "a principal can both administer the key and use it for cryptography", kinds=KEY)
def separation_of_duties(facts: PolicyFacts) -> Iterator[Hit]:
    """Administrators should not be key users and users should not administer (KMS guide,
    key-policy-default.html#key-policy-default-allow-administrators and #key-policy-users-crypto)."""
    admin: dict[str, set[str]] = {}
    crypto: dict[str, set[str]] = {}
    second_seen: dict[str, int] = {}
    order: list[str] = []
    for f in facts.statements:
        if not f.allow or not f.resources_apply_to_key:
            continue
        strong = f.actions & STRONG_ADMIN
        use = f.actions & CRYPTO_ACTIONS
        if not strong and not use:
            continue
        for p in f.aws_principals:
            if is_account_principal(p) or is_wildcard_principal(p):
                continue  # delegation to IAM, or a public grant (its own rule)
            had_admin, had_crypto = bool(admin.get(p)), bool(crypto.get(p))
            if strong:
                admin.setdefault(p, set()).update(f.actions & ADMIN_ACTIONS)
            if use:
                crypto.setdefault(p, set()).update(use)
            if admin.get(p) and crypto.get(p) and not (had_admin and had_crypto):
                second_seen[p] = f.index
                order.append(p)
    for p in order:
        f = facts.statements[second_seen[p]]
        yield Hit(
            f"`{p}` can administer this key ({actions_text(admin[p], 3)}) and also use it for "
            f"cryptography ({actions_text(crypto[p], 3)})",
            statement=f.index,
            span=f.statement.principal.span if f.statement.principal is not None else f.span,
            help="give administrators and key users separate principals (separation of duties)",
        )
