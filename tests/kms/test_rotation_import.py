"""Rotation (automatic on the clock, on demand; old material keeps decrypting) and imported key material."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from kms_support import ALICE, REGION, SEED_KEY, code_of

from kmsauthz.kms import KMSError


def test_automatic_rotation_follows_the_clock(clock, alice) -> None:
    old = alice.encrypt(KeyId=SEED_KEY, Plaintext=b"before")["CiphertextBlob"]
    first = alice.describe_key(KeyId=SEED_KEY)["KeyMetadata"]["CurrentKeyMaterialId"]
    for days in (89, 2561):
        with pytest.raises(KMSError) as exc:
            alice.enable_key_rotation(KeyId=SEED_KEY, RotationPeriodInDays=days)
        assert code_of(exc) == "ValidationException"
    alice.enable_key_rotation(KeyId=SEED_KEY, RotationPeriodInDays=90)
    st = alice.get_key_rotation_status(KeyId=SEED_KEY)
    assert st["KeyRotationEnabled"] is True and st["RotationPeriodInDays"] == 90
    assert st["NextRotationDate"].timestamp() == clock.time() + 90 * 86400
    clock.advance(timedelta(days=89))
    assert alice.describe_key(KeyId=SEED_KEY)["KeyMetadata"]["CurrentKeyMaterialId"] == first
    clock.advance(timedelta(days=1))
    new = alice.encrypt(KeyId=SEED_KEY, Plaintext=b"after")
    second = alice.describe_key(KeyId=SEED_KEY)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert second != first
    assert alice.decrypt(CiphertextBlob=old)["Plaintext"] == b"before"
    assert alice.decrypt(CiphertextBlob=old)["KeyMaterialId"] == first
    assert alice.decrypt(CiphertextBlob=new["CiphertextBlob"])["KeyMaterialId"] == second
    rotations = alice.list_key_rotations(KeyId=SEED_KEY)["Rotations"]
    assert [(r["KeyMaterialId"], r["RotationType"]) for r in rotations] == [(second, "AUTOMATIC")]
    assert alice.get_key_rotation_status(KeyId=SEED_KEY)["NextRotationDate"].timestamp() == clock.time() + 90 * 86400
    alice.disable_key_rotation(KeyId=SEED_KEY)
    clock.advance(days=400)
    alice.encrypt(KeyId=SEED_KEY, Plaintext=b"x")
    assert len(alice.list_key_rotations(KeyId=SEED_KEY)["Rotations"]) == 1


def test_disabled_key_does_not_rotate_until_enabled(clock, alice) -> None:
    alice.enable_key_rotation(KeyId=SEED_KEY, RotationPeriodInDays=90)
    alice.disable_key(KeyId=SEED_KEY)
    clock.advance(days=100)
    assert alice.list_key_rotations(KeyId=SEED_KEY)["Rotations"] == []
    alice.enable_key(KeyId=SEED_KEY)
    alice.describe_key(KeyId=SEED_KEY)
    assert len(alice.list_key_rotations(KeyId=SEED_KEY)["Rotations"]) == 1  # overdue: rotates at once


def test_rotate_on_demand(alice) -> None:
    blobs = [alice.encrypt(KeyId=SEED_KEY, Plaintext=bytes([i]))["CiphertextBlob"] for i in range(3)]
    alice.rotate_key_on_demand(KeyId=SEED_KEY)
    blobs.append(alice.encrypt(KeyId=SEED_KEY, Plaintext=b"\x03")["CiphertextBlob"])
    alice.rotate_key_on_demand(KeyId=SEED_KEY)
    rot = alice.list_key_rotations(KeyId=SEED_KEY)["Rotations"]
    assert [r["RotationType"] for r in rot] == ["ON_DEMAND", "ON_DEMAND"]
    every = alice.list_key_rotations(KeyId=SEED_KEY, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert [r["KeyMaterialState"] for r in every] == ["NON_CURRENT", "NON_CURRENT", "CURRENT"]
    assert [alice.decrypt(CiphertextBlob=b)["Plaintext"] for b in blobs] == [b"\x00", b"\x01", b"\x02", b"\x03"]
    assert "OnDemandRotationStartDate" in alice.get_key_rotation_status(KeyId=SEED_KEY)


def test_rotation_is_only_for_symmetric_aws_kms_keys(alice) -> None:
    rsa = alice.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    hmac = alice.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    ext = alice.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    for key in (rsa, hmac):
        for call in (alice.enable_key_rotation, alice.rotate_key_on_demand):
            with pytest.raises(KMSError) as exc:
                call(KeyId=key)
            assert code_of(exc) == "UnsupportedOperationException"
    with pytest.raises(KMSError) as exc:
        alice.enable_key_rotation(KeyId=ext)
    assert code_of(exc) in ("UnsupportedOperationException", "KMSInvalidStateException")


def _wrap(public_der: bytes, material: bytes, algorithm: str) -> bytes:
    pub = serialization.load_der_public_key(public_der)
    h = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return pub.encrypt(material, oaep)
    aes = os.urandom(32)
    return pub.encrypt(aes, oaep) + keywrap.aes_key_wrap_with_padding(aes, material)


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_256"])
def test_import_key_material(clock, alice, algorithm) -> None:
    key = alice.create_key(Origin="EXTERNAL")["KeyMetadata"]
    assert key["KeyState"] == "PendingImport" and key["Origin"] == "EXTERNAL"
    with pytest.raises(KMSError) as exc:
        alice.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert code_of(exc) == "KMSInvalidStateException"
    params = alice.get_parameters_for_import(KeyId=key["KeyId"], WrappingAlgorithm=algorithm, WrappingKeySpec="RSA_2048")
    material = os.urandom(32)
    wrapped = _wrap(params["PublicKey"], material, algorithm)
    valid_to = clock.time() + 10 * 86400
    alice.import_key_material(KeyId=key["KeyId"], ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                              ValidTo=valid_to)
    md = alice.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert md["KeyState"] == "Enabled" and md["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    blob = alice.encrypt(KeyId=key["KeyId"], Plaintext=b"imported")["CiphertextBlob"]
    assert alice.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"
    # expiry: back to PendingImport; re-importing the same material restores decryption
    clock.advance(days=11)
    with pytest.raises(KMSError) as exc:
        alice.decrypt(CiphertextBlob=blob)
    assert code_of(exc) == "KMSInvalidStateException"
    assert alice.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingImport"
    params = alice.get_parameters_for_import(KeyId=key["KeyId"], WrappingAlgorithm=algorithm, WrappingKeySpec="RSA_2048")
    with pytest.raises(KMSError) as exc:  # different material
        alice.import_key_material(KeyId=key["KeyId"], ImportToken=params["ImportToken"],
                                  EncryptedKeyMaterial=_wrap(params["PublicKey"], os.urandom(32), algorithm),
                                  ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert code_of(exc) == "IncorrectKeyMaterialException"
    alice.import_key_material(KeyId=key["KeyId"], ImportToken=params["ImportToken"],
                              EncryptedKeyMaterial=_wrap(params["PublicKey"], material, algorithm),
                              ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert alice.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"
    alice.delete_imported_key_material(KeyId=key["KeyId"])
    assert alice.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingImport"


def test_import_errors(clock, alice) -> None:
    key = alice.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    p = alice.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    good = _wrap(p["PublicKey"], os.urandom(32), "RSAES_OAEP_SHA_256")
    cases = [
        (dict(ImportToken=b"bad token", EncryptedKeyMaterial=good, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE"),
         "InvalidImportTokenException"),
        (dict(ImportToken=p["ImportToken"], EncryptedKeyMaterial=b"\x01" * 256,
              ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE"), "InvalidCiphertextException"),
        (dict(ImportToken=p["ImportToken"], EncryptedKeyMaterial=_wrap(p["PublicKey"], b"short", "RSAES_OAEP_SHA_256"),
              ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE"), "IncorrectKeyMaterialException"),
        (dict(ImportToken=p["ImportToken"], EncryptedKeyMaterial=good), "ValidationException"),  # ValidTo missing
        (dict(ImportToken=p["ImportToken"], EncryptedKeyMaterial=good, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
              ValidTo=clock.time() + 86400), "ValidationException"),
        (dict(ImportToken=p["ImportToken"], EncryptedKeyMaterial=good, ValidTo=clock.time() + 400 * 86400),
         "ValidationException"),
    ]
    for params, code in cases:
        with pytest.raises(KMSError) as exc:
            alice.import_key_material(KeyId=key, **params)
        assert code_of(exc) == code, code
    clock.advance(days=2)
    with pytest.raises(KMSError) as exc:
        alice.import_key_material(KeyId=key, ImportToken=p["ImportToken"], EncryptedKeyMaterial=good,
                                  ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert code_of(exc) == "ExpiredImportTokenException"
    with pytest.raises(KMSError) as exc:
        alice.get_parameters_for_import(KeyId=SEED_KEY, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                        WrappingKeySpec="RSA_2048")
    assert code_of(exc) == "UnsupportedOperationException"


def test_import_asymmetric_material(alice) -> None:
    key = alice.create_key(Origin="EXTERNAL", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    priv = ec.generate_private_key(ec.SECP256R1())
    der = priv.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    p = alice.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256",
                                        WrappingKeySpec="RSA_2048")
    alice.import_key_material(KeyId=key, ImportToken=p["ImportToken"],
                              EncryptedKeyMaterial=_wrap(p["PublicKey"], der, "RSA_AES_KEY_WRAP_SHA_256"),
                              ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    sig = alice.sign(KeyId=key, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    priv.public_key().verify(sig, b"m", ec.ECDSA(hashes.SHA256()))


def test_multi_region_replica(kms, alice) -> None:
    primary = alice.create_key(MultiRegion=True)["KeyMetadata"]
    assert primary["KeyId"].startswith("mrk-") and primary["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    blob = alice.encrypt(KeyId=primary["KeyId"], Plaintext=b"everywhere")["CiphertextBlob"]
    out = alice.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="eu-west-1", Description="replica")
    replica = out["ReplicaKeyMetadata"]
    assert replica["Arn"] == primary["Arn"].replace(REGION, "eu-west-1")
    assert replica["MultiRegionConfiguration"]["PrimaryKey"]["Region"] == REGION
    eu = kms.client(ALICE, "eu-west-1")
    assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"everywhere"
    cfg = alice.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]
    assert [r["Region"] for r in cfg["ReplicaKeys"]] == ["eu-west-1"]
    with pytest.raises(KMSError) as exc:
        alice.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="eu-west-1")
    assert code_of(exc) == "AlreadyExistsException"
    with pytest.raises(KMSError) as exc:
        alice.replicate_key(KeyId=SEED_KEY, ReplicaRegion="eu-west-1")
    assert code_of(exc) == "UnsupportedOperationException"
    # rotation of the primary reaches the replica
    alice.rotate_key_on_demand(KeyId=primary["KeyId"])
    new_blob = alice.encrypt(KeyId=primary["KeyId"], Plaintext=b"rotated")["CiphertextBlob"]
    assert eu.decrypt(CiphertextBlob=new_blob)["Plaintext"] == b"rotated"


def test_world_multi_region_copies_share_key_material(clock) -> None:
    from kmsauthz.kms import LocalKMS
    from kmsauthz.scenario import load_scenario

    path = __import__("pathlib").Path(__file__).resolve().parents[3] / "shared" / "scenarios" / "80-regional-scoping.yaml"
    if not path.exists():
        pytest.skip("shared/scenarios is not beside the project")
    world = load_scenario(path).world
    admin = "arn:aws:iam::111122223333:root"
    with LocalKMS(world, clock=clock) as kms:
        east, west = kms.client(admin, "us-east-1"), kms.client(admin, "us-west-2")
        blob = east.encrypt(KeyId="mrk-1234abcd12ab34cd56ef1234567890ab", Plaintext=b"both")["CiphertextBlob"]
        assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"both"


def test_update_primary_region(kms, alice) -> None:
    primary = alice.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    alice.replicate_key(KeyId=primary, ReplicaRegion="eu-west-1")
    alice.enable_key_rotation(KeyId=primary, RotationPeriodInDays=100)
    alice.update_primary_region(KeyId=primary, PrimaryRegion="eu-west-1")
    eu = kms.client(ALICE, "eu-west-1")
    cfg = eu.describe_key(KeyId=primary)["KeyMetadata"]["MultiRegionConfiguration"]
    assert cfg["MultiRegionKeyType"] == "PRIMARY" and cfg["PrimaryKey"]["Region"] == "eu-west-1"
    assert [r["Region"] for r in cfg["ReplicaKeys"]] == [REGION]
    assert eu.get_key_rotation_status(KeyId=primary)["RotationPeriodInDays"] == 100
    eu.rotate_key_on_demand(KeyId=primary)  # the new primary rotates, the old one no longer may
    with pytest.raises(KMSError) as exc:
        alice.rotate_key_on_demand(KeyId=primary)
    assert code_of(exc) == "UnsupportedOperationException"
    with pytest.raises(KMSError) as exc:
        eu.update_primary_region(KeyId=primary, PrimaryRegion="ap-south-1")
    assert code_of(exc) == "NotFoundException"
