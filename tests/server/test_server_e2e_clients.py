"""The AWS CLI (v1) and the AWS Encryption SDK against `kmsauthz serve` over the real LocalKMS.

Both are part of the `test` extra (`pip install '.[test]'`); each group is
skipped, with the reason, when its package is not installed."""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from endpoint_helpers import kms_client

from kmsauthz.kms import LocalKMS
from kmsauthz.scenario import load_world
from kmsauthz.server import CredentialStore, Endpoint, start_server

WORLD = Path(__file__).parent / "worlds" / "endpoint.yaml"
ADMIN = ("AKIAADMINEXAMPLE0001", "admin/Secret+Key/EXAMPLE0000000000000000")
APP = ("ASIAAPPSESSION000001", "app/Secret+Key/EXAMPLE00000000000000000")
APP_DECRYPT_ONLY = ("ASIAAPPDECRYPTONLY01", "app/decrypt-only/EXAMPLE000000000000000")
MALLORY = ("AKIAMALLORYEXAMPLE01", "mallory/Secret+Key/EXAMPLE000000000000000")
ORDERS_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

needs_awscli = pytest.mark.skipif(
    importlib.util.find_spec("awscli") is None,
    reason="the AWS CLI v1 (`awscli`) is not installed: pip install '.[test]'",
)
needs_esdk = pytest.mark.skipif(
    importlib.util.find_spec("aws_encryption_sdk") is None,
    reason="the AWS Encryption SDK (`aws-encryption-sdk`) is not installed: pip install '.[test]'",
)


@pytest.fixture(scope="module")
def live():
    world = load_world(WORLD)
    kms = LocalKMS.from_world(world, store=":memory:")
    with start_server(Endpoint(kms, CredentialStore.from_world(world)), "127.0.0.1", 0) as running:
        yield running
    kms.close()


# ----------------------------------------------------------------------------- the AWS CLI


def aws(
    live,
    *args: str,
    key: tuple[str, str] = ADMIN,
    endpoint: str | None = None,
    tmp: Path,
    env_endpoint: bool = False,
) -> subprocess.CompletedProcess:
    """`aws kms ARGS --endpoint-url URL --output json`, in this interpreter, isolated from ~/.aws."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": key[0],
            "AWS_SECRET_ACCESS_KEY": key[1],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(tmp / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-credentials"),
            "AWS_MAX_ATTEMPTS": "1",
        }
    )
    where = ["--endpoint-url", endpoint or live.url]
    if env_endpoint:
        env["AWS_ENDPOINT_URL_KMS"], where = endpoint or live.url, []
    command = [sys.executable, "-m", "awscli", "kms", *args, *where, "--output", "json"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, cwd=tmp)


def _ok(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


@needs_awscli
def test_aws_cli_creates_a_key_an_alias_and_encrypts_and_decrypts(live, tmp_path: Path) -> None:
    meta = _ok(aws(live, "create-key", "--description", "from the cli", tmp=tmp_path))["KeyMetadata"]
    assert meta["Arn"].startswith("arn:aws:kms:us-east-1:111122223333:key/")
    _ok(
        aws(
            live,
            "create-alias",
            "--alias-name",
            "alias/cli-demo",
            "--target-key-id",
            meta["KeyId"],
            tmp=tmp_path,
        )
    )
    aliases = _ok(aws(live, "list-aliases", "--key-id", meta["KeyId"], tmp=tmp_path))["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/cli-demo"]

    (tmp_path / "plain.bin").write_bytes(b"\x00binary plaintext\xff")
    out = _ok(
        aws(
            live,
            "encrypt",
            "--key-id",
            "alias/cli-demo",
            "--plaintext",
            "fileb://plain.bin",
            "--encryption-context",
            "purpose=cli",
            tmp=tmp_path,
        )
    )
    assert out["KeyId"] == meta["Arn"]
    (tmp_path / "cipher.bin").write_bytes(base64.b64decode(out["CiphertextBlob"]))
    back = _ok(
        aws(
            live,
            "decrypt",
            "--ciphertext-blob",
            "fileb://cipher.bin",
            "--encryption-context",
            "purpose=cli",
            tmp=tmp_path,
        )
    )
    assert base64.b64decode(back["Plaintext"]) == b"\x00binary plaintext\xff"
    described = _ok(aws(live, "describe-key", "--key-id", "alias/cli-demo", tmp=tmp_path))["KeyMetadata"]
    assert described["KeyState"] == "Enabled" and isinstance(described["CreationDate"], (int, float, str))


@needs_awscli
def test_aws_cli_is_refused_what_the_policies_do_not_allow(live, tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"x")
    denied = aws(
        live, "encrypt", "--key-id", "alias/orders", "--plaintext", "fileb://x", key=MALLORY, tmp=tmp_path
    )
    assert denied.returncode != 0
    assert "AccessDeniedException" in denied.stderr
    unknown = aws(live, "list-keys", key=("AKIANOBODY0000000000", "nope"), tmp=tmp_path)
    assert unknown.returncode != 0 and "UnrecognizedClientException" in unknown.stderr
    wrong = aws(live, "list-keys", key=(ADMIN[0], "not the secret"), tmp=tmp_path)
    assert wrong.returncode != 0 and "InvalidSignatureException" in wrong.stderr


@needs_awscli
def test_aws_cli_takes_the_endpoint_from_aws_endpoint_url_kms(live, tmp_path: Path) -> None:
    keys = _ok(aws(live, "list-keys", tmp=tmp_path, env_endpoint=True))["Keys"]
    assert "1234abcd-12ab-34cd-56ef-1234567890ab" in {k["KeyId"] for k in keys}


@needs_awscli
def test_aws_cli_through_a_vpc_endpoint_path(live, tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"inside the vpc")
    outside = aws(live, "encrypt", "--key-id", "alias/vpce-only", "--plaintext", "fileb://x", tmp=tmp_path)
    assert outside.returncode != 0 and "AccessDeniedException" in outside.stderr
    inside = _ok(
        aws(
            live,
            "encrypt",
            "--key-id",
            "alias/vpce-only",
            "--plaintext",
            "fileb://x",
            endpoint=live.url + "/vpce-1a2b3c4d",
            tmp=tmp_path,
        )
    )
    assert inside["CiphertextBlob"]


# ----------------------------------------------------------------------------- the Encryption SDK


def _provider(live, key: tuple[str, str], monkeypatch, key_arn: str):
    import aws_encryption_sdk
    import botocore.session

    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", live.url)  # as docs/endpoint.md tells users
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    session = botocore.session.Session()
    session.set_credentials(*key)
    session.set_config_variable("region", "us-east-1")
    return aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key_arn], botocore_session=session)


def _kms_code(error: BaseException) -> str | None:
    """The KMS error code behind an Encryption SDK error (its cause chain holds boto3's ClientError)."""
    seen = error
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, dict):
            return response.get("Error", {}).get("Code")
        seen = seen.__cause__ or seen.__context__
    return None


@pytest.fixture
def esdk():
    import aws_encryption_sdk

    return aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=aws_encryption_sdk.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )


@needs_esdk
def test_encryption_sdk_encrypts_and_decrypts_under_a_local_key(live, monkeypatch, esdk) -> None:
    key_arn = kms_client(live.url, key=ADMIN).create_key(Description="esdk")["KeyMetadata"]["Arn"]
    provider = _provider(live, ADMIN, monkeypatch, key_arn)
    message = os.urandom(10_000)
    ciphertext, header = esdk.encrypt(
        source=message, key_provider=provider, encryption_context={"purpose": "e2e", "team": "kmsauthz"}
    )
    assert message not in ciphertext
    assert [k.key_provider.key_info.decode() for k in header.encrypted_data_keys] == [key_arn]
    plaintext, dec_header = esdk.decrypt(source=ciphertext, key_provider=provider)
    assert plaintext == message
    assert dec_header.encryption_context["purpose"] == "e2e"


@needs_esdk
def test_encryption_sdk_works_for_a_role_session_the_key_policy_allows(live, monkeypatch, esdk) -> None:
    provider = _provider(live, APP, monkeypatch, ORDERS_ARN)
    ciphertext, _ = esdk.encrypt(source=b"app message", key_provider=provider)
    assert esdk.decrypt(source=ciphertext, key_provider=provider)[0] == b"app message"
    narrow = _provider(live, APP_DECRYPT_ONLY, monkeypatch, ORDERS_ARN)  # session policy: Decrypt only
    assert esdk.decrypt(source=ciphertext, key_provider=narrow)[0] == b"app message"
    from aws_encryption_sdk.exceptions import GenerateKeyError

    with pytest.raises(GenerateKeyError) as caught:
        esdk.encrypt(source=b"x", key_provider=narrow)
    assert _kms_code(caught.value) == "AccessDeniedException"
    assert "no session policy allows the kms:GenerateDataKey action" in str(caught.value.__cause__)


@needs_esdk
def test_encryption_sdk_is_refused_for_a_principal_without_permission(
    live, monkeypatch, esdk, caplog
) -> None:
    from aws_encryption_sdk.exceptions import DecryptKeyError, GenerateKeyError

    key_arn = kms_client(live.url, key=ADMIN).create_key(Description="esdk-refused")["KeyMetadata"]["Arn"]
    ciphertext, _ = esdk.encrypt(
        source=b"for admins only", key_provider=_provider(live, ADMIN, monkeypatch, key_arn)
    )
    mallory = _provider(live, MALLORY, monkeypatch, key_arn)
    with pytest.raises(GenerateKeyError) as caught:
        esdk.encrypt(source=b"x", key_provider=mallory)
    assert _kms_code(caught.value) == "AccessDeniedException"
    caplog.set_level(logging.INFO, logger="kmsauthz.server")
    with pytest.raises(DecryptKeyError, match="Unable to decrypt any data key"):
        esdk.decrypt(source=ciphertext, key_provider=mallory)
    # the SDK hides the cause of a failed decrypt; the server's log line shows it
    (line,) = [r.getMessage() for r in caplog.records if " Decrypt " in r.getMessage()]
    assert "principal=arn:aws:iam::111122223333:user/mallory" in line
    assert f"key={key_arn}" in line and "error=AccessDeniedException" in line
