"""Verification of AWS Signature Version 4 (``AWS4-HMAC-SHA256``) on an incoming request.

The server is the verifying side of the algorithm the IAM User Guide describes ("Create a signed
AWS API request"): rebuild the canonical request from what arrived, derive the signing key from the
caller's secret and the credential scope, and compare signatures in constant time. The Region is
whatever the credential scope names, so one server answers for every Region.

Errors are the ones AWS returns, with its codes and messages (:class:`AuthError`):

=================================  ==========================================================
MissingAuthenticationTokenException  no ``Authorization`` header at all
IncompleteSignatureException       the header is malformed, or ``host`` / the date is not signed
UnrecognizedClientException        the access key id is not declared in the world
InvalidSignatureException          wrong signature, wrong scope, or a request outside the
                                   15-minute window ("Signature expired" / "not yet current")
=================================  ==========================================================

A request replayed inside the window is accepted, as AWS accepts it; one replayed after it is
refused as expired, and nothing runs.
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote

__all__ = [
    "ALGORITHM",
    "MAX_SKEW",
    "AuthError",
    "SignedRequest",
    "canonical_request",
    "parse_authorization",
    "sign",
    "signing_key",
    "string_to_sign",
    "verify",
]

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "kms"
TERMINATOR = "aws4_request"
MAX_SKEW = timedelta(minutes=15)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$")
_SPACES = re.compile(r" +")
_AMZ_DATE_SHAPE = re.compile(r"^\d{8}T\d{6}Z$")


class AuthError(Exception):
    """A request that does not authenticate; ``code`` and ``message`` are what AWS returns."""

    def __init__(self, code: str, message: str, *, access_key_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.access_key_id = access_key_id

    http_status = 400


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a verified signature establishes about a request."""

    access_key_id: str
    region: str
    """The Region of the credential scope: the Region the caller called."""
    date: datetime
    signed_headers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Authorization:
    access_key_id: str
    scope_date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.scope_date}/{self.region}/{self.service}/{self.terminator}"


def parse_authorization(header: str) -> _Authorization:
    """Split an ``Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthError(
            "IncompleteSignatureException",
            f"Unsupported AWS 'algorithm': '{algorithm}'. Only '{ALGORITHM}' is supported.",
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, eq, value = part.strip().partition("=")
        if eq:
            fields[name.strip()] = value.strip()
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if missing:
        raise AuthError("IncompleteSignatureException", " ".join([*missing, f"Authorization={algorithm}"]))
    credential = fields["Credential"].split("/")
    if len(credential) != 5 or not all(credential):
        raise AuthError(
            "IncompleteSignatureException",
            f"Credential should have 5 slash-separated parts, got '{len(credential)}': "
            "access key id/YYYYMMDD/region/service/aws4_request.",
        )
    access_key_id, scope_date, region, service, terminator = credential
    signed = tuple(fields["SignedHeaders"].split(";"))
    return _Authorization(access_key_id, scope_date, region, service, terminator, signed, fields["Signature"])


def _header_values(headers: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name.lower(), []).append(value)
    return out


def _canonical_uri(raw_path: str) -> str:
    # Services other than S3 normalize the path and encode it once more (the path on the wire is
    # already encoded once): what botocore signs.
    path = raw_path or "/"
    normalized = posixpath.normpath(path)
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    return quote(normalized, safe="/~")


def _canonical_query(raw_query: str) -> str:
    if not raw_query:
        return ""
    pairs = []
    for item in raw_query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    signed_headers: Iterable[str],
    payload_sha256: str,
    *,
    _values: Mapping[str, list[str]] | None = None,
) -> str:
    """The canonical request of SigV4, from the request as it arrived on the wire."""
    values = _values if _values is not None else _header_values(headers)
    names = list(signed_headers)
    lines = []
    for name in names:
        joined = ",".join(_SPACES.sub(" ", v.strip()) for v in values.get(name, ()))
        lines.append(f"{name}:{joined}\n")
    return "\n".join(
        [
            method.upper(),
            _canonical_uri(raw_path),
            _canonical_query(raw_query),
            "".join(lines),
            ";".join(names),
            payload_sha256,
        ]
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


@lru_cache(maxsize=256)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """``kSigning`` of SigV4; cached per (secret, day, Region, service), in memory only."""
    k = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, region.encode(), hashlib.sha256).digest()
    k = hmac.new(k, service.encode(), hashlib.sha256).digest()
    return hmac.new(k, TERMINATOR.encode(), hashlib.sha256).digest()


def sign(secret: str, scope_date: str, region: str, service: str, to_sign: str) -> str:
    key = signing_key(secret, scope_date, region, service)
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _request_date(values: Mapping[str, list[str]]) -> tuple[str, datetime, str]:
    """(header used, its time, the ISO-8601 basic form that the string to sign carries)."""
    amz = values.get("x-amz-date")
    if amz:
        text = amz[0].strip()
        try:
            if not _AMZ_DATE_SHAPE.match(text):
                raise ValueError(text)
            when = datetime(
                int(text[0:4]),
                int(text[4:6]),
                int(text[6:8]),
                int(text[9:11]),
                int(text[11:13]),
                int(text[13:15]),
                tzinfo=UTC,
            )
        except ValueError:
            raise AuthError(
                "IncompleteSignatureException",
                f"Date must be in ISO-8601 'basic format'. Got '{text}'. See "
                "http://en.wikipedia.org/wiki/ISO_8601",
            ) from None
        return "x-amz-date", when, text
    date = values.get("date")
    if date:
        try:
            when = parsedate_to_datetime(date[0]).astimezone(UTC)
        except (TypeError, ValueError):
            raise AuthError(
                "IncompleteSignatureException", f"Date must be an RFC 1123 date. Got '{date[0]}'."
            ) from None
        return "date", when, when.strftime(_AMZ_DATE)
    raise AuthError(
        "IncompleteSignatureException",
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    )


def verify(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    lookup_secret: Callable[[str], str | None],
    now: datetime,
) -> SignedRequest:
    """Check the request's SigV4 signature; return what it proves or raise :class:`AuthError`.

    ``lookup_secret(access_key_id)`` gives the secret access key, or None for an unknown key.
    ``now`` is the server's clock (aware, UTC). Nothing about the request is trusted before this
    returns: the caller must not run anything when it raises.
    """
    values = _header_values(headers)
    auth_headers = values.get("authorization")
    if not auth_headers:
        raise AuthError("MissingAuthenticationTokenException", "Missing Authentication Token")
    auth = parse_authorization(auth_headers[0])
    date_header, when, amz_date = _request_date(values)

    if "host" not in auth.signed_headers:
        raise AuthError(
            "IncompleteSignatureException",
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            access_key_id=auth.access_key_id,
        )
    if date_header not in auth.signed_headers:
        raise AuthError(
            "IncompleteSignatureException",
            f"'{'X-Amz-Date' if date_header == 'x-amz-date' else 'Date'}' must be a "
            "'SignedHeader' in the AWS Authorization.",
            access_key_id=auth.access_key_id,
        )
    if auth.service != SERVICE:
        raise AuthError(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{SERVICE}'. ",
            access_key_id=auth.access_key_id,
        )
    if auth.terminator != TERMINATOR:
        raise AuthError(
            "InvalidSignatureException",
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{auth.terminator}'. ",
            access_key_id=auth.access_key_id,
        )
    if not _REGION.match(auth.region):
        raise AuthError(
            "InvalidSignatureException",
            "Credential should be scoped to a valid region. ",
            access_key_id=auth.access_key_id,
        )
    if auth.scope_date != amz_date[:8]:
        raise AuthError(
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{auth.scope_date}' != '{amz_date[:8]}', from '{amz_date}'.",
            access_key_id=auth.access_key_id,
        )

    secret = lookup_secret(auth.access_key_id)
    if secret is None:
        raise AuthError(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            access_key_id=auth.access_key_id,
        )

    now = now.astimezone(UTC).replace(microsecond=0)
    if when < now - MAX_SKEW:
        raise AuthError(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier than {(now - MAX_SKEW).strftime(_AMZ_DATE)} "
            f"({now.strftime(_AMZ_DATE)} - 15 min.)",
            access_key_id=auth.access_key_id,
        )
    if when > now + MAX_SKEW:
        raise AuthError(
            "InvalidSignatureException",
            f"Signature not yet current: {amz_date} is still later than "
            f"{(now + MAX_SKEW).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} + 15 min.)",
            access_key_id=auth.access_key_id,
        )

    canonical = canonical_request(
        method,
        raw_path,
        raw_query,
        headers,
        auth.signed_headers,
        hashlib.sha256(body).hexdigest(),
        _values=values,
    )
    expected = sign(
        secret, auth.scope_date, auth.region, auth.service, string_to_sign(amz_date, auth.scope, canonical)
    )
    if not hmac.compare_digest(expected.encode(), auth.signature.lower().encode()):
        raise AuthError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your "
            "AWS Secret Access Key and signing method. Consult the service documentation for details.",
            access_key_id=auth.access_key_id,
        )
    return SignedRequest(auth.access_key_id, auth.region, when, auth.signed_headers)
