"""No key material or plaintext in logs, errors, reprs, the server's stderr or the store file.

Representative flows run with every logger at DEBUG; every log record, exception text, repr
and the raw SQLite files are scanned for the plaintexts, data keys, imported material, HMAC
and private keys, and the root key that passed through (raw, hex, base64 and repr forms)."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from hardening_support import ALICE, ALICE_KEYS, BOB, BOB_KEYS, REGION, SEED_KEY, make_world

from kmsauthz.kms import KMSError, LocalKMS, SecretBytes

PLAIN = [b"TOP-SECRET-plaintext-4f9c1e77a2", b"another \xf0\x9f\x94\x91 secret 88b1d0c3e6aa", b"Z" * 3 + os.urandom(29)]
IMPORTED = b"IMPORTED-MATERIAL-0123456789abcd"  # 32 bytes of known key material


def _forms(secret: bytes) -> set[str]:
    """The ways a secret could show up in text."""
    out = {secret.hex(), secret.hex().upper(), base64.b64encode(secret).decode(), repr(secret)[2:-1]}
    try:
        text = secret.decode()
        out.add(text)
    except UnicodeDecodeError:
        pass
    return {f for f in out if len(f) >= 12}


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())
        self.texts.append(repr(record.args))
        if record.exc_info:
            self.texts.append("".join(traceback.format_exception(*record.exc_info)))


@pytest.fixture
def debug_logs() -> Iterator[Capture]:
    cap = Capture()
    names = ["", "kmsauthz", "kmsauthz.kms", "kmsauthz.server", "kmsauthz.evaluate"]
    loggers = [logging.getLogger(n) for n in names]
    old = [(lg.level, lg.propagate) for lg in loggers]
    root = logging.getLogger()
    root.addHandler(cap)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.propagate = True
    try:
        yield cap
    finally:
        root.removeHandler(cap)
        for lg, (level, prop) in zip(loggers, old, strict=True):
            lg.setLevel(level)
            lg.propagate = prop


def _scan(texts: Iterable[str], secrets: Iterable[bytes], where: str) -> None:
    forms = {f: s for s in secrets for f in _forms(s)}
    for text in texts:
        for form in forms:
            assert form not in text, f"a secret appears in {where}: {text[:200]!r}"


def _scan_bytes(blob: bytes, secrets: Iterable[bytes], where: str) -> None:
    for s in secrets:
        assert s not in blob, f"a secret appears in clear in {where}"
        assert s.hex().encode() not in blob and base64.b64encode(s) not in blob


def _wrap(public_der: bytes, material: bytes) -> bytes:
    pub = serialization.load_der_public_key(public_der)
    return pub.encrypt(material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),  # type: ignore[union-attr]
                                              algorithm=hashes.SHA256(), label=None))


def test_crypto_core_flows_leak_nothing(tmp_path: Path, debug_logs: Capture,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root_key = os.urandom(32)
    store = tmp_path / "keys.db"
    kms = LocalKMS.from_world(make_world(), store=store, root_key=root_key)
    a = kms.client(ALICE, REGION, wipeable_plaintext=True)
    bob = kms.client(BOB, REGION)
    secrets: list[bytes] = [root_key, IMPORTED, *PLAIN]
    texts: list[str] = []
    errors: list[BaseException] = []
    responses: list[Any] = []

    def attempt(fn: Any, **kw: Any) -> Any:
        try:
            out = fn(**kw)
        except KMSError as exc:
            errors.append(exc)
            return None
        responses.append(out)
        return out

    ec = {"purpose": "secrets-scan"}
    for pt in PLAIN:
        blob = a.encrypt(KeyId=SEED_KEY, Plaintext=pt, EncryptionContext=ec)["CiphertextBlob"]
        out = a.decrypt(CiphertextBlob=blob, EncryptionContext=ec)
        responses.append(out)
        assert bytes(out["Plaintext"]) == pt
        attempt(a.decrypt, CiphertextBlob=blob, EncryptionContext={"purpose": "other"})  # InvalidCiphertext
        attempt(bob.encrypt, KeyId=SEED_KEY, Plaintext=pt)  # AccessDenied
        attempt(bob.decrypt, CiphertextBlob=blob, EncryptionContext=ec)
        attempt(a.encrypt, KeyId=SEED_KEY, Plaintext=pt * 200)  # too long: ValidationException
        attempt(a.encrypt, KeyId="alias/none", Plaintext=pt)  # NotFound
        responses.append(a.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=ec, DestinationKeyId=SEED_KEY))
    dk = a.generate_data_key(KeyId=SEED_KEY, KeySpec="AES_256")
    responses.append(dk)
    secrets.append(bytes(dk["Plaintext"]))
    pair = a.generate_data_key_pair(KeyId=SEED_KEY, KeyPairSpec="ECC_NIST_P256")
    responses.append(pair)
    secrets.append(bytes(pair["PrivateKeyPlaintext"]))
    hmac = a.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"]
    responses.append(a.generate_mac(KeyId=hmac, Message=PLAIN[0], MacAlgorithm="HMAC_SHA_256"))
    signer = a.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    responses.append(a.sign(KeyId=signer, Message=PLAIN[1], SigningAlgorithm="ECDSA_SHA_256"))
    ext = a.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = a.get_parameters_for_import(KeyId=ext, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    a.import_key_material(KeyId=ext, ImportToken=params["ImportToken"], EncryptedKeyMaterial=_wrap(
        params["PublicKey"], IMPORTED), ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    again = a.get_parameters_for_import(KeyId=ext, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    attempt(a.import_key_material, KeyId=ext, ImportToken=again["ImportToken"],  # other material: refused
            EncryptedKeyMaterial=_wrap(again["PublicKey"], b"W" * 32), ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    responses.append(a.encrypt(KeyId=ext, Plaintext=PLAIN[0]))
    # the key material the KMS holds (read through its cache, to know what to look for)
    for live in list(kms._keys.values()):
        for m in live.rec.materials:
            if m.import_state != "PENDING_IMPORT":
                secrets.append(bytes(kms._secret(live, m.id)))
    signer_live = kms._keys[signer]
    secrets.append(kms._private(signer_live).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    # an evaluator fault whose own message quotes a plaintext
    def boom(req: Any) -> Any:
        raise RuntimeError(f"failed on {PLAIN[0].decode()}")

    monkeypatch.setattr(kms.authorizer, "decide", boom)
    attempt(a.encrypt, KeyId=SEED_KEY, Plaintext=PLAIN[0])
    monkeypatch.undo()
    assert {e.code for e in errors} >= {"InvalidCiphertextException", "AccessDeniedException",
                                         "ValidationException", "NotFoundException", "KMSInternalException",
                                         "IncorrectKeyMaterialException"}
    for e in errors:
        texts += [str(e), repr(e), e.message, repr(e.response), repr(e.args)]
        if e.code != "KMSInternalException":  # its __cause__ is the evaluator's own (quoting) error
            texts.append("".join(traceback.format_exception(e)))
    texts += [repr(r) for r in responses]
    texts += [repr(kms), repr(kms.store), repr(a), repr(bob), repr(kms._keys), repr(kms._grants)]
    texts += [repr(lv.rec) for lv in kms._keys.values()] + [repr(lv) for lv in kms._keys.values()]
    texts += [repr(s) for lv in kms._keys.values() for s in lv.secrets.values()]
    texts += [str(SecretBytes(PLAIN[0])), repr(SecretBytes(PLAIN[0])), repr(dk["Plaintext"])]
    _scan(texts, secrets, "a repr or an error")
    _scan(debug_logs.texts, secrets, "a log record")
    kms.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    _scan_bytes(raw, [s for s in secrets if len(s) >= 16], "the store files")
    assert secrets[-1] not in raw  # the signing key's private key (DER)


def _port(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("listening on "), line
    assert time.monotonic() < deadline
    return line.split()[-1]


def test_the_server_logs_and_stderr_leak_nothing(tmp_path: Path) -> None:
    world = tmp_path / "world.yaml"
    world.write_text(yaml.safe_dump(make_world()))
    root_key = os.urandom(32)
    env = {**os.environ, "KMSAUTHZ_ROOT_KEY": base64.b64encode(root_key).decode()}
    env.pop("KMSAUTHZ_ROOT_KEY_FILE", None)
    proc = subprocess.Popen([sys.executable, "-m", "kmsauthz", "serve", "--world", str(world), "--store",
                             str(tmp_path / "keys.db"), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    secrets: list[bytes] = [root_key, *PLAIN, ALICE_KEYS[1].encode(), BOB_KEYS[1].encode()]
    try:
        url = _port(proc, time.monotonic() + 60)
        cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"})
        a = boto3.client("kms", endpoint_url=url, region_name=REGION, aws_access_key_id=ALICE_KEYS[0],
                         aws_secret_access_key=ALICE_KEYS[1], config=cfg)
        b = boto3.client("kms", endpoint_url=url, region_name=REGION, aws_access_key_id=BOB_KEYS[0],
                         aws_secret_access_key=BOB_KEYS[1], config=cfg)
        wrong = boto3.client("kms", endpoint_url=url, region_name=REGION, aws_access_key_id=ALICE_KEYS[0],
                             aws_secret_access_key="not/the/secret/EXAMPLE", config=cfg)
        for pt in PLAIN:
            blob = a.encrypt(KeyId=SEED_KEY, Plaintext=pt, EncryptionContext={"p": "q"})["CiphertextBlob"]
            assert a.decrypt(CiphertextBlob=blob, EncryptionContext={"p": "q"})["Plaintext"] == pt
            for call in (lambda: b.encrypt(KeyId=SEED_KEY, Plaintext=pt),  # noqa: B023
                         lambda: a.decrypt(CiphertextBlob=blob),  # noqa: B023
                         lambda: wrong.encrypt(KeyId=SEED_KEY, Plaintext=pt),  # noqa: B023
                         lambda: a.encrypt(KeyId=SEED_KEY, Plaintext=pt * 300)):  # noqa: B023
                with pytest.raises(ClientError) as exc:
                    call()
                _scan([str(exc.value), repr(exc.value.response)], secrets, "an error response")
        dk = a.generate_data_key(KeyId=SEED_KEY, NumberOfBytes=32)
        secrets.append(dk["Plaintext"])
        assert a.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    lines = err.splitlines()
    assert sum(" Encrypt " in ln for ln in lines) >= 9  # the request lines were logged
    assert any("decision=ImplicitDeny" in ln for ln in lines)
    _scan(lines, secrets, "the server's stderr")
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and p.name.startswith("keys.db"))
    _scan_bytes(raw, [s for s in secrets if len(s) >= 16], "the server's store files")


def test_the_scanner_finds_each_form() -> None:
    s = PLAIN[2]
    for text in (f"x {s.hex()} y", base64.b64encode(s).decode(), repr(s), f"{PLAIN[0].decode()}!"):
        with pytest.raises(AssertionError):
            _scan([text], [s, PLAIN[0]], "a probe")
    with pytest.raises(AssertionError):
        _scan_bytes(b"..." + s + b"...", [s], "a probe")
    _scan(["nothing to see"], [s], "a probe")
