"""The HTTP endpoint in front of a fake backend (LocalKMS.call's signature), driven by boto3 and by
raw HTTP: authentication before anything runs, the Region from the credential scope, where a
request comes from, error codes and statuses, concurrency, logging and stopping."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from endpoint_helpers import ALICE, ALICE_ARN, BOB, FakeError, kms_client

from kmsauthz.server import CredentialStore, principal_for
from kmsauthz.server.app import MAX_BODY

PLAINTEXT = b"top secret plaintext 4f1d"


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_boto3_round_trip_passes_principal_and_region_of_the_signature(server, fake) -> None:
    east = kms_client(server.url, region="us-east-1")
    west = kms_client(server.url, region="eu-west-1")
    out = east.encrypt(KeyId="alias/orders", Plaintext=PLAINTEXT, EncryptionContext={"Dept": "sales"})
    assert out["CiphertextBlob"] == b"CT:" + PLAINTEXT
    assert out["KeyId"].startswith("arn:aws:kms:us-east-1:")
    assert west.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == PLAINTEXT
    meta = west.describe_key(KeyId="k")["KeyMetadata"]
    assert meta["CreationDate"].timestamp() == datetime(2026, 1, 1, 12, 30, tzinfo=UTC).timestamp()
    (op1, params1, ctx1), (op2, _, ctx2), _ = fake.calls
    assert (op1, params1) == (
        "Encrypt",
        {"KeyId": "alias/orders", "Plaintext": PLAINTEXT, "EncryptionContext": {"Dept": "sales"}},
    )
    assert ctx1 == {
        "principal": ALICE_ARN,
        "region": "us-east-1",
        "vpc_endpoint": None,
        "source_ip": "127.0.0.1",
        "via_service": None,
        "session_policy": None,
    }
    assert (op2, ctx2["region"]) == ("Decrypt", "eu-west-1")
    headers = out["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert out["ResponseMetadata"]["RequestId"]


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (("AKIAUNKNOWN000000000", "whatever"), "UnrecognizedClientException"),
        ((ALICE[0], "wrong secret"), "InvalidSignatureException"),
    ],
)
def test_bad_credentials_are_refused_and_nothing_runs(server, fake, key, code) -> None:
    with pytest.raises(ClientError) as caught:
        kms_client(server.url, key=key).encrypt(KeyId="k", Plaintext=b"x")
    assert _code(caught) == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert fake.count() == 0


@pytest.mark.parametrize(
    ("skew", "fragment"),
    [(timedelta(minutes=16), "Signature expired"), (timedelta(minutes=-16), "Signature not yet current")],
)
def test_requests_outside_the_15_minute_window_are_refused(serve, fake, credentials, skew, fragment) -> None:
    server = serve(fake, credentials, clock=lambda: datetime.now(UTC) + skew)
    with pytest.raises(ClientError) as caught:
        kms_client(server.url).list_keys()
    assert _code(caught) == "InvalidSignatureException"
    assert fragment in caught.value.response["Error"]["Message"]
    assert fake.count() == 0


def _signed_raw(
    url: str, operation: str, body: dict, key=ALICE, region="us-east-1", when=None, path: str = "/"
) -> tuple[str, bytes, dict[str, str]]:
    data = json.dumps(body).encode()
    request = AWSRequest(
        method="POST",
        url=url.rstrip("/") + path,
        data=data,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"TrentService.{operation}"},
    )
    auth = SigV4Auth(Credentials(*key), "kms", region)
    if when is None:
        auth.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
            auth.add_auth(request)
    return path, data, dict(request.headers.items())


def _send(url: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, dict]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return response.status, dict(response.getheaders()), json.loads(payload) if payload else {}
    finally:
        conn.close()


def test_a_replay_inside_the_window_runs_as_aws_runs_it_and_outside_is_refused(
    serve, fake, credentials
) -> None:
    offset = timedelta(0)
    server = serve(fake, credentials, clock=lambda: datetime.now(UTC) + offset)
    path, body, headers = _signed_raw(server.url, "CreateKey", {"Description": "replayed"})
    assert _send(server.url, "POST", path, body, headers)[0] == 200
    assert _send(server.url, "POST", path, body, headers)[0] == 200  # AWS accepts a replay in the window
    assert fake.count("CreateKey") == 2
    offset = timedelta(minutes=15, seconds=5)
    status, _, error = _send(server.url, "POST", path, body, headers)
    assert status == 400
    assert error["__type"] == "InvalidSignatureException"
    assert error["message"].startswith("Signature expired: ")
    assert fake.count("CreateKey") == 2, "an expired replay must not run"


def test_a_request_with_no_signature_gets_missing_authentication_token(server, fake) -> None:
    status, headers, error = _send(
        server.url,
        "POST",
        "/",
        b"{}",
        {"X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert (status, error["__type"]) == (400, "MissingAuthenticationTokenException")
    assert error["message"] == "Missing Authentication Token"
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert fake.count() == 0


def test_unknown_operations_and_methods_and_paths(server, fake) -> None:
    path, body, headers = _signed_raw(server.url, "NoSuchThing", {})
    status, _, error = _send(server.url, "POST", path, body, headers)
    assert (status, error["__type"]) == (400, "UnknownOperationException")
    status, _, error = _send(server.url, "GET", "/", b"", {})
    assert (status, error["__type"]) == (405, "UnknownOperationException")
    status, _, error = _send(server.url, "POST", "/v1/keys", b"{}", {})
    assert (status, error["__type"]) == (404, "UnknownOperationException")
    assert fake.count() == 0


def test_an_operation_the_backend_does_not_implement_is_unsupported(serve, fake, credentials) -> None:
    server = serve(fake, credentials, operations=["Encrypt"])
    client = kms_client(server.url)
    assert client.encrypt(KeyId="k", Plaintext=b"x")["CiphertextBlob"] == b"CT:x"
    with pytest.raises(ClientError) as caught:
        client.connect_custom_key_store(CustomKeyStoreId="cks-1")
    assert _code(caught) == "UnsupportedOperationException"
    assert fake.count() == 1


def test_a_malformed_body_is_a_serialization_exception(server, fake) -> None:
    body = b'{"KeyId": "k", "Plaintext": "not base64!"}'
    request = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.Encrypt"},
    )
    SigV4Auth(Credentials(*ALICE), "kms", "us-east-1").add_auth(request)
    status, _, error = _send(server.url, "POST", "/", body, dict(request.headers.items()))
    assert (status, error["__type"]) == (400, "SerializationException")
    assert "Plaintext is not valid base64" in error["message"]
    assert fake.count() == 0


def test_backend_errors_keep_their_code_message_and_status(server, fake) -> None:
    client = kms_client(server.url)
    for code, status in [
        ("NotFoundException", 400),
        ("KMSInvalidStateException", 400),
        ("DependencyTimeoutException", 503),
        ("KMSInternalException", 500),
    ]:
        fake.raise_next = FakeError(code, f"msg of {code}", status)
        with pytest.raises(ClientError) as caught:
            client.describe_key(KeyId="k")
        assert caught.value.response["Error"] == {"Code": code, "Message": f"msg of {code}"}
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_access_denied_is_logged_as_a_deny_and_its_message_reaches_the_client(server, fake, caplog) -> None:
    caplog.set_level(logging.INFO, logger="kmsauthz.server")
    with pytest.raises(ClientError) as caught:
        kms_client(server.url, key=BOB).encrypt(KeyId="alias/orders", Plaintext=PLAINTEXT)
    assert _code(caught) == "AccessDeniedException"
    assert "is not authorized to perform: kms:Encrypt" in caught.value.response["Error"]["Message"]
    (line,) = [r.getMessage() for r in caplog.records if r.name == "kmsauthz.server"]
    assert "Encrypt" in line and "decision=Deny" in line and "error=AccessDeniedException" in line
    assert "key=alias/orders" in line and "principal=arn:aws:iam::111122223333:user/bob" in line


def test_a_decision_effect_on_the_error_is_logged(server, fake, caplog) -> None:
    caplog.set_level(logging.INFO, logger="kmsauthz.server")
    decision = mock.Mock(effect=mock.Mock(value="ExplicitDeny"))
    fake.raise_next = FakeError("AccessDeniedException", "denied", decision=decision)
    with pytest.raises(ClientError):
        kms_client(server.url).describe_key(KeyId="k")
    assert "decision=ExplicitDeny" in caplog.records[-1].getMessage()


def test_a_bug_in_the_backend_is_an_internal_error_and_its_message_is_never_logged(
    server, fake, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="kmsauthz.server")
    fake.raise_next = ValueError(f"input_value={PLAINTEXT!r}")
    with pytest.raises(ClientError) as caught:
        kms_client(server.url).encrypt(KeyId="k", Plaintext=PLAINTEXT)
    assert _code(caught) == "KMSInternalException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "ValueError" in text and "input_value" not in text


def test_one_log_line_per_request_and_never_plaintext_or_secrets(server, fake, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = kms_client(server.url)
    blob = client.encrypt(KeyId="alias/orders", Plaintext=PLAINTEXT)["CiphertextBlob"]
    client.decrypt(CiphertextBlob=blob)
    client.generate_random(NumberOfBytes=16)
    with pytest.raises(ClientError):
        kms_client(server.url, key=(ALICE[0], "bad")).list_keys()
    lines = [
        r.getMessage() for r in caplog.records if r.name == "kmsauthz.server" and r.levelno == logging.INFO
    ]
    assert len(lines) == 4
    assert lines[0].startswith("127.0.0.1 Encrypt access_key=AKIAALICEEXAMPLE0001 principal=" + ALICE_ARN)
    assert "key=alias/orders region=us-east-1 decision=Allow status=200 error=-" in lines[0]
    assert "Decrypt" in lines[1] and "key=arn:aws:kms:us-east-1:111122223333:key/" in lines[1]
    assert "decision=Unauthenticated status=400 error=InvalidSignatureException" in lines[3]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (PLAINTEXT.decode(), "CT:", ALICE[1], BOB[1]):
        assert secret not in everything


def test_log_fields_cannot_inject_lines(server, fake, caplog) -> None:
    caplog.set_level(logging.INFO, logger="kmsauthz.server")
    kms_client(server.url).describe_key(KeyId="k\nFAKE LINE decision=Allow")
    (line,) = [r.getMessage() for r in caplog.records if r.name == "kmsauthz.server"]
    assert "\n" not in line and "key=k?FAKE?LINE?decision=Allow" in line


def _with_header(client, name: str, value: str) -> None:
    def add(request, **kwargs) -> None:
        request.headers[name] = value

    client.meta.events.register("before-sign.kms.*", add)


def test_vpc_endpoint_source_ip_and_via_service_come_from_documented_headers(server, fake) -> None:
    client = kms_client(server.url)
    _with_header(client, "X-Kmsauthz-Vpc-Endpoint", "vpce-1a2b3c4d")
    _with_header(client, "X-Kmsauthz-Via-Service", "ec2.us-east-1.amazonaws.com")
    client.list_keys()
    ctx = fake.calls[-1][2]
    assert (ctx["vpc_endpoint"], ctx["source_ip"], ctx["via_service"]) == (
        "vpce-1a2b3c4d",
        "127.0.0.1",
        "ec2.us-east-1.amazonaws.com",
    )
    other = kms_client(server.url)
    _with_header(other, "X-Kmsauthz-Source-Ip", "203.0.113.10")
    other.list_keys()
    assert fake.calls[-1][2]["source_ip"] == "203.0.113.10"
    assert fake.calls[-1][2]["vpc_endpoint"] is None


def test_the_vpc_endpoint_can_be_the_path_of_the_endpoint_url(server, fake) -> None:
    kms_client(server.url + "/vpce-0abc123").list_keys()
    assert fake.calls[-1][2]["vpc_endpoint"] == "vpce-0abc123"
    assert fake.calls[-1][2]["source_ip"] == "127.0.0.1"  # the evaluator makes it aws:VpcSourceIp


@pytest.mark.parametrize(
    ("header", "value", "fragment"),
    [
        ("X-Kmsauthz-Vpc-Endpoint", "endpoint-1", "must be a VPC endpoint id"),
        ("X-Kmsauthz-Source-Ip", "not-an-ip", "must be an IP address"),
        ("X-Kmsauthz-Via-Service", "ec2 us-east-1", "must be a service name"),
    ],
)
def test_bad_origin_headers_are_validation_errors(server, fake, header, value, fragment) -> None:
    client = kms_client(server.url)
    _with_header(client, header, value)
    with pytest.raises(ClientError) as caught:
        client.list_keys()
    assert _code(caught) == "ValidationException"
    assert fragment in caught.value.response["Error"]["Message"]
    assert fake.count() == 0


def test_a_path_and_a_header_naming_different_endpoints_is_refused(server, fake) -> None:
    client = kms_client(server.url + "/vpce-1")
    _with_header(client, "X-Kmsauthz-Vpc-Endpoint", "vpce-2")
    with pytest.raises(ClientError) as caught:
        client.list_keys()
    assert _code(caught) == "ValidationException"


def test_role_session_keys_authenticate_as_the_assumed_role_with_their_session_policy(serve, fake) -> None:
    from kmsauthz.server import Credential

    policy = object()
    creds = CredentialStore(
        [
            Credential(
                "ASIAROLESESSION00001",
                principal_for("arn:aws:iam::111122223333:role/teams/app", "ci-run"),
                "s3cr3t",
                policy,
            )
        ]
    )
    server = serve(fake, creds)
    kms_client(
        server.url, key=("ASIAROLESESSION00001", "s3cr3t"), aws_session_token="FwoGEXAMPLE"
    ).list_keys()
    ctx = fake.calls[-1][2]
    assert ctx["principal"] == "arn:aws:sts::111122223333:assumed-role/app/ci-run"
    assert ctx["session_policy"] is policy


def test_principal_for() -> None:
    assert principal_for("arn:aws:iam::1:user/alice", "x") == "arn:aws:iam::1:user/alice"
    assert principal_for("arn:aws:iam::1:role/app", None) == "arn:aws:iam::1:role/app"
    assert principal_for("arn:aws:iam::1:role/a/b/app", "s") == "arn:aws:sts::1:assumed-role/app/s"
    assert principal_for("arn:aws-cn:iam::1:role/app", "s") == "arn:aws-cn:sts::1:assumed-role/app/s"


def test_duplicate_access_keys_are_an_error() -> None:
    from kmsauthz.errors import InputError
    from kmsauthz.server import Credential

    with pytest.raises(InputError, match="declared twice"):
        CredentialStore(
            [
                Credential("AKIA1", "arn:aws:iam::1:user/a", "s"),
                Credential("AKIA1", "arn:aws:iam::1:user/b", "t"),
            ]
        )


def test_credentials_never_show_their_secret() -> None:
    store = CredentialStore.from_mapping({"AKIA1": ("arn:aws:iam::1:user/u", "hush-hush")})
    assert "hush-hush" not in repr(store) and "hush-hush" not in repr(store.get("AKIA1"))


def test_concurrent_clients(server, fake) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            client = kms_client(server.url, region=("us-east-1", "eu-west-1")[n % 2])
            for i in range(20):
                text = f"{n}-{i}".encode()
                blob = client.encrypt(KeyId="k", Plaintext=text)["CiphertextBlob"]
                assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == text
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors[:3]
    assert fake.count() == 8 * 20 * 2


def test_keep_alive_serves_many_requests_on_one_connection(server, fake) -> None:
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        for _ in range(3):
            path, body, headers = _signed_raw(server.url, "ListKeys", {})
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["Keys"]
            assert response.getheader("Connection") != "close"
    finally:
        conn.close()
    assert fake.count() == 3


def test_an_oversized_body_is_refused_before_it_is_read(server, fake) -> None:
    status, _, error = _send(
        server.url, "POST", "/", b"x" * (MAX_BODY + 1), {"X-Amz-Target": "TrentService.Encrypt"}
    )
    assert (status, error["__type"]) == (413, "RequestEntityTooLargeException")
    assert fake.count() == 0


def test_chunked_bodies_are_read(server, fake) -> None:
    path, body, headers = _signed_raw(server.url, "GenerateRandom", {"NumberOfBytes": 8})
    headers.pop("Content-Length", None)
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("POST", path, body=iter([body[:5], body[5:]]), headers=headers, encode_chunked=True)
        response = conn.getresponse()
        assert response.status == 200, response.read()
        assert json.loads(response.read()) == {"Plaintext": "AAAAAAAAAAA="}
    finally:
        conn.close()


def test_stop_closes_the_port_and_open_connections(serve, fake, credentials) -> None:
    server = serve(fake, credentials)
    client = kms_client(server.url)
    client.list_keys()  # leaves a keep-alive connection open
    port = server.port
    server.stop()
    assert not server.thread.is_alive()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_ipv6_loopback(fake, credentials) -> None:
    from kmsauthz.server import Endpoint, start_server

    with start_server(Endpoint(fake, credentials), "::1", 0) as running:
        assert running.url.startswith("http://[::1]:")
        assert kms_client(running.url).list_keys()["Keys"]
    assert fake.calls[-1][2]["source_ip"] == "::1"


def test_a_result_that_cannot_be_encoded_is_an_internal_error(serve, credentials, caplog) -> None:
    class Broken:
        def call(self, operation_name, params, **context):
            return {"KeyId": object()}  # not JSON

    server = serve(Broken(), credentials)
    with pytest.raises(ClientError) as caught:
        kms_client(server.url).encrypt(KeyId="k", Plaintext=b"x")
    assert _code(caught) == "KMSInternalException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "internal error in Encrypt: TypeError at " in caplog.text
