"""Reason sentences, in the style of AWS's AccessDeniedException messages (semantics.md §1.9).

``User: <caller> is not authorized to perform: <action> on resource: <arn> <reason>``, where the
reason is ``with an explicit deny in a(n) <type>`` or ``because no <type> allows the <action>
action``, ``<type>`` being "identity-based policy", "permissions boundary" and so on. The
practical mapping (§1.9): a key policy with no matching Allow and no delegation path is
"resource-based"; a delegation path without an IAM Allow is "identity-based".
"""

from __future__ import annotations

from collections.abc import Sequence

from kmsauthz.model.decision import Match

POLICY_TYPE = {
    "key-policy": "resource-based policy",
    "identity": "identity-based policy",
    "permissions-boundary": "permissions boundary",
    "session": "session policy",
    "scp": "service control policy",
    "rcp": "resource control policy",
    "vpc-endpoint": "VPC endpoint policy",
    "grant": "identity-based policy",
}
"""The policy type as AWS's messages name it. A permissions boundary is "a permissions boundary"
(no "policy"): IAM User Guide, troubleshoot_access-denied.html ("with an explicit deny in a
permissions boundary", "because no permissions boundary allows"). Grants have no phrase of their
own: a RetireGrant nothing allows ends where the last path failed, the caller's IAM policy
(the grant's account may allow it there, §3.6), so "no identity-based policy allows" (§1.9)."""


def _head(principal: str, action: str, resource: str | None) -> str:
    where = f" on resource: {resource}" if resource else ""
    return f"User: {principal} is not authorized to perform: {action}{where}"


def _article(kind: str) -> str:
    """"an identity-based policy", "a resource-based policy", "a VPC endpoint policy"."""
    return "an" if kind[:1].lower() in "aeiou" and not kind[:1].isupper() else "a"


def explicit_deny(principal: str, action: str, resource: str | None, layer: str) -> str:
    kind = POLICY_TYPE.get(layer, f"{layer} policy")
    return f"{_head(principal, action, resource)} with an explicit deny in {_article(kind)} {kind}"


def implicit_deny(principal: str, action: str, resource: str | None, layer: str) -> str:
    if layer == "cross-account":
        return (
            f"{_head(principal, action, resource)} because {action} cannot be used on a KMS key "
            "in another account"
        )
    kind = POLICY_TYPE.get(layer, f"{layer} policy")
    return f"{_head(principal, action, resource)} because no {kind} allows the {action} action"


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
