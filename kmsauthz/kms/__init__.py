"""The local KMS: keys in an embedded store, real cryptography, every call authorized first.

Public surface::

    LocalKMS.from_world(world, store=":memory:" | PATH, root_key_file=..., clock=...)
    LocalKMS.call(operation_name, params, *, principal, region, vpc_endpoint=None, source_ip=None,
                  via_service=None, session_policy=None) -> dict
    LocalKMS.client(principal=ARN, region=...) -> KMSClient   # boto3's KMS method names
    errors.KMSError (.code, .message, .response), SecretBytes (.wipe()), ManualClock, SystemClock

See docs/local-kms.md.
"""

from kmsauthz.kms.clock import Clock, ManualClock, SystemClock
from kmsauthz.kms.errors import KMSError
from kmsauthz.kms.keystore import KeystoreError
from kmsauthz.kms.local import KMSClient, LocalKMS
from kmsauthz.kms.secrets import SecretBytes

__all__ = ["Clock", "KMSClient", "KMSError", "KeystoreError", "LocalKMS", "ManualClock", "SecretBytes", "SystemClock"]
