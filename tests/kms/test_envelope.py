"""Envelope encryption end to end, as the seeds describe, and the same flow refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from kms_support import ALICE, BOB, REGION, SEED_KEY

from kmsauthz.kms import SecretBytes
from kmsauthz.kms.errors import AccessDeniedException


def _encrypt_file(kms, principal: str, src: Path, dst: Path, key_path: Path) -> None:
    client = kms.client(principal, REGION, wipeable_plaintext=True)
    dk = client.generate_data_key(KeyId="alias/seed", KeySpec="AES_256", EncryptionContext={"file": src.name})
    plaintext_key: SecretBytes = dk["Plaintext"]
    with plaintext_key:  # wiped on exit
        aead = AESGCM(plaintext_key.view())
        nonce = os.urandom(12)
        dst.write_bytes(nonce + aead.encrypt(nonce, src.read_bytes(), src.name.encode()))
    assert plaintext_key.wiped
    key_path.write_bytes(dk["CiphertextBlob"])  # the encrypted key beside the data


def _decrypt_file(kms, principal: str, dst: Path, key_path: Path, name: str) -> bytes:
    client = kms.client(principal, REGION)
    out = client.decrypt(CiphertextBlob=key_path.read_bytes(), EncryptionContext={"file": name})
    assert out["KeyId"].endswith(SEED_KEY)
    blob = dst.read_bytes()
    return AESGCM(out["Plaintext"]).decrypt(blob[:12], blob[12:], name.encode())


def test_envelope_encryption_of_a_large_file(kms, tmp_path: Path) -> None:
    src = tmp_path / "ledger.bin"
    data = os.urandom(5 * 1024 * 1024)
    src.write_bytes(data)
    dst, key_path = tmp_path / "ledger.bin.enc", tmp_path / "ledger.bin.key"
    _encrypt_file(kms, ALICE, src, dst, key_path)
    assert data not in dst.read_bytes()
    assert _decrypt_file(kms, ALICE, dst, key_path, src.name) == data


def test_envelope_refused_for_a_principal_the_key_policy_does_not_allow(kms, tmp_path: Path) -> None:
    src = tmp_path / "ledger.bin"
    src.write_bytes(b"x" * 100_000)
    dst, key_path = tmp_path / "ledger.bin.enc", tmp_path / "ledger.bin.key"
    with pytest.raises(AccessDeniedException) as exc:
        _encrypt_file(kms, BOB, src, dst, key_path)
    assert "not authorized to perform: kms:GenerateDataKey" in exc.value.message
    assert "no identity-based policy allows" in exc.value.message  # the decision's explanation
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    _encrypt_file(kms, ALICE, src, dst, key_path)
    with pytest.raises(AccessDeniedException) as exc:
        _decrypt_file(kms, BOB, dst, key_path, src.name)
    assert "kms:Decrypt" in exc.value.message and BOB in exc.value.message
