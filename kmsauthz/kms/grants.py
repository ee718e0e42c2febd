"""Grant operations: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

Who may create, retire or revoke a grant is the evaluator's decision (it reads the stored grants,
which this module keeps in step through ``authorizer.put_grant`` / ``remove_grant``); this module
validates the request against the key type (semantics §3.2, §3.3), keeps names idempotent and
issues grant tokens.

A grant token is opaque and not secret (AWS: "not a secret"): base64url of a version byte, the key
ARN, the grant id and 16 random bytes. A token that does not parse, or names no grant this KMS
issued or the world declared, is ``InvalidGrantTokenException``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from kmsauthz.kms import key_states
from kmsauthz.kms.errors import (
    InvalidGrantIdException,
    InvalidGrantTokenException,
    LimitExceededException,
    NotFoundException,
    ValidationException,
)
from kmsauthz.kms.keystore import GrantRecord

if TYPE_CHECKING:
    from kmsauthz.kms.service import CallContext, _Live

MAX_GRANTS_PER_KEY = 50_000
MAX_CONSTRAINT_PAIRS = 8
_TOKEN_VERSION = 1

# operations a grant may list, by key type (grants.html#terms-grant-operations)
_COMMON = frozenset({"DescribeKey", "CreateGrant", "RetireGrant"})
GRANT_OPS_BY_KIND: dict[str, frozenset[str]] = {
    "symmetric": _COMMON | {"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
                            "ReEncryptFrom", "ReEncryptTo", "GenerateDataKeyPair",
                            "GenerateDataKeyPairWithoutPlaintext"},
    "ENCRYPT_DECRYPT": _COMMON | {"Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"},
    "SIGN_VERIFY": _COMMON | {"Sign", "Verify", "GetPublicKey"},
    "KEY_AGREEMENT": _COMMON | {"DeriveSharedSecret", "GetPublicKey"},
    "hmac": _COMMON | {"GenerateMac", "VerifyMac"},
}


def make_token(key_arn: str, grant_id: str) -> str:
    raw = bytes((_TOKEN_VERSION,)) + f"{key_arn}|{grant_id}|".encode() + os.urandom(16)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_token(token: str) -> tuple[str, str] | None:
    """``(key ARN, grant id)`` of a token this KMS issued, else None."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 20 or raw[0] != _TOKEN_VERSION:
        return None
    try:
        arn, grant_id, _ = raw[1:].split(b"|", 2)
        return arn.decode("ascii"), grant_id.decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None


def check_grant_tokens(tokens: Iterable[str], known: Mapping[str, Any]) -> None:
    """Every token must be one of a known grant (issued here or declared by the world) or parse as ours."""
    for t in tokens:
        if t in known:
            continue
        if parse_token(t) is None:
            raise InvalidGrantTokenException("the grant token is not valid")


def _grant_id(key_arn: str) -> str:
    return hashlib.sha256(key_arn.encode() + os.urandom(32)).hexdigest()


class GrantOperations:
    """Mixed into :class:`~kmsauthz.kms.service.KMSService`."""

    def _grant_kind(self, live: _Live) -> str:
        if live.spec.kind in ("symmetric", "hmac"):
            return live.spec.kind
        return live.rec.key_usage

    def _op_CreateGrant(self: Any, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        ops = list(dict.fromkeys(p["Operations"]))
        if not ops:
            raise ValidationException("1 validation error detected: `Operations` must list at least one operation")
        cons = p.get("Constraints") or None
        if cons is not None:
            if not cons:
                cons = None
            elif len(cons) > 1:
                raise ValidationException(
                    "1 validation error detected: `Constraints` takes `EncryptionContextEquals` or "
                    "`EncryptionContextSubset`, not both")
            else:
                for k, m in cons.items():
                    if len(m) > MAX_CONSTRAINT_PAIRS or any(len(str(v)) > 384 for v in m.values()):
                        raise ValidationException(
                            f"1 validation error detected: `Constraints.{k}` takes at most {MAX_CONSTRAINT_PAIRS} "
                            "pairs of at most 384 characters each")
        ec = next(iter(cons.values())) if cons else None
        live = self._resolve(ctx, p["KeyId"], "CreateGrant")
        self._check_tokens(p)
        self._authorize(ctx, "kms:CreateGrant", p["KeyId"], p, operation="CreateGrant", encryption_context=ec)
        key_states.check_state("CreateGrant", live.rec.state, live.rec.arn)
        allowed = GRANT_OPS_BY_KIND[self._grant_kind(live)]
        bad = [o for o in ops if o not in allowed]
        if bad:
            raise ValidationException(
                f"1 validation error detected: grant operation `{bad[0]}` is not supported by "
                f"`{live.rec.key_spec}`/`{live.rec.key_usage}` keys")
        if cons is not None and live.spec.kind != "symmetric":
            raise ValidationException(
                "1 validation error detected: grant constraints are only for symmetric encryption keys")
        self._dry_run(p)
        rec = live.rec
        name = p.get("Name")
        issuing = ctx.account or rec.account
        wanted = dict(grantee=p["GranteePrincipal"], retiring=p.get("RetiringPrincipal"),
                      operations=sorted(ops), constraints=cons)
        holder: dict[str, GrantRecord] = {}

        def tx(db: Any) -> None:
            existing = self._grants.get(rec.arn, {})  # refreshed under the write lock by _write
            if name is not None:
                for g in existing.values():
                    if g.name == name and dict(grantee=g.grantee, retiring=g.retiring,
                                               operations=sorted(g.operations), constraints=g.constraints) == wanted:
                        holder["grant"] = g  # same name, same parameters: the same grant (new token)
                        return
            if len(existing) >= MAX_GRANTS_PER_KEY:
                raise LimitExceededException(f"a key can have at most {MAX_GRANTS_PER_KEY} grants")
            gid = _grant_id(rec.arn)
            g = GrantRecord(grant_id=gid, key_arn=rec.arn, grantee=p["GranteePrincipal"], operations=ops,
                            issuing_account=f"arn:aws:iam::{issuing}:root", created=self._now(), name=name,
                            retiring=p.get("RetiringPrincipal"), constraints=cons, token=make_token(rec.arn, gid))
            self.store.put_grant(db, g)
            holder["grant"] = g
            holder["new"] = g
        self._write(tx)
        g = holder["grant"]
        # a retry of a named grant returns the same grant id with a new token (API CreateGrant `Name`)
        token = g.token if holder.get("new") and g.token else make_token(rec.arn, g.grant_id)
        return {"GrantToken": token, "GrantId": g.grant_id}

    @staticmethod
    def _grant_entry(g: GrantRecord) -> dict[str, Any]:
        from kmsauthz.kms.clock import to_datetime

        e: dict[str, Any] = {"KeyId": g.key_arn, "GrantId": g.grant_id, "CreationDate": to_datetime(g.created),
                             "GranteePrincipal": g.grantee, "IssuingAccount": g.issuing_account,
                             "Operations": list(g.operations)}
        if g.name is not None:
            e["Name"] = g.name
        if g.retiring is not None:
            e["RetiringPrincipal"] = g.retiring
        if g.constraints:
            e["Constraints"] = dict(g.constraints)
        return e

    def _op_ListGrants(self: Any, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        from kmsauthz.kms.service import _page

        live = self._use(ctx, "ListGrants", p)
        grants = list(self._grants.get(live.rec.arn, {}).values())
        if "GrantId" in p:
            grants = [g for g in grants if g.grant_id == p["GrantId"]]
            if not grants:
                raise InvalidGrantIdException(f"no grant `{p['GrantId']}` on `{live.rec.arn}`")
        if "GranteePrincipal" in p:
            grants = [g for g in grants if g.grantee == p["GranteePrincipal"]]
        page, more, marker = _page(grants, p, 50, lambda g: g.grant_id)
        out: dict[str, Any] = {"Grants": [self._grant_entry(g) for g in page], "Truncated": more}
        if more:
            out["NextMarker"] = marker
        return out

    def _op_ListRetirableGrants(self: Any, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        from kmsauthz.kms.service import _page

        self._authorize(ctx, "kms:ListRetirableGrants", None, p, operation="ListRetirableGrants")
        who = p["RetiringPrincipal"]
        grants = [g for per_key in self._grants.values() for g in per_key.values() if g.retiring == who]
        page, more, marker = _page(grants, p, 50, lambda g: g.grant_id)
        out: dict[str, Any] = {"Grants": [self._grant_entry(g) for g in page], "Truncated": more}
        if more:
            out["NextMarker"] = marker
        return out

    def _find_grant(self: Any, ctx: CallContext, p: dict[str, Any]) -> tuple[_Live, GrantRecord, str]:
        if "GrantToken" in p:
            token = p["GrantToken"]
            where = self._tokens.get(token)
            if where is None:
                parsed = parse_token(token)
                if parsed is None:
                    raise InvalidGrantTokenException("the grant token is not valid")
                where = parsed
            key_arn, grant_id = where
            if "GrantId" in p and p["GrantId"] != grant_id:
                raise InvalidGrantIdException("the grant id does not match the grant token")
            live = self._resolve(ctx, key_arn)
            ref = key_arn
        elif "KeyId" in p and "GrantId" in p:
            live = self._resolve(ctx, p["KeyId"], "RetireGrant")
            grant_id, ref = p["GrantId"], p["KeyId"]
        else:
            raise ValidationException(
                "1 validation error detected: identify the grant with `GrantToken`, or `KeyId` and `GrantId`")
        g = self._grants.get(live.rec.arn, {}).get(grant_id)
        if g is None:
            raise NotFoundException(f"grant `{grant_id}` of `{live.rec.arn}` does not exist")
        return live, g, ref

    def _op_RetireGrant(self: Any, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live, g, ref = self._find_grant(ctx, p)
        params = {"GrantId": g.grant_id, **({"GrantToken": p["GrantToken"]} if "GrantToken" in p else {})}
        if "GrantToken" in p:
            params["GrantTokens"] = [p["GrantToken"]]
        self._authorize(ctx, "kms:RetireGrant", ref, params, operation="RetireGrant")
        self._dry_run(p)
        self._write(lambda db: self.store.delete_grant(db, live.rec.arn, g.grant_id))
        return {}

    def _op_RevokeGrant(self: Any, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._resolve(ctx, p["KeyId"], "RevokeGrant")
        self._authorize(ctx, "kms:RevokeGrant", p["KeyId"], p, operation="RevokeGrant")
        g = self._grants.get(live.rec.arn, {}).get(p["GrantId"])
        if g is None:
            raise InvalidGrantIdException(f"grant `{p['GrantId']}` of `{live.rec.arn}` does not exist")
        self._dry_run(p)
        self._write(lambda db: self.store.delete_grant(db, live.rec.arn, g.grant_id))
        return {}


__all__ = ["GRANT_OPS_BY_KIND", "GrantOperations", "check_grant_tokens", "make_token", "parse_token"]
