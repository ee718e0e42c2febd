"""The boto3-shaped surface: method names, parameter validation, response shapes, error shapes, secrets."""

from __future__ import annotations

import datetime
from typing import Any

import botocore.session
import pytest
from kms_support import ALICE, REGION, SEED_KEY, code_of

from kmsauthz.kms import KMSError, LocalKMS, SecretBytes
from kmsauthz.kms import errors as kms_errors
from kmsauthz.kms.key_states import STATES, TABLE, check_state
from kmsauthz.kms.local import SNAKE_TO_OPERATION

MODEL = botocore.session.get_session().get_service_model("kms")


def test_every_model_operation_is_a_client_method(alice) -> None:
    client = botocore.session.get_session().create_client(
        "kms", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    boto_methods = {m for m in dir(client) if not m.startswith("_") and m in SNAKE_TO_OPERATION}
    assert boto_methods == set(SNAKE_TO_OPERATION)
    assert set(SNAKE_TO_OPERATION.values()) == set(MODEL.operation_names)
    assert callable(alice.generate_data_key_pair_without_plaintext)
    with pytest.raises(AttributeError):
        alice.no_such_method  # noqa: B018


def test_every_model_error_shape_has_a_class() -> None:
    shapes = {e.name for op in MODEL.operation_names for e in MODEL.operation_model(op).error_shapes}
    assert shapes <= set(kms_errors.ERRORS)
    assert set(kms_errors.ERRORS) - shapes == {"AccessDeniedException", "ValidationException"}
    err = kms_errors.NotFoundException("key `x` does not exist", operation_name="Encrypt")
    assert err.response["Error"] == {"Code": "NotFoundException", "Message": "key `x` does not exist"}
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert str(err) == "An error occurred (NotFoundException) when calling the Encrypt operation: key `x` does not exist"
    assert kms_errors.error_class("KMSInternalException").http_status == 500


def test_client_exceptions_namespace(alice) -> None:
    with pytest.raises(alice.exceptions.NotFoundException):
        alice.describe_key(KeyId="alias/none")
    with pytest.raises(alice.exceptions.ClientError):
        alice.describe_key(KeyId="alias/none")


def _conforms(value: Any, shape: Any, path: str) -> None:
    if shape is None:  # operations without output
        assert value == {}, path
        return
    t = shape.type_name
    if t == "structure":
        assert isinstance(value, dict), path
        for k, v in value.items():
            assert k in shape.members, f"{path}.{k} is not in the model"
            _conforms(v, shape.members[k], f"{path}.{k}")
    elif t == "list":
        assert isinstance(value, list), path
        for i, v in enumerate(value):
            _conforms(v, shape.member, f"{path}[{i}]")
    elif t == "map":
        assert isinstance(value, dict), path
    elif t == "string":
        assert isinstance(value, str), path
        if shape.enum:
            assert value in shape.enum, f"{path}={value}"
    elif t == "blob":
        assert isinstance(value, bytes | SecretBytes), path
    elif t == "timestamp":
        assert isinstance(value, datetime.datetime) and value.tzinfo is not None, path
    elif t == "boolean":
        assert isinstance(value, bool), path
    elif t in ("integer", "long"):
        assert isinstance(value, int), path


def test_responses_match_the_model_output_shapes(kms, alice) -> None:
    sym = alice.create_key(Description="d", Tags=[{"TagKey": "a", "TagValue": "b"}])["KeyMetadata"]["KeyId"]
    rsa = alice.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    sig = alice.create_key(KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    mac = alice.create_key(KeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    blob = alice.encrypt(KeyId=sym, Plaintext=b"x")["CiphertextBlob"]
    s = alice.sign(KeyId=sig, Message=b"m", SigningAlgorithm="ECDSA_SHA_384")["Signature"]
    m = alice.generate_mac(KeyId=mac, Message=b"m", MacAlgorithm="HMAC_SHA_384")["Mac"]
    g = alice.create_grant(KeyId=sym, GranteePrincipal=ALICE, Operations=["Decrypt"], RetiringPrincipal=ALICE)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("DescribeKey", {"KeyId": sym}), ("ListKeys", {}), ("Encrypt", {"KeyId": sym, "Plaintext": b"x"}),
        ("Decrypt", {"CiphertextBlob": blob}), ("ReEncrypt", {"CiphertextBlob": blob, "DestinationKeyId": SEED_KEY}),
        ("GenerateDataKey", {"KeyId": sym, "KeySpec": "AES_128"}),
        ("GenerateDataKeyWithoutPlaintext", {"KeyId": sym, "NumberOfBytes": 7}),
        ("GenerateDataKeyPair", {"KeyId": sym, "KeyPairSpec": "ECC_NIST_P256"}),
        ("GenerateDataKeyPairWithoutPlaintext", {"KeyId": sym, "KeyPairSpec": "RSA_2048"}),
        ("Sign", {"KeyId": sig, "Message": b"m", "SigningAlgorithm": "ECDSA_SHA_384"}),
        ("Verify", {"KeyId": sig, "Message": b"m", "Signature": s, "SigningAlgorithm": "ECDSA_SHA_384"}),
        ("GenerateMac", {"KeyId": mac, "Message": b"m", "MacAlgorithm": "HMAC_SHA_384"}),
        ("VerifyMac", {"KeyId": mac, "Message": b"m", "Mac": m, "MacAlgorithm": "HMAC_SHA_384"}),
        ("GetPublicKey", {"KeyId": rsa}), ("GenerateRandom", {"NumberOfBytes": 3}),
        ("GetKeyPolicy", {"KeyId": sym}), ("ListKeyPolicies", {"KeyId": sym}),
        ("ListResourceTags", {"KeyId": sym}), ("ListGrants", {"KeyId": sym}),
        ("ListRetirableGrants", {"RetiringPrincipal": ALICE}), ("ListAliases", {}),
        ("EnableKeyRotation", {"KeyId": sym}), ("GetKeyRotationStatus", {"KeyId": sym}),
        ("RotateKeyOnDemand", {"KeyId": sym}), ("ListKeyRotations", {"KeyId": sym}),
        ("CreateKey", {"MultiRegion": True}), ("ScheduleKeyDeletion", {"KeyId": rsa}),
        ("CancelKeyDeletion", {"KeyId": rsa}), ("RetireGrant", {"GrantToken": g["GrantToken"]}),
    ]
    for op, params in calls:
        out = kms.call(op, params, principal=ALICE, region=REGION)
        _conforms(out, MODEL.operation_model(op).output_shape, op)
        out = kms.call(op, params, principal=ALICE, region=REGION, wipeable=True) if op == "GenerateDataKey" else out
        _conforms(out, MODEL.operation_model(op).output_shape, op)


@pytest.mark.parametrize(("op", "params", "needle"), [
    ("Encrypt", {"KeyId": SEED_KEY}, "Plaintext"),
    ("Encrypt", {"KeyId": SEED_KEY, "Plaintext": "text is utf-8", "EncryptionAlgorithm": "ROT13"},
     "EncryptionAlgorithm"),
    ("Encrypt", {"KeyId": 7, "Plaintext": b"x"}, "KeyId"),
    ("Encrypt", {"KeyId": "", "Plaintext": b"x"}, "KeyId"),
    ("Encrypt", {"KeyId": SEED_KEY, "Plaintext": b"x", "GrantTokens": ["t"] * 11}, "GrantTokens"),
    ("Encrypt", {"KeyId": SEED_KEY, "Plaintext": b"x", "EncryptionContext": "a=b"}, "EncryptionContext"),
    ("Encrypt", {"KeyId": SEED_KEY, "Plaintext": b"x", "DryRun": "yes"}, "DryRun"),
    ("ListKeys", {"Limit": 0}, "Limit"),
    ("ListKeys", {"Limit": True}, "Limit"),
    ("CreateKey", {"Tags": [{"TagKey": "a"}]}, "TagValue"),
    ("CreateGrant", {"KeyId": SEED_KEY, "GranteePrincipal": ALICE, "Operations": ["Decrypt"], "Name": "bad name"},
     "Name"),
    ("ScheduleKeyDeletion", {"KeyId": SEED_KEY, "PendingWindowInDays": 366}, "PendingWindowInDays"),
    ("Decrypt", {"CiphertextBlob": b"x" * 6145}, "CiphertextBlob"),
])
def test_bad_parameters_are_validation_errors_naming_the_parameter(kms, op, params, needle) -> None:
    with pytest.raises(KMSError) as exc:
        kms.call(op, params, principal=ALICE, region=REGION)
    assert code_of(exc) == "ValidationException"
    assert f"`{needle}" in exc.value.message or needle in exc.value.message


def test_no_key_material_or_plaintext_in_reprs_and_errors(kms, alice) -> None:
    plaintext = b"TOP-SECRET-PLAINTEXT"
    blob = alice.encrypt(KeyId=SEED_KEY, Plaintext=plaintext, EncryptionContext={"a": "b"})["CiphertextBlob"]
    live = next(iter(kms._keys.values()))
    material = [bytes(s) for s in live.secrets.values()]
    texts = [repr(kms), repr(live), repr(live.rec), repr(alice), repr(kms.store)]
    for bad in (lambda: alice.decrypt(CiphertextBlob=blob), lambda: alice.decrypt(CiphertextBlob=blob[:-3]),
                lambda: alice.encrypt(KeyId="alias/none", Plaintext=plaintext)):
        with pytest.raises(KMSError) as exc:
            bad()
        texts += [str(exc.value), repr(exc.value), repr(exc.value.response)]
    joined = "\n".join(texts)
    assert "TOP-SECRET" not in joined
    for m in material:
        assert m.hex() not in joined and repr(m)[2:-1] not in joined
    sb = SecretBytes(b"abc")
    assert "abc" not in repr(sb) and "abc" not in str(sb)
    with pytest.raises(TypeError):
        __import__("pickle").dumps(sb)


def test_wiping_a_disabled_keys_cached_material(kms, alice) -> None:
    alice.encrypt(KeyId=SEED_KEY, Plaintext=b"x")
    live = next(lv for lv in kms._keys.values() if lv.rec.key_id == SEED_KEY)
    cached = list(live.secrets.values())
    assert cached and not any(s.wiped for s in cached)
    alice.disable_key(KeyId=SEED_KEY)
    assert all(s.wiped for s in cached)


def test_key_state_table_covers_every_key_operation() -> None:
    key_ops = {op for op in MODEL.operation_names if "KeyId" in MODEL.operation_model(op).input_shape.members
               or op in ("CreateAlias", "UpdateAlias", "DeleteAlias", "ReEncrypt")}
    missing = key_ops - set(TABLE) - {"ListAliases", "GenerateRandom", "UpdatePrimaryRegion", "GetKeyLastUsage"}
    assert missing == set()
    for state in STATES:
        check_state("DescribeKey", state, "k")  # never refused
    with pytest.raises(kms_errors.DisabledException):
        check_state("Encrypt", "Disabled", "k")
    with pytest.raises(kms_errors.KMSInvalidStateException):
        check_state("Decrypt", "PendingImport", "k")


def test_a_bad_call_never_raises_anything_but_a_kms_error(kms) -> None:
    junk: list[Any] = [None, 0, -1, "", "x" * 3000, b"", b"\x00" * 10, [], {}, {"a": None}, 1.5, object()]
    for op in ("Encrypt", "Decrypt", "CreateGrant", "PutKeyPolicy", "ImportKeyMaterial", "Sign", "ReEncrypt",
               "CreateAlias", "TagResource", "ListGrants", "RetireGrant", "GenerateDataKeyPair", "VerifyMac"):
        members = list(MODEL.operation_model(op).input_shape.members)
        for i, name in enumerate(members):
            for value in junk[i % 3:: 3]:
                params = {m: SEED_KEY for m in MODEL.operation_model(op).input_shape.required_members}
                params[name] = value
                try:
                    kms.call(op, params, principal=ALICE, region=REGION)
                except KMSError as exc:  # a specific error, not the internal-error safety net
                    assert exc.code != "KMSInternalException", (op, name, value, exc.__cause__)
    with pytest.raises(KMSError) as exc:
        kms.call("NoSuchOperation", {}, principal=ALICE, region=REGION)
    assert code_of(exc) == "UnsupportedOperationException"


def test_from_world_accepts_a_file_a_mapping_or_a_world(tmp_path) -> None:
    import yaml
    from kms_support import make_world

    from kmsauthz.scenario import load_world

    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(make_world()))
    for source in (path, str(path), make_world(), load_world(make_world())):
        with LocalKMS.from_world(source) as kms:
            assert kms.client(ALICE, REGION).describe_key(KeyId="alias/seed")["KeyMetadata"]["KeyId"] == SEED_KEY


def test_client_responses_carry_response_metadata_and_paginate(alice) -> None:
    out = alice.describe_key(KeyId=SEED_KEY)
    meta = out["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 200 and len(meta["RequestId"]) == 36
    assert alice.describe_key(KeyId=SEED_KEY)["ResponseMetadata"]["RequestId"] != meta["RequestId"]
    for _ in range(4):
        alice.create_key()
    assert alice.can_paginate("list_keys") and not alice.can_paginate("encrypt")
    pages = list(alice.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["Keys"]) for p in pages] == [2, 2, 1]
    assert len({k["KeyId"] for p in pages for k in p["Keys"]}) == 5


def test_cross_account_use(clock) -> None:
    import json

    from kms_support import DAVE, make_world

    world = make_world()
    policy = world["keys"][0]["policy"]
    policy["Statement"].append({"Sid": "OtherAccountUses", "Effect": "Allow",
                                "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:DisableKey"],
                                "Resource": "*"})
    with LocalKMS.from_world(world, clock=clock) as kms:
        dave, alice = kms.client(DAVE, REGION), kms.client(ALICE, REGION)
        arn = f"arn:aws:kms:{REGION}:111122223333:key/{SEED_KEY}"
        blob = dave.encrypt(KeyId=arn, Plaintext=b"from afar")["CiphertextBlob"]
        assert dave.decrypt(CiphertextBlob=blob)["Plaintext"] == b"from afar"
        assert alice.decrypt(CiphertextBlob=blob)["Plaintext"] == b"from afar"
        with pytest.raises(KMSError) as exc:  # a key id or alias resolves in dave's own account
            dave.encrypt(KeyId=SEED_KEY, Plaintext=b"x")
        assert code_of(exc) == "NotFoundException"
        with pytest.raises(KMSError) as exc:  # DisableKey cannot be used cross-account
            dave.disable_key(KeyId=arn)
        assert code_of(exc) == "AccessDeniedException"
        assert json.loads(alice.get_key_policy(KeyId=SEED_KEY)["Policy"])["Statement"][-1]["Sid"] == "OtherAccountUses"


def test_derive_shared_secret(alice) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = alice.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
    peer = ec.generate_private_key(ec.SECP256R1())
    peer_der = peer.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    out = alice.derive_shared_secret(KeyId=key, KeyAgreementAlgorithm="ECDH", PublicKey=peer_der)
    kms_pub = serialization.load_der_public_key(alice.get_public_key(KeyId=key)["PublicKey"])
    assert out["SharedSecret"] == peer.exchange(ec.ECDH(), kms_pub)
    other = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(KMSError) as exc:
        alice.derive_shared_secret(KeyId=key, KeyAgreementAlgorithm="ECDH", PublicKey=other)
    assert code_of(exc) == "InvalidKeyUsageException"
    with pytest.raises(KMSError) as exc:
        alice.derive_shared_secret(KeyId=SEED_KEY, KeyAgreementAlgorithm="ECDH", PublicKey=peer_der)
    assert code_of(exc) == "InvalidKeyUsageException"


def test_errors_are_botocore_client_errors(alice) -> None:
    import pickle

    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as exc:
        alice.describe_key(KeyId="alias/none")
    err = exc.value
    assert err.response["Error"]["Code"] == "NotFoundException" and err.operation_name == "DescribeKey"
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err) and again.message == err.message and again.operation_name == "DescribeKey"
