"""AWS's key-state table: which operations a key in each state refuses, and with which error.

Transcribed from https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html (semantics
§7.4). The check runs *after* authorization, as AWS orders them (a caller who may not use the
key learns nothing about its state). Where the table allows either ``DisabledException`` or
``KMSInvalidStateException`` for a key pending deletion, we raise ``KMSInvalidStateException``
(semantics U12). Conditional cells (rotation on imported keys, import on non-EXTERNAL keys) are
checked by the operations themselves.
"""

from __future__ import annotations

from kmsauthz.kms.errors import DisabledException, KMSError, KMSInvalidStateException

ENABLED = "Enabled"
DISABLED = "Disabled"
PENDING_DELETION = "PendingDeletion"
PENDING_REPLICA_DELETION = "PendingReplicaDeletion"
PENDING_IMPORT = "PendingImport"
UNAVAILABLE = "Unavailable"
CREATING = "Creating"
UPDATING = "Updating"
STATES = (ENABLED, DISABLED, PENDING_DELETION, PENDING_REPLICA_DELETION, PENDING_IMPORT,
          UNAVAILABLE, CREATING, UPDATING)

_D = (DisabledException, "is disabled")
_PD = (KMSInvalidStateException, "is pending deletion")
_PI = (KMSInvalidStateException, "is pending import")
_UN = (KMSInvalidStateException, "is unavailable")
_CR = (KMSInvalidStateException, "is being created")
_UP = (KMSInvalidStateException, "is being updated")
_NPD = (KMSInvalidStateException, "is not pending deletion")

_Row = dict[str, tuple[type[KMSError], str]]

_CRYPTO: _Row = {DISABLED: _D, PENDING_DELETION: _PD, PENDING_REPLICA_DELETION: _PD,
                 PENDING_IMPORT: _PI, UNAVAILABLE: _UN, CREATING: _CR}
_MANAGE: _Row = {PENDING_DELETION: _PD, PENDING_REPLICA_DELETION: _PD}
_ENABLE: _Row = {PENDING_DELETION: _PD, PENDING_REPLICA_DELETION: _PD, PENDING_IMPORT: _PI,
                 CREATING: _CR, UPDATING: _UP}
_ROTATION: _Row = {DISABLED: _D, PENDING_DELETION: _PD, PENDING_REPLICA_DELETION: _PD,
                   UNAVAILABLE: _UN, CREATING: _CR}

TABLE: dict[str, _Row] = {
    "CancelKeyDeletion": {s: _NPD for s in STATES if s not in (PENDING_DELETION, PENDING_REPLICA_DELETION)},
    "CreateAlias": {PENDING_DELETION: _PD, PENDING_REPLICA_DELETION: _PD},
    "CreateGrant": {DISABLED: _D, PENDING_DELETION: _PD, PENDING_REPLICA_DELETION: _PD,
                    PENDING_IMPORT: _PI, CREATING: _CR},
    "Decrypt": _CRYPTO,
    "Encrypt": _CRYPTO,
    "ReEncrypt": _CRYPTO,
    "GenerateDataKey": _CRYPTO,
    "GenerateDataKeyWithoutPlaintext": _CRYPTO,
    "GenerateDataKeyPair": _CRYPTO,
    "GenerateDataKeyPairWithoutPlaintext": _CRYPTO,
    "GenerateMac": _CRYPTO,
    "VerifyMac": _CRYPTO,
    "Sign": _CRYPTO,
    "Verify": _CRYPTO,
    "GetPublicKey": _CRYPTO,
    "DeriveSharedSecret": _CRYPTO,
    "DeleteAlias": {},
    "DeleteImportedKeyMaterial": {CREATING: _CR, UPDATING: _UP},
    "DescribeKey": {},
    "DisableKey": _ENABLE,
    "EnableKey": _ENABLE,
    "EnableKeyRotation": _ROTATION,
    "DisableKeyRotation": _ROTATION,
    "RotateKeyOnDemand": {**_ROTATION, PENDING_IMPORT: _PI},
    "GetKeyRotationStatus": {},
    "ListKeyRotations": {},
    "GetParametersForImport": {PENDING_DELETION: _PD, PENDING_REPLICA_DELETION: _PD, CREATING: _CR,
                               UPDATING: _UP},
    "ImportKeyMaterial": {PENDING_DELETION: _PD, PENDING_REPLICA_DELETION: _PD, CREATING: _CR},
    "GetKeyPolicy": {},
    "PutKeyPolicy": {},
    "ListKeyPolicies": {},
    "ListGrants": {},
    "ListResourceTags": {},
    "RetireGrant": {},
    "RevokeGrant": {},
    "ReplicateKey": {DISABLED: _D, PENDING_DELETION: _PD, PENDING_REPLICA_DELETION: _PD,
                     PENDING_IMPORT: _PI, CREATING: _CR, UPDATING: _UP},
    "ScheduleKeyDeletion": {PENDING_DELETION: _PD, PENDING_REPLICA_DELETION: _PD, UPDATING: _UP},
    "TagResource": _MANAGE,
    "UntagResource": _MANAGE,
    "UpdateKeyDescription": _MANAGE,
    "UpdateAlias": {},  # source may be pending deletion; the destination is checked as CreateAlias
}


def check_state(operation: str, state: str, key_arn: str) -> None:
    """Raise the table's error when ``state`` refuses ``operation``."""
    row = TABLE.get(operation)
    if row:
        hit = row.get(state)
        if hit is not None:
            cls, why = hit
            raise cls(f"key `{key_arn}` {why}")


__all__ = ["STATES", "TABLE", "check_state"]
