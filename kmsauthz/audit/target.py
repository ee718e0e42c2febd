"""One policy to audit, with what is known about where it will be deployed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kmsauthz.model.policy import Policy, PolicyKind

UNKNOWN_ACCOUNT = "000000000000"
"""Stands for a deploy-time account (`AWS::AccountId`, an unresolved `Ref`) in templates.

It is a well-formed account id so that the syntax layer accepts the ARNs built with it; findings
print it back as `display[UNKNOWN_ACCOUNT]` (for CloudFormation, `${AWS::AccountId}`).
"""


@dataclass(slots=True)
class AuditTarget:
    policy: Policy
    file: str
    """The file audited (a template, a plan, a scenario, a policy file)."""
    origin: str | None = None
    """The resource or world entry holding the policy, for messages and SARIF logical locations."""
    account: str | None = None
    """The account that owns the key (key policies) or the principal (IAM policies), when known."""
    base_pointer: str = ""
    """Pointer of the policy document inside `file` (empty for a policy file)."""
    line_offset: int = 0
    """Added to policy-relative lines when the policy's own spans are relative to an embedded string."""
    fallback_line: int = 0
    """Line reported for nodes without a position (policies held as JSON strings)."""
    fallback_column: int = 0
    display: Mapping[str, str] = field(default_factory=dict)
    """Replacements applied to messages: placeholder text → how the user wrote it."""
    key_spec: str | None = None
    multi_region: bool | None = None

    @property
    def kind(self) -> PolicyKind:
        return self.policy.kind

    @property
    def is_key_policy(self) -> bool:
        return self.policy.kind is PolicyKind.KEY

    def shown(self, text: str) -> str:
        if not self.display:
            return text
        for placeholder, written in self.display.items():
            text = text.replace(placeholder, written)
        return text
