"""The wire format is the botocore KMS model's: for every operation of the model, what botocore's
own serializer sends decodes to the parameters it was given, and what we encode botocore's own
parser reads back as the response we meant (blobs base64, timestamps epoch seconds)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore import parsers, serialize
from botocore.model import ServiceModel, Shape

from kmsauthz.server.protocol import KMSProtocol, ProtocolError, error_body, error_status, load_kms_model

MODEL = ServiceModel(load_kms_model(), "kms")
PROTOCOL = KMSProtocol()
WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def example(shape: Shape, depth: int = 0) -> Any:
    """A value of every member of ``shape`` (two list items, one map entry)."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 6:
            return {}
        return {name: example(member, depth + 1) for name, member in shape.members.items()}
    if kind == "list":
        return [example(shape.member, depth + 1), example(shape.member, depth + 1)]
    if kind == "map":
        return {"k1": example(shape.value, depth + 1)}
    if kind == "blob":
        return b"\x00\xff blob \x10"
    if kind == "timestamp":
        return WHEN
    if kind == "boolean":
        return True
    if kind in ("integer", "long"):
        return 7
    if kind in ("float", "double"):
        return 1.5
    enum = shape.enum if kind == "string" else None
    return enum[0] if enum else "text"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a.timestamp() == b.timestamp()
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b and type(a) is type(b)


OPERATIONS = sorted(MODEL.operation_names)


def test_every_operation_of_the_model_is_known() -> None:
    assert set(PROTOCOL.operations) == set(OPERATIONS)
    assert len(OPERATIONS) >= 50


@pytest.mark.parametrize("name", OPERATIONS)
def test_requests_botocore_serializes_decode_to_the_same_parameters(name: str) -> None:
    op_model = MODEL.operation_model(name)
    params = example(op_model.input_shape) if op_model.input_shape is not None else {}
    request = serialize.create_serializer("json", include_validation=False).serialize_to_request(
        params, op_model
    )
    assert request["headers"]["X-Amz-Target"] == f"TrentService.{name}"
    operation = PROTOCOL.operation_for_target(request["headers"]["X-Amz-Target"])
    decoded = PROTOCOL.decode_request(operation, request["body"])
    assert _same(decoded, params)


@pytest.mark.parametrize("name", OPERATIONS)
def test_responses_we_encode_parse_in_botocore_to_the_same_dict(name: str) -> None:
    op_model = MODEL.operation_model(name)
    output = op_model.output_shape
    result = example(output) if output is not None else {}
    body = PROTOCOL.encode_response(PROTOCOL.operations[name], result)
    parsed = parsers.create_parser("json").parse({"status_code": 200, "headers": {}, "body": body}, output)
    parsed.pop("ResponseMetadata", None)
    assert _same(parsed, result)


def test_blobs_are_base64_and_timestamps_epoch_seconds_on_the_wire() -> None:
    op = PROTOCOL.operations["DescribeKey"]
    body = PROTOCOL.encode_response(
        op,
        {
            "KeyMetadata": {
                "KeyId": "k",
                "CreationDate": WHEN,
                "DeletionDate": datetime(2026, 1, 1, 0, 0, 0, 500000),
            }
        },
    )
    data = json.loads(body)
    assert data["KeyMetadata"]["CreationDate"] == int(WHEN.timestamp())
    assert data["KeyMetadata"]["DeletionDate"] == 1767225600.5  # naive datetimes are UTC
    enc = PROTOCOL.encode_response(PROTOCOL.operations["Encrypt"], {"CiphertextBlob": bytearray(b"\x01\x02")})
    assert json.loads(enc) == {"CiphertextBlob": "AQI="}


def test_members_outside_the_output_shape_and_none_never_go_on_the_wire() -> None:
    body = PROTOCOL.encode_response(
        PROTOCOL.operations["Encrypt"],
        {"CiphertextBlob": b"x", "KeyId": None, "ResponseMetadata": {"RequestId": "r"}, "Secret": b"no"},
    )
    assert json.loads(body) == {"CiphertextBlob": "eA=="}


def test_unknown_and_null_request_members_are_ignored() -> None:
    op = PROTOCOL.operations["Encrypt"]
    params = PROTOCOL.decode_request(
        op, b'{"KeyId": "k", "Plaintext": "aGk=", "Nope": 1, "GrantTokens": null}'
    )
    assert params == {"KeyId": "k", "Plaintext": b"hi"}
    assert PROTOCOL.decode_request(op, b"") == {}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"Plaintext": "%%%"}', "Plaintext is not valid base64"),
        (b'{"Plaintext": 12}', "Plaintext must be a base64 string"),
        (b'{"KeyId": 12}', "KeyId must be a string"),
        (b'{"EncryptionContext": ["a"]}', "EncryptionContext must be a JSON object"),
        (b'{"EncryptionContext": {"a": 1}}', "EncryptionContext.a must be a string"),
        (b'{"GrantTokens": "t"}', "GrantTokens must be a JSON array"),
        (b'{"DryRun": "yes"}', "DryRun must be a boolean"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_malformed_requests_are_serialization_exceptions(body: bytes, fragment: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        PROTOCOL.decode_request(PROTOCOL.operations["Encrypt"], body)
    assert caught.value.code == "SerializationException"
    assert fragment in caught.value.message
    assert caught.value.http_status == 400


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"NumberOfBytes": true}', "NumberOfBytes must be an integer"),
        (b'{"NumberOfBytes": 1.5}', "NumberOfBytes must be an integer"),
    ],
)
def test_numbers_are_checked(body: bytes, fragment: str) -> None:
    with pytest.raises(ProtocolError, match=fragment):
        PROTOCOL.decode_request(PROTOCOL.operations["GenerateRandom"], body)


def test_timestamps_in_requests_are_epoch_seconds() -> None:
    op = PROTOCOL.operations["ImportKeyMaterial"]
    params = PROTOCOL.decode_request(op, json.dumps({"ValidTo": WHEN.timestamp()}).encode())
    assert params["ValidTo"] == WHEN
    with pytest.raises(ProtocolError, match="epoch seconds"):
        PROTOCOL.decode_request(op, b'{"ValidTo": "2026-01-01"}')


@pytest.mark.parametrize(
    "target", [None, "", "TrentService.Nope", "Other.Encrypt", "Encrypt", "TrentService."]
)
def test_unknown_targets(target: str | None) -> None:
    with pytest.raises(ProtocolError) as caught:
        PROTOCOL.operation_for_target(target)
    assert caught.value.code == "UnknownOperationException"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("NotFoundException", 400),
        ("AccessDeniedException", 400),
        ("KMSInternalException", 500),
        ("DependencyTimeoutException", 503),
        ("DryRunOperationException", 412),
    ],
)
def test_errors_parse_in_botocore_with_their_code_and_message(code: str, status: int) -> None:
    assert error_status(code) == status
    body = error_body(code, "Key 'x' does not exist")
    parsed = parsers.create_parser("json").parse(
        {"status_code": status, "headers": {}, "body": body}, MODEL.operation_model("Encrypt").output_shape
    )
    assert parsed["Error"] == {"Code": code, "Message": "Key 'x' does not exist"}
