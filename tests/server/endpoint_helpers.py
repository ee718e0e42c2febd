"""Helpers of the endpoint tests: a fake backend of LocalKMS.call's signature and boto3 clients
that never retry or wait long."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

ALICE = ("AKIAALICEEXAMPLE0001", "alice/secret+key/EXAMPLE")
BOB = ("AKIABOBEXAMPLE000002", "bob/secret+key/EXAMPLE")
ALICE_ARN = "arn:aws:iam::111122223333:user/alice"
BOB_ARN = "arn:aws:iam::111122223333:user/bob"
CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=5,
    read_timeout=10,
    max_pool_connections=16,
)


class FakeError(Exception):
    """Shaped like kmsauthz.kms.errors.KMSError: .code, .message, .http_status."""

    def __init__(self, code: str, message: str, http_status: int = 400, decision: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.http_status, self.decision = code, message, http_status, decision


class FakeKMS:
    """A backend with LocalKMS.call's signature that records every call and answers a few."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.raise_next: Exception | None = None

    def call(self, operation_name: str, params: dict[str, Any], **context: Any) -> dict[str, Any]:
        with self.lock:
            self.calls.append((operation_name, params, context))
            error, self.raise_next = self.raise_next, None
        if error is not None:
            raise error
        region = context["region"]
        arn = f"arn:aws:kms:{region}:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        if operation_name == "Encrypt":
            if context["principal"] == BOB_ARN:
                raise FakeError(
                    "AccessDeniedException", f"User: {BOB_ARN} is not authorized to perform: kms:Encrypt"
                )
            return {
                "CiphertextBlob": b"CT:" + params["Plaintext"],
                "KeyId": arn,
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            }
        if operation_name == "Decrypt":
            blob = params["CiphertextBlob"]
            if not blob.startswith(b"CT:"):
                raise FakeError("InvalidCiphertextException", "")
            return {"Plaintext": blob[3:], "KeyId": arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}
        if operation_name == "DescribeKey":
            return {
                "KeyMetadata": {
                    "KeyId": arn.rsplit("/", 1)[1],
                    "Arn": arn,
                    "AWSAccountId": "111122223333",
                    "CreationDate": datetime(2026, 1, 1, 12, 30, tzinfo=UTC),
                    "Enabled": True,
                    "KeyState": "Enabled",
                    "KeySpec": "SYMMETRIC_DEFAULT",
                }
            }
        if operation_name == "ListKeys":
            return {"Keys": [{"KeyId": arn.rsplit("/", 1)[1], "KeyArn": arn}], "Truncated": False}
        if operation_name == "GenerateRandom":
            return {"Plaintext": b"\x00" * params.get("NumberOfBytes", 32)}
        return {}

    def count(self, operation: str | None = None) -> int:
        with self.lock:
            return sum(1 for c in self.calls if operation is None or c[0] == operation)


def kms_client(url: str, key: tuple[str, str] = ALICE, region: str = "us-east-1", **kwargs: Any) -> Any:
    return boto3.client(
        "kms",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=CLIENT_CONFIG,
        **kwargs,
    )
