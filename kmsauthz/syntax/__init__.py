"""Read and write policies: AWS JSON (with positions) and the policy language (`.kmsp`).

Every loader validates (JSON Schema, then the rules of the policy's kind) and raises
:class:`~kmsauthz.errors.PolicySyntaxError` (not JSON / not the language) or
:class:`~kmsauthz.errors.PolicyValidationError` (including
:class:`~kmsauthz.errors.DocumentTooLargeError`) carrying every problem found, each with its
location (file, line, column and JSON pointer).
"""

from __future__ import annotations

from kmsauthz.syntax.loader import load_policy_document, load_policy_file, load_policy_text
from kmsauthz.syntax.printer import to_json, to_kmsp

__all__ = ["load_policy_document", "load_policy_file", "load_policy_text", "to_json", "to_kmsp"]
