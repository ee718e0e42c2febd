"""The facts the rules ask about, read from the catalog and the operator table (never copied).

Every lookup is cached: the same action patterns and keys recur across thousands of policies.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from kmsauthz import catalog
from kmsauthz.evaluate import conditions, patterns


@cache
def all_actions() -> frozenset[str]:
    """Every IAM action of KMS a policy can name (not the API-only `kms:ReEncrypt`)."""
    return frozenset(catalog.ACTIONS)


@cache
def crypto_actions() -> frozenset[str]:
    """The cryptographic operations that use a key (the catalog's set, minus GenerateRandom)."""
    return frozenset(catalog.CRYPTOGRAPHIC_ACTIONS & catalog.ACTIONS) - catalog.RESOURCELESS_ACTIONS


def split_action(pattern: str) -> tuple[str, str] | None:
    """`kms:Decrypt` → (`kms`, `Decrypt`); None for `*` and other forms without a service."""
    service, sep, name = pattern.partition(":")
    if not sep:
        return None
    return service, name


@lru_cache(maxsize=4096)
def names_kms(pattern: str) -> bool:
    """Whether an Action pattern can name a KMS action at all (`kms:*`, `*`, `KMS:Get*`, `k*:*`)."""
    if pattern == "*":
        return True
    parts = split_action(pattern)
    if parts is None:
        return False
    return patterns.compile_wildcard(parts[0], case_sensitive=False).match("kms")


@lru_cache(maxsize=4096)
def expand(pattern: str) -> frozenset[str]:
    """The KMS actions (AWS spelling) an Action pattern matches."""
    if not names_kms(pattern):
        return frozenset()
    if pattern == "*":
        return all_actions()
    name = pattern.partition(":")[2]
    return frozenset(op.action for op in catalog.expand_actions("kms:" + name))


@lru_cache(maxsize=4096)
def expand_all(patterns: tuple[str, ...], negated: bool) -> frozenset[str]:
    """The KMS actions an Action list covers (NotAction: every KMS action not listed)."""
    covered: frozenset[str] = frozenset().union(*(expand(p) for p in patterns)) if patterns else frozenset()
    return all_actions() - covered if negated else covered


class PatternFacts:
    """What the rules ask about one Action pattern, derived once from the catalog per distinct pattern."""

    __slots__ = ("cross_impossible", "expanded", "explicit", "ineffective", "kms_service", "lower", "names_kms",
                 "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lower = text.lower()
        parts = split_action(text)
        self.kms_service: bool = parts is not None and parts[0].lower() == "kms"
        """Written with the `kms:` service (so a name that expands to nothing is a misspelling)."""
        self.names_kms: bool = names_kms(text)
        self.expanded: frozenset[str] = expand(text)
        self.explicit: bool = "*" not in text and "?" not in text
        kp = key_policy_subset(self.expanded)
        self.ineffective: frozenset[str] = self.expanded - kp
        """Actions of the pattern that a key policy cannot allow."""
        self.cross_impossible: frozenset[str] = kp - cross_account_subset(self.expanded)
        """Actions of the pattern a key policy can allow but never to another account."""


@lru_cache(maxsize=4096)
def pattern(text: str) -> PatternFacts:
    return PatternFacts(text)


def cross_account_subset(actions: frozenset[str]) -> frozenset[str]:
    """The actions that can succeed on another account's key."""
    return actions & catalog.CROSS_ACCOUNT_ACTIONS


def key_policy_subset(actions: frozenset[str]) -> frozenset[str]:
    """The actions a key policy can allow."""
    return actions & catalog.KEY_POLICY_ACTIONS


@lru_cache(maxsize=4096)
def condition_key(name: str) -> Any:
    return catalog.condition_key(name)


@lru_cache(maxsize=4096)
def key_type(name: str) -> str | None:
    """`String`, `Numeric`, `Date`, `Bool`, `ARN`, `IPAddress`, `Binary`, `ArrayOfString`..."""
    info = condition_key(name)
    if info is None:
        return None
    return str(info.type) or None


@lru_cache(maxsize=4096)
def key_multivalued(name: str) -> bool:
    info = condition_key(name)
    return bool(info is not None and info.multivalued)


def key_supported_by(name: str, action: str) -> bool:
    """Whether KMS may set the key `name` for `action` (unknown keys: true, reported elsewhere)."""
    info = condition_key(name)
    return True if info is None else bool(info.applies_to(action))


@lru_cache(maxsize=8192)
def key_supported_by_any(name: str, actions: frozenset[str]) -> bool:
    return any(key_supported_by(name, a) for a in actions)


@lru_cache(maxsize=4096)
def key_types(name: str) -> frozenset[str]:
    """The condition types the key accepts, lower-case, `ArrayOf` removed."""
    info = condition_key(name)
    if info is None:
        return frozenset()
    types = {info.type, *getattr(info, "alt_types", ())}
    return frozenset(t.removeprefix("ArrayOf").lower() for t in types)


@lru_cache(maxsize=4096)
def key_supported_in(name: str, kind: str) -> bool:
    info = condition_key(name)
    return True if info is None else kind in info.policy_kinds


@lru_cache(maxsize=256)
def operator(name: str) -> Any:
    """The operator table's entry for a base operator name (`StringNotEquals`), or None."""
    return conditions.operator_info(name)


@lru_cache(maxsize=4096)
def operator_type(name: str) -> str | None:
    """The value type an operator compares: `String`, `Numeric`, `Date`, `Bool`, `Binary`, `IpAddress`,
    `Arn` or `Null`."""
    info = operator(name)
    if info is None:
        return None
    text = str(info.type)
    return _OPERATOR_TYPES.get(text.lower(), text)


_OPERATOR_TYPES = {"boolean": "Bool", "ipaddress": "IpAddress", "arn": "Arn"}


@lru_cache(maxsize=4096)
def operator_negated(name: str) -> bool:
    info = operator(name)
    if info is None:
        return False
    return bool(info.negated)
