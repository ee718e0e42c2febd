"""Regression tests of the review fixes: errors AWS returns for limits, the decision behind an
AccessDeniedException (and the endpoint's log line), start-up without botocore's loader."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hardening_support import ALICE, ALICE_KEYS, BOB, BOB_KEYS, DENIED_KEY, REGION, SEED_KEY, code, key_policy

from kmsauthz.kms import KMSError, LocalKMS, service
from kmsauthz.model.decision import Effect
from kmsauthz.scenario import load_world
from kmsauthz.server import CredentialStore, Endpoint, start_server


def _big_policy(size: int) -> str:
    """A valid key policy of exactly ``size`` bytes (padding in a Sid-free condition value)."""
    base = key_policy({"Sid": "Pad", "Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:Decrypt",
                       "Resource": "*", "Condition": {"StringEquals": {"kms:EncryptionContext:pad": ""}}})
    text = json.dumps(base)
    pad = size - len(text.encode())
    assert pad > 0
    return text.replace('"kms:EncryptionContext:pad": ""', '"kms:EncryptionContext:pad": "' + "x" * pad + '"')


def test_an_oversize_key_policy_is_limit_exceeded_not_malformed(alice: Any) -> None:
    ok, over = _big_policy(32768), _big_policy(32769)
    assert len(ok.encode()) == 32768 and len(over.encode()) == 32769
    alice.put_key_policy(KeyId=SEED_KEY, PolicyName="default", Policy=ok)
    for call in (lambda: alice.put_key_policy(KeyId=SEED_KEY, PolicyName="default", Policy=over),
                 lambda: alice.create_key(Policy=over)):
        with pytest.raises(KMSError) as exc:
            call()
        assert code(exc.value) == "LimitExceededException"
    assert alice.get_key_policy(KeyId=SEED_KEY, PolicyName="default")["Policy"] == ok


def test_parse_key_policy_maps_the_size_error_to_limit_exceeded() -> None:
    # the loader's own size check (a stored or world policy, measured by the syntax layer)
    with pytest.raises(KMSError) as exc:
        service.parse_key_policy(_big_policy(40_000), "arn:aws:kms:us-east-1:111122223333:key/x")
    assert code(exc.value) == "LimitExceededException"
    with pytest.raises(KMSError) as exc:
        service.parse_key_policy('{"Version": "2012-10-17", "Statement": 5}', "arn:aws:kms:us-east-1:1:key/x")
    assert code(exc.value) == "MalformedPolicyDocumentException"


def test_access_denied_carries_the_decision(kms: LocalKMS) -> None:
    bob = kms.client(BOB, REGION)
    with pytest.raises(KMSError) as implicit:
        bob.encrypt(KeyId=SEED_KEY, Plaintext=b"x")
    with pytest.raises(KMSError) as explicit:
        bob.encrypt(KeyId=DENIED_KEY, Plaintext=b"x")
    assert implicit.value.code == explicit.value.code == "AccessDeniedException"
    assert implicit.value.decision.effect is Effect.IMPLICIT_DENY
    assert explicit.value.decision.effect is Effect.EXPLICIT_DENY
    assert explicit.value.decision.layer == "key-policy"
    with pytest.raises(KMSError) as other:
        kms.client(ALICE, REGION).describe_key(KeyId="alias/none")
    assert other.value.code == "NotFoundException" and other.value.decision is None


def test_the_endpoint_logs_explicit_and_implicit_deny(caplog: pytest.LogCaptureFixture) -> None:
    from hardening_support import make_world

    world = load_world(make_world())
    endpoint = Endpoint(LocalKMS.from_world(world, store=":memory:"), CredentialStore.from_world(world))
    cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    with caplog.at_level(logging.INFO, logger="kmsauthz.server"), \
            start_server(endpoint, "127.0.0.1", 0) as running:
        bob = boto3.client("kms", endpoint_url=running.url, region_name=REGION, aws_access_key_id=BOB_KEYS[0],
                           aws_secret_access_key=BOB_KEYS[1], config=cfg)
        alice = boto3.client("kms", endpoint_url=running.url, region_name=REGION,
                             aws_access_key_id=ALICE_KEYS[0], aws_secret_access_key=ALICE_KEYS[1], config=cfg)
        for key in (SEED_KEY, DENIED_KEY):
            with pytest.raises(ClientError):
                bob.encrypt(KeyId=key, Plaintext=b"x")
        alice.encrypt(KeyId=SEED_KEY, Plaintext=b"x")
    lines = [r.getMessage() for r in caplog.records if " Encrypt " in r.getMessage()]
    assert len(lines) == 3
    assert "decision=ImplicitDeny status=400 error=AccessDeniedException" in lines[0]
    assert "decision=ExplicitDeny status=400 error=AccessDeniedException" in lines[1]
    assert "decision=Allow status=200" in lines[2]


def test_the_local_kms_starts_without_botocore_loaders() -> None:
    code_ = (
        "import sys\n"
        "from kmsauthz.kms import LocalKMS\n"
        "k = LocalKMS.from_world({'region': 'us-east-1', 'principals': [{'arn': '" + ALICE + "'}]})\n"
        "try:\n    k.client('" + ALICE + "').list_keys()\nexcept Exception as e:\n    print(type(e).__name__)\n"
        "import kmsauthz.server.protocol\n"
        "print('loaders' if 'botocore.loaders' in sys.modules else 'no loaders')\n"
    )
    out = subprocess.run([sys.executable, "-c", code_], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip().splitlines()[-1] == "no loaders", out.stdout + out.stderr


def test_the_model_read_directly_is_botocores_model() -> None:
    from botocore.loaders import Loader

    from kmsauthz.kms.validation import service_model

    assert service_model() == Loader().load_service_model("kms", "service-2")


def test_update_alias_respects_the_aliases_per_key_quota(alice: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "MAX_ALIASES_PER_KEY", 2)
    full = alice.create_key()["KeyMetadata"]["KeyId"]
    alice.create_alias(AliasName="alias/a1", TargetKeyId=full)
    alice.create_alias(AliasName="alias/a2", TargetKeyId=full)
    with pytest.raises(KMSError) as exc:
        alice.update_alias(AliasName="alias/seed", TargetKeyId=full)
    assert code(exc.value) == "LimitExceededException"
    assert alice.describe_key(KeyId="alias/seed")["KeyMetadata"]["KeyId"] == SEED_KEY  # unchanged
    alice.update_alias(AliasName="alias/a1", TargetKeyId=full)  # retargeting to the same key: allowed


def test_the_keys_per_region_quota(alice: Any, kms: LocalKMS, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "MAX_KEYS_PER_REGION", 4)  # the seed keys are two of them
    first = alice.create_key()["KeyMetadata"]["KeyId"]
    alice.create_key()
    with pytest.raises(KMSError) as exc:
        alice.create_key()
    assert code(exc.value) == "LimitExceededException"
    assert len(alice.list_keys()["Keys"]) == 4
    other = kms.client(ALICE, "eu-west-1")
    assert other.create_key()["KeyMetadata"]["Arn"].startswith("arn:aws:kms:eu-west-1:")  # another Region
    alice.schedule_key_deletion(KeyId=first, PendingWindowInDays=7)
    kms.clock.advance(days=8)  # type: ignore[attr-defined]
    alice.list_keys()  # the deletion takes effect
    assert alice.create_key()["KeyMetadata"]["KeyId"]
