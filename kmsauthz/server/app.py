"""The endpoint: authenticate, decode, call the local KMS, encode. Nothing is decided here.

:class:`Endpoint` turns one HTTP request (method, path, headers, body, peer address) into one
HTTP response, independent of any server library; :class:`KMSServer` puts it behind the standard
library's :class:`http.server.ThreadingHTTPServer` (one thread per connection, HTTP/1.1 keep-alive).

The order of work for a request, and what a failure at each step returns:

1. route: ``POST /`` (or ``POST /vpce-ID``, see below), else ``UnknownOperationException``;
2. authenticate the SigV4 signature (:mod:`kmsauthz.server.sigv4`): on any failure nothing
   below runs;
3. ``X-Amz-Target`` names an operation of the KMS model that the backend implements, else
   ``UnknownOperationException`` / ``UnsupportedOperationException``;
4. decode the JSON body by the model (``SerializationException``);
5. ``backend.call(operation, params, principal=..., region=<credential scope>, ...)``; a KMS error
   it raises goes back as ``{"__type", "message"}`` with its HTTP status;
6. encode the result by the model's output shape.

Where a request comes from, for endpoint conditions (never signed by stock clients, so never
trusted for anything but the evaluation a test asks for):

- ``X-Kmsauthz-Vpc-Endpoint: vpce-1a2b3c4d``, or the path ``/vpce-1a2b3c4d`` (so an endpoint URL
  ``http://127.0.0.1:PORT/vpce-1a2b3c4d`` works with clients that cannot add headers: the AWS CLI,
  the AWS Encryption SDK). Through a VPC endpoint the evaluator sets ``aws:VpcSourceIp`` from the
  source address and no ``aws:SourceIp``, as AWS does.
- ``X-Kmsauthz-Source-Ip: 203.0.113.10``; by default the peer address of the connection.
- ``X-Kmsauthz-Via-Service: ec2.us-east-1.amazonaws.com``: the request is made by that service on
  the caller's behalf (``kms:ViaService``).

Every request is logged as one line (logger ``kmsauthz.server``): peer, operation, principal, key,
Region, decision, status, error code and time. Parameters, plaintext, ciphertext and key material
are never logged, nor is an exception's message (a validation message may quote its input).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from kmsauthz.server.credentials import CredentialStore
from kmsauthz.server.protocol import CONTENT_TYPE, KMSProtocol, ProtocolError, error_body, error_status
from kmsauthz.server.sigv4 import AuthError, verify

__all__ = [
    "MAX_BODY",
    "Backend",
    "Endpoint",
    "KMSServer",
    "Response",
    "RunningServer",
    "start_server",
]

log = logging.getLogger("kmsauthz.server")

MAX_BODY = 1024 * 1024
"""Largest request body accepted (KMS's largest inputs, policies and imported key material, are
far smaller)."""

HEADER_VPC_ENDPOINT = "x-kmsauthz-vpc-endpoint"
HEADER_SOURCE_IP = "x-kmsauthz-source-ip"
HEADER_VIA_SERVICE = "x-kmsauthz-via-service"
_VPCE = re.compile(r"^vpce-[0-9a-z]{1,32}$")
_PATH_VPCE = re.compile(r"^/(vpce-[0-9a-z]{1,32})/?$")
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,127}$")
_LOG_UNSAFE = re.compile(r"[^\x21-\x7e]")


class Backend(Protocol):
    """What the endpoint calls: :meth:`kmsauthz.kms.LocalKMS.call`."""

    def call(
        self,
        operation_name: str,
        params: dict[str, Any],
        *,
        principal: str,
        region: str,
        vpc_endpoint: str | None = None,
        source_ip: str | None = None,
        via_service: str | None = None,
        session_policy: Any = None,
    ) -> dict[str, Any]: ...


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class _Entry:
    """The fields of one log line."""

    peer: str = "-"
    access_key: str = "-"
    operation: str = "-"
    principal: str = "-"
    key: str = "-"
    region: str = "-"
    decision: str = "-"
    status: int = 0
    error: str = "-"

    def line(self, ms: float) -> str:
        return (
            f"{self.peer} {_safe(self.operation)} access_key={_safe(self.access_key)} "
            f"principal={_safe(self.principal)} key={_safe(self.key)} "
            f"region={_safe(self.region)} decision={self.decision} status={self.status} "
            f"error={self.error} ms={ms:.1f}"
        )


def _safe(value: str) -> str:
    """A log field: at most 200 printable characters, no spaces or newlines (no log injection)."""
    value = _LOG_UNSAFE.sub("?", value)
    return value if len(value) <= 200 else value[:199] + "…"


class Endpoint:
    """One request in, one response out: the KMS JSON protocol in front of a backend."""

    def __init__(
        self,
        backend: Backend,
        credentials: CredentialStore,
        *,
        protocol: KMSProtocol | None = None,
        clock: Callable[[], datetime] | None = None,
        operations: Sequence[str] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.backend = backend
        self.credentials = credentials
        self.protocol = protocol if protocol is not None else KMSProtocol()
        self.clock = clock or (lambda: datetime.now(UTC))
        # None: every operation of the model goes to the backend, which refuses what it lacks
        # (LocalKMS answers UnsupportedOperationException itself)
        self.implemented = frozenset(operations) if operations is not None else None
        self.log = logger or log

    # The one public step: everything else is private.
    def handle(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        peer: str = "-",
    ) -> Response:
        started = time.perf_counter()
        entry = _Entry(peer=peer)
        request_id = str(uuid.uuid4())
        try:
            result = self._handle(entry, method, raw_path, raw_query, headers, body, peer)
        except (AuthError, ProtocolError) as exc:
            if isinstance(exc, AuthError) and exc.access_key_id:
                entry.access_key = exc.access_key_id
            response = self._error(entry, exc.code, exc.message, getattr(exc, "http_status", None))
        except Exception as exc:  # a bug here or below: fail closed, say where, never what
            response = self._internal(entry, exc)
        else:
            response = result
        response.headers.append(("x-amzn-RequestId", request_id))
        entry.status = response.status
        if self.log.isEnabledFor(logging.INFO):
            self.log.info(entry.line((time.perf_counter() - started) * 1000))
        return response

    def _error(self, entry: _Entry, code: str, message: str, status: int | None) -> Response:
        entry.error = code
        status = status or error_status(code)
        return Response(
            status, error_body(code, message), [("Content-Type", CONTENT_TYPE), ("x-amzn-ErrorType", code)]
        )

    def _internal(self, entry: _Entry, exc: BaseException) -> Response:
        # Log where, never the message: it may quote a parameter (a plaintext, say).
        frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f"{frame[0].filename}:{frame[0].lineno}" if frame else "?"
        self.log.error("internal error in %s: %s at %s", entry.operation, type(exc).__name__, where)
        return self._error(entry, "KMSInternalException", "An internal error occurred", 500)

    def _handle(
        self,
        entry: _Entry,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        peer: str,
    ) -> Response:
        target = _first(headers, "x-amz-target")
        if target:
            entry.operation = target.rpartition(".")[2] or target
        if method.upper() != "POST":
            raise ProtocolError(
                "UnknownOperationException", "the KMS JSON protocol takes POST requests only", 405
            )
        path_vpce = None
        if raw_path not in ("", "/"):
            match = _PATH_VPCE.match(raw_path)
            if match is None:
                raise ProtocolError(
                    "UnknownOperationException",
                    "unknown path: use / or /vpce-ID (a VPC endpoint id of the world)",
                    404,
                )
            path_vpce = match.group(1)

        entry.decision = "Unauthenticated"
        signed = verify(
            method=method,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=headers,
            body=body,
            lookup_secret=self.credentials.secret,
            now=self.clock(),
        )
        credential = self.credentials.get(signed.access_key_id)
        assert credential is not None  # verify() looked it up
        entry.access_key = signed.access_key_id
        entry.principal = credential.principal
        entry.region = signed.region
        entry.decision = "-"

        operation = self.protocol.operation_for_target(target)
        entry.operation = operation.name
        if self.implemented is not None and operation.name not in self.implemented:
            raise ProtocolError(
                "UnsupportedOperationException", f"{operation.name} is not supported by kmsauthz serve"
            )
        params = self.protocol.decode_request(operation, body)
        for name in ("KeyId", "SourceKeyId", "TargetKeyId", "DestinationKeyId"):
            value = params.get(name)
            if isinstance(value, str):
                entry.key = value
                break

        vpc_endpoint = _first(headers, HEADER_VPC_ENDPOINT)
        if vpc_endpoint is not None:
            vpc_endpoint = vpc_endpoint.strip()
            if not _VPCE.match(vpc_endpoint):
                raise ProtocolError(
                    "ValidationException",
                    f"X-Kmsauthz-Vpc-Endpoint must be a VPC endpoint id (vpce-...), got `{_safe(vpc_endpoint)}`",
                )
            if path_vpce is not None and path_vpce != vpc_endpoint:
                raise ProtocolError(
                    "ValidationException", "the path and X-Kmsauthz-Vpc-Endpoint name different VPC endpoints"
                )
        else:
            vpc_endpoint = path_vpce
        source_ip = _first(headers, HEADER_SOURCE_IP)
        if source_ip is not None:
            source_ip = source_ip.strip()
            try:
                ipaddress.ip_address(source_ip)
            except ValueError:
                raise ProtocolError(
                    "ValidationException",
                    f"X-Kmsauthz-Source-Ip must be an IP address, got `{_safe(source_ip)}`",
                ) from None
        elif peer != "-":
            source_ip = peer  # through a VPC endpoint the evaluator makes it aws:VpcSourceIp
        via_service = _first(headers, HEADER_VIA_SERVICE)
        if via_service is not None:
            via_service = via_service.strip()
            if not _SERVICE.match(via_service):
                raise ProtocolError(
                    "ValidationException",
                    f"X-Kmsauthz-Via-Service must be a service name, got `{_safe(via_service)}`",
                )

        try:
            result = self.backend.call(
                operation.name,
                params,
                principal=credential.principal,
                region=signed.region,
                vpc_endpoint=vpc_endpoint,
                source_ip=source_ip,
                via_service=via_service,
                session_policy=credential.session_policy,
            )
        except Exception as exc:
            return self._backend_error(entry, exc)
        entry.decision = "Allow"
        if entry.key == "-":
            entry.key = _result_key(result)
        return Response(
            200, self.protocol.encode_response(operation, result), [("Content-Type", CONTENT_TYPE)]
        )

    def _backend_error(self, entry: _Entry, exc: Exception) -> Response:
        code, message = getattr(exc, "code", None), getattr(exc, "message", None)
        if not isinstance(code, str) or not isinstance(message, str):
            return self._internal(entry, exc)
        if code == "AccessDeniedException":
            # the evaluator's effect (ExplicitDeny / ImplicitDeny); a deny with no decision behind
            # it (or a decision that failed closed on an internal error) is logged as plain Deny
            decision = getattr(exc, "decision", None)
            effect = str(getattr(getattr(decision, "effect", None), "value", ""))
            entry.decision = effect if effect in ("ExplicitDeny", "ImplicitDeny") else "Deny"
        status = getattr(exc, "http_status", None)
        return self._error(entry, code, message, status if isinstance(status, int) else None)


def _first(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _result_key(result: Mapping[str, Any] | None) -> str:
    if not result:
        return "-"
    key = result.get("KeyId")
    if isinstance(key, str):
        return key
    metadata = result.get("KeyMetadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("Arn"), str):
        return metadata["Arn"]
    return "-"


# --------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kmsauthz"
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    disable_nagle_algorithm = True  # small responses go out at once (no 40 ms delayed-ACK stalls)
    server: KMSServer

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        target, _, query = self.path.partition("?")
        if target.startswith(("http://", "https://")):  # absolute-form request target
            target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
        response = self.server.endpoint.handle(
            self.command, target, query, list(self.headers.items()), body, self.client_address[0]
        )
        self._send(response.status, response.body, response.headers)

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _serve

    def do_HEAD(self) -> None:
        self.close_connection = True
        self._send(405, b"", [])

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            self._fail(400, "SerializationException", "invalid Content-Length")
            return None
        if length > MAX_BODY:
            self._fail(413, "RequestEntityTooLargeException", f"request body over {MAX_BODY} bytes")
            return None
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes | None:
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self._fail(400, "SerializationException", "invalid chunked encoding")
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                self._fail(413, "RequestEntityTooLargeException", f"request body over {MAX_BODY} bytes")
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _fail(self, status: int, code: str, message: str) -> None:
        self.close_connection = True
        self._send(status, error_body(code, message), [("Content-Type", CONTENT_TYPE)])

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        buffer = getattr(self, "_headers_buffer", None)
        if buffer is not None and self.command != "HEAD":
            buffer.append(b"\r\n" + body)  # status line, headers and body in one write
            self.flush_headers()
            return
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # the endpoint logs each request
        log.debug("http: " + format, *args)


class KMSServer(ThreadingHTTPServer):
    """A threading HTTP server that hands every request to an :class:`Endpoint`."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], endpoint: Endpoint) -> None:
        host = address[0]
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.endpoint = endpoint
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[0], self.server_address[1]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open (keep-alive) connection, so their threads finish."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class RunningServer:
    """A :class:`KMSServer` serving in a background thread; ``stop()`` (or ``with``) ends it."""

    def __init__(self, server: KMSServer) -> None:
        self.server = server
        self.thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="kmsauthz-serve", daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self, timeout: float = 5.0) -> None:
        self.server.shutdown()
        self.server.close_connections()
        self.server.server_close()
        self.thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(endpoint: Endpoint, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Bind ``host:port`` (0: a free port), start serving in a thread, return the handle."""
    return RunningServer(KMSServer((host, port), endpoint))
