"""The load pipeline shared by both forms: text → document + spans → schema → model → kind rules."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kmsauthz.errors import DocumentTooLargeError, InputError, Problem
from kmsauthz.model.policy import Policy, PolicyKind
from kmsauthz.model.spans import Span
from kmsauthz.syntax.document import Locate, policy_from_document
from kmsauthz.syntax.json_reader import decode_text, read_json
from kmsauthz.syntax.language import Parsed, parse_kmsp
from kmsauthz.syntax.rules import check_kind, infer_kind, size_problem
from kmsauthz.syntax.schema import validate_document

FORMATS = ("json", "kmsp")


def detect_format(text: str, source: str, format: str | None) -> str:
    """`json` or `kmsp`: as asked, else by file suffix, else by content (JSON starts with `{` or `[`)."""
    if format is not None:
        if format not in FORMATS:
            raise ValueError(f"unknown policy format `{format}` (expected json or kmsp)")
        return format
    lowered = source.lower()
    if lowered.endswith(".kmsp"):
        return "kmsp"
    if lowered.endswith(".json"):
        return "json"
    return "json" if text.lstrip()[:1] in ("{", "[") else "kmsp"


def build_policy(
    document: Any,
    *,
    kind: PolicyKind | str | None,
    source: str,
    name: str | None,
    locate: Locate | None,
    raw_text: str | None = None,
    check_rules: bool = True,
    json_typed: bool = False,
) -> Policy:
    """Size, schema, then the structural converter, then the rules of the kind (inferred when None).

    A document over its kind's size limit is refused first, with that one problem: validating
    and converting it would cost time in proportion to a size AWS refuses anyway. ``json_typed``
    says the document came from the JSON reader (only JSON types in it), which spares the schema
    check its walk over every value's type.
    """
    resolved = PolicyKind(kind) if kind is not None else infer_kind(document)
    if check_rules and isinstance(document, dict):
        too_large = size_problem(resolved, document, source=source, locate=locate, raw_text=raw_text)
        if too_large is not None:
            raise DocumentTooLargeError([too_large])
    validate_document(document, source=source, locate=locate, json_typed=json_typed)
    policy = policy_from_document(document, kind=resolved, name=name or source, source=source, locate=locate)
    if check_rules:
        check_kind(policy, document, locate=locate, raw_text=raw_text)
    return policy


MAX_POLICY_TEXT = 131_072
"""Longest policy text parsed: four times AWS's largest policy (a key policy, 32,768 bytes), room
for white space and comments. Parsing is linear but not free (a 700 KB `.kmsp` took six seconds
to be refused on size), so longer text is refused before it is parsed."""


def parse_text(text: str | bytes, *, source: str, format: str | None) -> tuple[str, Any, Locate, str]:
    """(format, document, locate, decoded text) for JSON or policy-language input."""
    decoded = decode_text(text, source)
    if len(decoded) > MAX_POLICY_TEXT:
        raise DocumentTooLargeError(
            f"policy text is {len(decoded):,} characters, more than the {MAX_POLICY_TEXT:,} kmsauthz parses "
            "(the largest AWS policy, a key policy, can be at most 32,768 bytes)",
            Span(source),
        )
    fmt = detect_format(decoded, source, format)
    if fmt == "json":
        located = read_json(decoded, source)
        return fmt, located.value, located.locate, decoded
    parsed: Parsed = parse_kmsp(decoded, source)
    return fmt, parsed.document, parsed.locate, decoded


def load_policy_text(
    text: str | bytes,
    *,
    kind: PolicyKind | str | None = None,
    source: str = "<string>",
    name: str | None = None,
    format: str | None = None,
) -> Policy:
    """Load a policy from JSON or policy-language text; without `kind`, a document with a
    Principal is a key policy and one without is an identity policy."""
    fmt, document, locate, decoded = parse_text(text, source=source, format=format)
    return build_policy(document, kind=kind, source=source, name=name, locate=locate,
                        raw_text=decoded if fmt == "json" else None, json_typed=fmt == "json")


def read_source(path: str | Path) -> bytes:
    p = Path(path)
    try:
        return p.read_bytes()
    except IsADirectoryError:
        raise InputError([Problem(f"`{p}` is a directory, not a policy file", Span(str(p)))]) from None
    except OSError as exc:
        raise InputError([Problem(f"cannot read `{p}`: {exc.strerror or exc}", Span(str(p)))]) from None


def load_policy_file(path: str | Path, *, kind: PolicyKind | str | None = None) -> Policy:
    """Load a `.json` or `.kmsp` file (other names: by content)."""
    p = Path(path)
    return load_policy_text(read_source(p), kind=kind, source=str(p), name=p.name)


def load_policy_document(
    data: Mapping[str, Any] | Any,
    *,
    kind: PolicyKind | str | None,
    source: str = "<string>",
    name: str | None = None,
    locate: Locate | None = None,
) -> Policy:
    """Load an already-parsed document (for example inline YAML); `locate` gives its positions."""
    return build_policy(data, kind=kind, source=source, name=name, locate=locate)
