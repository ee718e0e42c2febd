"""Key references → keys, before any authorization (semantics.md §2.3, §2.4, §9).

============================  ==================================================================
``KeyId`` given               resolved in
============================  ==================================================================
key id / ``mrk-…`` id         the caller's account, the Region called
key ARN                       the ARN's account and Region; a Region other than the one called
                              is ``NotFoundException`` ("Invalid arn", kube-aws#1041)
``alias/NAME``                the caller's account, the Region called — so an alias name never
                              reaches another account's key
alias ARN                     the ARN's account and Region (same Region rule as key ARNs)
============================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

KeyAddress = tuple[str, str, str]
"""``(region, account, key id)``."""
AliasAddress = tuple[str, str, str]
"""``(region, account, alias name)``."""


@dataclass(frozen=True, slots=True)
class KeyRef:
    """A parsed `KeyId` value."""

    text: str
    kind: str
    """``id``, ``arn``, ``alias`` or ``alias-arn``."""
    name: str
    """The key id, or the alias name (``alias/x``)."""
    region: str | None = None
    account: str | None = None
    partition: str = "aws"

    @property
    def alias(self) -> str | None:
        """`kms:RequestAlias`: the alias name when the request named the key by alias."""
        return self.name if self.kind in ("alias", "alias-arn") else None


def parse_key_ref(text: str) -> KeyRef:
    if text.startswith("arn:"):
        parts = text.split(":", 5)
        if len(parts) == 6 and parts[2] == "kms":
            resource = parts[5]
            if resource.startswith("key/"):
                return KeyRef(text, "arn", resource[4:], parts[3], parts[4], parts[1])
            if resource.startswith("alias/"):
                return KeyRef(text, "alias-arn", resource, parts[3], parts[4], parts[1])
        return KeyRef(text, "invalid-arn", text)
    if text.startswith("alias/"):
        return KeyRef(text, "alias", text)
    return KeyRef(text, "id", text)


def ref_region(text: str | None) -> str | None:
    """The Region an ARN names (a request's default Region), else None."""
    if text and text.startswith("arn:"):
        parts = text.split(":", 5)
        if len(parts) == 6 and parts[3]:
            return parts[3]
    return None


@dataclass(frozen=True, slots=True)
class Resolution(Generic[T]):
    entry: T | None
    ref: KeyRef
    error: str | None = None
    message: str = ""


def resolve(
    text: str,
    *,
    caller_account: str | None,
    region: str,
    keys: Mapping[KeyAddress, T],
    aliases: Mapping[AliasAddress, str],
) -> Resolution[T]:
    """Find the key a `KeyId` names, or say which KMS error the request meets instead."""
    ref = parse_key_ref(text)
    if ref.kind == "invalid-arn":
        return Resolution(None, ref, "NotFoundException", f"Invalid arn {text}")
    if ref.region is not None and ref.region != region:
        return Resolution(None, ref, "NotFoundException", f"Invalid arn {region}")
    account = ref.account if ref.account is not None else caller_account
    if account is None:
        # A service principal has no account of its own: a key id or alias name can only mean
        # the one key of that id (alias) in the Region, if there is exactly one.
        if ref.kind == "alias":
            owners = {a for (r, a, name) in tuple(aliases) if r == region and name == ref.name}
        else:
            owners = {a for (r, a, kid) in tuple(keys) if r == region and kid == ref.name}
        if len(owners) != 1:
            return Resolution(None, ref, "NotFoundException", f"Key '{text}' does not exist")
        account = owners.pop()
    partition = ref.partition
    if ref.kind in ("alias", "alias-arn"):
        key_id = aliases.get((region, account, ref.name))
        alias_arn = f"arn:{partition}:kms:{region}:{account}:{ref.name}"
        if key_id is None:
            return Resolution(None, ref, "NotFoundException", f"Alias {alias_arn} is not found.")
    else:
        key_id = ref.name
    entry = keys.get((region, account, key_id))
    if entry is None:
        key_arn = f"arn:{partition}:kms:{region}:{account}:key/{key_id}"
        return Resolution(None, ref, "NotFoundException", f"Key '{key_arn}' does not exist")
    return Resolution(entry, ref)
