"""The fast paths of Encrypt / Decrypt / GenerateDataKey keep the slow paths' behaviour.

- the compiled per-operation parameter checkers accept, normalise and reject exactly as the full
  checkers they stand in front of (property test over generated parameters);
- batched AES-GCM nonces are never handed out twice, across threads and across ``fork``;
- blobs keep the documented format (one built by hand from the key material decrypts, and ours
  parse as documented).
"""

from __future__ import annotations

import os
import struct
import sys
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kms_support import SEED_KEY

from kmsauthz.kms import KMSError, crypto
from kmsauthz.kms.validation import validators

# -- compiled parameter checkers ------------------------------------------------------------

_VALUES = st.one_of(
    st.text(max_size=5), st.text(min_size=2040, max_size=2050), st.binary(max_size=8),
    st.binary(min_size=4090, max_size=4100), st.binary(min_size=6140, max_size=6150),
    st.sampled_from(["SYMMETRIC_DEFAULT", "AES_256", "AES_128", "RSAES_OAEP_SHA_1", "SM2PKE", "aes_256", ""]),
    st.integers(-2, 2000), st.booleans(), st.none(), st.just(bytearray(b"x")), st.just(memoryview(b"xy")),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    st.lists(st.text(max_size=4), max_size=3),
)
_NAMES = st.sampled_from(["KeyId", "Plaintext", "CiphertextBlob", "EncryptionContext", "GrantTokens",
                          "EncryptionAlgorithm", "KeySpec", "NumberOfBytes", "DryRun", "DryRunModifiers",
                          "Recipient", "Bogus", "keyid"])
_OPS = ["Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncrypt", "DescribeKey"]


def _outcome(check: Any, params: Any) -> tuple[str, Any]:
    try:
        return "ok", check(params, "")
    except KMSError as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op=st.sampled_from(_OPS), params=st.dictionaries(_NAMES, _VALUES, max_size=5))
def test_compiled_checker_matches_the_full_checker(op: str, params: dict[str, Any]) -> None:
    check = validators()[op]
    full = getattr(check, "__wrapped__", check)
    got, want = _outcome(check, params), _outcome(full, params)
    assert got == want
    if got[0] == "ok":
        assert list(got[1]) == list(params)  # same members, same order
        assert got[1] is not params  # a copy: the operation may not alter the caller's dict


def test_compiled_checker_takes_the_fast_path_only_on_plain_values() -> None:
    check = validators()["Encrypt"]
    assert hasattr(check, "__wrapped__")
    ok = {"KeyId": SEED_KEY, "Plaintext": b"x"}
    assert check(ok, "") == ok
    assert check({"KeyId": SEED_KEY, "Plaintext": "x"}, "")["Plaintext"] == b"x"  # str -> bytes, as botocore
    with pytest.raises(KMSError, match="missing required parameter `Plaintext`"):
        check({"KeyId": SEED_KEY}, "")
    with pytest.raises(KMSError, match="length less than or equal to 4096"):
        check({"KeyId": SEED_KEY, "Plaintext": b"x" * 4097}, "")
    with pytest.raises(KMSError, match="unknown parameter `Bogus`"):
        check({"KeyId": SEED_KEY, "Plaintext": b"x", "Bogus": 1}, "")


# -- nonces ---------------------------------------------------------------------------------


def test_nonces_are_unique_across_threads_and_batches() -> None:
    per_thread = 3 * crypto._NonceSource.BATCH + 7
    out: list[list[bytes]] = [[] for _ in range(6)]
    start = threading.Barrier(len(out))

    def work(bucket: list[bytes]) -> None:
        start.wait()
        for _ in range(per_thread):
            bucket.append(crypto.new_nonce())

    threads = [threading.Thread(target=work, args=(b,)) for b in out]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [n for b in out for n in b]
    assert all(type(n) is bytes and len(n) == crypto.NONCE_BYTES for n in every)
    assert len(set(every)) == len(every)


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "win32", reason="needs fork")
def test_a_forked_child_does_not_repeat_its_parents_nonces() -> None:
    crypto.new_nonce()  # a batch is in use when the process forks
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write, b"".join(crypto.new_nonce() for _ in range(20)))
        finally:
            os._exit(0)
    os.close(write)
    child = b""
    while chunk := os.read(read, 4096):
        child += chunk
    os.close(read)
    os.waitpid(pid, 0)
    theirs = {child[i:i + 12] for i in range(0, len(child), 12)}
    ours = {crypto.new_nonce() for _ in range(2 * crypto._NonceSource.BATCH)}
    assert len(theirs) == 20 and not theirs & ours


# -- the blob format ------------------------------------------------------------------------


def _material(kms: Any, arn: str) -> tuple[bytes, bytes]:
    live = kms._keys[arn]
    mid = live.rec.current_material.id
    return bytes.fromhex(mid), bytes(kms.store.get_material(arn, mid))


def test_a_blob_built_by_hand_in_the_documented_format_decrypts(kms: Any, alice: Any) -> None:
    arn = alice.describe_key(KeyId=SEED_KEY)["KeyMetadata"]["Arn"]
    mid, secret = _material(kms, arn)
    header = bytes((1, len(arn))) + arn.encode() + mid
    context = {"b": "2", "a": "1"}
    aad = header + b"".join(struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode()
                            for k, v in sorted(context.items()))
    nonce = os.urandom(12)
    blob = header + nonce + AESGCM(secret).encrypt(nonce, b"old blob", aad)
    out = alice.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    assert out["Plaintext"] == b"old blob" and out["KeyId"] == arn and out["KeyMaterialId"] == mid.hex()


def test_our_blobs_have_the_documented_layout(kms: Any, alice: Any) -> None:
    arn = alice.describe_key(KeyId=SEED_KEY)["KeyMetadata"]["Arn"]
    mid, secret = _material(kms, arn)
    blobs = {alice.encrypt(KeyId=SEED_KEY, Plaintext=b"p" * 33)["CiphertextBlob"] for _ in range(3)}
    assert len(blobs) == 3
    dk = alice.generate_data_key(KeyId=SEED_KEY, KeySpec="AES_128")
    for blob, plain in [*((b, b"p" * 33) for b in blobs), (dk["CiphertextBlob"], dk["Plaintext"])]:
        parsed = crypto.parse_blob(blob)
        assert (parsed.key_arn, parsed.material_id) == (arn, mid)
        assert blob[:2] == bytes((1, len(arn))) and parsed.header == blob[:2 + len(arn) + 32]
        assert len(blob) == len(parsed.header) + 12 + len(plain) + 16
        assert AESGCM(secret).decrypt(parsed.nonce, bytes(parsed.body), parsed.header) == plain
    assert type(dk["Plaintext"]) is bytes and len(dk["Plaintext"]) == 16


# -- key references -------------------------------------------------------------------------


def test_an_alias_is_refused_exactly_where_the_operation_takes_no_alias(kms: Any) -> None:
    from kmsauthz.kms.errors import InvalidArnException
    from kmsauthz.kms.service import _KEY_FORMS

    ctx = kms.context(principal="arn:aws:iam::111122223333:user/alice")
    seed = kms._resolve(ctx, SEED_KEY)
    arn = f"arn:aws:kms:{ctx.region}:111122223333:alias/seed"
    for op, forms in _KEY_FORMS.items():
        takes_alias = bool(forms & {"alias-name", "alias-arn"})
        for ref in ("alias/seed", arn):
            if takes_alias:
                assert kms._resolve(ctx, ref, op) is seed, (op, ref)
            else:
                with pytest.raises(InvalidArnException):
                    kms._resolve(ctx, ref, op)
        assert kms._resolve(ctx, SEED_KEY, op) is seed
