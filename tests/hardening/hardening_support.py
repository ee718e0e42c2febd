"""Constants and helpers shared by the hardening tests."""

from __future__ import annotations

from typing import Any

ACCOUNT = "111122223333"
REGION = "us-east-1"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"  # IAM allows kms:* (delegated by the key policies)
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"  # no permission at all
SEED_KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
DENIED_KEY = "99999999-12ab-34cd-56ef-1234567890ab"  # its key policy denies Bob explicitly
ALICE_KEYS = ("AKIAALICEHARDENING01", "alice/Hardening+Secret/EXAMPLE000000000")
BOB_KEYS = ("AKIABOBHARDENING0002", "bob/Hardening+Secret/EXAMPLE00000000000")

ALLOW_ALL_KMS = {"Version": "2012-10-17",
                 "Statement": [{"Sid": "AllKms", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}


def key_policy(*extra: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "EnableIAM", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "kms:*", "Resource": "*"}, *extra]}


def make_world() -> dict[str, Any]:
    deny_bob = {"Sid": "DenyBob", "Effect": "Deny", "Principal": {"AWS": BOB}, "Action": "kms:*", "Resource": "*"}
    return {
        "region": REGION,
        "principals": [
            {"arn": ALICE, "policies": [ALLOW_ALL_KMS],
             "access_keys": [{"id": ALICE_KEYS[0], "secret": ALICE_KEYS[1]}]},
            {"arn": BOB, "access_keys": [{"id": BOB_KEYS[0], "secret": BOB_KEYS[1]}]},
        ],
        "keys": [
            {"id": SEED_KEY, "account": ACCOUNT, "aliases": ["alias/seed"], "policy": key_policy()},
            {"id": DENIED_KEY, "account": ACCOUNT, "aliases": ["alias/denied"], "policy": key_policy(deny_bob)},
        ],
    }


def code(exc: BaseException) -> str:
    return str(getattr(exc, "code", type(exc).__name__))
