"""Pydantic models of every input and output: policies, the world, requests, decisions."""

from kmsauthz.model.decision import Decision, Effect, Match
from kmsauthz.model.policy import (
    Condition,
    ConditionClause,
    Policy,
    PolicyKind,
    Principal,
    PrincipalEntry,
    Scalar,
    Statement,
    ValueList,
)
from kmsauthz.model.request import Request
from kmsauthz.model.spans import Span
from kmsauthz.model.world import (
    AccessKey,
    AccountLayers,
    Grant,
    GrantConstraints,
    IamPrincipal,
    Key,
    Organization,
    VpcEndpoint,
    World,
)

__all__ = [
    "AccessKey",
    "AccountLayers",
    "Condition",
    "ConditionClause",
    "Decision",
    "Effect",
    "Grant",
    "GrantConstraints",
    "IamPrincipal",
    "Key",
    "Match",
    "Organization",
    "Policy",
    "PolicyKind",
    "Principal",
    "PrincipalEntry",
    "Request",
    "Scalar",
    "Span",
    "Statement",
    "ValueList",
    "VpcEndpoint",
    "World",
]
