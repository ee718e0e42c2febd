"""The KMS catalog: every KMS operation, IAM action and condition key — one table, the single source of truth.

Pure data plus a few lookups; it imports nothing of kmsauthz. The evaluator, the audit rules, the policy
validator, the crypto core and ``docs/catalog.md`` all read it. Sources: ``shared/spec/semantics.md``
§2-§4 (which cites the AWS KMS Developer Guide, the Service Authorization Reference and the botocore
1.43.11 KMS model, whose operation docs carry the "Cross-account use" and "Required permissions" facts).

Vocabulary
----------
*Operation* records are keyed by IAM action (``kms:Decrypt``). Three kinds of entry exist:

- an API operation whose name is also an IAM action (``Decrypt`` ⇒ ``kms:Decrypt``): ``api`` and
  ``permission`` are both true;
- the API operation ``ReEncrypt``: ``api`` true, ``permission`` false — no policy can name
  ``kms:ReEncrypt``; it is authorized as ``kms:ReEncryptFrom`` on the source key and
  ``kms:ReEncryptTo`` on the destination key (see :attr:`Operation.authorizations`);
- permission-only actions (``kms:ReEncryptFrom``, ``kms:ReEncryptTo``, ``kms:SynchronizeMultiRegionKey``):
  ``api`` false, ``permission`` true.

*Authorizations* list what KMS checks for one call: usually the operation's own action on its key, but
two keys for ReEncrypt, alias + key(s) for the alias operations, two Regions for UpdatePrimaryRegion,
``kms:CreateKey`` in the replica Region for ReplicateKey.

*Sources* say where each condition key of an operation gets its value (see :class:`Source`), which is
also how the context builder knows that ``kms:KeySpec`` is the ``KeySpec`` request parameter for
``CreateKey`` but the key's own property for every other operation.

Action and condition-key names are case-insensitive, as in IAM; the ``*_ACTIONS`` frozensets below hold
the AWS spelling (``kms:Decrypt``), ``GRANT_OPERATIONS`` the grant-operation names (``Decrypt``); use
:func:`operation` / :func:`condition_key` for case-insensitive lookups.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "ACTIONS",
    "ALL_POLICY_KINDS",
    "API_OPERATIONS",
    "CONDITION_KEYS",
    "CROSS_ACCOUNT_ACTIONS",
    "CRYPTOGRAPHIC_ACTIONS",
    "ENCRYPTION_CONTEXT_ACTIONS",
    "GRANT_ACTIONS",
    "GRANT_OPERATIONS",
    "IAM_POLICY_KINDS",
    "KEY_POLICY_ACTIONS",
    "KEY_RESOURCE_KEYS",
    "KEY_RESOURCE_SOURCES",
    "OPERATIONS",
    "RESOURCELESS_ACTIONS",
    "Authorization",
    "ConditionKey",
    "Operation",
    "Source",
    "by_name",
    "condition_key",
    "expand_actions",
    "operation",
]

Resource = Literal["key", "alias"]
Origin = Literal["parameter", "key", "alias-used", "caller", "service", "derived", "fixed", "none"]

# Policy kinds, spelled as the values of kmsauthz.model.PolicyKind (not imported: the catalog is pure data).
ALL_POLICY_KINDS: frozenset[str] = frozenset(
    {"key", "identity", "permissions-boundary", "session", "scp", "rcp", "vpc-endpoint"}
)
IAM_POLICY_KINDS: frozenset[str] = ALL_POLICY_KINDS - {"key"}
"""Every kind but key policies: for keys KMS supports only in IAM policies (semantics §4.4)."""


# ---------------------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    """Where one condition key of one operation takes its value from.

    ``origin``:

    - ``parameter``: the request parameter ``field`` (KMS API spelling, e.g. ``EncryptionAlgorithm``,
      ``EncryptionContext``, ``Tags``, ``Constraints``); ``default`` is the value when the parameter is
      omitted, None meaning the key is then absent.
    - ``key``: a property of the KMS key being authorized, named as in the API's ``KeyMetadata``
      (``KeySpec``, ``KeyUsage``, ``Origin``, ``MultiRegion``,
      ``MultiRegionConfiguration.MultiRegionKeyType``), or ``Aliases`` / ``Tags`` of the key. Absent
      when the authorization has no key (the alias half of an alias operation).
    - ``alias-used``: the alias *name* used in the key-identifier parameter ``field`` (alias name or
      alias ARN); absent when the request named the key by key ID or key ARN.
    - ``caller``: the calling principal's ``field`` (``Account``).
    - ``service``: the AWS service calling on the principal's behalf: ``ViaService`` (its
      ``svc.region.amazonaws.com`` name, absent for direct calls) or ``IsForAWSResource``
      (``true`` with an integrated service, else ``default``).
    - ``derived``: computed from the request; ``field`` says how.
    - ``fixed``: always ``default``.
    - ``none``: documented by the Service Authorization Reference, but no API field in botocore
      1.43.11 feeds it: absent unless a scenario supplies it (semantics §11 U14).
    """

    origin: Origin
    field: str | None = None
    default: str | None = None


@dataclass(frozen=True, slots=True)
class Authorization:
    """One permission check KMS makes for a call; every check must allow.

    ``target`` is the request parameter naming the checked resource (``KeyId``, ``SourceKeyId``,
    ``DestinationKeyId``, ``TargetKeyId``, ``AliasName``), or ``AliasName:target`` for the key the alias
    points to before the call, or None for a resource-less check. ``region`` names the parameter holding
    the Region the check is made in (``ReplicaRegion``, ``PrimaryRegion``); None: the called Region.
    ``when`` names a parameter whose presence triggers the check (``Tags``). ``key_policy`` is false for
    checks only IAM policies can allow.
    """

    action: str
    resource: Resource | None
    target: str | None
    key_policy: bool
    region: str | None = None
    when: str | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """One KMS operation or IAM action (see the module docstring for the three kinds)."""

    name: str
    """API operation name (``Decrypt``), or the action's name for permission-only actions."""
    action: str
    """IAM action, ``kms:`` + name."""
    resource: Resource | None
    """What an IAM ``Resource`` names for it: ``key`` (key ARN), ``alias`` (alias ARN, plus the key(s)
    through their key policies, see ``authorizations``), or None: resource-less, ``"*"`` or an
    account/Region-scoped pattern."""
    cross_account: bool
    """Can succeed on a KMS key of another account (semantics §2.2 CROSS_ACCOUNT_OK)."""
    grant_operation: bool
    """May be listed in a grant's ``Operations`` (the model's ``GrantOperation`` enum)."""
    key_policy: bool
    """An Allow in a key policy (directly, or delegated to IAM) can permit it; false: IAM policies only
    (resource-less operations), or decided by the grant itself (RetireGrant, §3.6)."""
    uses_encryption_context: bool
    """Takes an encryption context, so a grant's EncryptionContextEquals/Subset constraint applies."""
    sources: Mapping[str, Source] = field(repr=False)
    """Condition key (catalog spelling) → where its value comes from, for every condition key the
    action supports."""
    authorizations: tuple[Authorization, ...]
    """The permission checks KMS makes for a call of this operation."""
    api: bool = True
    """An operation of the botocore KMS model (false: permission-only action)."""
    permission: bool = True
    """``action`` is an IAM action a policy can name (false only for ``kms:ReEncrypt``)."""
    key_id_forms: frozenset[str] = frozenset()
    """Accepted key identifiers: ``id``, ``arn``, ``alias-name``, ``alias-arn`` (empty: takes no key)."""
    accepts_grant_tokens: bool = False
    """Has a ``GrantTokens`` parameter."""
    cryptographic: bool = False
    """A KMS "cryptographic operation"."""
    rcp: bool = True
    """Resource control policies can restrict it (false only for ``kms:RetireGrant``)."""
    notes: str = ""
    condition_keys: frozenset[str] = field(init=False, repr=False)
    """The condition keys the action supports: exactly the keys of ``sources``."""
    parameters: Mapping[str, tuple[str, ...]] = field(init=False, repr=False)
    """Request parameter → the condition keys it feeds (from ``sources``), e.g.
    ``EncryptionAlgorithm`` → (``kms:EncryptionAlgorithm``,); ``EncryptionContext`` →
    (``kms:EncryptionContext:${EncryptionContextKey}``, ``kms:EncryptionContextKeys``)."""
    key_properties: Mapping[str, str] = field(init=False, repr=False)
    """Condition key → the key property it reads (the ``key`` sources)."""

    def __post_init__(self) -> None:
        params: dict[str, list[str]] = {}
        for key, src in self.sources.items():
            if src.origin == "parameter" and src.field:
                params.setdefault(src.field, []).append(key)
        object.__setattr__(self, "condition_keys", frozenset(self.sources))
        object.__setattr__(
            self, "parameters", MappingProxyType({p: tuple(keys) for p, keys in params.items()})
        )
        object.__setattr__(
            self,
            "key_properties",
            MappingProxyType({k: s.field for k, s in self.sources.items() if s.origin == "key" and s.field}),
        )

    @property
    def required_actions(self) -> tuple[str, ...]:
        """The distinct IAM actions checked for a call, in check order."""
        return tuple(dict.fromkeys(a.action for a in self.authorizations))


@dataclass(frozen=True, slots=True)
class ConditionKey:
    """One condition key: a ``kms:*`` key, or a global ``aws:*`` key relevant to KMS.

    ``name`` is AWS's spelling; a family of keys is written with a ``${...}`` placeholder
    (``kms:EncryptionContext:${EncryptionContextKey}``, ``aws:ResourceTag/${TagKey}``) and matches
    every name with that prefix (see :func:`condition_key`).
    """

    name: str
    type: str
    """IAM condition type: ``String``, ``ARN``, ``Bool``, ``Date``, ``Numeric``, ``IPAddress``, or
    ``ArrayOfString`` for multivalued keys."""
    multivalued: bool
    global_: bool
    """An ``aws:`` global key."""
    actions: frozenset[str] | None
    """The actions (AWS spelling) for which KMS sets it; None: every request, subject to
    ``availability``."""
    availability: str
    """When the key is present, in words."""
    policy_kinds: frozenset[str] = ALL_POLICY_KINDS
    """Policy kinds in which the key is supported (``model.PolicyKind`` values)."""
    alt_types: frozenset[str] = frozenset()
    """Further condition types AWS accepts for it (``aws:EpochTime`` is Date and Numeric)."""
    same_as: str | None = None
    """For a deprecated alias, the key it equals (``kms:CustomerMasterKeySpec`` → ``kms:KeySpec``)."""
    suffix_range: tuple[int, int] | None = None
    """For numbered families (PCRs): the inclusive range of the number after the prefix."""

    @property
    def prefix(self) -> str | None:
        """For a family, the fixed part before the placeholder; None for a single key."""
        head, sep, _ = self.name.partition("${")
        return head if sep else None

    @property
    def value_type(self) -> str:
        """The type of one value: ``String`` for ``ArrayOfString``."""
        return self.type.removeprefix("ArrayOf")

    def applies_to(self, action: str) -> bool:
        """Whether KMS may set this key for ``action`` (case-insensitive)."""
        if self.actions is None:
            return True
        op = operation(action)
        return op is not None and op.action in self.actions


# ---------------------------------------------------------------------------------------------------------
# Condition-key sources shared by many operations
# ---------------------------------------------------------------------------------------------------------

_EC = "kms:EncryptionContext:${EncryptionContextKey}"
_ECK = "kms:EncryptionContextKeys"
_RESOURCE_TAG = "aws:ResourceTag/${TagKey}"
_REQUEST_TAG = "aws:RequestTag/${TagKey}"
_TAG_KEYS = "aws:TagKeys"
_ATTESTATION = (
    "kms:RecipientAttestation:ImageSha384",
    "kms:RecipientAttestation:PCR${PcrIndex}",
    "kms:RecipientAttestation:NitroTPMPCR${PcrIndex}",
)

_CALLER = {"kms:CallerAccount": Source("caller", "Account")}
_VIA = {"kms:ViaService": Source("service", "ViaService")}
_KEY_PROPS = {
    _RESOURCE_TAG: Source("key", "Tags"),
    "kms:KeyOrigin": Source("key", "Origin"),
    "kms:KeySpec": Source("key", "KeySpec"),
    "kms:CustomerMasterKeySpec": Source("key", "KeySpec"),
    "kms:KeyUsage": Source("key", "KeyUsage"),
    "kms:CustomerMasterKeyUsage": Source("key", "KeyUsage"),
    "kms:MultiRegion": Source("key", "MultiRegion"),
    "kms:MultiRegionKeyType": Source("key", "MultiRegionConfiguration.MultiRegionKeyType"),
    "kms:ResourceAliases": Source("key", "Aliases"),
}
_K = {**_KEY_PROPS, **_CALLER, **_VIA}
KEY_RESOURCE_SOURCES: Mapping[str, Source] = MappingProxyType(_K)
"""semantics §2 "K": the condition keys of every operation authorized against a KMS key, and their sources."""
KEY_RESOURCE_KEYS: frozenset[str] = frozenset(_K)


def _ec(param: str = "EncryptionContext") -> dict[str, Source]:
    return {_EC: Source("parameter", param), _ECK: Source("parameter", param)}


def _alg(param: str | None = "EncryptionAlgorithm") -> dict[str, Source]:
    if param is None:  # data-key operations: no parameter, always the symmetric algorithm
        return {"kms:EncryptionAlgorithm": Source("fixed", None, "SYMMETRIC_DEFAULT")}
    return {"kms:EncryptionAlgorithm": Source("parameter", param, "SYMMETRIC_DEFAULT")}


def _alias_used(param: str = "KeyId") -> dict[str, Source]:
    return {"kms:RequestAlias": Source("alias-used", param)}


_RA = {name: Source("parameter", "Recipient.AttestationDocument") for name in _ATTESTATION}


def _p(*names: str, **renamed: str) -> dict[str, Source]:
    """Condition keys fed by the same-named request parameter (``kms:X`` ← ``X``), or renamed."""
    out = {f"kms:{n}": Source("parameter", n) for n in names}
    out.update({f"kms:{k}": Source("parameter", v) for k, v in renamed.items()})
    return out


_ALL_IDS = frozenset({"id", "arn", "alias-name", "alias-arn"})
_KEY_IDS = frozenset({"id", "arn"})


# ---------------------------------------------------------------------------------------------------------
# The operation table
# ---------------------------------------------------------------------------------------------------------


def _key_op(
    name: str,
    extra: Mapping[str, Source] | None = None,
    *,
    cross_account: bool = False,
    grant: bool = False,
    ids: frozenset[str] = _KEY_IDS,
    ec: bool = False,
    tokens: bool = False,
    crypto: bool = False,
    key_policy: bool = True,
    authorizations: tuple[Authorization, ...] | None = None,
    api: bool = True,
    permission: bool = True,
    rcp: bool = True,
    base: Mapping[str, Source] = _K,
    notes: str = "",
) -> Operation:
    action = f"kms:{name}"
    return Operation(
        name=name,
        action=action,
        resource="key",
        cross_account=cross_account,
        grant_operation=grant,
        key_policy=key_policy,
        uses_encryption_context=ec,
        sources=MappingProxyType({**base, **(extra or {})}),
        authorizations=authorizations or (Authorization(action, "key", "KeyId", key_policy),),
        api=api,
        permission=permission,
        key_id_forms=ids,
        accepts_grant_tokens=tokens,
        cryptographic=crypto,
        rcp=rcp,
        notes=notes,
    )


def _crypto(name: str, extra: Mapping[str, Source], *, ec: bool = False, **kw: object) -> Operation:
    """A cryptographic operation on a key: cross-account, grantable, any key identifier, grant tokens."""
    return _key_op(
        name,
        {**extra, **_alias_used()},
        cross_account=True,
        grant=True,
        ids=_ALL_IDS,
        ec=ec,
        tokens=True,
        crypto=True,
        **kw,  # type: ignore[arg-type]
    )


def _resourceless(
    name: str,
    sources: Mapping[str, Source] | None = None,
    *,
    authorizations: tuple[Authorization, ...] | None = None,
    ids: frozenset[str] = frozenset(),
    crypto: bool = False,
    notes: str = "",
) -> Operation:
    action = f"kms:{name}"
    return Operation(
        name=name,
        action=action,
        resource=None,
        cross_account=False,
        grant_operation=False,
        key_policy=False,
        uses_encryption_context=False,
        sources=MappingProxyType(dict(sources or {})),
        authorizations=authorizations or (Authorization(action, None, None, False),),
        key_id_forms=ids,
        cryptographic=crypto,
        notes=notes,
    )


def _alias_op(name: str, key_checks: tuple[Authorization, ...], notes: str) -> Operation:
    action = f"kms:{name}"
    return Operation(
        name=name,
        action=action,
        resource="alias",
        cross_account=False,
        grant_operation=False,
        key_policy=True,
        uses_encryption_context=False,
        sources=MappingProxyType(dict(_K)),
        authorizations=(Authorization(action, "alias", "AliasName", False), *key_checks),
        key_id_forms=_KEY_IDS if any(a.target == "TargetKeyId" for a in key_checks) else frozenset(),
        notes=notes,
    )


_CUSTOM_KEY_STORE_OPS = (
    "ConnectCustomKeyStore",
    "CreateCustomKeyStore",
    "DeleteCustomKeyStore",
    "DescribeCustomKeyStores",
    "DisconnectCustomKeyStore",
    "UpdateCustomKeyStore",
)

_REENCRYPT_FROM = Authorization("kms:ReEncryptFrom", "key", "SourceKeyId", True)
_REENCRYPT_TO = Authorization("kms:ReEncryptTo", "key", "DestinationKeyId", True)
_SAME_KEY = {"kms:ReEncryptOnSameKey": Source("derived", "SourceKeyId and DestinationKeyId name one key")}
_REENCRYPT_FROM_SOURCES = {
    **_alg("SourceEncryptionAlgorithm"),
    **_ec("SourceEncryptionContext"),
    **_SAME_KEY,
    **_alias_used("SourceKeyId"),
}
_REENCRYPT_TO_SOURCES = {
    **_alg("DestinationEncryptionAlgorithm"),
    **_ec("DestinationEncryptionContext"),
    **_SAME_KEY,
    **_alias_used("DestinationKeyId"),
}
_PER_AUTHORIZATION = Source("derived", "per check: see kms:ReEncryptFrom and kms:ReEncryptTo")
_GRANT_IS_FOR_AWS = {"kms:GrantIsForAWSResource": Source("service", "IsForAWSResource", "false")}

_TABLE: tuple[Operation, ...] = (
    _key_op("CancelKeyDeletion"),
    *(
        _resourceless(n, _CALLER, notes="custom key store operation: IAM policy only")
        for n in _CUSTOM_KEY_STORE_OPS
    ),
    _alias_op(
        "CreateAlias",
        (Authorization("kms:CreateAlias", "key", "TargetKeyId", True),),
        "IAM permission on the alias ARN and key-policy permission on the target key",
    ),
    _key_op(
        "CreateGrant",
        {
            **_ec("Constraints"),
            "kms:GrantConstraintType": Source("parameter", "Constraints"),
            **_GRANT_IS_FOR_AWS,
            **_p(GrantOperations="Operations"),
            **_p("GranteePrincipal", "RetiringPrincipal"),
            "kms:GrantConstraintSourceArn": Source("none"),
            "kms:GranteeServicePrincipal": Source("none"),
            "kms:RetiringServicePrincipal": Source("none"),
        },
        cross_account=True,
        grant=True,
        tokens=True,
        notes="cross-account with the key ARN; EncryptionContext keys come from the constraint map",
    ),
    _resourceless(
        "CreateKey",
        {
            _REQUEST_TAG: Source("parameter", "Tags"),
            _TAG_KEYS: Source("parameter", "Tags"),
            "kms:BypassPolicyLockoutSafetyCheck": Source("parameter", "BypassPolicyLockoutSafetyCheck"),
            **_CALLER,
            "kms:KeyOrigin": Source("parameter", "Origin", "AWS_KMS"),
            "kms:KeySpec": Source("parameter", "KeySpec", "SYMMETRIC_DEFAULT"),
            "kms:CustomerMasterKeySpec": Source("parameter", "KeySpec", "SYMMETRIC_DEFAULT"),
            "kms:KeyUsage": Source("parameter", "KeyUsage", "ENCRYPT_DECRYPT"),
            "kms:CustomerMasterKeyUsage": Source("parameter", "KeyUsage", "ENCRYPT_DECRYPT"),
            "kms:MultiRegion": Source("parameter", "MultiRegion", "false"),
            "kms:MultiRegionKeyType": Source("derived", "PRIMARY when MultiRegion is true, else absent"),
            **_VIA,
        },
        authorizations=(
            Authorization("kms:CreateKey", None, None, False),
            Authorization("kms:TagResource", None, None, False, when="Tags"),
        ),
        notes="the key's properties come from the request; kms:TagResource too with Tags (U21: not kms:PutKeyPolicy)",
    ),
    _crypto("Decrypt", {**_alg(), **_ec(), **_RA}, ec=True, notes="KeyId optional for symmetric ciphertext"),
    _alias_op(
        "DeleteAlias",
        (Authorization("kms:DeleteAlias", "key", "AliasName:target", True),),
        "IAM permission on the alias ARN and key-policy permission on the key it points to",
    ),
    _key_op("DeleteImportedKeyMaterial"),
    _crypto("DeriveSharedSecret", {**_p("KeyAgreementAlgorithm"), **_RA}),
    _key_op("DescribeKey", _alias_used(), cross_account=True, grant=True, ids=_ALL_IDS, tokens=True),
    _key_op("DisableKey", {"kms:TrailingDaysWithoutKeyUsage": Source("none")}),
    _key_op("DisableKeyRotation"),
    _key_op("EnableKey"),
    _key_op("EnableKeyRotation", _p("RotationPeriodInDays")),
    _crypto("Encrypt", {**_alg(), **_ec()}, ec=True),
    _crypto("GenerateDataKey", {**_alg(None), **_ec(), **_RA}, ec=True),
    _crypto(
        "GenerateDataKeyPair",
        {**_p(DataKeyPairSpec="KeyPairSpec"), **_alg(None), **_ec(), **_RA},
        ec=True,
    ),
    _crypto(
        "GenerateDataKeyPairWithoutPlaintext",
        {**_p(DataKeyPairSpec="KeyPairSpec"), **_alg(None), **_ec()},
        ec=True,
    ),
    _crypto("GenerateDataKeyWithoutPlaintext", {**_alg(None), **_ec()}, ec=True),
    _crypto("GenerateMac", _p("MacAlgorithm")),
    _resourceless(
        "GenerateRandom",
        _RA,
        crypto=True,
        notes="uses no account resource (cross-account: not applicable)",
    ),
    _key_op("GetKeyLastUsage"),
    _key_op("GetKeyPolicy"),
    _key_op("GetKeyRotationStatus", cross_account=True, notes="cross-account with the key ARN"),
    _key_op("GetParametersForImport", _p("WrappingAlgorithm", "WrappingKeySpec")),
    _key_op("GetPublicKey", _alias_used(), cross_account=True, grant=True, ids=_ALL_IDS, tokens=True),
    _key_op("ImportKeyMaterial", _p("ExpirationModel", "ValidTo")),
    _resourceless(
        "ListAliases",
        ids=_KEY_IDS,
        notes="lists the caller's account only; optional KeyId filter",
    ),
    _key_op("ListGrants", _GRANT_IS_FOR_AWS, cross_account=True, notes="cross-account with the key ARN"),
    _key_op("ListKeyPolicies"),
    _key_op("ListKeyRotations"),
    _resourceless("ListKeys"),
    _key_op("ListResourceTags"),
    _resourceless(
        "ListRetirableGrants",
        notes="authorized in the caller's account (the resource is the retiring principal); "
        "may list grants on other accounts' keys",
    ),
    _key_op("PutKeyPolicy", _p("BypassPolicyLockoutSafetyCheck")),
    _key_op(
        "ReEncrypt",
        {k: _PER_AUTHORIZATION for k in (*_REENCRYPT_FROM_SOURCES, *_REENCRYPT_TO_SOURCES)},
        cross_account=True,
        ids=_ALL_IDS,
        ec=True,
        tokens=True,
        crypto=True,
        permission=False,
        authorizations=(_REENCRYPT_FROM, _REENCRYPT_TO),
        notes="two authorizations: kms:ReEncryptFrom on the source key (SourceKeyId optional for "
        "symmetric ciphertext), kms:ReEncryptTo on the destination key; either may be in another account",
    ),
    _key_op(
        "ReEncryptFrom",
        _REENCRYPT_FROM_SOURCES,
        cross_account=True,
        grant=True,
        ids=_ALL_IDS,
        ec=True,
        tokens=True,
        crypto=True,
        api=False,
        authorizations=(_REENCRYPT_FROM,),
        notes="permission-only: ReEncrypt's check on the source key (U8: source encryption context and algorithm)",
    ),
    _key_op(
        "ReEncryptTo",
        _REENCRYPT_TO_SOURCES,
        cross_account=True,
        grant=True,
        ids=_ALL_IDS,
        ec=True,
        tokens=True,
        crypto=True,
        api=False,
        authorizations=(_REENCRYPT_TO,),
        notes="permission-only: ReEncrypt's check on the destination key (U8: destination encryption context and algorithm)",
    ),
    _key_op(
        "ReplicateKey",
        {
            **_p("ReplicaRegion"),
            _REQUEST_TAG: Source("parameter", "Tags"),
            _TAG_KEYS: Source("parameter", "Tags"),
        },
        authorizations=(
            Authorization("kms:ReplicateKey", "key", "KeyId", True),
            Authorization("kms:CreateKey", None, None, False, region="ReplicaRegion"),
            Authorization("kms:TagResource", None, None, False, region="ReplicaRegion", when="Tags"),
        ),
        notes="kms:ReplicateKey on the primary key, kms:CreateKey (and kms:TagResource with Tags) "
        "in an IAM policy in the replica Region",
    ),
    _key_op(
        "RetireGrant",
        {_EC: Source("none"), _ECK: Source("none"), "kms:GrantConstraintType": Source("none")},
        cross_account=True,
        grant=True,
        key_policy=False,
        rcp=False,
        notes="decided by the grant (retiring principal, grantee with RetireGrant, issuing account); "
        "kms:RetireGrant in a key policy is not effective, in IAM it delegates or denies (§3.6); "
        "identified by GrantToken, or KeyId (key ARN cross-account) + GrantId",
    ),
    _key_op("RevokeGrant", _GRANT_IS_FOR_AWS, cross_account=True, notes="cross-account with the key ARN"),
    _key_op("RotateKeyOnDemand"),
    _key_op(
        "ScheduleKeyDeletion",
        {
            **_p(ScheduleKeyDeletionPendingWindowInDays="PendingWindowInDays"),
            "kms:TrailingDaysWithoutKeyUsage": Source("none"),
        },
    ),
    _crypto("Sign", {**_p("SigningAlgorithm"), "kms:MessageType": Source("parameter", "MessageType", "RAW")}),
    _key_op(
        "SynchronizeMultiRegionKey",
        base=_KEY_PROPS,
        key_policy=False,
        api=False,
        notes="permission-only: used by the KMS service-linked role to synchronize multi-Region keys",
    ),
    _key_op(
        "TagResource",
        {_REQUEST_TAG: Source("parameter", "Tags"), _TAG_KEYS: Source("parameter", "Tags")},
    ),
    _key_op("UntagResource", {_TAG_KEYS: Source("parameter", "TagKeys")}),
    _alias_op(
        "UpdateAlias",
        (
            Authorization("kms:UpdateAlias", "key", "AliasName:target", True),
            Authorization("kms:UpdateAlias", "key", "TargetKeyId", True),
        ),
        "IAM permission on the alias ARN and key-policy permission on the current and the new target key",
    ),
    _key_op("UpdateKeyDescription"),
    _key_op(
        "UpdatePrimaryRegion",
        _p("PrimaryRegion"),
        authorizations=(
            Authorization("kms:UpdatePrimaryRegion", "key", "KeyId", True),
            Authorization("kms:UpdatePrimaryRegion", "key", "KeyId", True, region="PrimaryRegion"),
        ),
        notes="on the current primary key and on the replica in PrimaryRegion, each by its own key policy",
    ),
    _crypto(
        "Verify", {**_p("SigningAlgorithm"), "kms:MessageType": Source("parameter", "MessageType", "RAW")}
    ),
    _crypto("VerifyMac", _p("MacAlgorithm")),
)

OPERATIONS: Mapping[str, Operation] = MappingProxyType(
    {op.action.lower(): op for op in sorted(_TABLE, key=lambda o: o.name)}
)
"""Every operation and action, keyed by lower-case IAM action (``kms:decrypt``)."""

API_OPERATIONS: Mapping[str, Operation] = MappingProxyType(
    {op.name: op for op in OPERATIONS.values() if op.api}
)
"""The botocore KMS model's operations, keyed by API name (``Decrypt``)."""


def _actions(pred: Callable[[Operation], bool]) -> frozenset[str]:
    return frozenset(op.action for op in OPERATIONS.values() if pred(op))


ACTIONS = _actions(lambda op: op.permission)
"""Every IAM action of KMS (what a policy's ``Action`` can name)."""
GRANT_ACTIONS = _actions(lambda op: op.grant_operation)
"""The actions of the 17 grant operations (``kms:Decrypt``)."""
GRANT_OPERATIONS: frozenset[str] = frozenset(a.removeprefix("kms:") for a in GRANT_ACTIONS)
"""The 17 grant operations as a grant's ``Operations`` lists them: the model's ``GrantOperation`` enum
(``Decrypt``, ``ReEncryptFrom``...), no ``kms:`` prefix; :func:`by_name` gives their records."""
CROSS_ACCOUNT_ACTIONS = _actions(lambda op: op.cross_account)
"""Actions that can succeed on another account's KMS key (semantics §2.2 CROSS_ACCOUNT_OK)."""
RESOURCELESS_ACTIONS = _actions(lambda op: op.resource is None)
"""Actions authorized without a KMS key or alias: IAM ``Resource`` is ``*`` or an account pattern."""
KEY_POLICY_ACTIONS = _actions(lambda op: op.key_policy)
"""Actions a key-policy Allow can permit (the "KP" rows)."""
CRYPTOGRAPHIC_ACTIONS = _actions(lambda op: op.cryptographic)
ENCRYPTION_CONTEXT_ACTIONS = _actions(lambda op: op.uses_encryption_context)


def operation(action: str) -> Operation | None:
    """The record of an IAM action or API action name with its ``kms:`` prefix, case-insensitive."""
    return OPERATIONS.get(action.lower())


def by_name(name: str) -> Operation | None:
    """The record for an operation or grant-operation name without prefix (``Decrypt``), exact case."""
    op = OPERATIONS.get(f"kms:{name}".lower())
    return op if op is not None and op.name == name else None


def expand_actions(pattern: str) -> tuple[Operation, ...]:
    """The IAM actions an ``Action`` pattern with ``*``/``?`` matches, case-insensitive, sorted.

    Only real IAM actions (``permission``) match: ``kms:ReEncrypt*`` gives ReEncryptFrom and ReEncryptTo,
    never the API operation ReEncrypt. A pattern of another service matches nothing.
    """
    rx = re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()),
        re.DOTALL,
    )
    return tuple(op for key, op in OPERATIONS.items() if op.permission and rx.fullmatch(key))


# ---------------------------------------------------------------------------------------------------------
# The condition-key table
# ---------------------------------------------------------------------------------------------------------

_KEY_RESOURCE = "operations authorized against a KMS key"


def _kms(
    name: str,
    type_: str,
    availability: str,
    *,
    policy_kinds: frozenset[str] = ALL_POLICY_KINDS,
    alt_types: Iterable[str] = (),
    same_as: str | None = None,
    suffix_range: tuple[int, int] | None = None,
) -> ConditionKey:
    return ConditionKey(
        name=name,
        type=type_,
        multivalued=type_.startswith("ArrayOf"),
        global_=False,
        actions=frozenset(op.action for op in OPERATIONS.values() if name in op.sources),
        availability=availability,
        policy_kinds=policy_kinds,
        alt_types=frozenset(alt_types),
        same_as=same_as,
        suffix_range=suffix_range,
    )


def _aws(
    name: str,
    type_: str,
    availability: str,
    *,
    per_action: bool = False,
    policy_kinds: frozenset[str] = ALL_POLICY_KINDS,
    alt_types: Iterable[str] = (),
) -> ConditionKey:
    actions = frozenset(op.action for op in OPERATIONS.values() if name in op.sources) if per_action else None
    return ConditionKey(
        name=name,
        type=type_,
        multivalued=type_.startswith("ArrayOf"),
        global_=True,
        actions=actions,
        availability=availability,
        policy_kinds=policy_kinds,
        alt_types=frozenset(alt_types),
    )


_ATTESTATION_TEXT = "with a Nitro Enclaves attestation document in the Recipient parameter; absent otherwise"

_KEYS: tuple[ConditionKey, ...] = (
    # --- kms: keys (semantics §4.1, §3.7) ---
    _kms(
        "kms:BypassPolicyLockoutSafetyCheck",
        "Bool",
        "the request flag; absent when not sent (CreateKey: IAM policies only — no key policy exists yet)",
    ),
    _kms("kms:CallerAccount", "String", "always, for the operations listed: the caller's account ID"),
    _kms(
        "kms:CustomerMasterKeySpec",
        "String",
        "deprecated name of kms:KeySpec, same value",
        same_as="kms:KeySpec",
    ),
    _kms(
        "kms:CustomerMasterKeyUsage",
        "String",
        "deprecated name of kms:KeyUsage, same value",
        same_as="kms:KeyUsage",
    ),
    _kms("kms:DataKeyPairSpec", "String", "the KeyPairSpec parameter (required)"),
    _kms(
        "kms:EncryptionAlgorithm",
        "String",
        "the EncryptionAlgorithm parameter, or SYMMETRIC_DEFAULT when omitted and for the data-key "
        "operations: always present",
    ),
    _kms(
        _EC,
        "String",
        "one key per encryption-context pair of the request (CreateGrant: of the grant's constraint); "
        "the part after the prefix is case-insensitive; absent when the pair is absent",
    ),
    _kms(
        _ECK, "ArrayOfString", "the request's encryption-context keys; absent without an encryption context"
    ),
    _kms("kms:ExpirationModel", "String", "the ExpirationModel parameter; absent when omitted"),
    _kms(
        "kms:GrantConstraintSourceArn",
        "ARN",
        "listed by the 2026 Service Authorization Reference; no request field in botocore 1.43.11: absent (U14)",
    ),
    _kms(
        "kms:GrantConstraintType",
        "String",
        "EncryptionContextEquals or EncryptionContextSubset from the Constraints parameter; absent without "
        "constraints (RetireGrant: listed by the SAR, no request field: absent)",
    ),
    _kms(
        "kms:GrantIsForAWSResource",
        "Bool",
        "true when an AWS service integrated with KMS calls on the principal's behalf, else false",
    ),
    _kms("kms:GrantOperations", "ArrayOfString", "the Operations parameter of CreateGrant"),
    _kms("kms:GranteePrincipal", "String", "the GranteePrincipal parameter"),
    _kms(
        "kms:GranteeServicePrincipal",
        "String",
        "listed by the 2026 Service Authorization Reference; no request field in botocore 1.43.11: absent (U14)",
    ),
    _kms("kms:KeyAgreementAlgorithm", "String", "the KeyAgreementAlgorithm parameter (ECDH)"),
    _kms(
        "kms:KeyOrigin",
        "String",
        f"CreateKey: the Origin parameter, default AWS_KMS (IAM policies only); {_KEY_RESOURCE}: the key's origin",
    ),
    _kms(
        "kms:KeySpec",
        "String",
        f"CreateKey: the KeySpec parameter, default SYMMETRIC_DEFAULT (IAM policies only); "
        f"{_KEY_RESOURCE}: the key's spec",
    ),
    _kms(
        "kms:KeyUsage",
        "String",
        f"CreateKey: the KeyUsage parameter, default ENCRYPT_DECRYPT (IAM policies only); "
        f"{_KEY_RESOURCE}: the key's usage",
    ),
    _kms("kms:MacAlgorithm", "String", "the MacAlgorithm parameter (required)"),
    _kms("kms:MessageType", "String", "the MessageType parameter, default RAW"),
    _kms(
        "kms:MultiRegion",
        "Bool",
        f"CreateKey: the MultiRegion parameter, default false; {_KEY_RESOURCE}: whether the key is multi-Region",
    ),
    _kms(
        "kms:MultiRegionKeyType",
        "String",
        "PRIMARY or REPLICA; absent for single-Region keys (CreateKey: PRIMARY with MultiRegion true)",
    ),
    _kms("kms:PrimaryRegion", "String", "the PrimaryRegion parameter"),
    _kms("kms:ReEncryptOnSameKey", "Bool", "true iff source and destination are the same key"),
    _kms("kms:RecipientAttestation:ImageSha384", "String", _ATTESTATION_TEXT),
    _kms(
        "kms:RecipientAttestation:NitroTPMPCR${PcrIndex}",
        "String",
        f"PCR 0..23 of a NitroTPM attestation, {_ATTESTATION_TEXT}",
        suffix_range=(0, 23),
    ),
    _kms(
        "kms:RecipientAttestation:PCR${PcrIndex}",
        "String",
        f"PCR 0..31 of the attestation, {_ATTESTATION_TEXT}",
        suffix_range=(0, 31),
    ),
    _kms("kms:ReplicaRegion", "String", "the ReplicaRegion parameter"),
    _kms(
        "kms:RequestAlias",
        "String",
        "the alias name (alias/x) the request used as the key identifier (alias name or alias ARN); "
        "absent when it used a key ID or key ARN",
    ),
    _kms(
        "kms:ResourceAliases",
        "ArrayOfString",
        f"{_KEY_RESOURCE}: the names of all the key's aliases; supported in IAM policies only (U5)",
        policy_kinds=IAM_POLICY_KINDS,
    ),
    _kms("kms:RetiringPrincipal", "String", "the RetiringPrincipal parameter; absent when omitted"),
    _kms(
        "kms:RetiringServicePrincipal",
        "String",
        "listed by the 2026 Service Authorization Reference; no request field in botocore 1.43.11: absent (U14)",
    ),
    _kms(
        "kms:RotationPeriodInDays",
        "Numeric",
        "the RotationPeriodInDays parameter; absent when omitted (U13)",
    ),
    _kms(
        "kms:ScheduleKeyDeletionPendingWindowInDays",
        "Numeric",
        "the PendingWindowInDays parameter; absent when omitted (U13)",
    ),
    _kms("kms:SigningAlgorithm", "String", "the SigningAlgorithm parameter (required)"),
    _kms(
        "kms:TrailingDaysWithoutKeyUsage",
        "Numeric",
        "days since the key was last used (2026 SAR); no definition for never-used keys: absent (U14)",
    ),
    _kms(
        "kms:ValidTo",
        "Date",
        "the ValidTo parameter; absent when omitted; the guide compares it with Numeric operators in Unix seconds",
        alt_types=("Numeric",),
    ),
    _kms(
        "kms:ViaService",
        "String",
        "svc.region.amazonaws.com of the AWS service calling on the principal's behalf; absent for direct calls",
    ),
    _kms("kms:WrappingAlgorithm", "String", "the WrappingAlgorithm parameter (required)"),
    _kms("kms:WrappingKeySpec", "String", "the WrappingKeySpec parameter (required)"),
    # --- aws: global keys relevant to KMS (semantics §4.2) ---
    _aws(
        "aws:CalledVia", "ArrayOfString", "only when a supporting service forwards the caller's credentials"
    ),
    _aws("aws:CalledViaFirst", "String", "only when a supporting service forwards the caller's credentials"),
    _aws("aws:CalledViaLast", "String", "only when a supporting service forwards the caller's credentials"),
    _aws("aws:CurrentTime", "Date", "always: the request time"),
    _aws(
        "aws:Ec2InstanceSourcePrivateIPv4",
        "IPAddress",
        "only for requests signed with EC2 instance role credentials",
    ),
    _aws("aws:Ec2InstanceSourceVpc", "String", "only for requests signed with EC2 instance role credentials"),
    _aws(
        "aws:EpochTime", "Date", "always: the request time in seconds since the epoch", alt_types=("Numeric",)
    ),
    _aws("aws:FederatedProvider", "String", "only for web-identity and SAML role sessions"),
    _aws("aws:MultiFactorAuthAge", "Numeric", "only when MFA was used: seconds since authentication"),
    _aws(
        "aws:MultiFactorAuthPresent",
        "Bool",
        "only with temporary credentials; absent for long-term access keys",
    ),
    _aws("aws:PrincipalAccount", "String", "always: the caller's account ID"),
    _aws(
        "aws:PrincipalArn",
        "ARN",
        "signed requests: the user, role (not the session) or federated-user ARN, root ARN for the root user",
        alt_types=("String",),
    ),
    _aws(
        "aws:PrincipalIsAWSService",
        "Bool",
        "signed requests: true only for a service principal calling directly",
    ),
    _aws("aws:PrincipalOrgID", "String", "when the caller's account is in an organization"),
    _aws("aws:PrincipalOrgPaths", "ArrayOfString", "when the caller's account is in an organization"),
    _aws("aws:PrincipalServiceName", "String", "only for service-principal calls"),
    _aws("aws:PrincipalServiceNamesList", "ArrayOfString", "only for service-principal calls"),
    _aws("aws:PrincipalTag/${TagKey}", "String", "when the principal (user, role or session) has the tag"),
    _aws("aws:PrincipalType", "String", "always: Account, User, FederatedUser, AssumedRole or Anonymous"),
    _aws("aws:Referer", "String", "only for browser requests that send it; caller-controlled"),
    _aws("aws:RequestedRegion", "String", "always: the Region of the endpoint called"),
    _aws(
        _REQUEST_TAG,
        "String",
        "one key per tag passed in the request's Tags (CreateKey, ReplicateKey, TagResource)",
        per_action=True,
    ),
    _aws("aws:ResourceAccount", "String", "operations on a KMS key: the key's account"),
    _aws("aws:ResourceOrgID", "String", "when the key's account is in an organization"),
    _aws("aws:ResourceOrgPaths", "ArrayOfString", "when the key's account is in an organization"),
    _aws(
        _RESOURCE_TAG,
        "String",
        "operations authorized against a KMS key that has the tag; supported in IAM policies only (U5)",
        per_action=True,
        policy_kinds=IAM_POLICY_KINDS,
    ),
    _aws("aws:SecureTransport", "Bool", "always: true (KMS is HTTPS only)"),
    _aws("aws:SourceAccount", "String", "only when a service principal acts for a resource"),
    _aws("aws:SourceArn", "ARN", "only when a service principal acts for a resource", alt_types=("String",)),
    _aws("aws:SourceIdentity", "String", "only for role sessions with a source identity"),
    _aws(
        "aws:SourceIp",
        "IPAddress",
        "except through a VPC endpoint: the caller's (or calling service's) public IP",
    ),
    _aws("aws:SourceOrgID", "String", "only when a service principal acts for a resource in an organization"),
    _aws(
        "aws:SourceOrgPaths",
        "ArrayOfString",
        "only when a service principal acts for a resource in an organization",
    ),
    _aws("aws:SourceVpc", "String", "only through a VPC endpoint: its VPC"),
    _aws("aws:SourceVpce", "String", "only through a VPC endpoint: its ID"),
    _aws(
        _TAG_KEYS,
        "ArrayOfString",
        "the tag keys of the request (Tags of CreateKey, ReplicateKey, TagResource; TagKeys of UntagResource)",
        per_action=True,
    ),
    _aws("aws:TokenIssueTime", "Date", "only with temporary credentials"),
    _aws("aws:UserAgent", "String", "always; caller-controlled, never for security"),
    _aws("aws:userid", "String", "always: the caller's unique ID (see semantics §4.2)"),
    _aws("aws:username", "String", "IAM users only"),
    _aws("aws:VpcSourceIp", "IPAddress", "only through a VPC endpoint: the caller's private IP"),
)

CONDITION_KEYS: Mapping[str, ConditionKey] = MappingProxyType({k.name.lower(): k for k in _KEYS})
"""Every condition key, keyed by lower-case name (families by their ``${...}`` spelling)."""

_FAMILIES: tuple[tuple[str, ConditionKey], ...] = tuple(
    sorted(((k.prefix.lower(), k) for k in _KEYS if k.prefix), key=lambda p: -len(p[0]))  # type: ignore[union-attr]
)


def condition_key(name: str) -> ConditionKey | None:
    """The record for a condition key as a policy writes it, case-insensitive.

    Family members resolve to their family: ``kms:EncryptionContext:AppName`` →
    ``kms:EncryptionContext:${EncryptionContextKey}``; numbered families need a number in range
    (``kms:RecipientAttestation:PCR7``). Unknown names (and an empty family suffix) give None.
    """
    low = name.lower()
    found = CONDITION_KEYS.get(low)
    if found is not None:
        return found
    for prefix, key in _FAMILIES:
        if low.startswith(prefix) and len(low) > len(prefix):
            suffix = low[len(prefix) :]
            if key.suffix_range is None:
                return key
            if suffix.isdigit() and key.suffix_range[0] <= int(suffix) <= key.suffix_range[1]:
                return key
            return None
    return None
