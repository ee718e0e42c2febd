"""Read and write policies: AWS JSON (with positions) and the policy language (`.kmsp`).

Every loader validates (JSON Schema, then the rules of the policy's kind) and raises
:class:`~kmsauthz.errors.PolicySyntaxError` or :class:`~kmsauthz.errors.PolicyValidationError`
carrying every problem found, each with its location.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kmsauthz.errors import PolicySyntaxError
from kmsauthz.model.policy import Policy, PolicyKind
from kmsauthz.syntax.document import Locate, policy_from_document, policy_to_document

__all__ = ["load_policy_document", "load_policy_file", "load_policy_text", "to_json", "to_kmsp"]


def load_policy_document(
    data: Mapping[str, Any] | Any,
    *,
    kind: PolicyKind | str | None,
    source: str = "<string>",
    name: str | None = None,
    locate: Locate | None = None,
) -> Policy:
    k = PolicyKind(kind) if kind is not None else PolicyKind.IDENTITY
    return policy_from_document(data, kind=k, name=name or source, source=source, locate=locate)


def load_policy_text(
    text: str | bytes,
    *,
    kind: PolicyKind | str | None = None,
    source: str = "<string>",
    name: str | None = None,
    format: str | None = None,
) -> Policy:
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PolicySyntaxError(f"not valid JSON: {exc}") from None
    return load_policy_document(data, kind=kind, source=source, name=name)


def load_policy_file(path: str | Path, *, kind: PolicyKind | str | None = None) -> Policy:
    p = Path(path)
    return load_policy_text(p.read_bytes(), kind=kind, source=str(p), name=p.name)


def to_json(policy: Policy) -> str:
    return json.dumps(policy_to_document(policy), indent=2, ensure_ascii=False) + "\n"


def to_kmsp(policy: Policy) -> str:
    raise NotImplementedError("the policy language printer is being written")
