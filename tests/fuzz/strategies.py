"""Inputs for the fuzz harnesses: seed corpora from the repository, byte/token mutations of them,
token soup, deep nesting and generated policy documents."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path("/work/shared/scenarios")


def _read_all(pattern: str, *folders: Path) -> tuple[bytes, ...]:
    out: list[bytes] = []
    for folder in folders:
        if folder.is_dir():
            out.extend(p.read_bytes() for p in sorted(folder.glob(pattern)))
    return tuple(out)


@cache
def policy_seeds(suffix: str) -> tuple[bytes, ...]:
    """Valid policies of the repository (`.json` or `.kmsp`), plus a few written here."""
    found = _read_all(f"*{suffix}", ROOT / "fixtures" / "policies")
    extra = [json.dumps(_KEY_POLICY).encode()] if suffix == ".json" else [_KMSP.encode()]
    return (*found, *extra)


@cache
def scenario_seeds() -> tuple[bytes, ...]:
    return _read_all("*.yaml", ROOT / "fixtures" / "scenarios", SHARED) or (_SCENARIO.encode(),)


@cache
def template_seeds(suffix: str) -> tuple[bytes, ...]:
    return _read_all(f"*{suffix}", ROOT / "fixtures" / "cloudformation", ROOT / "fixtures" / "terraform")


_KEY_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Id": "fuzz",
    "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:role/app"]},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:app": "${aws:username}"},
                       "ForAnyValue:StringLike": {"kms:EncryptionContextKeys": ["a*", "b?"]},
                       "NumericLessThan": {"kms:GrantConstraintType": 10},
                       "Bool": {"aws:SecureTransport": True}}},
        {"Effect": "Deny", "NotPrincipal": {"Service": "logs.amazonaws.com"}, "NotAction": "kms:Describe*",
         "NotResource": "arn:aws:kms:*:111122223333:key/*",
         "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
                       "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}, "Null": {"aws:x": "true"}}},
    ],
}

_KMSP = """// fuzz seed
version "2012-10-17"
id "seed"
allow "Root" {
  principal aws "arn:aws:iam::111122223333:root"
  action kms:*
  resource *
}
deny "Guard" {
  not principal service "logs.amazonaws.com"
  not action kms:Describe*, kms:List*
  not resource ["arn:aws:kms:*:111122223333:key/*"]
  when StringNotEquals aws:SourceVpce ["vpce-1a2b3c4d"]
   and ForAnyValue:StringLike kms:EncryptionContextKeys ["a*", "b?"]
   and NumericLessThan kms:x [10, -2.5e3]
   and Bool aws:ViaAWSService false
}
/* block
comment */ allow { principal * action "kms:Decrypt" resource * when {} }
"""

_SCENARIO = """world:
  keys:
    - id: 1234abcd-12ab-34cd-56ef-1234567890ab
      account: "111122223333"
      policy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {AWS: "111122223333"},
               Action: "kms:*", Resource: "*"}]}
cases:
  - name: root
    principal: arn:aws:iam::111122223333:root
    action: kms:Decrypt
    key: 1234abcd-12ab-34cd-56ef-1234567890ab
    expect: Allow
"""

# Tokens the parsers care about: JSON punctuation, policy-language keywords, operators, escapes.
TOKENS = (
    "{", "}", "[", "]", ",", ":", '"', "\\", "\\u", "\\ud800", "\\u0000", "null", "true", "false", "-", "0",
    "1e999", "-0.0", "1.5e-10", "NaN", "Infinity", "//", "/*", "*/", "#", "\n", "\r", "\t", " ", "\x00",
    "\ufeff", "\u00b2", "\u0663", "\u00e9", "\U0001f600", "\ud800",
    '"Statement"', '"Effect"', '"Allow"', '"Deny"', '"Principal"', '"NotPrincipal"', '"AWS"', '"Service"',
    '"Action"', '"NotAction"', '"Resource"', '"NotResource"', '"Condition"', '"Sid"', '"Version"', '"Id"',
    '"2012-10-17"', '"*"', '"kms:*"', '"StringLike"', '"ForAllValues:StringEquals"', '"NullIfExists"',
    "version", "id", "statement", "object", "allow", "deny", "principal", "not", "action", "resource", "when",
    "and", "aws", "service", "federated", "canonical-user", "*", "kms:Decrypt", "StringEquals", "IfExists",
    "ForAnyValue:", "${aws:username}", "${*}", "${", "?", "arn:aws:kms:us-east-1:111122223333:key/*",
    "&a", "*a", "<<", "!Ref", "!Sub", "!GetAtt", "Fn::Join", "---", "- ", ": ", "|", ">", "%", "@", "`",
    "AWSTemplateFormatVersion", "Resources", "AWS::KMS::Key", "KeyPolicy", "format_version", "planned_values",
    "resource_changes", "aws_kms_key", "policy",
)


@st.composite
def mutated(draw: st.DrawFn, seeds: tuple[bytes, ...], max_mutations: int = 6) -> bytes:
    """A seed with a few byte- and token-level mutations (flip, delete, insert, duplicate, splice)."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, max_mutations))):
        kind = draw(st.sampled_from(["flip", "delete", "insert", "token", "duplicate", "splice", "truncate"]))
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and data:
            i = min(at, len(data) - 1)
            data[i] = draw(st.integers(0, 255))
        elif kind == "delete":
            data[at: at + draw(st.integers(1, 16))] = b""
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "token":
            data[at:at] = draw(st.sampled_from(TOKENS)).encode("utf-8", "surrogatepass")
        elif kind == "duplicate":
            end = min(len(data), at + draw(st.integers(1, 64)))
            data[at:at] = data[at:end] * draw(st.integers(1, 4))
        elif kind == "splice":
            other = draw(st.sampled_from(seeds))
            a = draw(st.integers(0, len(other)))
            data[at:at] = other[a: a + draw(st.integers(1, 128))]
        elif kind == "truncate":
            del data[at:]
    return bytes(data)


def token_soup(max_size: int = 60) -> st.SearchStrategy[str]:
    """Random sequences of meaningful tokens: exercises the lexers and the error messages."""
    return st.lists(st.sampled_from(TOKENS) | st.text(max_size=3), max_size=max_size).map("".join)


def nested(depth: int, open_: str = "[", close: str = "]", inner: str = "1") -> str:
    return open_ * depth + inner + close * depth


# -- generated documents -------------------------------------------------------------------------

_chars = st.characters(min_codepoint=0x20, max_codepoint=0x2FF) | st.sampled_from("\t\n\r\x00\x7f")
_texts = st.text(_chars, max_size=10)
_words = st.sampled_from(["kms:Decrypt", "kms:*", "*", "arn:aws:kms:us-east-1:111122223333:key/*", "111122223333",
                          "arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:role/a*", "${aws:username}",
                          "${*}", "a b", "allow", "\"q\"", "/*", "é", ""])
strings = _words | _texts
OPERATORS = ("StringEquals", "StringNotLike", "StringEqualsIgnoreCase", "NumericLessThan", "DateGreaterThan",
             "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnLike", "ArnNotEquals", "Null",
             "Unknown", "StringLikeIfExists", "ForAllValues:StringLike", "ForAnyValue:ArnEquals",
             "ForAnyValue:NullIfExists")


def _values(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return inner | st.lists(inner, max_size=3)


json_scalars = strings | st.booleans() | st.none() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False,
                                                                                                 allow_infinity=False)
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(strings, c, max_size=3),
                           max_leaves=8)


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    """Statements close to valid: right field names, values sometimes of the wrong shape."""
    out: dict[str, Any] = {}
    fields = draw(st.lists(st.sampled_from(["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                                             "Resource", "NotResource", "Condition", "Bogus"]), unique=True))
    for f in fields:
        if f == "Effect":
            out[f] = draw(st.sampled_from(["Allow", "Deny", "allow"]))
        elif f in ("Principal", "NotPrincipal"):
            out[f] = draw(st.just("*") | st.dictionaries(st.sampled_from(["AWS", "Service", "Federated",
                                                                          "CanonicalUser", "Group"]),
                                                         _values(strings), max_size=3) | json_values)
        elif f == "Condition":
            block = st.dictionaries(strings, _values(json_scalars) | json_values, max_size=3)
            out[f] = draw(st.dictionaries(st.sampled_from(OPERATORS) | strings, block, max_size=3))
        else:
            out[f] = draw(_values(strings) if draw(st.integers(0, 9)) else json_values)
    return out


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if draw(st.booleans()):
        doc["Version"] = draw(st.sampled_from(["2012-10-17", "2008-10-17", "2012-10-18"]))
    if draw(st.integers(0, 4)) == 0:
        doc["Id"] = draw(strings)
    if draw(st.integers(0, 9)):
        doc["Statement"] = draw(statements() | st.lists(statements(), max_size=4))
    return doc
