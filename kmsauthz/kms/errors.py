"""Errors of the local KMS, named and shaped as AWS KMS names them.

Every error carries ``.code`` (the error shape name of the botocore KMS model, e.g.
``NotFoundException``), ``.message`` and a botocore-shaped ``.response``, so code written against
boto3's ``ClientError`` (``err.response["Error"]["Code"]``) works unchanged. Messages never contain
key material or plaintext.

::

    KmsauthzError (kmsauthz.errors)
    └── KMSError                          .code = the KMS error shape name
        ├── AccessDeniedException          authorization denied (message = the decision's reason)
        ├── ValidationException            a parameter violates the API model (named in the message)
        ├── NotFoundException, DisabledException, KMSInvalidStateException, ...
        └── ... one class per error shape of the KMS API model (``ERRORS``)
"""

from __future__ import annotations

from typing import Any, ClassVar

from kmsauthz.errors import KmsauthzError

try:  # with botocore installed, `except botocore.exceptions.ClientError` catches our errors too
    from botocore.exceptions import ClientError as _ClientError
except ImportError:  # pragma: no cover - botocore ships with the local KMS's test and server extras
    _ClientError = Exception  # type: ignore[assignment,misc]

__all__ = ["ERRORS", "KMSError", "error_class"]


class KMSError(KmsauthzError, _ClientError):
    """Base of every error the local KMS raises for a request.

    Also a ``botocore.exceptions.ClientError`` (when botocore is installed), so code written for
    boto3 — ``except ClientError as err: err.response["Error"]["Code"]`` — works unchanged.
    """

    code: ClassVar[str] = "KMSError"
    http_status: ClassVar[int] = 400
    decision: Any = None
    """For an ``AccessDeniedException`` the evaluator raised: its ``kmsauthz.model.Decision``
    (``.effect`` is ``ExplicitDeny`` or ``ImplicitDeny``); None otherwise."""

    def __init__(self, message: str = "", *, operation_name: str | None = None, decision: Any = None) -> None:
        self.message = message
        self.operation_name = operation_name
        self.decision = decision
        self.response = {
            "Error": {"Code": self.code, "Message": message},
            "message": message,
            "ResponseMetadata": {"HTTPStatusCode": self.http_status, "HTTPHeaders": {}, "RetryAttempts": 0},
        }
        Exception.__init__(self, message)

    def __reduce__(self) -> Any:
        return (_rebuild, (self.code, self.message, self.operation_name))

    def __str__(self) -> str:
        op = self.operation_name or "a KMS"
        return f"An error occurred ({self.code}) when calling the {op} operation: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


# Every error shape of the botocore KMS model (1.43.11), plus the two generic AWS errors KMS
# returns that the model does not list (AccessDeniedException, ValidationException).
# name -> HTTP status (AWS returns 500 for internal faults, 503 for a dependency timeout).
_SHAPES: dict[str, int] = {
    "AccessDeniedException": 400,
    "ValidationException": 400,
    "AlreadyExistsException": 400,
    "CloudHsmClusterInUseException": 400,
    "CloudHsmClusterInvalidConfigurationException": 400,
    "CloudHsmClusterNotActiveException": 400,
    "CloudHsmClusterNotFoundException": 400,
    "CloudHsmClusterNotRelatedException": 400,
    "ConflictException": 400,
    "CustomKeyStoreHasCMKsException": 400,
    "CustomKeyStoreInvalidStateException": 400,
    "CustomKeyStoreNameInUseException": 400,
    "CustomKeyStoreNotFoundException": 400,
    "DependencyTimeoutException": 503,
    "DisabledException": 400,
    "DryRunOperationException": 412,
    "ExpiredImportTokenException": 400,
    "IncorrectKeyException": 400,
    "IncorrectKeyMaterialException": 400,
    "IncorrectTrustAnchorException": 400,
    "InvalidAliasNameException": 400,
    "InvalidArnException": 400,
    "InvalidCiphertextException": 400,
    "InvalidGrantIdException": 400,
    "InvalidGrantTokenException": 400,
    "InvalidImportTokenException": 400,
    "InvalidKeyUsageException": 400,
    "InvalidMarkerException": 400,
    "KMSInternalException": 500,
    "KMSInvalidMacException": 400,
    "KMSInvalidSignatureException": 400,
    "KMSInvalidStateException": 400,
    "KeyUnavailableException": 500,
    "LimitExceededException": 400,
    "MalformedPolicyDocumentException": 400,
    "NotFoundException": 400,
    "TagException": 400,
    "UnsupportedOperationException": 400,
    "XksKeyAlreadyInUseException": 400,
    "XksKeyInvalidConfigurationException": 400,
    "XksKeyNotFoundException": 400,
    "XksProxyIncorrectAuthenticationCredentialException": 400,
    "XksProxyInvalidConfigurationException": 400,
    "XksProxyInvalidResponseException": 400,
    "XksProxyUriEndpointInUseException": 400,
    "XksProxyUriInUseException": 400,
    "XksProxyUriUnreachableException": 400,
    "XksProxyVpcEndpointServiceInUseException": 400,
    "XksProxyVpcEndpointServiceInvalidConfigurationException": 400,
    "XksProxyVpcEndpointServiceNotFoundException": 400,
}

ERRORS: dict[str, type[KMSError]] = {
    name: type(name, (KMSError,), {"code": name, "http_status": status, "__module__": __name__})
    for name, status in _SHAPES.items()
}
globals().update(ERRORS)
__all__ += sorted(ERRORS)


def _rebuild(code: str, message: str, operation_name: str | None) -> KMSError:
    return ERRORS.get(code, KMSError)(message, operation_name=operation_name)


def error_class(code: str) -> type[KMSError]:
    """The class for error shape ``code``; unknown codes fall back to ``KMSInternalException``."""
    return ERRORS.get(code, ERRORS["KMSInternalException"])


# Names used throughout the crypto core, spelled out so linters and readers see them.
AccessDeniedException = ERRORS["AccessDeniedException"]
ValidationException = ERRORS["ValidationException"]
AlreadyExistsException = ERRORS["AlreadyExistsException"]
ConflictException = ERRORS["ConflictException"]
DisabledException = ERRORS["DisabledException"]
DryRunOperationException = ERRORS["DryRunOperationException"]
ExpiredImportTokenException = ERRORS["ExpiredImportTokenException"]
IncorrectKeyException = ERRORS["IncorrectKeyException"]
IncorrectKeyMaterialException = ERRORS["IncorrectKeyMaterialException"]
InvalidAliasNameException = ERRORS["InvalidAliasNameException"]
InvalidArnException = ERRORS["InvalidArnException"]
InvalidCiphertextException = ERRORS["InvalidCiphertextException"]
InvalidGrantIdException = ERRORS["InvalidGrantIdException"]
InvalidGrantTokenException = ERRORS["InvalidGrantTokenException"]
InvalidImportTokenException = ERRORS["InvalidImportTokenException"]
InvalidKeyUsageException = ERRORS["InvalidKeyUsageException"]
InvalidMarkerException = ERRORS["InvalidMarkerException"]
KMSInternalException = ERRORS["KMSInternalException"]
KMSInvalidMacException = ERRORS["KMSInvalidMacException"]
KMSInvalidSignatureException = ERRORS["KMSInvalidSignatureException"]
KMSInvalidStateException = ERRORS["KMSInvalidStateException"]
LimitExceededException = ERRORS["LimitExceededException"]
MalformedPolicyDocumentException = ERRORS["MalformedPolicyDocumentException"]
NotFoundException = ERRORS["NotFoundException"]
TagException = ERRORS["TagException"]
UnsupportedOperationException = ERRORS["UnsupportedOperationException"]
