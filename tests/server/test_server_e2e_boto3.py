"""boto3 against `kmsauthz serve` over the real LocalKMS and evaluator: every operation the crypto
core implements, through the wire, authorized as AWS would authorize it.

The last test checks that every operation the crypto core implements went through the server in
this module, so a new operation of the core cannot go untested here."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from endpoint_helpers import kms_client

from kmsauthz.kms import LocalKMS
from kmsauthz.scenario import load_world
from kmsauthz.server import CredentialStore, Endpoint, start_server

WORLD = Path(__file__).parent / "worlds" / "endpoint.yaml"
ACCOUNT = "111122223333"
ADMIN = ("AKIAADMINEXAMPLE0001", "admin/Secret+Key/EXAMPLE0000000000000000")
APP = ("ASIAAPPSESSION000001", "app/Secret+Key/EXAMPLE00000000000000000")
APP_DECRYPT_ONLY = ("ASIAAPPDECRYPTONLY01", "app/decrypt-only/EXAMPLE000000000000000")
MALLORY = ("AKIAMALLORYEXAMPLE01", "mallory/Secret+Key/EXAMPLE000000000000000")
MALLORY_ARN = f"arn:aws:iam::{ACCOUNT}:user/mallory"
ORDERS = "1234abcd-12ab-34cd-56ef-1234567890ab"


class Recording:
    """Passes every call to LocalKMS and remembers which operations went through."""

    def __init__(self, kms: LocalKMS) -> None:
        self.kms = kms
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def call(self, operation_name: str, params: dict[str, Any], **context: Any) -> dict[str, Any]:
        with self.lock:
            self.seen.add(operation_name)
        return self.kms.call(operation_name, params, **context)


@pytest.fixture(scope="module")
def live():
    world = load_world(WORLD)
    kms = LocalKMS.from_world(world, store=":memory:")
    recording = Recording(kms)
    with start_server(Endpoint(recording, CredentialStore.from_world(world)), "127.0.0.1", 0) as running:
        running.recording = recording  # type: ignore[attr-defined]
        running.kms = kms  # type: ignore[attr-defined]
        yield running
    kms.close()


@pytest.fixture(scope="module")
def admin(live):
    return kms_client(live.url, key=ADMIN)


def _code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return caught.value.response["Error"]["Code"]


def _new_key(admin, **kwargs) -> str:
    return admin.create_key(**kwargs)["KeyMetadata"]["KeyId"]


# ----------------------------------------------------------------------------- keys


def test_key_lifecycle(admin) -> None:
    meta = admin.create_key(Description="lifecycle")["KeyMetadata"]
    key_id = meta["KeyId"]
    assert meta["Arn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    assert (meta["KeySpec"], meta["KeyUsage"], meta["KeyState"], meta["Enabled"]) == (
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
        "Enabled",
        True,
    )
    assert isinstance(meta["CreationDate"], datetime)
    assert key_id in {k["KeyId"] for k in admin.list_keys(Limit=1000)["Keys"]}

    admin.update_key_description(KeyId=key_id, Description="renamed")
    assert admin.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "renamed"

    admin.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as caught:
        admin.encrypt(KeyId=key_id, Plaintext=b"x")
    assert _code(caught) == "DisabledException"
    admin.enable_key(KeyId=key_id)

    out = admin.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion" and isinstance(out["DeletionDate"], datetime)
    assert out["PendingWindowInDays"] == 7
    with pytest.raises(ClientError) as caught:
        admin.encrypt(KeyId=key_id, Plaintext=b"x")
    assert _code(caught) == "KMSInvalidStateException"
    admin.cancel_key_deletion(KeyId=key_id)
    assert admin.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


def test_create_key_with_tags(admin) -> None:
    key_id = admin.create_key(Tags=[{"TagKey": "Team", "TagValue": "core"}])["KeyMetadata"]["KeyId"]
    assert admin.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "Team", "TagValue": "core"}]


def test_custom_key_stores_are_listed_empty_and_not_connectable(admin) -> None:
    assert admin.describe_custom_key_stores()["CustomKeyStores"] == []
    with pytest.raises(ClientError) as caught:
        admin.connect_custom_key_store(CustomKeyStoreId="cks-1234567890abcdef0")
    assert _code(caught) == "UnsupportedOperationException"


def test_tags(admin) -> None:
    key_id = _new_key(admin)
    admin.tag_resource(
        KeyId=key_id, Tags=[{"TagKey": "Env", "TagValue": "dev"}, {"TagKey": "A", "TagValue": "1"}]
    )
    tags = {t["TagKey"]: t["TagValue"] for t in admin.list_resource_tags(KeyId=key_id)["Tags"]}
    assert tags == {"Env": "dev", "A": "1"}
    admin.untag_resource(KeyId=key_id, TagKeys=["A"])
    assert [t["TagKey"] for t in admin.list_resource_tags(KeyId=key_id)["Tags"]] == ["Env"]


def test_key_policies_and_the_lockout_check(admin) -> None:
    key_id = _new_key(admin)
    assert admin.list_key_policies(KeyId=key_id)["PolicyNames"] == ["default"]
    policy = json.loads(admin.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert any(s.get("Principal") == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"} for s in policy["Statement"])
    policy["Statement"].append(
        {
            "Sid": "Extra",
            "Effect": "Allow",
            "Principal": {"AWS": MALLORY_ARN},
            "Action": "kms:DescribeKey",
            "Resource": "*",
        }
    )
    admin.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))
    assert "Extra" in admin.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    assert kms_client(admin.meta.endpoint_url, key=MALLORY).describe_key(KeyId=_arn(key_id))["KeyMetadata"]

    lockout = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": MALLORY_ARN}, "Action": "kms:*", "Resource": "*"}
        ],
    }
    with pytest.raises(ClientError) as caught:
        admin.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(lockout))
    assert _code(caught) == "MalformedPolicyDocumentException"
    with pytest.raises(ClientError) as caught:
        admin.put_key_policy(KeyId=key_id, PolicyName="default", Policy="{not json")
    assert _code(caught) == "MalformedPolicyDocumentException"


def _arn(key_id: str, region: str = "us-east-1") -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"


def test_aliases(admin) -> None:
    first, second = _new_key(admin), _new_key(admin)
    admin.create_alias(AliasName="alias/e2e-alias", TargetKeyId=first)
    listed = admin.list_aliases(KeyId=first)["Aliases"]
    assert [a["AliasName"] for a in listed] == ["alias/e2e-alias"]
    assert listed[0]["AliasArn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/e2e-alias"
    assert admin.encrypt(KeyId="alias/e2e-alias", Plaintext=b"x")["KeyId"] == _arn(first)
    admin.update_alias(AliasName="alias/e2e-alias", TargetKeyId=second)
    assert admin.describe_key(KeyId="alias/e2e-alias")["KeyMetadata"]["KeyId"] == second
    with pytest.raises(ClientError) as caught:
        admin.create_alias(AliasName="alias/e2e-alias", TargetKeyId=first)
    assert _code(caught) == "AlreadyExistsException"
    with pytest.raises(ClientError) as caught:
        admin.create_alias(AliasName="alias/aws/mine", TargetKeyId=first)
    assert _code(caught) in ("InvalidAliasNameException", "NotAuthorizedException", "AccessDeniedException")
    admin.delete_alias(AliasName="alias/e2e-alias")
    with pytest.raises(ClientError) as caught:
        admin.describe_key(KeyId="alias/e2e-alias")
    assert _code(caught) == "NotFoundException"


# ----------------------------------------------------------------------------- cryptography


def test_symmetric_encrypt_decrypt_reencrypt(admin) -> None:
    source, target = _new_key(admin), _new_key(admin)
    ctx = {"Dept": "sales", "Purpose": "e2e"}
    out = admin.encrypt(KeyId=source, Plaintext=b"\x00secret\xff", EncryptionContext=ctx)
    assert out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT" and out["KeyId"] == _arn(source)
    blob = out["CiphertextBlob"]
    back = admin.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)
    assert back["Plaintext"] == b"\x00secret\xff" and back["KeyId"] == _arn(source)
    with pytest.raises(ClientError) as caught:
        admin.decrypt(CiphertextBlob=blob, EncryptionContext={"Dept": "other"})
    assert _code(caught) == "InvalidCiphertextException"
    with pytest.raises(ClientError) as caught:
        admin.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, KeyId=target)
    assert _code(caught) == "IncorrectKeyException"
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(ClientError) as caught:
        admin.decrypt(CiphertextBlob=bytes(tampered), EncryptionContext=ctx)
    assert _code(caught) == "InvalidCiphertextException"

    moved = admin.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext=ctx,
        DestinationKeyId=target,
        DestinationEncryptionContext={"New": "ctx"},
    )
    assert moved["SourceKeyId"] == _arn(source) and moved["KeyId"] == _arn(target)
    again = admin.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"New": "ctx"})
    assert again["Plaintext"] == b"\x00secret\xff"

    with pytest.raises(ClientError) as caught:
        admin.encrypt(KeyId=source, Plaintext=b"x" * 4097)
    assert _code(caught) == "ValidationException"


def test_data_keys_and_random(admin) -> None:
    key_id = _new_key(admin)
    dk = admin.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext={"f": "1"})
    assert len(dk["Plaintext"]) == 32
    assert (
        admin.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"f": "1"})["Plaintext"]
        == dk["Plaintext"]
    )
    assert len(admin.generate_data_key(KeyId=key_id, NumberOfBytes=64)["Plaintext"]) == 64
    wp = admin.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_128")
    assert "Plaintext" not in wp
    assert len(admin.decrypt(CiphertextBlob=wp["CiphertextBlob"])["Plaintext"]) == 16
    random_bytes = admin.generate_random(NumberOfBytes=48)["Plaintext"]
    assert len(random_bytes) == 48 and random_bytes != admin.generate_random(NumberOfBytes=48)["Plaintext"]


def test_data_key_pairs(admin) -> None:
    from cryptography.hazmat.primitives.serialization import load_der_private_key, load_der_public_key

    key_id = _new_key(admin)
    pair = admin.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")
    private = load_der_private_key(pair["PrivateKeyPlaintext"], None)
    public = load_der_public_key(pair["PublicKey"])
    assert private.public_key().public_numbers() == public.public_numbers()
    decrypted = admin.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"])["Plaintext"]
    assert decrypted == pair["PrivateKeyPlaintext"]
    bare = admin.generate_data_key_pair_without_plaintext(KeyId=key_id, KeyPairSpec="RSA_2048")
    assert "PrivateKeyPlaintext" not in bare and bare["KeyPairSpec"] == "RSA_2048"
    load_der_public_key(bare["PublicKey"])


def test_rsa_encryption_with_the_public_key(admin) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    key_id = _new_key(admin, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    pub = admin.get_public_key(KeyId=key_id)
    assert "RSAES_OAEP_SHA_256" in pub["EncryptionAlgorithms"] and pub["KeySpec"] == "RSA_2048"
    local = load_der_public_key(pub["PublicKey"]).encrypt(
        b"offline", padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    )
    out = admin.decrypt(CiphertextBlob=local, KeyId=key_id, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert out["Plaintext"] == b"offline"
    blob = admin.encrypt(KeyId=key_id, Plaintext=b"through kms", EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert (
        admin.decrypt(
            CiphertextBlob=blob["CiphertextBlob"], KeyId=key_id, EncryptionAlgorithm="RSAES_OAEP_SHA_1"
        )["Plaintext"]
        == b"through kms"
    )
    with pytest.raises(ClientError) as caught:
        admin.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")
    assert _code(caught) == "InvalidKeyUsageException"


def test_sign_and_verify(admin) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    key_id = _new_key(admin, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    signed = admin.sign(
        KeyId=key_id, Message=b"the message", MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
    )
    assert signed["SigningAlgorithm"] == "ECDSA_SHA_256"
    ok = admin.verify(
        KeyId=key_id, Message=b"the message", Signature=signed["Signature"], SigningAlgorithm="ECDSA_SHA_256"
    )
    assert ok["SignatureValid"] is True
    public = load_der_public_key(admin.get_public_key(KeyId=key_id)["PublicKey"])
    public.verify(signed["Signature"], b"the message", ec.ECDSA(hashes.SHA256()))  # raises if wrong
    with pytest.raises(ClientError) as caught:
        admin.verify(
            KeyId=key_id,
            Message=b"another message",
            Signature=signed["Signature"],
            SigningAlgorithm="ECDSA_SHA_256",
        )
    assert _code(caught) == "KMSInvalidSignatureException"


def test_derive_shared_secret(admin) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key

    key_id = _new_key(admin, KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")
    peer = ec.generate_private_key(ec.SECP256R1())
    peer_public = peer.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    out = admin.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=peer_public)
    kms_public = load_der_public_key(admin.get_public_key(KeyId=key_id)["PublicKey"])
    assert out["SharedSecret"] == peer.exchange(ec.ECDH(), kms_public)


def test_hmac(admin) -> None:
    key_id = _new_key(admin, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    mac = admin.generate_mac(KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert len(mac) == 32
    assert (
        admin.verify_mac(KeyId=key_id, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_256")["MacValid"] is True
    )
    with pytest.raises(ClientError) as caught:
        admin.verify_mac(KeyId=key_id, Message=b"n", Mac=mac, MacAlgorithm="HMAC_SHA_256")
    assert _code(caught) == "KMSInvalidMacException"


def test_rotation(admin) -> None:
    key_id = _new_key(admin)
    old = admin.encrypt(KeyId=key_id, Plaintext=b"before rotation")["CiphertextBlob"]
    admin.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    status = admin.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    assert isinstance(status["NextRotationDate"], datetime)
    admin.rotate_key_on_demand(KeyId=key_id)
    rotations = admin.list_key_rotations(KeyId=key_id)["Rotations"]
    assert len(rotations) == 1 and rotations[0]["RotationType"] == "ON_DEMAND"
    assert isinstance(rotations[0]["RotationDate"], datetime)
    assert admin.decrypt(CiphertextBlob=old)["Plaintext"] == b"before rotation"
    admin.disable_key_rotation(KeyId=key_id)
    assert admin.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False


def test_imported_key_material(admin) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    key_id = _new_key(admin, Origin="EXTERNAL")
    assert admin.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    params = admin.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    assert isinstance(params["ParametersValidTo"], datetime)
    wrapped = load_der_public_key(params["PublicKey"]).encrypt(
        os.urandom(32), padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    )
    admin.import_key_material(
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrapped,
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    blob = admin.encrypt(KeyId=key_id, Plaintext=b"imported")["CiphertextBlob"]
    assert admin.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"
    admin.delete_imported_key_material(KeyId=key_id)
    assert admin.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"


def test_multi_region_keys_replicate_across_regions_of_one_server(live, admin) -> None:
    primary = admin.create_key(MultiRegion=True, Description="mrk")["KeyMetadata"]
    assert primary["KeyId"].startswith("mrk-") and primary["MultiRegion"] is True
    replica = admin.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="eu-west-1")["ReplicaKeyMetadata"]
    assert replica["Arn"] == _arn(primary["KeyId"], "eu-west-1")
    blob = admin.encrypt(KeyId=primary["KeyId"], Plaintext=b"everywhere")["CiphertextBlob"]
    eu = kms_client(live.url, key=ADMIN, region="eu-west-1")
    assert eu.decrypt(CiphertextBlob=blob, KeyId=primary["KeyId"])["Plaintext"] == b"everywhere"
    admin.update_primary_region(KeyId=primary["KeyId"], PrimaryRegion="eu-west-1")
    moved = eu.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]
    assert moved["MultiRegionKeyType"] == "PRIMARY"
    assert moved["PrimaryKey"]["Region"] == "eu-west-1"


def test_the_region_is_the_one_of_the_credential_scope(live, admin) -> None:
    eu = kms_client(live.url, key=ADMIN, region="eu-west-1")
    meta = eu.create_key(Description="eu key")["KeyMetadata"]
    assert meta["Arn"] == _arn(meta["KeyId"], "eu-west-1")
    with pytest.raises(ClientError) as caught:
        admin.describe_key(KeyId=meta["KeyId"])
    assert _code(caught) == "NotFoundException"
    with pytest.raises(ClientError) as caught:
        eu.describe_key(KeyId="alias/orders")  # a us-east-1 alias of the world
    assert _code(caught) == "NotFoundException"


def test_list_keys_paginates(admin) -> None:
    for _ in range(3):
        _new_key(admin)
    first = admin.list_keys(Limit=2)
    assert len(first["Keys"]) == 2 and first["Truncated"] is True
    everything = [
        k["KeyId"]
        for page in admin.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2})
        for k in page["Keys"]
    ]
    assert len(everything) == len(set(everything)) >= 5


def test_dry_run(admin) -> None:
    with pytest.raises(ClientError) as caught:
        admin.encrypt(KeyId="alias/orders", Plaintext=b"x", DryRun=True)
    assert _code(caught) == "DryRunOperationException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


# ----------------------------------------------------------------------------- grants


def test_grants(live, admin) -> None:
    key_id = _new_key(admin)
    blob = admin.encrypt(KeyId=key_id, Plaintext=b"granted", EncryptionContext={"Dept": "sales"})[
        "CiphertextBlob"
    ]
    mallory = kms_client(live.url, key=MALLORY)
    with pytest.raises(ClientError) as caught:
        mallory.decrypt(CiphertextBlob=blob, EncryptionContext={"Dept": "sales"})
    assert _code(caught) == "AccessDeniedException"

    grant = admin.create_grant(
        KeyId=key_id,
        GranteePrincipal=MALLORY_ARN,
        Operations=["Decrypt"],
        RetiringPrincipal=f"arn:aws:iam::{ACCOUNT}:user/admin",
        Name="mallory-decrypt",
        Constraints={"EncryptionContextSubset": {"Dept": "sales"}},
    )
    out = mallory.decrypt(
        CiphertextBlob=blob, EncryptionContext={"Dept": "sales"}, GrantTokens=[grant["GrantToken"]]
    )
    assert out["Plaintext"] == b"granted"
    listed = admin.list_grants(KeyId=key_id)["Grants"]
    assert [(g["GrantId"], g["Name"], g["Operations"]) for g in listed] == [
        (grant["GrantId"], "mallory-decrypt", ["Decrypt"])
    ]
    assert isinstance(listed[0]["CreationDate"], datetime)
    retirable = admin.list_retirable_grants(RetiringPrincipal=f"arn:aws:iam::{ACCOUNT}:user/admin")["Grants"]
    assert grant["GrantId"] in {g["GrantId"] for g in retirable}
    with pytest.raises(ClientError) as caught:  # the grant allows Decrypt only
        mallory.encrypt(KeyId=_arn(key_id), Plaintext=b"x", EncryptionContext={"Dept": "sales"})
    assert _code(caught) == "AccessDeniedException"

    admin.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
    with pytest.raises(ClientError) as caught:
        mallory.decrypt(CiphertextBlob=blob, EncryptionContext={"Dept": "sales"})
    assert _code(caught) == "AccessDeniedException"

    second = admin.create_grant(
        KeyId=key_id,
        GranteePrincipal=MALLORY_ARN,
        Operations=["Decrypt"],
        RetiringPrincipal=f"arn:aws:iam::{ACCOUNT}:user/admin",
    )
    admin.retire_grant(KeyId=_arn(key_id), GrantId=second["GrantId"])
    assert admin.list_grants(KeyId=key_id)["Grants"] == []


# ----------------------------------------------------------------------------- authorization


def test_the_callers_policies_decide(live) -> None:
    app = kms_client(live.url, key=APP)  # the role's session, allowed by the key policy's AppUse
    blob = app.encrypt(KeyId="alias/orders", Plaintext=b"app data")["CiphertextBlob"]
    assert app.decrypt(CiphertextBlob=blob)["Plaintext"] == b"app data"
    with pytest.raises(ClientError) as caught:  # the role has no IAM policy for CreateKey
        app.create_key()
    assert _code(caught) == "AccessDeniedException"

    narrow = kms_client(live.url, key=APP_DECRYPT_ONLY)  # same role, session policy: Decrypt only
    assert narrow.decrypt(CiphertextBlob=blob)["Plaintext"] == b"app data"
    with pytest.raises(ClientError) as caught:
        narrow.encrypt(KeyId="alias/orders", Plaintext=b"x")
    assert _code(caught) == "AccessDeniedException"

    mallory = kms_client(live.url, key=MALLORY)
    with pytest.raises(ClientError) as caught:
        mallory.decrypt(CiphertextBlob=blob)
    assert _code(caught) == "AccessDeniedException"
    assert MALLORY_ARN in caught.value.response["Error"]["Message"]


def test_vpc_endpoint_conditions_through_the_endpoint_path(live, admin) -> None:
    with pytest.raises(ClientError) as caught:  # the key policy denies use outside vpce-1a2b3c4d
        admin.encrypt(KeyId="alias/vpce-only", Plaintext=b"x")
    assert _code(caught) == "AccessDeniedException"
    through = kms_client(live.url + "/vpce-1a2b3c4d", key=ADMIN)
    blob = through.encrypt(KeyId="alias/vpce-only", Plaintext=b"inside")["CiphertextBlob"]
    assert through.decrypt(CiphertextBlob=blob)["Plaintext"] == b"inside"
    headed = kms_client(live.url, key=ADMIN)
    headed.meta.events.register(
        "before-sign.kms.*",
        lambda request, **kw: request.headers.__setitem__("X-Kmsauthz-Vpc-Endpoint", "vpce-1a2b3c4d"),
    )
    assert headed.decrypt(CiphertextBlob=blob)["Plaintext"] == b"inside"


def _header(client, name: str, value: str):
    client.meta.events.register(
        "before-sign.kms.*", lambda request, **kw: request.headers.__setitem__(name, value)
    )
    return client


def test_source_ip_and_via_service_conditions_from_the_documented_headers(live, admin) -> None:
    with pytest.raises(ClientError) as caught:  # from 127.0.0.1, outside 203.0.113.0/24
        admin.encrypt(KeyId="alias/office-only", Plaintext=b"x")
    assert _code(caught) == "AccessDeniedException"
    office = _header(kms_client(live.url, key=ADMIN), "X-Kmsauthz-Source-Ip", "203.0.113.10")
    blob = office.encrypt(KeyId="alias/office-only", Plaintext=b"from the office")["CiphertextBlob"]
    with pytest.raises(ClientError) as caught:  # not through EC2
        office.decrypt(CiphertextBlob=blob)
    assert _code(caught) == "AccessDeniedException"
    ec2 = _header(kms_client(live.url, key=ADMIN), "X-Kmsauthz-Via-Service", "ec2.us-east-1.amazonaws.com")
    assert ec2.decrypt(CiphertextBlob=blob)["Plaintext"] == b"from the office"


def test_concurrent_boto3_clients_on_the_real_core(live, admin) -> None:
    key_id = _new_key(admin)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            client = kms_client(live.url, key=ADMIN)
            for i in range(15):
                text = f"{n}:{i}".encode()
                blob = client.encrypt(KeyId=key_id, Plaintext=text)["CiphertextBlob"]
                assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == text
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads) and not errors, errors[:3]


# ----------------------------------------------------------------------------- coverage


def _implemented(kms: LocalKMS) -> set[str]:
    from kmsauthz.server.protocol import load_kms_model

    names = set(load_kms_model()["operations"])
    listed = getattr(kms, "implemented_operations", None)
    if callable(listed):
        return set(listed()) & names
    return {n for n in names if callable(getattr(kms, f"_op_{n}", None))}


def test_every_operation_the_crypto_core_implements_went_through_the_server(live, request) -> None:
    if len(request.session.items) < 20:
        pytest.skip("only meaningful when the whole module runs")
    implemented = _implemented(live.kms)
    assert len(implemented) >= 40
    missing = implemented - live.recording.seen
    assert not missing, (
        f"operations of the crypto core never exercised through the endpoint: {sorted(missing)}"
    )
