"""The AWS world a decision is made in: keys, principals, organization layers, VPC endpoints.

It is the `world` part of a scenario file (``shared/spec/scenarios.md``) after loading, and the
state the local KMS keeps. Policies are already-loaded :class:`Policy` objects.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from kmsauthz.model.policy import Policy
from kmsauthz.model.spans import Span

DEFAULT_REGION = "us-east-1"
DEFAULT_NOW = datetime(2026, 1, 1, tzinfo=UTC)

KEY_USAGE_BY_SPEC = {
    "SYMMETRIC_DEFAULT": "ENCRYPT_DECRYPT",
    "HMAC_224": "GENERATE_VERIFY_MAC",
    "HMAC_256": "GENERATE_VERIFY_MAC",
    "HMAC_384": "GENERATE_VERIFY_MAC",
    "HMAC_512": "GENERATE_VERIFY_MAC",
    "ECC_NIST_P256": "SIGN_VERIFY",
    "ECC_NIST_P384": "SIGN_VERIFY",
    "ECC_NIST_P521": "SIGN_VERIFY",
    "ECC_SECG_P256K1": "SIGN_VERIFY",
    "RSA_2048": "ENCRYPT_DECRYPT",
    "RSA_3072": "ENCRYPT_DECRYPT",
    "RSA_4096": "ENCRYPT_DECRYPT",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class GrantConstraints(_Model):
    encryption_context_equals: dict[str, str] | None = None
    encryption_context_subset: dict[str, str] | None = None


class Grant(_Model):
    grant_id: str
    name: str | None = None
    grantee: str
    retiring: str | None = None
    operations: tuple[str, ...]
    """Grant operation names without the `kms:` prefix, as AWS spells them (`Decrypt`)."""
    constraints: GrantConstraints | None = None
    issuing_account: str | None = None
    token: str | None = None
    pending: bool = False
    creation_date: datetime | None = None
    span: Span | None = Field(default=None, repr=False)

    @property
    def label(self) -> str:
        return self.name or self.grant_id


class Key(_Model):
    id: str
    account: str
    region: str = DEFAULT_REGION
    key_spec: str = "SYMMETRIC_DEFAULT"
    key_usage: str | None = None
    origin: str = "AWS_KMS"
    state: str = "Enabled"
    multi_region_type: str | None = None
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = Field(default_factory=dict)
    policy: Policy
    grants: list[Grant] = Field(default_factory=list)
    span: Span | None = Field(default=None, repr=False)

    @property
    def arn(self) -> str:
        return f"arn:aws:kms:{self.region}:{self.account}:key/{self.id}"

    @property
    def effective_key_usage(self) -> str:
        return self.key_usage or KEY_USAGE_BY_SPEC.get(self.key_spec, "ENCRYPT_DECRYPT")

    @property
    def multi_region(self) -> bool:
        return self.id.startswith("mrk-") or self.multi_region_type is not None

    def alias_arn(self, alias: str) -> str:
        return f"arn:aws:kms:{self.region}:{self.account}:{alias}"


class AccessKey(_Model):
    id: str
    secret: SecretStr
    session: str | None = None
    session_policy: Policy | None = None


class IamPrincipal(_Model):
    """An IAM user or role of the world, with its identity-based policies."""

    arn: str
    policies: list[Policy] = Field(default_factory=list)
    permissions_boundary: Policy | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    access_keys: list[AccessKey] = Field(default_factory=list)
    span: Span | None = Field(default=None, repr=False)

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]


class VpcEndpoint(_Model):
    id: str
    vpc: str
    region: str = DEFAULT_REGION
    policy: Policy | None = None
    """None means the default endpoint policy, which allows everything."""


class Organization(_Model):
    id: str
    accounts: tuple[str, ...] = ()
    management_account: str | None = None
    """SCPs and RCPs do not apply in the management account; None when the file does not say."""


class AccountLayers(_Model):
    scps: list[Policy] = Field(default_factory=list)
    rcps: list[Policy] = Field(default_factory=list)


class World(_Model):
    description: str | None = None
    region: str = DEFAULT_REGION
    now: datetime = DEFAULT_NOW
    organization: Organization | None = None
    accounts: dict[str, AccountLayers] = Field(default_factory=dict)
    keys: list[Key] = Field(default_factory=list)
    principals: list[IamPrincipal] = Field(default_factory=list)
    vpc_endpoints: list[VpcEndpoint] = Field(default_factory=list)
    source: str = "<world>"
