"""The fuzz targets: one function per parser that takes outside input, and its oracle.

Each ``run_*`` function feeds one input to a public entry point and returns normally when the
outcome is acceptable: a result, or the project's own documented error (a
:class:`~kmsauthz.errors.KmsauthzError` subclass; the KMS error family for the crypto core; an
HTTP error response for the endpoint). Anything else propagates, and is a bug. The same
functions back the bounded hypothesis tests in this folder and the long mode
(``python -m benchmarks.fuzz TARGET --minutes N``).

Where the outcome is a result, the oracle checks more than "no crash": a loaded policy prints
to JSON and to the policy language and loads back equal; a decision is a deny whenever it
carries errors; an endpoint answer is well-formed JSON with the KMS error shape.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from kmsauthz.errors import DocumentTooLargeError, InputError
from kmsauthz.model.policy import Policy
from kmsauthz.syntax import load_policy_text, to_json, to_kmsp


class OracleError(AssertionError):
    """The input produced an outcome that is neither a result nor a documented error."""


def _check_input_error(exc: InputError) -> None:
    """A documented input error must carry at least one located problem and render cleanly."""
    if not exc.problems:
        raise OracleError(f"{type(exc).__name__} without problems")
    text = exc.render()
    if not text or "Traceback" in text:
        raise OracleError(f"bad error text: {text!r}")
    for p in exc.problems:
        if p.span is None:
            raise OracleError(f"problem without a location: {p.message!r}")


# -- policies ------------------------------------------------------------------------------------


def _roundtrip(policy: Policy) -> None:
    """A policy that loaded prints to both forms and loads back equal (the printers are total)."""
    for printed, fmt in ((to_json(policy), "json"), (to_kmsp(policy), "kmsp")):
        try:
            again = load_policy_text(printed, kind=policy.kind, format=fmt)
        except DocumentTooLargeError:
            continue  # the printed form may be longer than a compact original near the limit
        if again != policy:
            raise OracleError(f"{fmt} round trip changed the policy:\n{printed}")


def run_policy(data: bytes | str, *, format: str | None = None, kind: str | None = None,
               roundtrip: bool = True) -> Policy | None:
    """`load_policy_text` on anything: a Policy or a located PolicySyntax/Validation error."""
    try:
        policy = load_policy_text(data, format=format, kind=kind)
    except InputError as exc:
        _check_input_error(exc)
        return None
    if roundtrip:
        _roundtrip(policy)
    return policy


def run_policy_json(data: bytes) -> None:
    run_policy(data, format="json")


def run_policy_kmsp(data: bytes) -> None:
    run_policy(data, format="kmsp")


# -- scenarios ------------------------------------------------------------------------------------


def run_scenario(data: bytes | str) -> None:
    """`load_scenario_text`, then every case decided: loading errors are ScenarioError, decide never raises."""
    from kmsauthz.evaluate import Authorizer
    from kmsauthz.scenario import load_scenario_text

    text = data if isinstance(data, str) else data.decode("utf-8", errors="replace")
    try:
        loaded = load_scenario_text(text, base_dir=_empty_dir())
    except InputError as exc:
        _check_input_error(exc)
        return
    if not loaded.cases:
        return
    auth = Authorizer(loaded.world)
    for case in loaded.cases:
        decision = auth.decide(case.request)
        if decision.errors and decision.effect.value == "Allow":
            raise OracleError(f"an Allow with errors: {decision.errors}")


@cache
def _empty_dir() -> Path:
    """Policy files named by a fuzzed scenario resolve here, where there are none."""
    return Path(tempfile.mkdtemp(prefix="kmsauthz-fuzz-"))


# -- audit (CloudFormation / Terraform / policy files) ---------------------------------------------


def run_audit(data: bytes, suffix: str = ".yaml") -> None:
    """`audit.inputs.load_file` + the rules: findings or skipped, never an exception."""
    from kmsauthz.audit.engine import audit_results
    from kmsauthz.audit.inputs import load_file

    path = _empty_dir() / f"input{suffix}"
    path.write_bytes(data)
    report = audit_results([load_file(path)])
    for finding in report.findings:
        if not finding.message:
            raise OracleError("a finding without a message")


def run_audit_json(data: bytes) -> None:
    run_audit(data, ".json")


def run_audit_yaml(data: bytes) -> None:
    run_audit(data, ".yaml")


# -- the local KMS's ciphertext blobs ---------------------------------------------------------------

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
ACCOUNT = "111122223333"
CALLER = f"arn:aws:iam::{ACCOUNT}:role/app"
FUZZ_WORLD: dict[str, Any] = {
    "region": "us-east-1",
    "principals": [{"arn": CALLER, "policies": [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}]}],
    "keys": [{"id": KEY_ID, "account": ACCOUNT, "aliases": ["alias/fuzz"], "policy": {
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "kms:*", "Resource": "*"}]}}],
}


@dataclass
class KmsRig:
    kms: Any
    client: Any
    blobs: tuple[bytes, ...]
    """Valid blobs: with and without encryption context, and a data key's."""


@cache
def kms_rig() -> KmsRig:
    from kmsauthz.kms import LocalKMS

    kms = LocalKMS.from_world(FUZZ_WORLD, store=":memory:")
    client = kms.client(principal=CALLER, region="us-east-1")
    blobs = (
        client.encrypt(KeyId="alias/fuzz", Plaintext=b"attack at dawn")["CiphertextBlob"],
        client.encrypt(KeyId=KEY_ID, Plaintext=b"x" * 300, EncryptionContext={"a": "b"})["CiphertextBlob"],
        client.generate_data_key(KeyId="alias/fuzz", KeySpec="AES_256")["CiphertextBlob"],
    )
    return KmsRig(kms, client, tuple(bytes(b) for b in blobs))


MAX_BLOB = 6144
"""The KMS API's `CiphertextBlob` length bound (1..6144); outside it AWS answers ValidationException."""


def run_kms_decrypt(data: bytes, *, context: dict[str, str] | None = None) -> None:
    """Decrypt of a blob that is not one of the rig's valid blobs: InvalidCiphertextException, nothing else."""
    from kmsauthz.kms import KMSError

    rig = kms_rig()
    blob = data[:MAX_BLOB] or b"\x00"
    if blob in rig.blobs:
        return
    kwargs: dict[str, Any] = {"CiphertextBlob": blob}
    if context is not None:
        kwargs["EncryptionContext"] = context
    try:
        out = rig.client.decrypt(**kwargs)
    except KMSError as exc:
        if exc.code != "InvalidCiphertextException":
            raise OracleError(f"Decrypt of a corrupt blob raised {exc.code}: {exc.message}") from exc
        return
    raise OracleError(f"Decrypt of a corrupt blob succeeded: {sorted(out)}")


def run_kms_reencrypt(data: bytes) -> None:
    """ReEncrypt reads the same blob format: InvalidCiphertextException, nothing else."""
    from kmsauthz.kms import KMSError

    rig = kms_rig()
    blob = data[:MAX_BLOB] or b"\x00"
    if blob in rig.blobs:
        return
    try:
        rig.client.re_encrypt(CiphertextBlob=blob, DestinationKeyId="alias/fuzz")
    except KMSError as exc:
        if exc.code != "InvalidCiphertextException":
            raise OracleError(f"ReEncrypt of a corrupt blob raised {exc.code}: {exc.message}") from exc
        return
    raise OracleError("ReEncrypt of a corrupt blob succeeded")


# -- the endpoint: wire requests and SigV4 headers ---------------------------------------------------

ACCESS_KEY = "AKIAFUZZEXAMPLE00001"
SECRET = "fuzz/secret+key/EXAMPLE"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@cache
def endpoint() -> Any:
    from kmsauthz.server import CredentialStore, Endpoint

    rig = kms_rig()
    store = CredentialStore.from_mapping({ACCESS_KEY: (CALLER, SECRET)})
    return Endpoint(rig.kms, store, clock=lambda: NOW)


def sign(body: bytes, target: str = "TrentService.Encrypt", *, extra: dict[str, str] | None = None,
         region: str = "us-east-1") -> list[tuple[str, str]]:
    """Headers of a request botocore signs, as boto3 would send it at NOW."""
    from unittest import mock

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url="http://127.0.0.1:7143/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target, **(extra or {})})
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        SigV4Auth(Credentials(ACCESS_KEY, SECRET), "kms", region).add_auth(request)
    headers = [(k, v) for k, v in request.headers.items()]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.append(("Host", "127.0.0.1:7143"))
    return headers


def run_endpoint(method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes) -> Any:
    """`Endpoint.handle` on anything: an HTTP response with the KMS JSON error shape, never an exception.

    A 500 (KMSInternalException) means a bug below the endpoint met this input: garbage is a
    client error.
    """
    response = endpoint().handle(method, path, query, headers, body)
    if not 200 <= response.status < 600:
        raise OracleError(f"status {response.status}")
    if response.status >= 400:
        try:
            shape = json.loads(response.body)
        except ValueError as exc:
            raise OracleError(f"error body is not JSON: {response.body[:200]!r}") from exc
        if not isinstance(shape, dict) or not isinstance(shape.get("__type"), str):
            raise OracleError(f"error body without __type: {shape!r}")
        if response.status >= 500:
            raise OracleError(f"internal error for outside input: {shape!r}")
    return response


def run_endpoint_body(data: bytes) -> None:
    """A correctly signed request whose body and target are fuzzed (the JSON protocol decoder)."""
    split = data.find(b"\n")
    target_raw, body = (data[:split], data[split + 1:]) if split >= 0 else (b"Encrypt", data)
    target = "TrentService." + target_raw.decode("latin-1").strip()
    headers = sign(body, _header_safe(target))
    run_endpoint("POST", "/", "", headers, body)


def run_endpoint_headers(data: bytes) -> None:
    """Fuzzed header values (Authorization, X-Amz-Date, target, ...) over one valid body."""
    body = json.dumps({"KeyId": "alias/fuzz", "Plaintext": "aGVsbG8="}).encode()
    headers = sign(body)
    text = data.decode("latin-1")
    parts = text.split("\n")
    names = [k for k, _ in headers]
    for i, part in enumerate(parts[: len(names) * 2]):
        name = names[i % len(names)]
        headers = [(k, _header_safe(part) if k == name else v) for k, v in headers]
    run_endpoint("POST", "/", "", headers, body)


def _header_safe(value: str) -> str:
    """What an HTTP server can hand over as a header value: no CR/LF/NUL."""
    return "".join(ch for ch in value if ch not in "\r\n\x00")


# -- registry for the long mode --------------------------------------------------------------------

TARGETS: dict[str, Callable[[bytes], None]] = {
    "policy-json": run_policy_json,
    "policy-kmsp": run_policy_kmsp,
    "scenario": run_scenario,
    "audit-yaml": run_audit_yaml,
    "audit-json": run_audit_json,
    "kms-decrypt": run_kms_decrypt,
    "kms-reencrypt": run_kms_reencrypt,
    "endpoint-body": run_endpoint_body,
    "endpoint-headers": run_endpoint_headers,
}

