"""`kmsauthz serve`: the local KMS behind the KMS JSON protocol (AWS JSON 1.1) with SigV4.

The server only authenticates, decodes, calls and encodes: every decision is the local KMS's
(:meth:`kmsauthz.kms.LocalKMS.call`), which asks the evaluator. See ``docs/endpoint.md``.

::

    from kmsauthz.server import Endpoint, CredentialStore, start_server
    with start_server(Endpoint(kms, CredentialStore.from_world(world)), port=0) as running:
        boto3.client("kms", endpoint_url=running.url, ...)
"""

from kmsauthz.server.app import Backend, Endpoint, KMSServer, Response, RunningServer, start_server
from kmsauthz.server.credentials import Credential, CredentialStore, principal_for
from kmsauthz.server.protocol import KMSProtocol, ProtocolError
from kmsauthz.server.sigv4 import AuthError, SignedRequest

__all__ = [
    "AuthError",
    "Backend",
    "Credential",
    "CredentialStore",
    "Endpoint",
    "KMSProtocol",
    "KMSServer",
    "ProtocolError",
    "Response",
    "RunningServer",
    "SignedRequest",
    "principal_for",
    "start_server",
]
