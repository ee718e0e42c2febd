"""Who outside the account can reach the key, and what breaks the services acting for you."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kmsauthz.audit import knowledge
from kmsauthz.audit.findings import Severity
from kmsauthz.audit.rules._registry import KEY, Hit, rule
from kmsauthz.audit.rules._text import actions_text
from kmsauthz.audit.rules.facts import (
    CRYPTO_ACTIONS,
    PolicyFacts,
    StatementFacts,
    account_of,
    is_account_principal,
)
from kmsauthz.model.policy import PolicyKind

# Condition keys that tie a request to an account, an organization, a principal or a network
# (KMS guide key-policy-overview.html: never `"Principal": "*"` without one; semantics §1.7).
BOUNDING_KEYS = frozenset({
    "kms:calleraccount", "aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths",
    "aws:principalarn", "aws:userid", "aws:sourcevpce", "aws:sourcevpc", "aws:sourceaccount",
    "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths", "aws:principalservicename",
})
_POSITIVE = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"})
_NEGATED = frozenset({"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
                      "ArnNotLike"})
ACCOUNT_KEYS = ("kms:CallerAccount", "aws:PrincipalAccount")
NETWORK_KEYS = frozenset({"aws:sourcevpce", "aws:sourcevpc", "aws:sourceip", "aws:vpcsourceip"})
SERVICE_EXEMPTION_KEYS = frozenset({
    "aws:viaawsservice", "kms:viaservice", "aws:principalisawsservice", "aws:calledvia",
    "aws:calledviafirst", "aws:calledvialast",
})
SERVICE_USED = CRYPTO_ACTIONS | {"kms:CreateGrant", "kms:DescribeKey", "kms:ListGrants", "kms:RevokeGrant",
                                 "kms:RetireGrant"}
_ACCOUNT = re.compile(r"^\d{12}$")


def _bounding(f: StatementFacts) -> bool:
    for c, k in zip(f.clauses, f.clause_keys, strict=True):
        if k not in BOUNDING_KEYS or c.if_exists or c.qualifier == "ForAllValues":
            continue
        if c.base in _POSITIVE and not any(str(v) in ("*", "") for v in c.values):
            return True
    return False


def _perimeter_denies(facts: PolicyFacts, actions: frozenset[str]) -> bool:
    """A `Deny` of every principal outside an account/org/endpoint over at least these actions."""
    for d in facts.statements:
        if d.allow or not d.public or not actions <= d.actions:
            continue
        if any(k in BOUNDING_KEYS and c.base in _NEGATED for c, k in zip(d.clauses, d.clause_keys, strict=True)):
            return True
    return False


@rule("public-access", Severity.SECURITY,
      "anyone in any AWS account can use the key: Principal `*` without a bounding condition", kinds=KEY)
def public_access(facts: PolicyFacts) -> Iterator[Hit]:
    for f in facts.statements:
        if not f.allow or not f.public or not f.actions or _bounding(f):
            continue
        if _perimeter_denies(facts, f.actions):
            continue
        who = "`*`" if f.principal is not None and f.principal.wildcard else "an account wildcard"
        effective = knowledge.key_policy_subset(f.actions) or f.actions
        yield Hit(
            f"statement allows {who} {actions_text(effective)} with no condition that limits it to "
            "an account, organization or VPC endpoint",
            statement=f.index,
            span=f.principal.span if f.principal is not None else f.span,
            help="add a condition such as `StringEquals kms:CallerAccount` or `aws:PrincipalOrgID`, "
                 "or name the principals",
        )


def _condition_accounts(f: StatementFacts) -> list[str]:
    out: list[str] = []
    for c in f.clauses_on(*ACCOUNT_KEYS):
        if c.base in ("StringEquals", "StringLike") and not c.if_exists:
            out.extend(str(v) for v in c.values if _ACCOUNT.match(str(v)))
    return out


@rule("cross-account-access", Severity.WARNING, "the key policy grants access to another account", kinds=KEY)
def cross_account_access(facts: PolicyFacts) -> Iterator[Hit]:
    """Lists, per external account and statement, the actions that principal can perform cross-account."""
    if facts.owner is None:
        return
    for f in facts.statements:
        if not f.allow or not f.actions:
            continue
        usable = knowledge.cross_account_subset(f.actions)
        if not usable:
            continue
        via: dict[str, list[str]] = {}
        for p in f.aws_principals:
            acct = account_of(p)
            if acct is not None and facts.is_external(acct):
                via.setdefault(acct, []).append(p)
        if f.public:
            for acct in _condition_accounts(f):
                if facts.is_external(acct):
                    via.setdefault(acct, []).append("*")
        for acct, names in via.items():
            whom = "the account's IAM principals" if any(is_account_principal(n) for n in names) else \
                ", ".join(f"`{n}`" for n in names if n != "*") or "any principal of the account"
            yield Hit(
                f"account {acct} ({whom}) can call {actions_text(usable, 8)} on this key",
                statement=f.index,
                span=f.principal.span if f.principal is not None else f.span,
                help="confirm each external account and action is intended; suppress with a reason",
            )
        if f.public:
            for c in f.clauses_on("aws:PrincipalOrgID"):
                if c.base in ("StringEquals", "StringLike") and not c.if_exists:
                    orgs = ", ".join(str(v) for v in c.values)
                    yield Hit(
                        f"every account of organization {orgs} can call {actions_text(usable, 8)} on this key",
                        statement=f.index,
                        span=c.span or f.span,
                    )


@rule("create-grant-unbounded", Severity.SECURITY,
      "CreateGrant is allowed without kms:GrantIsForAWSResource or a limit on grant operations",
      kinds=KEY)
def create_grant_unbounded(facts: PolicyFacts) -> Iterator[Hit]:
    """A principal that may create any grant can hand every grantable operation to anyone (KMS guide
    grant-authorization.html; key-policy-default.html: console adds kms:GrantIsForAWSResource)."""
    for f in facts.statements:
        if not f.allow or not f.covers("kms:CreateGrant"):
            continue
        if f.aws_principals and not f.public and all(
            is_account_principal(p) and not facts.is_external(account_of(p)) for p in f.aws_principals
        ) and f.principal is not None and not f.service_principals:
            continue  # delegation to the key's own account: IAM policies decide
        if f.clauses_on("kms:GrantIsForAWSResource", "kms:GrantOperations"):
            continue
        if f.not_action is None and not any(
            p == "*" or p.lower() in ("kms:*", "kms:creategrant") for p in f.action_patterns
        ):
            continue  # only a partial wildcard (the console's `kms:Create*` for administrators)
        yield Hit(
            "statement allows `kms:CreateGrant` with no `kms:GrantIsForAWSResource` condition and no "
            "limit on `kms:GrantOperations`: the grantee can delegate any grantable operation to anyone",
            statement=f.index,
            span=f.action_list.span if f.action_list is not None else f.span,
            help='add `"Bool": {"kms:GrantIsForAWSResource": "true"}` or '
                 '`"ForAllValues:StringEquals": {"kms:GrantOperations": [...]}` with a Null guard',
        )


@rule("vpce-deny-without-service-exemption", Severity.WARNING,
      "a network Deny has no exemption for AWS services acting on the caller's behalf", kinds=KEY)
def vpce_deny(facts: PolicyFacts) -> Iterator[Hit]:
    """Calls AWS services make for you (EBS, S3, RDS...) do not come through your VPC endpoint or from
    your IP ranges (KMS guide, kms-vpc-endpoint.html#vpce-policy-condition; semantics §8)."""
    for f in facts.statements:
        if f.allow or f.condition_keys.isdisjoint(NETWORK_KEYS):
            continue
        network = [c for c, k in zip(f.clauses, f.clause_keys, strict=True) if k in NETWORK_KEYS
                   and (c.base in _NEGATED or c.base == "NotIpAddress")]
        if not network:
            continue
        hit_actions = f.actions & SERVICE_USED
        if not hit_actions:
            continue
        if not f.condition_keys.isdisjoint(SERVICE_EXEMPTION_KEYS):
            continue
        c = network[0]
        yield Hit(
            f"Deny on `{c.key}` also denies AWS services that call KMS for your principals "
            f"({actions_text(hit_actions, 4)}): their requests do not come through your endpoint or network",
            statement=f.index,
            span=c.span or f.span,
            help='add `"Bool": {"aws:ViaAWSService": "false"}` to the same condition block '
                 "(and `BoolIfExists aws:PrincipalIsAWSService false` for service principals)",
        )


@rule("iam-crypto-on-any-key", Severity.WARNING,
      "an IAM policy allows cryptographic operations on every KMS key, in every account",
      kinds=frozenset({PolicyKind.IDENTITY}))
def iam_crypto_any_key(facts: PolicyFacts) -> Iterator[Hit]:
    """KMS guide iam-policies-best-practices.html: limit `Resource` to the keys the principal needs.
    Permissions boundaries and session policies only cap access, so `*` there is usual."""
    for f in facts.statements:
        if not f.allow:
            continue
        use = f.actions & CRYPTO_ACTIONS
        res = f.statement.resource
        if not use or res is None:
            continue
        if not any(v == "*" or _any_account_key(v) for v in res.values):
            continue
        if any(c.key.lower() in ("aws:resourceaccount", "aws:resourceorgid", "kms:viaservice",
                                 "aws:resourcetag", "kms:resourcealiases")
               or c.key.lower().startswith("aws:resourcetag/") for c in f.clauses):
            continue
        yield Hit(
            f"statement allows {actions_text(use, 4)} on `Resource` "
            f"`{res.values[0] if len(res.values) == 1 else ', '.join(res.values)}`: that reaches every key "
            "whose key policy trusts this account, including other accounts' keys",
            statement=f.index,
            span=res.span or f.span,
            help="name the key ARNs, or add `StringEquals aws:ResourceAccount` / `kms:ViaService`",
        )


def _any_account_key(value: str) -> bool:
    parts = value.split(":", 5)
    return len(parts) == 6 and parts[2].lower() == "kms" and parts[4] in ("*", "")



# Keys that tie a service principal's request to your resource or account (confused-deputy
# protection, IAM confused-deputy.html); KMS services also put the resource in the encryption context
# (`kms:EncryptionContext:aws:logs:arn`, `...aws:cloudtrail:arn`), which the KMS guide uses instead.
SOURCE_KEYS = frozenset({"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths"})


@rule("service-principal-unbounded", Severity.SECURITY,
      "an AWS service principal is allowed without a condition on the resource it acts for", kinds=KEY)
def service_principal_unbounded(facts: PolicyFacts) -> Iterator[Hit]:
    """IAM Access Analyzer "Restrict access to service principal": without `aws:SourceArn`,
    `aws:SourceAccount` or an encryption-context condition, the service may use the key on behalf of
    any customer's resource (the confused deputy problem)."""
    for f in facts.statements:
        if not f.allow or not f.service_principals or f.aws_principals or not f.actions:
            continue
        if not f.actions & (CRYPTO_ACTIONS | {"kms:CreateGrant"}):
            continue
        bounded = any(
            (c.key.lower() in SOURCE_KEYS or c.key.lower().startswith("kms:encryptioncontext:"))
            and not c.if_exists and c.qualifier != "ForAllValues" and not knowledge.operator_negated(c.base)
            for c in f.clauses
        )
        if not bounded:
            services = ", ".join(f"`{s}`" for s in f.service_principals)
            yield Hit(
                f"{services} may use this key for any resource, including other customers': no condition on "
                "`aws:SourceArn`, `aws:SourceAccount` or the encryption context names yours",
                statement=f.index,
                span=f.principal.span if f.principal is not None else f.span,
                help="add `StringEquals aws:SourceAccount` (or `ArnLike aws:SourceArn`) with your account or "
                     "resource, or the service's encryption-context key",
            )
