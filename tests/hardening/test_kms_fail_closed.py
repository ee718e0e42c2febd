"""Fail closed in the crypto core: when the evaluator faults (raises, or returns a decision with
errors), every operation — each mutating one above all — is refused (AccessDeniedException or
KMSInternalException) and performs nothing: no plaintext or ciphertext returned, no row
written, no cached state changed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from hardening_support import ALICE, BOB, REGION, SEED_KEY, key_policy, make_world

from kmsauthz.kms import KMSError, LocalKMS, ManualClock
from kmsauthz.model.decision import Decision, Effect
from kmsauthz.model.request import Request


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(path)
    try:
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in ("keys", "materials", "aliases", "grants", "changes", "meta")}
    finally:
        db.close()


def _view(c: Any, keys: list[str]) -> list[Any]:
    """What the API shows of the keys (the running KMS's cache, not the file)."""
    return [_strip(x) for x in _shown(c, keys)]


def _strip(x: Any) -> Any:
    return {k: v for k, v in x.items() if k != "ResponseMetadata"} if isinstance(x, dict) else x


def _shown(c: Any, keys: list[str]) -> list[Any]:
    out: list[Any] = [sorted(a["AliasName"] + "->" + a.get("TargetKeyId", "") for a in c.list_aliases()["Aliases"]),
                      sorted(k["KeyId"] for k in c.list_keys()["Keys"])]
    for k in keys:
        md = c.describe_key(KeyId=k)["KeyMetadata"]
        out += [md, c.get_key_policy(KeyId=k)["Policy"], c.list_resource_tags(KeyId=k)["Tags"],
                c.list_grants(KeyId=k)["Grants"]]
        if md["KeySpec"] == "SYMMETRIC_DEFAULT" and md["Origin"] == "AWS_KMS":
            out += [c.get_key_rotation_status(KeyId=k), c.list_key_rotations(KeyId=k)["Rotations"]]
    return out


class World:
    """A file-backed KMS with one key of each kind an operation below needs."""

    def __init__(self, tmp: Path, imports: bool = False) -> None:
        self.path = tmp / "k.db"
        self.clock = ManualClock()
        self.kms = LocalKMS.from_world(make_world(), store=self.path, root_key=b"f" * 32, clock=self.clock)
        a = self.a = self.kms.client(ALICE, REGION)
        self.key = a.create_key(Description="target")["KeyMetadata"]["KeyId"]
        self.other = a.create_key(Description="other")["KeyMetadata"]["KeyId"]
        a.create_alias(AliasName="alias/target", TargetKeyId=self.key)
        a.tag_resource(KeyId=self.key, Tags=[{"TagKey": "t", "TagValue": "v"}])
        a.enable_key_rotation(KeyId=self.other)
        self.grant = a.create_grant(KeyId=self.key, GranteePrincipal=BOB, RetiringPrincipal=ALICE,
                                    Operations=["Decrypt"])
        self.doomed = a.create_key(Description="doomed")["KeyMetadata"]["KeyId"]
        a.schedule_key_deletion(KeyId=self.doomed, PendingWindowInDays=7)
        self.disabled = a.create_key(Description="disabled")["KeyMetadata"]["KeyId"]
        a.disable_key(KeyId=self.disabled)
        self.mrk = a.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        self.blob = a.encrypt(KeyId=self.key, Plaintext=b"fail-closed plaintext")["CiphertextBlob"]
        self.keys = [self.key, self.other, self.doomed, self.disabled, self.mrk]
        if imports:  # RSA wrapping keys are slow to make: only where an import operation needs them
            self._imports()

    def _imports(self) -> None:
        a = self.a
        self.external = a.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        params = a.get_parameters_for_import(KeyId=self.external, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                             WrappingKeySpec="RSA_2048")
        pub = serialization.load_der_public_key(params["PublicKey"])
        self.import_token = params["ImportToken"]
        self.wrapped = pub.encrypt(b"m" * 32, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),  # type: ignore[union-attr]
                                                           algorithm=hashes.SHA256(), label=None))
        self.imported = a.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        p2 = a.get_parameters_for_import(KeyId=self.imported, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                         WrappingKeySpec="RSA_2048")
        pub2 = serialization.load_der_public_key(p2["PublicKey"])
        a.import_key_material(KeyId=self.imported, ImportToken=p2["ImportToken"], ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
                              EncryptedKeyMaterial=pub2.encrypt(b"n" * 32, padding.OAEP(  # type: ignore[union-attr]
                                  mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)))
        self.keys += [self.external, self.imported]


def _policy_text() -> str:
    return json.dumps(key_policy({"Sid": "More", "Effect": "Allow", "Principal": {"AWS": BOB},
                                  "Action": "kms:Encrypt", "Resource": "*"}))


CALLS: dict[str, Callable[[World], Any]] = {
    "CreateKey": lambda w: w.a.create_key(Description="never"),
    "CreateKeyWithPolicy": lambda w: w.a.create_key(Policy=_policy_text(), Tags=[{"TagKey": "a", "TagValue": "b"}]),
    "PutKeyPolicy": lambda w: w.a.put_key_policy(KeyId=w.key, PolicyName="default", Policy=_policy_text()),
    "CreateGrant": lambda w: w.a.create_grant(KeyId=w.key, GranteePrincipal=BOB, Operations=["Encrypt"]),
    "RetireGrant": lambda w: w.a.retire_grant(GrantToken=w.grant["GrantToken"]),
    "RetireGrantById": lambda w: w.a.retire_grant(KeyId=w.key, GrantId=w.grant["GrantId"]),
    "RevokeGrant": lambda w: w.a.revoke_grant(KeyId=w.key, GrantId=w.grant["GrantId"]),
    "ScheduleKeyDeletion": lambda w: w.a.schedule_key_deletion(KeyId=w.key, PendingWindowInDays=7),
    "CancelKeyDeletion": lambda w: w.a.cancel_key_deletion(KeyId=w.doomed),
    "CreateAlias": lambda w: w.a.create_alias(AliasName="alias/never", TargetKeyId=w.key),
    "UpdateAlias": lambda w: w.a.update_alias(AliasName="alias/target", TargetKeyId=w.other),
    "DeleteAlias": lambda w: w.a.delete_alias(AliasName="alias/target"),
    "TagResource": lambda w: w.a.tag_resource(KeyId=w.key, Tags=[{"TagKey": "n", "TagValue": "v"}]),
    "UntagResource": lambda w: w.a.untag_resource(KeyId=w.key, TagKeys=["t"]),
    "EnableKeyRotation": lambda w: w.a.enable_key_rotation(KeyId=w.key),
    "DisableKeyRotation": lambda w: w.a.disable_key_rotation(KeyId=w.other),
    "RotateKeyOnDemand": lambda w: w.a.rotate_key_on_demand(KeyId=w.key),
    "GetParametersForImport": lambda w: w.a.get_parameters_for_import(
        KeyId=w.external, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"),
    "ImportKeyMaterial": lambda w: w.a.import_key_material(
        KeyId=w.external, ImportToken=w.import_token, EncryptedKeyMaterial=w.wrapped,
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE"),
    "DeleteImportedKeyMaterial": lambda w: w.a.delete_imported_key_material(KeyId=w.imported),
    "EnableKey": lambda w: w.a.enable_key(KeyId=w.disabled),
    "DisableKey": lambda w: w.a.disable_key(KeyId=w.key),
    "UpdateKeyDescription": lambda w: w.a.update_key_description(KeyId=w.key, Description="changed"),
    "ReplicateKey": lambda w: w.a.replicate_key(KeyId=w.mrk, ReplicaRegion="eu-west-1"),
    "Encrypt": lambda w: w.a.encrypt(KeyId=w.key, Plaintext=b"fail-closed plaintext"),
    "Decrypt": lambda w: w.a.decrypt(CiphertextBlob=w.blob),
    "ReEncrypt": lambda w: w.a.re_encrypt(CiphertextBlob=w.blob, DestinationKeyId=w.other),
    "GenerateDataKey": lambda w: w.a.generate_data_key(KeyId=w.key, KeySpec="AES_256"),
}


IMPORTS = frozenset({"GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial"})


def _raising(req: Request) -> Decision:
    raise RuntimeError("evaluator exploded on `secret-ish` input")


def _erroring(req: Request) -> Decision:
    # an Allow that met an internal error: the fail-closed contract makes it a deny
    return Decision(effect=Effect.ALLOW, errors=("condition operator crashed",), action=req.action,
                    principal=req.principal, reason="")


@pytest.fixture(scope="module")
def baseline_ok(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every call below succeeds with the real evaluator (so a refusal below is the fault's doing)."""
    for name, call in CALLS.items():
        w = World(tmp_path_factory.mktemp(name), imports=name in IMPORTS)
        call(w)
        w.kms.close()


@pytest.mark.parametrize("fault", [_raising, _erroring], ids=["raises", "errors"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_an_evaluator_fault_refuses_and_changes_nothing(tmp_path: Path, name: str, fault: Any,
                                                        baseline_ok: None, monkeypatch: pytest.MonkeyPatch) -> None:
    w = World(tmp_path, imports=name in IMPORTS)
    before, shown = _dump(w.path), _view(w.a, w.keys)
    monkeypatch.setattr(w.kms.authorizer, "decide", fault)
    with pytest.raises(KMSError) as exc:
        CALLS[name](w)
    expected = "KMSInternalException" if fault is _raising else "AccessDeniedException"
    assert exc.value.code == expected, exc.value.message
    assert "secret-ish" not in str(exc.value) and "exploded" not in str(exc.value)
    monkeypatch.undo()
    assert _dump(w.path) == before  # nothing written
    assert _view(w.a, w.keys) == shown  # nothing changed in the running KMS
    w.kms.close()
    with LocalKMS.from_world(make_world(), store=w.path, root_key=b"f" * 32, clock=w.clock) as again:
        assert _view(again.client(ALICE, REGION), w.keys) == shown


def test_a_decision_with_errors_is_logged_as_deny_not_allow() -> None:
    """The endpoint's log line must not say Allow for a refused request whose decision effect is Allow."""
    from kmsauthz.server.app import Endpoint

    class Exc(Exception):
        code, message, http_status = "AccessDeniedException", "denied", 400
        decision = _erroring(Request(principal=ALICE, action="kms:Encrypt", key=SEED_KEY))

    class Entry:
        decision = "-"

    ep = Endpoint.__new__(Endpoint)
    captured: dict[str, Any] = {}
    ep._error = lambda entry, code, message, status: captured.setdefault("d", entry.decision)  # type: ignore[method-assign]
    ep._backend_error(Entry(), Exc())  # type: ignore[arg-type]
    assert captured["d"] == "Deny"
