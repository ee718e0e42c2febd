"""The contract between condition evaluation and the request context.

Condition operators (`conditions.py`) and policy variables (`variables.py`) read condition
keys only through :class:`ConditionContext`; `context.py` implements it for a request, lazily.
"""

from __future__ import annotations

from typing import Protocol

ContextValue = str | tuple[str, ...]
"""A condition key's value as AWS's request context holds it: always text.

A single-valued key is a ``str`` (booleans are ``"true"``/``"false"``, numbers and dates their
text); a multivalued key is a ``tuple`` of strings, possibly empty (present but empty).
"""


class ConditionContext(Protocol):
    def lookup(self, key: str) -> ContextValue | None:
        """The value of condition key ``key`` (spelled as the policy wrote it), None when absent.

        The implementation applies AWS's case rules: key names are case-insensitive; the
        part after `kms:EncryptionContext:`, `aws:PrincipalTag/`, `aws:ResourceTag/`, `aws:RequestTag/`
        follows the rules of semantics.md §5.4.
        """
        ...
