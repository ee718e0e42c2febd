"""Encrypt/Decrypt, ReEncrypt, data keys, signatures, MACs, public keys, random — and their errors."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from kms_support import ALICE, BOB, REGION, SEED_KEY, code_of

from kmsauthz.kms import KMSError, SecretBytes
from kmsauthz.kms.crypto import KEY_SPECS, rsa_max_plaintext


def _key(client, spec="SYMMETRIC_DEFAULT", usage=None, **kw):
    params = {"KeySpec": spec, **kw}
    if usage:
        params["KeyUsage"] = usage
    return client.create_key(**params)["KeyMetadata"]["KeyId"]


def test_encrypt_decrypt_round_trip_without_key_id(alice, carol) -> None:
    out = alice.encrypt(KeyId="alias/seed", Plaintext=b"attack at dawn", EncryptionContext={"app": "x"})
    assert out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert out["KeyId"].endswith(SEED_KEY)
    assert b"attack at dawn" not in out["CiphertextBlob"]
    back = carol.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"app": "x"})
    assert back["Plaintext"] == b"attack at dawn"
    assert len(back["KeyMaterialId"]) == 64


def test_encryption_context_is_authenticated(alice) -> None:
    blob = alice.encrypt(KeyId=SEED_KEY, Plaintext=b"p", EncryptionContext={"a": "b"})["CiphertextBlob"]
    for ctx in ({}, {"a": "B"}, {"a": "b", "c": "d"}, {"A": "b"}):
        with pytest.raises(KMSError) as exc:
            alice.decrypt(CiphertextBlob=blob, **({"EncryptionContext": ctx} if ctx else {}))
        assert code_of(exc) == "InvalidCiphertextException"
    # pair order does not matter
    blob2 = alice.encrypt(KeyId=SEED_KEY, Plaintext=b"p", EncryptionContext={"x": "1", "y": "2"})["CiphertextBlob"]
    assert alice.decrypt(CiphertextBlob=blob2, EncryptionContext={"y": "2", "x": "1"})["Plaintext"] == b"p"


def test_plaintext_limits(alice) -> None:
    assert alice.encrypt(KeyId=SEED_KEY, Plaintext=b"x" * 4096)["CiphertextBlob"]
    for bad in (b"x" * 4097, b""):
        with pytest.raises(KMSError) as exc:
            alice.encrypt(KeyId=SEED_KEY, Plaintext=bad)
        assert code_of(exc) == "ValidationException"
        assert "`Plaintext`" in exc.value.message


@pytest.mark.parametrize("mutate", [
    lambda b: b[:-1],                      # truncated
    lambda b: b[:10],                      # header only
    lambda b: b"",                         # empty (model minimum 1)
    lambda b: bytes([2]) + b[1:],          # unknown version
    lambda b: b[:-1] + bytes([b[-1] ^ 1]),  # tag flipped
    lambda b: b[:60] + bytes([b[60] ^ 1]) + b[61:],  # material id / nonce flipped
    lambda b: b"not a ciphertext at all, just text",
])
def test_tampered_or_malformed_ciphertext(alice, mutate) -> None:
    blob = alice.encrypt(KeyId=SEED_KEY, Plaintext=b"secret")["CiphertextBlob"]
    with pytest.raises(KMSError) as exc:
        alice.decrypt(CiphertextBlob=mutate(blob))
    assert code_of(exc) in ("InvalidCiphertextException", "ValidationException")
    assert "secret" not in exc.value.message


def test_ciphertext_naming_another_key_fails(alice) -> None:
    other = _key(alice)
    blob = alice.encrypt(KeyId=SEED_KEY, Plaintext=b"secret")["CiphertextBlob"]
    forged = blob.replace(SEED_KEY.encode(), other.encode())  # same length: header now names `other`
    with pytest.raises(KMSError) as exc:
        alice.decrypt(CiphertextBlob=forged)
    assert code_of(exc) == "InvalidCiphertextException"


def test_decrypt_with_wrong_key_id_is_incorrect_key(alice) -> None:
    other = _key(alice)
    blob = alice.encrypt(KeyId=SEED_KEY, Plaintext=b"s")["CiphertextBlob"]
    with pytest.raises(KMSError) as exc:
        alice.decrypt(CiphertextBlob=blob, KeyId=other)
    assert code_of(exc) == "IncorrectKeyException"
    assert alice.decrypt(CiphertextBlob=blob, KeyId="alias/seed")["Plaintext"] == b"s"


def test_unknown_key_and_alias_are_not_found(alice) -> None:
    for ref in ("0000abcd-12ab-34cd-56ef-1234567890ab", "alias/nope",
                "arn:aws:kms:us-east-1:111122223333:key/0000abcd-12ab-34cd-56ef-1234567890ab",
                f"arn:aws:kms:eu-west-1:111122223333:key/{SEED_KEY}"):
        with pytest.raises(KMSError) as exc:
            alice.encrypt(KeyId=ref, Plaintext=b"x")
        assert code_of(exc) == "NotFoundException", ref


def test_disabled_and_pending_deletion_keys(alice) -> None:
    blob = alice.encrypt(KeyId=SEED_KEY, Plaintext=b"x")["CiphertextBlob"]
    alice.disable_key(KeyId=SEED_KEY)
    with pytest.raises(KMSError) as exc:
        alice.encrypt(KeyId=SEED_KEY, Plaintext=b"x")
    assert code_of(exc) == "DisabledException"
    with pytest.raises(KMSError) as exc:
        alice.decrypt(CiphertextBlob=blob)
    assert code_of(exc) == "DisabledException"
    alice.schedule_key_deletion(KeyId=SEED_KEY, PendingWindowInDays=7)
    with pytest.raises(KMSError) as exc:
        alice.decrypt(CiphertextBlob=blob)
    assert code_of(exc) == "KMSInvalidStateException"
    assert alice.describe_key(KeyId=SEED_KEY)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_state_errors_come_after_authorization(alice, bob) -> None:
    alice.disable_key(KeyId=SEED_KEY)
    with pytest.raises(KMSError) as exc:
        bob.encrypt(KeyId=SEED_KEY, Plaintext=b"x")
    assert code_of(exc) == "AccessDeniedException"


def test_wrong_key_usage(alice) -> None:
    signer = _key(alice, "ECC_NIST_P256", "SIGN_VERIFY")
    mac = _key(alice, "HMAC_256", "GENERATE_VERIFY_MAC")
    cases = [
        lambda: alice.encrypt(KeyId=signer, Plaintext=b"x"),
        lambda: alice.generate_data_key(KeyId=signer, KeySpec="AES_256"),
        lambda: alice.generate_mac(KeyId=SEED_KEY, Message=b"m", MacAlgorithm="HMAC_SHA_256"),
        lambda: alice.sign(KeyId=mac, Message=b"m", SigningAlgorithm="ECDSA_SHA_256"),
        lambda: alice.sign(KeyId=signer, Message=b"m", SigningAlgorithm="ECDSA_SHA_384"),
        lambda: alice.encrypt(KeyId=SEED_KEY, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
        lambda: alice.generate_mac(KeyId=mac, Message=b"m", MacAlgorithm="HMAC_SHA_512"),
    ]
    for case in cases:
        with pytest.raises(KMSError) as exc:
            case()
        assert code_of(exc) == "InvalidKeyUsageException"


LIMITS = {(2048, "RSAES_OAEP_SHA_1"): 214, (2048, "RSAES_OAEP_SHA_256"): 190, (3072, "RSAES_OAEP_SHA_1"): 342,
          (3072, "RSAES_OAEP_SHA_256"): 318, (4096, "RSAES_OAEP_SHA_1"): 470, (4096, "RSAES_OAEP_SHA_256"): 446}


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_rsa_encryption_and_its_size_limits(alice, bits) -> None:
    key = _key(alice, f"RSA_{bits}", "ENCRYPT_DECRYPT")
    pub = serialization.load_der_public_key(alice.get_public_key(KeyId=key)["PublicKey"])
    for alg in ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"):
        limit = rsa_max_plaintext(bits, alg)
        assert limit == LIMITS[(bits, alg)]
        ct = alice.encrypt(KeyId=key, Plaintext=b"y" * limit, EncryptionAlgorithm=alg)["CiphertextBlob"]
        assert len(ct) == bits // 8
        assert alice.decrypt(CiphertextBlob=ct, KeyId=key, EncryptionAlgorithm=alg)["Plaintext"] == b"y" * limit
        with pytest.raises(KMSError) as exc:
            alice.encrypt(KeyId=key, Plaintext=b"y" * (limit + 1), EncryptionAlgorithm=alg)
        assert code_of(exc) == "ValidationException"
        # the public key encrypts outside KMS, KMS decrypts
        h = hashes.SHA1() if alg.endswith("SHA_1") else hashes.SHA256()
        ext = pub.encrypt(b"outside", padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None))
        assert alice.decrypt(CiphertextBlob=ext, KeyId=key, EncryptionAlgorithm=alg)["Plaintext"] == b"outside"


def test_rsa_decrypt_needs_the_algorithm(alice) -> None:
    key = _key(alice, "RSA_2048", "ENCRYPT_DECRYPT")
    ct = alice.encrypt(KeyId=key, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    with pytest.raises(KMSError) as exc:
        alice.decrypt(CiphertextBlob=ct, KeyId=key)
    assert code_of(exc) == "InvalidKeyUsageException"
    with pytest.raises(KMSError) as exc:
        alice.decrypt(CiphertextBlob=ct, KeyId=key, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert code_of(exc) == "InvalidCiphertextException"


@pytest.mark.parametrize("spec", [s for s, i in KEY_SPECS.items() if i.signing])
def test_sign_verify_every_algorithm_raw_and_digest(alice, spec) -> None:
    key = _key(alice, spec, "SIGN_VERIFY")
    pub = serialization.load_der_public_key(alice.get_public_key(KeyId=key)["PublicKey"])
    for alg in KEY_SPECS[spec].signing:
        msg = b"the message"
        sig = alice.sign(KeyId=key, Message=msg, SigningAlgorithm=alg)["Signature"]
        assert alice.verify(KeyId=key, Message=msg, Signature=sig, SigningAlgorithm=alg)["SignatureValid"] is True
        name = "sha" + alg.rsplit("_", 1)[-1]
        digest = hashlib.new(name, msg).digest()
        dsig = alice.sign(KeyId=key, Message=digest, MessageType="DIGEST", SigningAlgorithm=alg)["Signature"]
        assert alice.verify(KeyId=key, Message=msg, Signature=dsig, SigningAlgorithm=alg)["SignatureValid"]
        # the public key verifies outside KMS
        h = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[name]
        if spec.startswith("ECC"):
            pub.verify(sig, msg, ec.ECDSA(h))
        elif "PSS" in alg:
            pub.verify(sig, msg, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
        else:
            pub.verify(sig, msg, padding.PKCS1v15(), h)
        with pytest.raises(KMSError) as exc:
            alice.verify(KeyId=key, Message=b"other", Signature=sig, SigningAlgorithm=alg)
        assert code_of(exc) == "KMSInvalidSignatureException"
        with pytest.raises(KMSError) as exc:
            alice.sign(KeyId=key, Message=digest[:-1], MessageType="DIGEST", SigningAlgorithm=alg)
        assert code_of(exc) == "ValidationException"


@pytest.mark.parametrize("bits", [224, 256, 384, 512])
def test_generate_and_verify_mac(alice, bits) -> None:
    key = _key(alice, f"HMAC_{bits}", "GENERATE_VERIFY_MAC")
    alg = f"HMAC_SHA_{bits}"
    mac = alice.generate_mac(KeyId=key, Message=b"m", MacAlgorithm=alg)["Mac"]
    assert len(mac) == bits // 8
    assert alice.verify_mac(KeyId=key, Message=b"m", Mac=mac, MacAlgorithm=alg)["MacValid"] is True
    with pytest.raises(KMSError) as exc:
        alice.verify_mac(KeyId=key, Message=b"n", Mac=mac, MacAlgorithm=alg)
    assert code_of(exc) == "KMSInvalidMacException"


def test_get_public_key_is_der_spki_and_only_for_asymmetric_keys(alice) -> None:
    key = _key(alice, "ECC_SECG_P256K1", "SIGN_VERIFY")
    out = alice.get_public_key(KeyId=key)
    pub = serialization.load_der_public_key(out["PublicKey"])
    assert isinstance(pub, ec.EllipticCurvePublicKey) and pub.curve.name == "secp256k1"
    assert out["SigningAlgorithms"] == ["ECDSA_SHA_256"] and out["KeyUsage"] == "SIGN_VERIFY"
    with pytest.raises(KMSError) as exc:
        alice.get_public_key(KeyId=SEED_KEY)
    assert code_of(exc) == "UnsupportedOperationException"


def test_generate_data_key_variants(kms, alice) -> None:
    for kw, n in (({"KeySpec": "AES_128"}, 16), ({"KeySpec": "AES_256"}, 32), ({"NumberOfBytes": 1}, 1),
                  ({"NumberOfBytes": 1024}, 1024)):
        out = alice.generate_data_key(KeyId=SEED_KEY, EncryptionContext={"k": "v"}, **kw)
        assert isinstance(out["Plaintext"], bytes) and len(out["Plaintext"]) == n
        again = alice.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"k": "v"})
        assert again["Plaintext"] == out["Plaintext"]
    wo = alice.generate_data_key_without_plaintext(KeyId=SEED_KEY, KeySpec="AES_256")
    assert "Plaintext" not in wo and len(alice.decrypt(CiphertextBlob=wo["CiphertextBlob"])["Plaintext"]) == 32
    for bad in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32}, {"NumberOfBytes": 0}, {"NumberOfBytes": 1025},
                {"KeySpec": "AES_512"}):
        with pytest.raises(KMSError) as exc:
            alice.generate_data_key(KeyId=SEED_KEY, **bad)
        assert code_of(exc) == "ValidationException", bad
    wipeable = kms.client(ALICE, REGION, wipeable_plaintext=True)
    secret = wipeable.generate_data_key(KeyId=SEED_KEY, KeySpec="AES_256")["Plaintext"]
    assert isinstance(secret, SecretBytes) and len(bytes(secret)) == 32
    buf = secret.buffer
    secret.wipe()
    assert buf == bytearray(32) and repr(secret) == "SecretBytes(<wiped>)"


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256", "ECC_SECG_P256K1"])
def test_generate_data_key_pair(alice, spec) -> None:
    out = alice.generate_data_key_pair(KeyId=SEED_KEY, KeyPairSpec=spec, EncryptionContext={"p": "q"})
    priv = serialization.load_der_private_key(out["PrivateKeyPlaintext"], None)
    pub = serialization.load_der_public_key(out["PublicKey"])
    assert priv.public_key().public_numbers() == pub.public_numbers()
    again = alice.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"], EncryptionContext={"p": "q"})
    assert again["Plaintext"] == out["PrivateKeyPlaintext"]
    wo = alice.generate_data_key_pair_without_plaintext(KeyId=SEED_KEY, KeyPairSpec=spec)
    assert "PrivateKeyPlaintext" not in wo and wo["KeyPairSpec"] == spec


def test_reencrypt_between_keys_and_its_two_authorizations(kms, alice, carol) -> None:
    dst = _key(alice)
    blob = alice.encrypt(KeyId=SEED_KEY, Plaintext=b"moving", EncryptionContext={"a": "1"})["CiphertextBlob"]
    out = alice.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"a": "1"}, DestinationKeyId=dst,
                           DestinationEncryptionContext={"b": "2"})
    assert out["SourceKeyId"].endswith(SEED_KEY) and out["KeyId"].endswith(dst)
    assert alice.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"b": "2"})["Plaintext"] == b"moving"
    with pytest.raises(KMSError) as exc:  # carol may Decrypt but not ReEncryptFrom, nor ReEncryptTo on dst
        carol.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"a": "1"}, DestinationKeyId=dst)
    assert code_of(exc) == "AccessDeniedException"
    with pytest.raises(KMSError) as exc:
        alice.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst)  # source context missing
    assert code_of(exc) == "InvalidCiphertextException"


def test_generate_random(alice, bob) -> None:
    assert len(alice.generate_random(NumberOfBytes=1024)["Plaintext"]) == 1024
    for n in (0, 1025):
        with pytest.raises(KMSError) as exc:
            alice.generate_random(NumberOfBytes=n)
        assert code_of(exc) == "ValidationException"
    with pytest.raises(KMSError) as exc:
        bob.generate_random(NumberOfBytes=8)
    assert code_of(exc) == "AccessDeniedException"


def test_dry_run(alice, bob) -> None:
    with pytest.raises(KMSError) as exc:
        alice.encrypt(KeyId=SEED_KEY, Plaintext=b"x", DryRun=True)
    assert code_of(exc) == "DryRunOperationException"
    with pytest.raises(KMSError) as exc:
        bob.encrypt(KeyId=SEED_KEY, Plaintext=b"x", DryRun=True)
    assert code_of(exc) == "AccessDeniedException"


def test_carol_is_allowed_only_what_the_key_policy_names(carol) -> None:
    with pytest.raises(KMSError) as exc:
        carol.encrypt(KeyId=SEED_KEY, Plaintext=b"x")
    assert code_of(exc) == "AccessDeniedException"
    assert carol.describe_key(KeyId=SEED_KEY)["KeyMetadata"]["KeyId"] == SEED_KEY
    _ = BOB
