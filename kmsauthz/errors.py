"""The one error family of kmsauthz.

Every error has a stable string ``code`` (the same codes become SARIF rule ids and CLI exit
reasons) and, where it comes from a document, a :class:`~kmsauthz.model.spans.Span`.

::

    KmsauthzError                      code
    ├── InputError                     input-error        bad outside input (files, documents)
    │   ├── PolicySyntaxError          policy-syntax      not JSON / not the policy language
    │   ├── PolicyValidationError      policy-invalid     parsed, but not a valid policy of its kind
    │   ├── DocumentTooLargeError      policy-too-large   over AWS's size limit for that kind
    │   └── ScenarioError              scenario-invalid   a scenario/world file that cannot be loaded
    └── InternalError                  internal-error     a bug; authorization fails closed on it

The crypto core has its own family named as KMS names its errors (``kmsauthz.kms.errors``).
Messages follow one style: lower case, no final period, user input in backticks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kmsauthz.model.spans import Span


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, at one place."""

    message: str
    span: Span | None = None
    code: str = "input-error"
    help: str | None = None

    def render(self) -> str:
        where = self.span.describe() if self.span is not None else "<input>"
        text = f"{where}: {self.message}"
        if self.help:
            text += f"\n  help: {self.help}"
        return text


class KmsauthzError(Exception):
    """Base of every error kmsauthz raises on purpose."""

    code = "kmsauthz-error"


class InputError(KmsauthzError):
    """Outside input that cannot be used; carries every problem found, each with its location."""

    code = "input-error"

    def __init__(self, problems: Sequence[Problem] | str, span: Span | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems, span, self.code)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self.render())

    @property
    def span(self) -> Span | None:
        return self.problems[0].span if self.problems else None

    def render(self) -> str:
        return "\n".join(p.render() for p in self.problems)


class PolicySyntaxError(InputError):
    code = "policy-syntax"


class PolicyValidationError(InputError):
    code = "policy-invalid"


class DocumentTooLargeError(PolicyValidationError):
    code = "policy-too-large"


class ScenarioError(InputError):
    code = "scenario-invalid"


class InternalError(KmsauthzError):
    code = "internal-error"
