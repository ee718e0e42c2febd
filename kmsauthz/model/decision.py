"""A decision is a value: the effect, why, and what was missing. Never an exception."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from kmsauthz.model.spans import Span


class Effect(StrEnum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


_ALLOW = Effect.ALLOW
"""A module constant: an Enum class attribute look-up costs on every local-KMS call that reads `allowed`."""


class Match(BaseModel):
    """A statement or grant that took part in the decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    layer: str
    """`key-policy`, `identity`, `permissions-boundary`, `session`, `scp`, `rcp`, `vpc-endpoint`, `grant`."""
    policy: str
    """The policy's label (or the key ARN for a grant)."""
    effect: str
    sid: str | None = None
    index: int | None = None
    """Statement index in its policy (0-based)."""
    grant_id: str | None = None
    grant_name: str | None = None
    span: Span | None = None

    @property
    def label(self) -> str:
        """What a scenario's `matched` list names: the Sid, else the grant name or id."""
        if self.sid:
            return self.sid
        if self.grant_name:
            return self.grant_name
        if self.grant_id:
            return self.grant_id
        return f"{self.policy}[{self.index}]"


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    effect: Effect
    error: str | None = None
    """A KMS error met before authorization (`NotFoundException`); effect is then a deny."""
    layer: str | None = None
    """The layer that decided (for a deny: the one that denied or failed to allow)."""
    reason: str = ""
    """One readable sentence, in the style of AWS's AccessDeniedException messages."""
    matched: tuple[Match, ...] = ()
    missing_keys: tuple[str, ...] = ()
    """Condition keys a statement asked for but the request did not have."""
    errors: tuple[str, ...] = ()
    """Internal errors met while deciding; any makes the decision a deny (fail closed)."""
    action: str = ""
    resource: str | None = None
    principal: str = ""
    sub_decisions: tuple[Decision, ...] = Field(default=())
    """For two-resource requests (ReEncrypt, alias operations): each part's decision."""

    @property
    def allowed(self) -> bool:
        return self.effect is _ALLOW and self.error is None and not self.errors

    @property
    def outcome(self) -> str:
        """What a scenario's `expect` compares with: the error code, else the effect."""
        return self.error or self.effect.value
