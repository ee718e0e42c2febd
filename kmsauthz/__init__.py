"""kmsauthz: decide, exactly as AWS KMS would, whether a request on a KMS key is allowed."""

from kmsauthz.errors import (
    InputError,
    KmsauthzError,
    PolicySyntaxError,
    PolicyValidationError,
    ScenarioError,
)
from kmsauthz.model import Decision, Effect, Match, Policy, PolicyKind, Request, World

__version__ = "0.1.0"

__all__ = [
    "Decision",
    "Effect",
    "InputError",
    "KmsauthzError",
    "Match",
    "Policy",
    "PolicyKind",
    "PolicySyntaxError",
    "PolicyValidationError",
    "Request",
    "ScenarioError",
    "World",
    "__version__",
]
