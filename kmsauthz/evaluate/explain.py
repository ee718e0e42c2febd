"""Reason sentences, in the style of AWS's AccessDeniedException messages (semantics.md §1.9).

``User: <caller> is not authorized to perform: <action> on resource: <arn> <reason>``, where the
reason is ``with an explicit deny in a <type> policy`` or ``because no <type> policy allows the
<action> action``. The practical mapping (§1.9): a key policy with no matching Allow and no
delegation path is "resource-based"; a delegation path without an IAM Allow is "identity-based".
"""

from __future__ import annotations

from collections.abc import Sequence

from kmsauthz.model.decision import Match

POLICY_TYPE = {
    "key-policy": "resource-based",
    "identity": "identity-based",
    "permissions-boundary": "permissions boundary",
    "session": "session",
    "scp": "service control",
    "rcp": "resource control",
    "vpc-endpoint": "VPC endpoint",
}


def _head(principal: str, action: str, resource: str | None) -> str:
    where = f" on resource: {resource}" if resource else ""
    return f"User: {principal} is not authorized to perform: {action}{where}"


def explicit_deny(principal: str, action: str, resource: str | None, layer: str) -> str:
    kind = POLICY_TYPE.get(layer, layer)
    article = "an" if kind[:1] in "aeiou" else "a"
    return f"{_head(principal, action, resource)} with an explicit deny in {article} {kind} policy"


def implicit_deny(principal: str, action: str, resource: str | None, layer: str) -> str:
    if layer == "grant":
        return f"{_head(principal, action, resource)} because no grant allows the {action} action"
    if layer == "cross-account":
        return (
            f"{_head(principal, action, resource)} because {action} cannot be used on a KMS key "
            "in another account"
        )
    return (
        f"{_head(principal, action, resource)} because no {POLICY_TYPE.get(layer, layer)} policy "
        f"allows the {action} action"
    )


def unknown_action(principal: str, action: str, resource: str | None) -> str:
    return f"{_head(principal, action, resource)} because `{action}` is not an action of AWS KMS"


def _describe(m: Match) -> str:
    if m.layer == "grant":
        return f"grant `{m.label}`"
    kind = {"key-policy": "key policy", "identity": "identity-based policy"}.get(m.layer, f"{m.layer} policy")
    return f"{kind} statement `{m.label}`"


def allowed(principal: str, action: str, resource: str | None, matched: Sequence[Match]) -> str:
    where = f" on resource: {resource}" if resource else ""
    if not matched:
        return f"User: {principal} is allowed to perform: {action}{where}"
    return (
        f"User: {principal} is allowed to perform: {action}{where} by "
        + " and ".join(_describe(m) for m in matched)
    )


def failed(principal: str, action: str, resource: str | None, error: str) -> str:
    return f"{_head(principal, action, resource)} because evaluation failed ({error}); failing closed"
