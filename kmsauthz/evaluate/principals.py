"""Who is calling, and which `Principal` / `NotPrincipal` / grantee values name the caller.

A request names its caller with one string (semantics.md §1.6, shared/spec/scenarios.md):

=========================================================  ==========================================
``arn:aws:iam::A:root``                                    the account root user
``arn:aws:iam::A:user/PATH/NAME``                          an IAM user
``arn:aws:iam::A:role/PATH/NAME``                          a session of that role (session name unknown)
``arn:aws:sts::A:assumed-role/NAME/SESSION``               that session of role NAME
``arn:aws:sts::A:federated-user/NAME``                     a GetFederationToken session
``logs.us-east-1.amazonaws.com`` (no ``arn:``)             an AWS service principal acting itself
=========================================================  ==========================================

:func:`parse_caller` turns it into a :class:`Caller` once (the engine caches callers per string).
A compiled :class:`PrincipalMatcher` then answers in a few set operations *how* a key-policy
statement names the caller, because the kind of match decides what else must allow (§1.2, §1.5):

- ``DIRECT`` — the user ARN, the exact session ARN, the federated-user ARN, a service principal,
  ``"*"``, or the account principal when the caller *is* the root user: allows by itself;
- ``ROLE`` — the role ARN for a session of that role: allows, but the session's permissions
  boundary and session policy must allow too;
- ``ACCOUNT`` — the account principal for any other principal of the account: delegation, an
  identity-based policy must allow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from kmsauthz.model.policy import Principal


class MatchKind(IntEnum):
    NONE = 0
    ACCOUNT = 1
    ROLE = 2
    DIRECT = 3


_NONE, _ACCOUNT, _ROLE, _DIRECT = MatchKind.NONE, MatchKind.ACCOUNT, MatchKind.ROLE, MatchKind.DIRECT


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller of one request, parsed once."""

    arn: str
    """As the request wrote it."""
    type: str
    """`aws:PrincipalType`: ``Account``, ``User``, ``AssumedRole``, ``FederatedUser``, ``Service``."""
    account: str | None
    """Account id; None for a service principal."""
    principal_arn: str | None
    """`aws:PrincipalArn`: the role ARN for a role session, else the caller's own ARN."""
    role_arn: str | None = None
    session_arn: str | None = None
    session_name: str | None = None
    username: str | None = None
    """`aws:username`, IAM users only."""
    service: str | None = None
    identities: frozenset[str] = field(default=frozenset())
    """Every Principal value that names this caller *directly* (user/session/federated ARN, service)."""
    role_identities: frozenset[str] = field(default=frozenset())
    """Role ARNs that name the caller through its role (limited by boundary/session policy)."""

    @property
    def is_root(self) -> bool:
        return self.type == "Account"

    @property
    def is_service(self) -> bool:
        return self.type == "Service"

    @property
    def root_arn(self) -> str | None:
        return f"arn:aws:iam::{self.account}:root" if self.account else None

    @property
    def chain(self) -> tuple[str, ...]:
        """Account, role, then the caller itself: what a `NotPrincipal` must list to exempt it."""
        out: list[str] = []
        if self.root_arn:
            out.append(self.root_arn)
        if self.is_root:
            return tuple(out)
        if self.role_arn:
            out.append(self.role_arn)
            if self.session_arn:
                out.append(self.session_arn)
        elif self.service:
            out = [self.service]
        else:
            out.append(self.arn)
        return tuple(out)


def _arn_parts(arn: str) -> tuple[str, str, str, str, str] | None:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return parts[1], parts[2], parts[3], parts[4], parts[5]


def parse_caller(text: str, role_arns: dict[tuple[str, str], str] | None = None) -> Caller:
    """Parse the request's principal string.

    ``role_arns`` maps ``(account, role name)`` to the full role ARN (with its path) for roles the
    world declares, so that a session ARN (which drops the path) finds its role.
    """
    parts = _arn_parts(text)
    if parts is None:
        # A service principal such as `logs.us-east-1.amazonaws.com`, or a bare account id.
        if text.isdigit() and len(text) == 12:
            return parse_caller(f"arn:aws:iam::{text}:root", role_arns)
        return Caller(
            arn=text, type="Service", account=None, principal_arn=None, service=text,
            identities=frozenset({text}),
        )
    partition, service, _region, account, resource = parts
    if service == "iam":
        if resource == "root":
            return Caller(arn=text, type="Account", account=account, principal_arn=text,
                          identities=frozenset({text}))
        if resource.startswith("user/"):
            return Caller(arn=text, type="User", account=account, principal_arn=text,
                          username=resource.rsplit("/", 1)[-1], identities=frozenset({text}))
        if resource.startswith("role/"):
            return Caller(arn=text, type="AssumedRole", account=account, principal_arn=text,
                          role_arn=text, role_identities=frozenset({text}))
    elif service == "sts":
        if resource.startswith("assumed-role/"):
            pieces = resource.split("/")
            role_name = pieces[1] if len(pieces) > 1 else ""
            session = "/".join(pieces[2:]) or None
            role_arn = (role_arns or {}).get((account, role_name)) or (
                f"arn:{partition}:iam::{account}:role/{role_name}"
            )
            return Caller(arn=text, type="AssumedRole", account=account, principal_arn=role_arn,
                          role_arn=role_arn, session_arn=text, session_name=session,
                          identities=frozenset({text}), role_identities=frozenset({role_arn}))
        if resource.startswith("federated-user/"):
            return Caller(arn=text, type="FederatedUser", account=account, principal_arn=text,
                          identities=frozenset({text}))
    # Anything else (a group ARN, an unknown service's ARN): it names only itself.
    return Caller(arn=text, type="Unknown", account=account or None, principal_arn=text,
                  identities=frozenset({text}))


def account_of_principal_value(value: str) -> str | None:
    """The account an *account principal* value names (`"A"` or `arn:…:iam::A:root`), else None."""
    if value.isdigit() and len(value) == 12:
        return value
    if value.startswith("arn:") and value.endswith(":root"):
        parts = _arn_parts(value)
        if parts is not None and parts[1] == "iam" and parts[4] == "root":
            return parts[3]
    return None


@dataclass(frozen=True, slots=True)
class PrincipalMatcher:
    """A compiled `Principal` (or `NotPrincipal`) element."""

    wildcard: bool = False
    accounts: frozenset[str] = frozenset()
    """Account ids written as account principals."""
    names: frozenset[str] = frozenset()
    """Every other AWS/Service value (user, role, session, federated ARNs, service names)."""

    @classmethod
    def of(cls, principal: Principal | None) -> PrincipalMatcher:
        if principal is None:
            return cls()
        if principal.wildcard:
            return cls(wildcard=True)
        wildcard = False
        accounts: set[str] = set()
        names: set[str] = set()
        for entry in principal.entries:
            if entry.type not in ("AWS", "Service"):
                continue  # Federated / CanonicalUser never name a KMS caller (§1.6)
            for value in entry.values.values:
                if value == "*":
                    if entry.type == "AWS":
                        wildcard = True
                    continue
                acct = account_of_principal_value(value) if entry.type == "AWS" else None
                if acct is not None:
                    accounts.add(acct)
                else:
                    names.add(value)
        return cls(wildcard=wildcard, accounts=frozenset(accounts), names=frozenset(names))

    def kind(self, caller: Caller) -> MatchKind:
        """How this `Principal` names the caller (the strongest way, if several)."""
        if self.wildcard:
            return _DIRECT
        names = self.names
        if names:
            if not names.isdisjoint(caller.identities):
                return _DIRECT
            if caller.role_identities and not names.isdisjoint(caller.role_identities):
                return _ROLE
        if caller.account in self.accounts:
            return _DIRECT if caller.type == "Account" else _ACCOUNT
        return _NONE

    def exempts(self, caller: Caller) -> bool:
        """`NotPrincipal`: the caller is exempt only if its whole chain is listed (§1.6)."""
        if self.wildcard:
            return True
        for ident in caller.chain:
            acct = account_of_principal_value(ident)
            if acct is not None:
                if acct not in self.accounts:
                    return False
            elif ident not in self.names:
                return False
        return True
