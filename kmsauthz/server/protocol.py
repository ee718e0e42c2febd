"""The KMS wire protocol: AWS JSON 1.1, shapes from the botocore KMS model.

A request is ``POST /`` with ``X-Amz-Target: TrentService.<Operation>`` and a JSON object body
(``Content-Type: application/x-amz-json-1.1``). Members are decoded by their model shape: blobs
arrive base64, timestamps as epoch seconds. Responses are encoded the same way from the
boto3-shaped dictionaries the local KMS returns (bytes for blobs, datetime for timestamps): only
members of the operation's output shape go on the wire. Errors are ``{"__type": CODE,
"message": TEXT}`` with the HTTP status AWS gives for that code.

The model is the one botocore ships, loaded once and shared with the crypto core's validation.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "CONTENT_TYPE",
    "TARGET_PREFIX",
    "KMSProtocol",
    "ProtocolError",
    "error_body",
    "error_status",
    "load_kms_model",
]

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "TrentService."

# HTTP status of the protocol-level errors the endpoint itself returns; a KMS error's status is the
# crypto core's (``kmsauthz.kms.errors``), which follows AWS: 400, but 500 for internal faults, 503
# for a dependency timeout, 412 for a dry run.
_PROTOCOL_STATUS: dict[str, int] = {
    "UnknownOperationException": 400,
    "SerializationException": 400,
    "RequestEntityTooLargeException": 413,
}


class ProtocolError(Exception):
    """A request that cannot be decoded; ``code`` and ``message`` go back as an AWS error."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = status if status is not None else error_status(code)


def error_status(code: str) -> int:
    status = _PROTOCOL_STATUS.get(code)
    if status is None:
        from kmsauthz.kms.errors import ERRORS

        error = ERRORS.get(code)
        status = error.http_status if error is not None else 400
    return status


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"__type": code, "message": message}, separators=(",", ":")).encode()


def load_kms_model() -> dict[str, Any]:
    """The botocore KMS service model, the same (cached) one the crypto core validates with."""
    from kmsauthz.kms.validation import service_model

    return service_model()


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    input_shape: str | None
    output_shape: str | None


class KMSProtocol:
    """Decode requests and encode responses of every operation of the KMS model."""

    def __init__(self, model: Mapping[str, Any] | None = None) -> None:
        model = model if model is not None else load_kms_model()
        self.shapes: Mapping[str, Any] = model["shapes"]
        self.operations: dict[str, Operation] = {
            name: Operation(
                name,
                (op.get("input") or {}).get("shape"),
                (op.get("output") or {}).get("shape"),
            )
            for name, op in model["operations"].items()
        }
        self.target_prefix = model["metadata"].get("targetPrefix", "TrentService") + "."

    # ---------------------------------------------------------------- requests

    def operation_for_target(self, target: str | None) -> Operation:
        if not target:
            raise ProtocolError("UnknownOperationException", "Missing X-Amz-Target header")
        prefix, dot, name = target.partition(".")
        op = self.operations.get(name) if dot and f"{prefix}." == self.target_prefix else None
        if op is None:
            raise ProtocolError("UnknownOperationException", f"Unknown operation {target}")
        return op

    def decode_request(self, operation: Operation, body: bytes) -> dict[str, Any]:
        """The boto3-shaped parameters of a request body (blobs as bytes, timestamps as datetime)."""
        if not body.strip():
            data: Any = {}
        else:
            try:
                data = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise ProtocolError("SerializationException", "Request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ProtocolError("SerializationException", "Request body must be a JSON object")
        if operation.input_shape is None:
            return {}
        return self._decode_structure(operation.input_shape, data, "")

    def _decode(self, shape_name: str, value: Any, path: str) -> Any:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            if not isinstance(value, dict):
                raise _type_error(path, "a JSON object", value)
            return self._decode_structure(shape_name, value, path)
        if kind == "list":
            if not isinstance(value, list):
                raise _type_error(path, "a JSON array", value)
            member = shape["member"]["shape"]
            return [self._decode(member, v, f"{path}[{i}]") for i, v in enumerate(value) if v is not None]
        if kind == "map":
            if not isinstance(value, dict):
                raise _type_error(path, "a JSON object", value)
            key_shape, value_shape = shape["key"]["shape"], shape["value"]["shape"]
            return {
                self._decode(key_shape, k, f"{path}.<key>"): self._decode(value_shape, v, f"{path}.{k}")
                for k, v in value.items()
                if v is not None
            }
        if kind == "blob":
            if not isinstance(value, str):
                raise _type_error(path, "a base64 string", value)
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ProtocolError("SerializationException", f"{path} is not valid base64") from None
        if kind == "timestamp":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _type_error(path, "epoch seconds (a number)", value)
            return datetime.fromtimestamp(value, UTC)
        if kind == "string":
            if not isinstance(value, str):
                raise _type_error(path, "a string", value)
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _type_error(path, "a boolean", value)
            return value
        if kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise _type_error(path, "an integer", value)
            return value
        if kind in ("float", "double"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _type_error(path, "a number", value)
            return value
        return value  # pragma: no cover - the KMS model has no other kinds

    def _decode_structure(self, shape_name: str, value: dict[str, Any], path: str) -> dict[str, Any]:
        members = self.shapes[shape_name].get("members", {})
        out: dict[str, Any] = {}
        for name, v in value.items():
            member = members.get(name)
            if member is None or v is None:
                continue  # unknown members are ignored, null means absent: as AWS JSON services do
            out[name] = self._decode(member["shape"], v, f"{path}.{name}" if path else name)
        return out

    # --------------------------------------------------------------- responses

    def encode_response(self, operation: Operation, result: Mapping[str, Any] | None) -> bytes:
        if operation.output_shape is None or not result:
            return b"{}"
        data = self._encode_structure(operation.output_shape, result)
        return json.dumps(data, separators=(",", ":")).encode()

    def _encode(self, shape_name: str, value: Any) -> Any:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            return self._encode_structure(shape_name, value)
        if kind == "list":
            member = shape["member"]["shape"]
            return [self._encode(member, v) for v in value]
        if kind == "map":
            value_shape = shape["value"]["shape"]
            return {str(k): self._encode(value_shape, v) for k, v in value.items()}
        if kind == "blob":
            if isinstance(value, str):
                value = value.encode()
            return base64.b64encode(bytes(value)).decode("ascii")
        if kind == "timestamp":
            if isinstance(value, datetime):
                if value.tzinfo is None:
                    value = value.replace(tzinfo=UTC)
                seconds = value.timestamp()
                return int(seconds) if seconds == int(seconds) else seconds
            return value
        return value

    def _encode_structure(self, shape_name: str, value: Mapping[str, Any]) -> dict[str, Any]:
        members = self.shapes[shape_name].get("members", {})
        return {
            name: self._encode(members[name]["shape"], v)
            for name, v in value.items()
            if v is not None and name in members
        }


def _type_error(path: str, expected: str, value: Any) -> ProtocolError:
    got = type(value).__name__ if value is not None else "null"
    got = {"dict": "object", "list": "array", "str": "string", "bool": "boolean"}.get(got, got)
    return ProtocolError("SerializationException", f"{path or 'body'} must be {expected}, got {got}")
