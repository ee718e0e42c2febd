"""SigV4 verification: AWS's published example, every request botocore signs, and every way a
request can fail to authenticate, with the code and message AWS returns."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsauthz.server.sigv4 import AuthError, canonical_request, sign, string_to_sign, verify

KEY_ID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SECRETS = {KEY_ID: SECRET}


def test_the_get_vanilla_example_of_the_aws_sigv4_test_suite() -> None:
    canonical = canonical_request(
        "GET",
        "/",
        "",
        [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
        ["host", "x-amz-date"],
        hashlib.sha256(b"").hexdigest(),
    )
    assert canonical == (
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    to_sign = string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", canonical)
    assert to_sign.endswith("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
    signature = sign(SECRET, "20150830", "us-east-1", "service", to_sign)
    assert signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


def signed(
    body: bytes = b'{"KeyId": "alias/x"}',
    *,
    region: str = "us-east-1",
    url: str = "http://127.0.0.1:7143/",
    when: datetime | None = None,
    secret: str = SECRET,
    key_id: str = KEY_ID,
    token: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> AWSRequest:
    """A request signed by botocore itself, as boto3 would send it."""
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "TrentService.Encrypt",
            **(extra_headers or {}),
        },
    )
    auth = SigV4Auth(Credentials(key_id, secret, token), "kms", region)
    if when is not None:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
            auth.add_auth(request)
    else:
        auth.add_auth(request)
    if "Host" not in request.headers:
        request.headers["Host"] = urlsplit(url).netloc
    return request


def check(
    request: AWSRequest,
    *,
    now: datetime | None = None,
    secrets: dict[str, str] = SECRETS,
    headers: list[tuple[str, str]] | None = None,
    body: bytes | None = None,
):
    parts = urlsplit(request.url)
    return verify(
        method=request.method,
        raw_path=parts.path or "/",
        raw_query=parts.query,
        headers=headers if headers is not None else list(request.headers.items()),
        body=body if body is not None else (request.body or b""),
        lookup_secret=secrets.get,
        now=now or datetime.now(UTC),
    )


def test_a_request_botocore_signs_verifies_and_names_its_region() -> None:
    result = check(signed(region="eu-west-1"))
    assert (result.access_key_id, result.region) == (KEY_ID, "eu-west-1")
    assert "host" in result.signed_headers and "x-amz-target" in result.signed_headers


@pytest.mark.parametrize("url", ["http://127.0.0.1:7143/vpce-1a2b3c4d", "http://localhost:1/?b=2&a=1&c=%20x"])
def test_paths_and_queries_are_canonicalized_as_botocore_signs_them(url: str) -> None:
    assert check(signed(url=url)).region == "us-east-1"


def test_session_tokens_and_extra_signed_headers_verify() -> None:
    request = signed(token="FwoGZXIvYXdzEXAMPLE", extra_headers={"X-Custom": "a   b  c"})
    assert check(request).access_key_id == KEY_ID


def test_headers_added_after_signing_do_not_matter() -> None:
    request = signed()
    assert check(request, headers=[*request.headers.items(), ("X-Kmsauthz-Vpc-Endpoint", "vpce-1")])


@given(
    body=st.binary(max_size=300),
    region=st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"]),
    flip=st.integers(min_value=0, max_value=10_000),
)
@settings(max_examples=60, deadline=None)
def test_any_body_verifies_and_any_change_to_it_fails(body: bytes, region: str, flip: int) -> None:
    request = signed(body, region=region)
    assert check(request).region == region
    tampered = bytearray(body or b"\x00")
    tampered[flip % len(tampered)] ^= 0x01
    with pytest.raises(AuthError) as caught:
        check(request, body=bytes(tampered))
    assert caught.value.code == "InvalidSignatureException"


def _fails(code: str, fragment: str, request: AWSRequest, **kwargs) -> None:
    with pytest.raises(AuthError) as caught:
        check(request, **kwargs)
    assert caught.value.code == code
    assert fragment in caught.value.message


def test_an_unknown_access_key_is_unrecognized() -> None:
    _fails(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        signed(key_id="AKIAUNKNOWN"),
    )


def test_a_wrong_secret_is_an_invalid_signature() -> None:
    _fails(
        "InvalidSignatureException",
        "The request signature we calculated does not match",
        signed(secret="nope"),
    )


def test_a_changed_signed_header_is_an_invalid_signature() -> None:
    request = signed()
    headers = [(k, "TrentService.Decrypt" if k == "X-Amz-Target" else v) for k, v in request.headers.items()]
    _fails("InvalidSignatureException", "does not match", request, headers=headers)


def test_a_request_more_than_15_minutes_old_is_expired() -> None:
    when = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    request = signed(when=when)
    assert check(request, now=when + timedelta(minutes=14, seconds=59))
    _fails(
        "InvalidSignatureException",
        "Signature expired: 20260501T120000Z is now earlier than 20260501T120001Z (20260501T121501Z - 15 min.)",
        request,
        now=when + timedelta(minutes=15, seconds=1),
    )


def test_a_request_from_more_than_15_minutes_ahead_is_not_yet_current() -> None:
    when = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    _fails(
        "InvalidSignatureException",
        "Signature not yet current: 20260501T120000Z is still later than",
        signed(when=when),
        now=when - timedelta(minutes=16),
    )


def test_no_authorization_is_a_missing_token() -> None:
    request = signed()
    headers = [(k, v) for k, v in request.headers.items() if k.lower() != "authorization"]
    _fails("MissingAuthenticationTokenException", "Missing Authentication Token", request, headers=headers)


@pytest.mark.parametrize(
    ("authorization", "code", "fragment"),
    [
        (
            "AWS4-HMAC-SHA512 Credential=a/b/c/d/e, SignedHeaders=host, Signature=0",
            "IncompleteSignatureException",
            "Unsupported AWS 'algorithm'",
        ),
        (
            "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=00",
            "IncompleteSignatureException",
            "requires 'Credential' parameter",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260501/us-east-1/kms/aws4_request",
            "IncompleteSignatureException",
            "requires 'Signature' parameter",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260501/kms/aws4_request, SignedHeaders=host;x-amz-date, "
            "Signature=00",
            "IncompleteSignatureException",
            "5 slash-separated parts",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260501/us-east-1/kms/aws4_request, SignedHeaders=x-amz-date, "
            "Signature=00",
            "IncompleteSignatureException",
            "'Host' or ':authority' must be a 'SignedHeader'",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260501/us-east-1/kms/aws4_request, SignedHeaders=host, "
            "Signature=00",
            "IncompleteSignatureException",
            "'X-Amz-Date' must be a 'SignedHeader'",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260501/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00",
            "InvalidSignatureException",
            "Credential should be scoped to correct service: 'kms'.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260501/us-east-1/kms/aws5_request, "
            "SignedHeaders=host;x-amz-date, Signature=00",
            "InvalidSignatureException",
            "valid terminator",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260501/Mars/kms/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00",
            "InvalidSignatureException",
            "valid region",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260502/us-east-1/kms/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00",
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            "'20260502' != '20260501', from '20260501T120000Z'.",
        ),
    ],
)
def test_malformed_authorization_headers(authorization: str, code: str, fragment: str) -> None:
    request = signed(when=datetime(2026, 5, 1, 12, tzinfo=UTC))
    headers = [(k, authorization if k.lower() == "authorization" else v) for k, v in request.headers.items()]
    _fails(code, fragment, request, headers=headers, now=datetime(2026, 5, 1, 12, tzinfo=UTC))


def test_a_request_without_a_date_is_incomplete() -> None:
    request = signed()
    headers = [(k, v) for k, v in request.headers.items() if k.lower() != "x-amz-date"]
    _fails(
        "IncompleteSignatureException", "either a 'X-Amz-Date' or a 'Date' header", request, headers=headers
    )


def test_a_malformed_date_is_incomplete() -> None:
    request = signed()
    headers = [(k, "yesterday" if k.lower() == "x-amz-date" else v) for k, v in request.headers.items()]
    _fails("IncompleteSignatureException", "ISO-8601 'basic format'", request, headers=headers)
