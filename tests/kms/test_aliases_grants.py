"""Aliases (naming rules, two-resource authorization) and grants (create, list, retire, revoke, tokens)."""

from __future__ import annotations

import pytest
from kms_support import ACCOUNT, ALICE, BOB, CAROL, REGION, SEED_KEY, code_of

from kmsauthz.kms import KMSError


def test_alias_lifecycle(alice) -> None:
    k1 = alice.create_key()["KeyMetadata"]["KeyId"]
    k2 = alice.create_key()["KeyMetadata"]["KeyId"]
    alice.create_alias(AliasName="alias/app", TargetKeyId=k1)
    assert alice.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"] == k1
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app"
    assert alice.describe_key(KeyId=arn)["KeyMetadata"]["KeyId"] == k1
    with pytest.raises(KMSError) as exc:
        alice.create_alias(AliasName="alias/app", TargetKeyId=k2)
    assert code_of(exc) == "AlreadyExistsException"
    alice.update_alias(AliasName="alias/app", TargetKeyId=k2)
    blob = alice.encrypt(KeyId="alias/app", Plaintext=b"x")["CiphertextBlob"]
    assert alice.decrypt(CiphertextBlob=blob)["KeyId"].endswith(k2)
    listed = {a["AliasName"]: a for a in alice.list_aliases()["Aliases"]}
    assert listed["alias/app"]["TargetKeyId"] == k2 and listed["alias/app"]["AliasArn"] == arn
    assert [a["AliasName"] for a in alice.list_aliases(KeyId=SEED_KEY)["Aliases"]] == ["alias/seed"]
    alice.delete_alias(AliasName="alias/app")
    with pytest.raises(KMSError) as exc:
        alice.describe_key(KeyId="alias/app")
    assert code_of(exc) == "NotFoundException"
    with pytest.raises(KMSError) as exc:
        alice.delete_alias(AliasName="alias/app")
    assert code_of(exc) == "NotFoundException"


def test_alias_naming_rules(alice) -> None:
    for name, code in (("alias/aws/mine", "InvalidAliasNameException"), ("mine", "ValidationException"),
                       ("alias/has space", "ValidationException"), ("alias/", "ValidationException")):
        with pytest.raises(KMSError) as exc:
            alice.create_alias(AliasName=name, TargetKeyId=SEED_KEY)
        assert code_of(exc) == code, name
    with pytest.raises(KMSError) as exc:
        alice.create_alias(AliasName="alias/x", TargetKeyId="alias/seed")  # target must be a key id or ARN
    assert code_of(exc) in ("InvalidArnException", "NotFoundException", "ValidationException")


def test_update_alias_needs_same_key_type(alice) -> None:
    mac = alice.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    with pytest.raises(KMSError) as exc:
        alice.update_alias(AliasName="alias/seed", TargetKeyId=mac)
    assert code_of(exc) == "ValidationException"


def test_alias_operations_are_authorized(carol, bob) -> None:
    with pytest.raises(KMSError) as exc:
        bob.create_alias(AliasName="alias/bob", TargetKeyId=SEED_KEY)
    assert code_of(exc) == "AccessDeniedException"
    with pytest.raises(KMSError) as exc:
        carol.delete_alias(AliasName="alias/seed")
    assert code_of(exc) == "AccessDeniedException"
    with pytest.raises(KMSError) as exc:
        bob.list_aliases()
    assert code_of(exc) == "AccessDeniedException"


def test_alias_changes_feed_request_alias_conditions(kms, alice) -> None:
    carol = kms.client(CAROL, REGION)
    import json
    key = alice.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "ViaAlias", "Effect": "Allow", "Principal": {"AWS": CAROL}, "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:RequestAlias": "alias/front"}}}]}))["KeyMetadata"]["KeyId"]
    with pytest.raises(KMSError):
        carol.encrypt(KeyId="alias/front", Plaintext=b"x")
    alice.create_alias(AliasName="alias/front", TargetKeyId=key)
    assert carol.encrypt(KeyId="alias/front", Plaintext=b"x")["KeyId"].endswith(key)
    with pytest.raises(KMSError) as exc:
        carol.encrypt(KeyId=key, Plaintext=b"x")
    assert code_of(exc) == "AccessDeniedException"


def test_grant_lifecycle(kms, alice, bob) -> None:
    g = alice.create_grant(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"],
                           RetiringPrincipal=ALICE, Name="bob-use")
    assert len(g["GrantId"]) == 64 and g["GrantToken"]
    blob = bob.encrypt(KeyId=SEED_KEY, Plaintext=b"x")["CiphertextBlob"]
    assert bob.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    with pytest.raises(KMSError) as exc:
        bob.generate_data_key(KeyId=SEED_KEY, KeySpec="AES_256")
    assert code_of(exc) == "AccessDeniedException"
    entry = alice.list_grants(KeyId=SEED_KEY)["Grants"][0]
    assert entry["GrantId"] == g["GrantId"] and entry["GranteePrincipal"] == BOB
    assert entry["IssuingAccount"] == f"arn:aws:iam::{ACCOUNT}:root" and entry["Name"] == "bob-use"
    assert entry["Operations"] == ["Encrypt", "Decrypt"] and entry["KeyId"].endswith(SEED_KEY)
    assert [x["GrantId"] for x in alice.list_retirable_grants(RetiringPrincipal=ALICE)["Grants"]] == [g["GrantId"]]
    # same name and parameters: the same grant, a new token
    again = alice.create_grant(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Decrypt", "Encrypt"],
                               RetiringPrincipal=ALICE, Name="bob-use")
    assert again["GrantId"] == g["GrantId"] and again["GrantToken"] != g["GrantToken"]
    assert len(alice.list_grants(KeyId=SEED_KEY)["Grants"]) == 1
    # bob may not retire it (not the retiring principal, RetireGrant not granted)
    with pytest.raises(KMSError) as exc:
        bob.retire_grant(KeyId=SEED_KEY, GrantId=g["GrantId"])
    assert code_of(exc) == "AccessDeniedException"
    alice.retire_grant(GrantToken=g["GrantToken"])
    assert alice.list_grants(KeyId=SEED_KEY)["Grants"] == []
    with pytest.raises(KMSError) as exc:
        bob.encrypt(KeyId=SEED_KEY, Plaintext=b"x")
    assert code_of(exc) == "AccessDeniedException"


def test_grantee_with_retire_grant_may_retire(alice, bob) -> None:
    g = alice.create_grant(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Decrypt", "RetireGrant"])
    bob.retire_grant(KeyId=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{SEED_KEY}", GrantId=g["GrantId"])
    assert alice.list_grants(KeyId=SEED_KEY)["Grants"] == []


def test_revoke_grant(alice, bob, carol) -> None:
    g = alice.create_grant(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Encrypt"])
    with pytest.raises(KMSError) as exc:
        carol.revoke_grant(KeyId=SEED_KEY, GrantId=g["GrantId"])
    assert code_of(exc) == "AccessDeniedException"
    alice.revoke_grant(KeyId=SEED_KEY, GrantId=g["GrantId"])
    with pytest.raises(KMSError) as exc:
        bob.encrypt(KeyId=SEED_KEY, Plaintext=b"x")
    assert code_of(exc) == "AccessDeniedException"
    with pytest.raises(KMSError) as exc:
        alice.revoke_grant(KeyId=SEED_KEY, GrantId=g["GrantId"])
    assert code_of(exc) == "InvalidGrantIdException"


def test_grant_constraints(alice, bob) -> None:
    alice.create_grant(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Encrypt"],
                       Constraints={"EncryptionContextSubset": {"dept": "it"}})
    assert bob.encrypt(KeyId=SEED_KEY, Plaintext=b"x", EncryptionContext={"dept": "it", "x": "y"})
    with pytest.raises(KMSError) as exc:
        bob.encrypt(KeyId=SEED_KEY, Plaintext=b"x", EncryptionContext={"dept": "hr"})
    assert code_of(exc) == "AccessDeniedException"


def test_grant_validation(alice) -> None:
    signer = alice.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    cases = [
        dict(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Sign"]),                 # not for symmetric keys
        dict(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=[]),
        dict(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Fly"]),
        dict(KeyId=signer, GranteePrincipal=BOB, Operations=["Encrypt"]),
        dict(KeyId=signer, GranteePrincipal=BOB, Operations=["Sign"],
             Constraints={"EncryptionContextEquals": {"a": "b"}}),                        # constraints: symmetric only
        dict(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Decrypt"],
             Constraints={"EncryptionContextEquals": {"a": "b"}, "EncryptionContextSubset": {"a": "b"}}),
        dict(KeyId=SEED_KEY, GranteePrincipal="not a principal!", Operations=["Decrypt"]),
    ]
    for params in cases:
        with pytest.raises(KMSError) as exc:
            alice.create_grant(**params)
        assert code_of(exc) == "ValidationException", params
    with pytest.raises(KMSError) as exc:
        alice.create_grant(KeyId="alias/seed", GranteePrincipal=BOB, Operations=["Decrypt"])
    assert code_of(exc) == "InvalidArnException"


def test_invalid_grant_tokens(alice) -> None:
    for tok in ("garbage", "AAAA"):
        with pytest.raises(KMSError) as exc:
            alice.encrypt(KeyId=SEED_KEY, Plaintext=b"x", GrantTokens=[tok])
        assert code_of(exc) == "InvalidGrantTokenException"
        with pytest.raises(KMSError) as exc:
            alice.retire_grant(GrantToken=tok)
        assert code_of(exc) == "InvalidGrantTokenException"
    with pytest.raises(KMSError) as exc:
        alice.retire_grant()
    assert code_of(exc) == "ValidationException"
    with pytest.raises(KMSError) as exc:
        alice.list_grants(KeyId=SEED_KEY, GrantId="nope")
    assert code_of(exc) == "InvalidGrantIdException"


def test_grant_on_disabled_key(alice) -> None:
    alice.disable_key(KeyId=SEED_KEY)
    with pytest.raises(KMSError) as exc:
        alice.create_grant(KeyId=SEED_KEY, GranteePrincipal=BOB, Operations=["Decrypt"])
    assert code_of(exc) == "DisabledException"


def test_grant_operations_by_key_type_are_the_catalogs() -> None:
    from kmsauthz import catalog
    from kmsauthz.kms.grants import GRANT_OPS_BY_KIND

    every = {a.removeprefix("kms:") for a in catalog.GRANT_OPERATIONS}
    assert set().union(*GRANT_OPS_BY_KIND.values()) == every
    assert {"CreateGrant", "RetireGrant", "DescribeKey"} <= set.intersection(*map(set, GRANT_OPS_BY_KIND.values()))
