"""Key management: CreateKey for every spec, DescribeKey, ListKeys, state changes, deletion, tags, policies."""

from __future__ import annotations

import json

import pytest
from kms_support import ACCOUNT, ALICE, BOB, CAROL, REGION, SEED_KEY, code_of, make_world

from kmsauthz.kms import KMSError
from kmsauthz.kms.crypto import KEY_SPECS


@pytest.mark.parametrize(("spec", "usage"), [(s, u) for s, i in KEY_SPECS.items() for u in i.usages])
def test_create_key_every_spec_and_usage(alice, spec, usage) -> None:
    md = alice.create_key(KeySpec=spec, KeyUsage=usage, Description="d")["KeyMetadata"]
    assert md["KeySpec"] == spec and md["KeyUsage"] == usage and md["KeyState"] == "Enabled"
    assert md["Arn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{md['KeyId']}"
    assert md["Enabled"] is True and md["Origin"] == "AWS_KMS" and md["KeyManager"] == "CUSTOMER"
    again = alice.describe_key(KeyId=md["Arn"])["KeyMetadata"]
    assert again == md
    lists = {"ENCRYPT_DECRYPT": "EncryptionAlgorithms", "SIGN_VERIFY": "SigningAlgorithms",
             "GENERATE_VERIFY_MAC": "MacAlgorithms", "KEY_AGREEMENT": "KeyAgreementAlgorithms"}
    assert md[lists[usage]]


def test_create_key_rejects_bad_specs_and_usages(alice) -> None:
    cases = [({"KeySpec": "RSA_2048"}, "ValidationException"),            # usage required
             ({"KeySpec": "HMAC_256", "KeyUsage": "ENCRYPT_DECRYPT"}, "ValidationException"),
             ({"KeySpec": "ECC_SECG_P256K1", "KeyUsage": "KEY_AGREEMENT"}, "ValidationException"),
             ({"KeySpec": "RSA_1024", "KeyUsage": "SIGN_VERIFY"}, "ValidationException"),  # not in the enum
             ({"KeyUsage": "SIGN_VERIFY"}, "ValidationException"),
             ({"Origin": "AWS_CLOUDHSM"}, "UnsupportedOperationException"),
             ({"Tags": [{"TagKey": "aws:x", "TagValue": "y"}]}, "TagException"),
             ({"Description": "x" * 8193}, "ValidationException"),
             ({"Bogus": 1}, "ValidationException")]
    for params, code in cases:
        with pytest.raises(KMSError) as exc:
            alice.create_key(**params)
        assert code_of(exc) == code, params


def test_create_key_needs_iam_permission(bob) -> None:
    with pytest.raises(KMSError) as exc:
        bob.create_key()
    assert code_of(exc) == "AccessDeniedException"
    assert "kms:CreateKey" in exc.value.message


def test_default_key_policy(alice) -> None:
    key = alice.create_key()["KeyMetadata"]["KeyId"]
    policy = json.loads(alice.get_key_policy(KeyId=key)["Policy"])
    assert policy["Statement"] == [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                    "Action": "kms:*", "Resource": "*"}]
    assert alice.list_key_policies(KeyId=key)["PolicyNames"] == ["default"]


def test_list_keys_pages(alice) -> None:
    made = {alice.create_key()["KeyMetadata"]["KeyId"] for _ in range(5)} | {SEED_KEY}
    seen, marker = [], None
    while True:
        page = alice.list_keys(Limit=2, **({"Marker": marker} if marker else {}))
        seen += [k["KeyId"] for k in page["Keys"]]
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert set(seen) == made and len(seen) == len(made)
    with pytest.raises(KMSError) as exc:
        alice.list_keys(Marker="garbage")
    assert code_of(exc) == "InvalidMarkerException"


def test_keys_are_regional(kms, alice) -> None:
    west = kms.client(ALICE, "us-west-2")
    key = west.create_key()["KeyMetadata"]
    assert ":us-west-2:" in key["Arn"]
    with pytest.raises(KMSError) as exc:
        alice.describe_key(KeyId=key["KeyId"])
    assert code_of(exc) == "NotFoundException"
    assert [k["KeyId"] for k in west.list_keys()["Keys"]] == [key["KeyId"]]


def test_enable_disable(alice) -> None:
    alice.disable_key(KeyId=SEED_KEY)
    md = alice.describe_key(KeyId=SEED_KEY)["KeyMetadata"]
    assert md["KeyState"] == "Disabled" and md["Enabled"] is False
    alice.enable_key(KeyId=SEED_KEY)
    assert alice.describe_key(KeyId=SEED_KEY)["KeyMetadata"]["KeyState"] == "Enabled"


def test_schedule_and_cancel_deletion(kms, clock, alice) -> None:
    for days in (6, 31):
        with pytest.raises(KMSError) as exc:
            alice.schedule_key_deletion(KeyId=SEED_KEY, PendingWindowInDays=days)
        assert code_of(exc) == "ValidationException"
    out = alice.schedule_key_deletion(KeyId=SEED_KEY)
    assert out["PendingWindowInDays"] == 30 and out["KeyState"] == "PendingDeletion"
    assert (out["DeletionDate"].timestamp() - clock.time()) == 30 * 86400
    for call in (lambda: alice.enable_key(KeyId=SEED_KEY), lambda: alice.schedule_key_deletion(KeyId=SEED_KEY),
                 lambda: alice.tag_resource(KeyId=SEED_KEY, Tags=[{"TagKey": "a", "TagValue": "b"}]),
                 lambda: alice.create_alias(AliasName="alias/late", TargetKeyId=SEED_KEY)):
        with pytest.raises(KMSError) as exc:
            call()
        assert code_of(exc) == "KMSInvalidStateException"
    assert alice.cancel_key_deletion(KeyId=SEED_KEY)["KeyId"].endswith(SEED_KEY)
    assert alice.describe_key(KeyId=SEED_KEY)["KeyMetadata"]["KeyState"] == "Disabled"  # not Enabled
    with pytest.raises(KMSError) as exc:
        alice.cancel_key_deletion(KeyId=SEED_KEY)
    assert code_of(exc) == "KMSInvalidStateException"


def test_key_is_deleted_when_the_window_ends(kms, clock, alice) -> None:
    key = alice.create_key()["KeyMetadata"]["KeyId"]
    alice.create_alias(AliasName="alias/doomed", TargetKeyId=key)
    blob = alice.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    alice.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    clock.advance(days=6)
    assert alice.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    clock.advance(days=1)
    with pytest.raises(KMSError) as exc:
        alice.describe_key(KeyId=key)
    assert code_of(exc) == "NotFoundException"
    assert key not in [k["KeyId"] for k in alice.list_keys()["Keys"]]
    assert "alias/doomed" not in [a["AliasName"] for a in alice.list_aliases()["Aliases"]]
    with pytest.raises(KMSError) as exc:
        alice.decrypt(CiphertextBlob=blob)
    assert code_of(exc) == "InvalidCiphertextException"


def test_description_and_tags(alice, bob) -> None:
    alice.update_key_description(KeyId=SEED_KEY, Description="orders")
    assert alice.describe_key(KeyId=SEED_KEY)["KeyMetadata"]["Description"] == "orders"
    alice.tag_resource(KeyId=SEED_KEY, Tags=[{"TagKey": "Team", "TagValue": "pay"}, {"TagKey": "Env", "TagValue": "p"}])
    tags = alice.list_resource_tags(KeyId=SEED_KEY)["Tags"]
    assert tags == [{"TagKey": "Env", "TagValue": "p"}, {"TagKey": "Team", "TagValue": "pay"}]
    alice.untag_resource(KeyId=SEED_KEY, TagKeys=["Team"])
    assert alice.list_resource_tags(KeyId=SEED_KEY)["Tags"] == [{"TagKey": "Env", "TagValue": "p"}]
    with pytest.raises(KMSError) as exc:
        alice.tag_resource(KeyId=SEED_KEY, Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(51)])
    assert code_of(exc) in ("TagException", "LimitExceededException", "ValidationException")
    with pytest.raises(KMSError) as exc:
        bob.tag_resource(KeyId=SEED_KEY, Tags=[{"TagKey": "a", "TagValue": "b"}])
    assert code_of(exc) == "AccessDeniedException"


def test_tags_feed_authorization(clock) -> None:
    """aws:ResourceTag conditions (IAM) see tag changes at once: the evaluator's world is updated."""
    from kmsauthz.kms import LocalKMS

    erin = f"arn:aws:iam::{ACCOUNT}:user/erin"
    world = make_world()
    world["principals"].append({"arn": erin, "policies": [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/Open": "yes"}}}]}]})
    with LocalKMS.from_world(world, clock=clock) as kms:
        admin, user = kms.client(ALICE, REGION), kms.client(erin, REGION)
        with pytest.raises(KMSError) as exc:
            user.encrypt(KeyId=SEED_KEY, Plaintext=b"x")
        assert code_of(exc) == "AccessDeniedException"
        admin.tag_resource(KeyId=SEED_KEY, Tags=[{"TagKey": "Open", "TagValue": "yes"}])
        assert user.encrypt(KeyId=SEED_KEY, Plaintext=b"x")["KeyId"].endswith(SEED_KEY)
        admin.untag_resource(KeyId=SEED_KEY, TagKeys=["Open"])
        with pytest.raises(KMSError):
            user.encrypt(KeyId=SEED_KEY, Plaintext=b"x")


def test_put_key_policy_and_the_lockout_check(kms, alice) -> None:
    key = alice.create_key()["KeyMetadata"]["KeyId"]
    lockout = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": CAROL}, "Action": ["kms:Decrypt", "kms:GetKeyPolicy"],
         "Resource": "*"}]})
    with pytest.raises(KMSError) as exc:
        alice.put_key_policy(KeyId=key, Policy=lockout)
    assert code_of(exc) == "MalformedPolicyDocumentException"
    assert "will not allow you to update the key policy" in exc.value.message
    alice.put_key_policy(KeyId=key, Policy=lockout, BypassPolicyLockoutSafetyCheck=True)
    carol = kms.client(CAROL, REGION)
    assert json.loads(carol.get_key_policy(KeyId=key)["Policy"])["Statement"][0]["Principal"]["AWS"] == CAROL
    with pytest.raises(KMSError) as exc:  # alice locked herself out, as warned
        alice.describe_key(KeyId=key)
    assert code_of(exc) == "AccessDeniedException"
    with pytest.raises(KMSError) as exc:
        carol.put_key_policy(KeyId=key, Policy=lockout)
    assert code_of(exc) == "AccessDeniedException"


def test_create_key_policy_is_checked_too(alice) -> None:
    lockout = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": CAROL}, "Action": "kms:*", "Resource": "*"}]})
    with pytest.raises(KMSError) as exc:
        alice.create_key(Policy=lockout)
    assert code_of(exc) == "MalformedPolicyDocumentException"
    assert alice.create_key(Policy=lockout, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]


def test_malformed_policies(alice) -> None:
    cases = {
        "not json": "MalformedPolicyDocumentException",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*",
                                                            "Resource": "*"}]}): "MalformedPolicyDocumentException",
        json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/ghost"}, "Action": "kms:*",
             "Resource": "*"}]}): "MalformedPolicyDocumentException",
        json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "x" * 40000, "Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:*",
             "Resource": "*"}]}): "LimitExceededException",
    }
    for text, code in cases.items():
        with pytest.raises(KMSError) as exc:
            alice.put_key_policy(KeyId=SEED_KEY, Policy=text)
        assert code_of(exc) == code, text[:60]
    with pytest.raises(KMSError) as exc:
        alice.get_key_policy(KeyId=SEED_KEY, PolicyName="other")
    assert code_of(exc) == "NotFoundException"


def test_operations_that_take_no_alias(alice) -> None:
    with pytest.raises(KMSError) as exc:
        alice.disable_key(KeyId="alias/seed")
    assert code_of(exc) in ("InvalidArnException", "NotFoundException")


def test_unimplemented_operations_say_so(alice) -> None:
    with pytest.raises(KMSError) as exc:
        alice.create_custom_key_store(CustomKeyStoreName="x")
    assert code_of(exc) == "UnsupportedOperationException"
    assert alice.describe_custom_key_stores()["CustomKeyStores"] == []
    _ = BOB


def test_the_clock_is_the_evaluators_current_time(clock) -> None:
    from kmsauthz.kms import LocalKMS

    temp = "arn:aws:iam::111122223333:user/temp"
    world = make_world()
    world["principals"].append({"arn": temp, "policies": [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"DateLessThan": {"aws:CurrentTime": "2026-06-01T00:00:00Z"}}}]}]})
    with LocalKMS.from_world(world, clock=clock) as kms:
        user = kms.client(temp, REGION)
        assert user.encrypt(KeyId=SEED_KEY, Plaintext=b"x")
        clock.advance(days=200)
        with pytest.raises(KMSError) as exc:
            user.encrypt(KeyId=SEED_KEY, Plaintext=b"x")
        assert code_of(exc) == "AccessDeniedException"
