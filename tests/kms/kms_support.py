"""Shared constants and helpers of the local KMS tests (imported by conftest and the tests)."""

from __future__ import annotations

from typing import Any

import pytest

ACCOUNT = "111122223333"
OTHER = "444455556666"
REGION = "us-east-1"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"   # IAM allows kms:* (delegated by the key policy)
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"       # no permission at all
CAROL = f"arn:aws:iam::{ACCOUNT}:user/carol"   # named directly in the seed key's policy (Decrypt only)
DAVE = f"arn:aws:iam::{OTHER}:user/dave"       # another account, IAM allows kms:*
SEED_KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"

ALLOW_ALL_KMS = {"Version": "2012-10-17",
                 "Statement": [{"Sid": "AllKms", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}


def seed_policy(account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "EnableIAM", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "CarolDecrypts", "Effect": "Allow", "Principal": {"AWS": CAROL},
             "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"},
        ],
    }


def make_world() -> dict[str, Any]:
    return {
        "region": REGION,
        "principals": [
            {"arn": ALICE, "policies": [ALLOW_ALL_KMS]},
            {"arn": BOB},
            {"arn": CAROL},
            {"arn": DAVE, "policies": [ALLOW_ALL_KMS]},
        ],
        "keys": [{"id": SEED_KEY, "account": ACCOUNT, "aliases": ["alias/seed"], "tags": {"Env": "test"},
                  "policy": seed_policy()}],
    }



def code_of(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    return excinfo.value.code  # type: ignore[attr-defined]
