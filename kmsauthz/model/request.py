"""A request to decide: who calls which KMS action on which key, from where, with what."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kmsauthz.model.policy import Policy


class Request(BaseModel):
    """One KMS API call as the evaluator sees it (fields as in a scenario CASE)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    principal: str
    """The caller: IAM user/role ARN, assumed-role session ARN, account root ARN or a service name."""
    action: str
    """`kms:Decrypt` and the like; case-insensitive like IAM."""
    key: str | None = None
    """Key id, key ARN, alias name or alias ARN; None for actions that take no key."""
    region: str | None = None
    """The Regional endpoint called; None: the key ARN's Region, else the world's Region."""
    session_policy: Policy | None = None
    vpc_endpoint: str | None = None
    source_ip: str | None = None
    via_service: str | None = None
    encryption_context: dict[str, str] | None = None
    grant_tokens: tuple[str, ...] = ()
    parameters: dict[str, Any] = Field(default_factory=dict)
    """Further KMS API parameters that feed kms:* condition keys, with the API's own names."""
    context: dict[str, Any] = Field(default_factory=dict)
    """Any other condition keys, verbatim; they override derived ones."""
