"""Access keys from the world: which secret signs for which principal.

Each principal of the world may declare ``access_keys`` (``shared/spec/scenarios.md``). A key
authenticates as:

- an IAM user: the user's ARN;
- an IAM role with ``session: NAME``: the assumed-role session
  ``arn:aws:sts::ACCOUNT:assumed-role/ROLE-NAME/NAME`` (the role's path is not part of it, as in
  AWS), with the key's ``session_policy`` if it has one;
- an IAM role without ``session``: the role ARN itself, as a scenario case naming the role does;
- anything else (an account root): its ARN.

Secrets stay :class:`pydantic.SecretStr` until the signature check asks for them; nothing here
prints them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kmsauthz.errors import InputError

__all__ = ["Credential", "CredentialStore", "principal_for"]


@dataclass(frozen=True, slots=True)
class Credential:
    """One access key: the principal it authenticates as, and the session policy it carries."""

    access_key_id: str
    principal: str
    secret: Any = field(repr=False)
    """A ``SecretStr`` (or plain ``str`` in tests); read through :meth:`secret_value`."""
    session_policy: Any = None
    """A loaded :class:`~kmsauthz.model.Policy` or None."""

    def secret_value(self) -> str:
        getter = getattr(self.secret, "get_secret_value", None)
        return getter() if callable(getter) else str(self.secret)


def principal_for(arn: str, session: str | None) -> str:
    """The caller ARN an access key of principal ``arn`` authenticates as."""
    parts = arn.split(":", 5)
    if session and len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        role_name = parts[5].rsplit("/", 1)[-1]
        return f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{role_name}/{session}"
    return arn


class CredentialStore:
    """Access key id -> :class:`Credential`; read-only once built, so safe across threads."""

    def __init__(self, credentials: Iterable[Credential] = ()) -> None:
        self._by_id: dict[str, Credential] = {}
        for credential in credentials:
            if credential.access_key_id in self._by_id:
                raise InputError(f"access key `{credential.access_key_id}` is declared twice")
            self._by_id[credential.access_key_id] = credential

    @classmethod
    def from_world(cls, world: Any) -> CredentialStore:
        """Every ``access_keys`` entry of every principal of a loaded :class:`~kmsauthz.model.World`."""
        creds = []
        for principal in getattr(world, "principals", ()):
            for key in getattr(principal, "access_keys", ()) or ():
                creds.append(
                    Credential(
                        access_key_id=key.id,
                        principal=principal_for(principal.arn, key.session),
                        secret=key.secret,
                        session_policy=key.session_policy,
                    )
                )
        return cls(creds)

    @classmethod
    def from_mapping(cls, keys: Mapping[str, tuple[str, str]]) -> CredentialStore:
        """``{access_key_id: (principal_arn, secret)}``: for tests and embedding."""
        return cls(Credential(k, principal, secret) for k, (principal, secret) in keys.items())

    def get(self, access_key_id: str) -> Credential | None:
        return self._by_id.get(access_key_id)

    def secret(self, access_key_id: str) -> str | None:
        credential = self._by_id.get(access_key_id)
        return credential.secret_value() if credential is not None else None

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, access_key_id: object) -> bool:
        return access_key_id in self._by_id

    def __repr__(self) -> str:
        return f"CredentialStore({len(self._by_id)} access keys)"
