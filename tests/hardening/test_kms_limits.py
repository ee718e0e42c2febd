"""Limits as AWS sets them (semantics §7.3, §7.12; resource-limits.html): each is a specific KMS
error, reached without a slowdown or a crash."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from hardening_support import ACCOUNT, ALICE, BOB, REGION, SEED_KEY, code, key_policy, make_world

from kmsauthz.kms import KMSError, LocalKMS
from kmsauthz.kms.grants import MAX_GRANTS_PER_KEY, make_token
from kmsauthz.kms.keystore import GrantRecord

SEED_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{SEED_KEY}"


def _refused(call: Any, expected: str) -> KMSError:
    with pytest.raises(KMSError) as exc:
        call()
    assert code(exc.value) == expected, exc.value.message
    assert exc.value.message and not exc.value.message[:1].isupper() and not exc.value.message.endswith(".")
    return exc.value


def test_fifty_thousand_grants_then_limit_exceeded(tmp_path: Path) -> None:
    store, root = tmp_path / "k.db", b"q" * 32
    LocalKMS.from_world(make_world(), store=store, root_key=root).close()
    kms = LocalKMS.from_world(make_world(), store=store, root_key=root)
    template = asdict(GrantRecord(grant_id="", key_arn=SEED_ARN, grantee="", operations=["Decrypt"],
                                  issuing_account=f"arn:aws:iam::{ACCOUNT}:root", created=0.0))
    rows = []
    for i in range(MAX_GRANTS_PER_KEY):  # GrantRecord.to_json's format (asdict per row costs 10 s)
        gid = f"{i:064x}"
        doc = {**template, "grant_id": gid, "grantee": f"arn:aws:iam::{ACCOUNT}:role/r{i}",
               "token": make_token(SEED_ARN, gid)}
        rows.append((SEED_ARN, gid, json.dumps(doc, sort_keys=True, separators=(",", ":"))))
    assert GrantRecord.from_json(rows[7][2]).grantee.endswith("/r7")
    with kms.store.transaction() as db:  # in bulk, under the API (the API path is one transaction each)
        db.executemany("INSERT INTO grants VALUES (?, ?, ?)", rows)
    kms.close()
    with LocalKMS.from_world(make_world(), store=store, root_key=root) as kms:
        a = kms.client(ALICE, REGION)
        start = time.perf_counter()
        _refused(lambda: a.create_grant(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Encrypt"]),
                 "LimitExceededException")
        assert time.perf_counter() - start < 2.0
        assert len(a.list_grants(KeyId=SEED_KEY, Limit=100)["Grants"]) == 100
        a.revoke_grant(KeyId=SEED_KEY, GrantId=f"{0:064x}")  # one fewer: the quota has room again
        g = a.create_grant(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Encrypt"])
        assert kms.client(BOB, REGION).encrypt(KeyId=SEED_ARN, Plaintext=b"x", GrantTokens=[g["GrantToken"]])
        _refused(lambda: a.create_grant(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Decrypt"]),
                 "LimitExceededException")


def test_plaintext_and_data_key_sizes(alice: Any) -> None:
    blob = alice.encrypt(KeyId=SEED_KEY, Plaintext=b"p" * 4096)["CiphertextBlob"]
    assert len(blob) <= 6144  # semantics §7.13 (d)
    assert alice.decrypt(CiphertextBlob=blob)["Plaintext"] == b"p" * 4096
    err = _refused(lambda: alice.encrypt(KeyId=SEED_KEY, Plaintext=b"p" * 4097), "ValidationException")
    assert "`Plaintext`" in err.message and "pppp" not in err.message
    _refused(lambda: alice.encrypt(KeyId=SEED_KEY, Plaintext=b""), "ValidationException")
    _refused(lambda: alice.generate_data_key(KeyId=SEED_KEY, NumberOfBytes=1025), "ValidationException")
    _refused(lambda: alice.generate_random(NumberOfBytes=1025), "ValidationException")
    _refused(lambda: alice.decrypt(CiphertextBlob=b"c" * 6145), "ValidationException")
    _refused(lambda: alice.encrypt(KeyId=SEED_KEY, Plaintext=b"x", GrantTokens=["t"] * 11), "ValidationException")


def test_a_large_encryption_context_is_neither_slow_nor_a_crash(alice: Any) -> None:
    # AWS documents no size for an encryption context (the request size bounds it); a few
    # thousand pairs must still cost milliseconds, and round-trip exactly
    ec = {f"k{i:05d}": "v" * 20 for i in range(3000)}
    start = time.perf_counter()
    blob = alice.encrypt(KeyId=SEED_KEY, Plaintext=b"x", EncryptionContext=ec)["CiphertextBlob"]
    assert alice.decrypt(CiphertextBlob=blob, EncryptionContext=ec)["Plaintext"] == b"x"
    assert time.perf_counter() - start < 2.0
    _refused(lambda: alice.decrypt(CiphertextBlob=blob, EncryptionContext={**ec, "k00000": "w"}),
             "InvalidCiphertextException")


def test_grant_constraint_limits(alice: Any) -> None:
    big = {f"k{i}": "v" for i in range(9)}
    _refused(lambda: alice.create_grant(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Decrypt"],
                                        Constraints={"EncryptionContextSubset": big}), "ValidationException")
    _refused(lambda: alice.create_grant(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Decrypt"],
                                        Constraints={"EncryptionContextEquals": {"k": "v" * 385}}),
             "ValidationException")
    assert alice.create_grant(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Decrypt"],
                              Constraints={"EncryptionContextEquals": {f"k{i}": "v" * 384 for i in range(8)}})


def test_aliases_tags_and_rotations_per_key(alice: Any) -> None:
    key = alice.create_key()["KeyMetadata"]["KeyId"]
    for i in range(50):
        alice.create_alias(AliasName=f"alias/many-{i}", TargetKeyId=key)
    _refused(lambda: alice.create_alias(AliasName="alias/many-50", TargetKeyId=key), "LimitExceededException")
    tags = [{"TagKey": f"t{i}", "TagValue": "v"} for i in range(50)]
    alice.tag_resource(KeyId=key, Tags=tags)
    _refused(lambda: alice.tag_resource(KeyId=key, Tags=[{"TagKey": "t50", "TagValue": "v"}]),
             "LimitExceededException")
    alice.tag_resource(KeyId=key, Tags=[{"TagKey": "t0", "TagValue": "w"}])  # a changed value is no new tag
    _refused(lambda: alice.create_key(Tags=[*tags, {"TagKey": "t50", "TagValue": "v"}]), "TagException")
    for _ in range(25):
        alice.rotate_key_on_demand(KeyId=key)
    _refused(lambda: alice.rotate_key_on_demand(KeyId=key), "LimitExceededException")
    assert len(alice.list_key_rotations(KeyId=key, Limit=1000)["Rotations"]) == 25


def test_an_oversize_policy_through_the_endpoint_is_limit_exceeded() -> None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError
    from hardening_support import ALICE_KEYS

    from kmsauthz.scenario import load_world
    from kmsauthz.server import CredentialStore, Endpoint, start_server

    world = load_world(make_world())
    text = json.dumps(key_policy({"Sid": "P" * 33000, "Effect": "Allow", "Principal": {"AWS": BOB},
                                  "Action": "kms:Encrypt", "Resource": "*"}))
    with start_server(Endpoint(LocalKMS.from_world(world), CredentialStore.from_world(world)),
                      "127.0.0.1", 0) as running:
        c = boto3.client("kms", endpoint_url=running.url, region_name=REGION, aws_access_key_id=ALICE_KEYS[0],
                         aws_secret_access_key=ALICE_KEYS[1],
                         config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
        with pytest.raises(ClientError) as exc:
            c.put_key_policy(KeyId=SEED_KEY, PolicyName="default", Policy=text)
        assert exc.value.response["Error"]["Code"] == "LimitExceededException"
        with pytest.raises(ClientError) as exc:
            c.create_key(Policy=text)
        assert exc.value.response["Error"]["Code"] == "LimitExceededException"
