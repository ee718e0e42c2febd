"""The request context: every condition key AWS would set for one request, and no other.

:class:`RequestContext` implements :class:`~kmsauthz.evaluate.protocols.ConditionContext`
lazily: a key is computed the first time a condition asks for it and then cached for the rest
of the decision, so a request whose policies ask for two keys computes two keys.

Which keys exist in which situation follows semantics.md §4 (the summary table is §4.3):

- principal keys (`aws:PrincipalArn` — the *role* ARN for a role session —, `aws:PrincipalAccount`,
  `aws:PrincipalType`, `aws:username` for IAM users only, `aws:userid` where it can be derived,
  `aws:PrincipalTag/*`, `aws:PrincipalOrgID` when the account is in the world's organization,
  `aws:PrincipalIsAWSService`, `aws:PrincipalServiceName` for service principals);
- network keys: through a VPC endpoint `aws:SourceVpce`, `aws:SourceVpc`, `aws:VpcSourceIp` and
  **no** `aws:SourceIp`; otherwise `aws:SourceIp` (when the request gives one) and none of the
  VPC keys. A call an AWS service makes for the caller (`via_service`) comes from the service,
  not from the caller's endpoint: it has `kms:ViaService`, `aws:ViaAWSService=true`,
  `aws:CalledVia*` (for the services that support it) and no VPC keys;
- always: `aws:RequestedRegion`, `aws:SecureTransport=true` (KMS is HTTPS only),
  `aws:CurrentTime`, `aws:EpochTime` (the world's ``now``, never the wall clock);
- resource keys for a key operation: `aws:ResourceTag/*`, `aws:ResourceAccount`,
  `aws:ResourceOrgID`, and the `kms:` key-property keys;
- `kms:*` keys only for the actions that set them (the catalog's ``condition_keys``), computed from
  the key's properties or from the request ``parameters`` (KMS API names), with the defaults
  AWS materialises (`kms:EncryptionAlgorithm`, `kms:MessageType`, CreateKey's KeySpec/KeyUsage/
  Origin/MultiRegion) and absent where AWS's examples use `Null` to detect an omitted parameter
  (`kms:BypassPolicyLockoutSafetyCheck`, `kms:ExpirationModel`, and U13:
  `kms:RotationPeriodInDays`, `kms:ScheduleKeyDeletionPendingWindowInDays`).

``request.context`` overrides or adds keys verbatim (values normalised to text: booleans become
``"true"``/``"false"``, numbers their text, lists tuples of text); a ``None`` value removes a
derived key.

Key names are case-insensitive; the part after `kms:EncryptionContext:`, `aws:PrincipalTag/`,
`aws:ResourceTag/`, `aws:RequestTag/` matches the request's key case-insensitively (the first
such key in the request's order wins when two differ only in case, §5.4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from kmsauthz.catalog import Operation, Source
from kmsauthz.evaluate.principals import Caller
from kmsauthz.evaluate.protocols import ContextValue
from kmsauthz.model.world import Key, Organization, VpcEndpoint

__all__ = [
    "CALLED_VIA_SERVICES",
    "KEY_POLICY_HIDDEN",
    "KeyPolicyView",
    "RequestContext",
    "RequestFacts",
    "normalize_value",
]

CALLED_VIA_SERVICES = frozenset({
    "athena.amazonaws.com", "cloud9.amazonaws.com", "cloudformation.amazonaws.com",
    "databrew.amazonaws.com", "dataexchange.amazonaws.com", "dynamodb.amazonaws.com",
    "kms.amazonaws.com", "servicecatalog-appregistry.amazonaws.com", "sqlworkbench.amazonaws.com",
})
"""Service principals that set `aws:CalledVia` (IAM reference_policies_condition-keys.html#calledvia-services)."""

KEY_POLICY_HIDDEN = ("aws:resourcetag/", "kms:resourcealiases")
"""Keys KMS supports only in IAM policies; a key policy sees them as absent (§4.4, U5)."""

_ABSENT = object()


def normalize_value(value: Any) -> ContextValue | None:
    """A value from a scenario's `context` (or a parameter) as the request context holds it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        out: list[str] = []
        for item in value:
            norm = normalize_value(item)
            if isinstance(norm, tuple):
                out.extend(norm)
            elif norm is not None:
                out.append(norm)
        return tuple(out)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bool_param(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.lower()
    return "true" if value else "false"


def _epoch_text(value: Any) -> str | None:
    """`kms:ValidTo`: AWS's examples compare it with Numeric operators in Unix seconds."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return normalize_value(value)  # type: ignore[return-value]
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return normalize_value(moment.timestamp())  # type: ignore[return-value]
    text = str(value)
    try:
        float(text)
        return text
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return normalize_value(moment.timestamp())  # type: ignore[return-value]


def _first_ci(mapping: Mapping[str, Any] | None, name: str) -> Any:
    """Case-insensitive lookup of ``name`` (already lower-case): that spelling, else the first key that folds to it."""
    if not mapping:
        return _ABSENT
    value = mapping.get(name, _ABSENT)
    if value is not _ABSENT:
        return value
    for k, v in mapping.items():
        if k.lower() == name:
            return v
    return _ABSENT


def _tags_param(value: Any) -> dict[str, str]:
    """`Tags` as the API writes it (`[{TagKey, TagValue}]`) or as a plain mapping."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    if isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, Mapping) and "TagKey" in item:
                out[str(item["TagKey"])] = str(item.get("TagValue", ""))
    return out


class RequestFacts:
    """What every authorization of one request shares (built once per ``decide``)."""

    __slots__ = (
        "caller", "caller_tags", "endpoint", "now", "organization", "overrides", "parameters",
        "source_ip", "via_service",
    )

    def __init__(
        self,
        caller: Caller,
        now: datetime,
        caller_tags: Mapping[str, str] | None = None,
        organization: Organization | None = None,
        endpoint: VpcEndpoint | None = None,
        source_ip: str | None = None,
        via_service: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        overrides: Mapping[str, ContextValue | None] | None = None,
    ) -> None:
        self.caller = caller
        self.now = now
        self.caller_tags = caller_tags
        self.organization = organization
        self.endpoint = endpoint
        """The VPC endpoint the request traverses (None: the public endpoint, or a service's call)."""
        self.source_ip = source_ip
        self.via_service = via_service
        self.parameters = parameters if parameters is not None else {}
        self.overrides = overrides


Compute = Callable[["RequestContext"], ContextValue | None]


class RequestContext:
    """Lazy :class:`ConditionContext` for one authorization (one action on one resource)."""

    __slots__ = (
        "_cache", "_ec_folded", "action", "encryption_context", "facts", "key", "op", "reencrypt_same_key",
        "region", "request_alias", "resource_account",
    )

    def __init__(
        self,
        facts: RequestFacts,
        action: str,
        op: Operation | None,
        region: str,
        key: Key | None = None,
        resource_account: str | None = None,
        request_alias: str | None = None,
        encryption_context: Mapping[str, str] | None = None,
        reencrypt_same_key: bool | None = None,
    ) -> None:
        self._cache: dict[str, ContextValue | None] = {}
        self._ec_folded: dict[str, str] | None = None
        self.facts = facts
        self.action = action
        """Lower-case action of this authorization (`kms:reencryptfrom`)."""
        self.op = op
        self.region = region
        self.key = key
        self.resource_account = resource_account if resource_account is not None else (
            key.account if key is not None else None
        )
        self.request_alias = request_alias
        self.encryption_context = encryption_context
        self.reencrypt_same_key = reencrypt_same_key

    def lookup(self, key: str) -> ContextValue | None:
        return self.lookup_folded(key.lower())

    def lookup_folded(self, name: str) -> ContextValue | None:
        """:meth:`lookup` of a name already in lower case."""
        cache = self._cache
        if name in cache:
            return cache[name]
        value = self._compute(name)
        cache[name] = value
        return value

    # -- derivation ------------------------------------------------------------------------

    def _compute(self, name: str) -> ContextValue | None:
        overrides = self.facts.overrides
        if overrides is not None and name in overrides:
            return overrides[name]
        table = _RESOLVERS.get(self.action)
        if table is None:
            if len(_RESOLVERS) > 1024:
                _RESOLVERS.clear()
            table = _RESOLVERS[self.action] = {}
        fn = table.get(name)
        if fn is None:
            if len(table) > 4096:  # names come from policies: keep the table bounded
                table.clear()
            fn = table[name] = _resolver(self.op, name)
        return fn(self)


# -- principal keys ----------------------------------------------------------------------------

def _principal_type(ctx: RequestContext) -> str | None:
    t = ctx.facts.caller.type
    return t if t in ("Account", "User", "AssumedRole", "FederatedUser") else None


def _userid(ctx: RequestContext) -> str | None:
    caller = ctx.facts.caller
    if caller.is_root:
        return caller.account
    if caller.type == "FederatedUser":
        return f"{caller.account}:{caller.arn.rsplit('/', 1)[-1]}"
    return None  # unique ids (AIDA…/AROA…) are not part of the world: supply them via `context`


def _org_id(account: str | None, org: Organization | None) -> str | None:
    if org is None or account is None:
        return None
    if account in org.accounts or account == org.management_account:
        return org.id
    return None


def _principal_tag(ctx: RequestContext, tag: str) -> str | None:
    value = _first_ci(ctx.facts.caller_tags, tag)
    return None if value is _ABSENT else str(value)


# -- network keys ------------------------------------------------------------------------------

def _through_endpoint(ctx: RequestContext) -> VpcEndpoint | None:
    return None if ctx.facts.via_service else ctx.facts.endpoint


def _source_ip(ctx: RequestContext) -> str | None:
    return None if _through_endpoint(ctx) is not None else ctx.facts.source_ip


def _vpc_source_ip(ctx: RequestContext) -> str | None:
    return ctx.facts.source_ip if _through_endpoint(ctx) is not None else None


def _called_via(ctx: RequestContext) -> tuple[str, ...] | None:
    service = _service_principal(ctx.facts.via_service)
    return (service,) if service in CALLED_VIA_SERVICES else None


def _service_principal(via: str | None) -> str | None:
    """`ec2.us-east-1.amazonaws.com` → `ec2.amazonaws.com`."""
    if not via:
        return None
    head = via.split(".", 1)[0]
    return f"{head}.amazonaws.com"


# -- resource keys -----------------------------------------------------------------------------

def _resource_tag(ctx: RequestContext, tag: str) -> str | None:
    key = ctx.key
    if key is None:
        return None
    value = _first_ci(key.tags, tag)
    return None if value is _ABSENT else str(value)


def _request_tag(ctx: RequestContext, tag: str) -> str | None:
    tags = _tags_param(ctx.facts.parameters.get("Tags"))
    value = _first_ci(tags, tag)
    return None if value is _ABSENT else value


def _tag_keys(ctx: RequestContext) -> tuple[str, ...] | None:
    params = ctx.facts.parameters
    if "TagKeys" in params:
        return normalize_value(params["TagKeys"])  # type: ignore[return-value]
    if "Tags" in params:
        return tuple(_tags_param(params["Tags"]))
    return None


# -- kms keys: driven by the catalog's `sources` ---------------------------------------------------

def _ec(ctx: RequestContext, part: str) -> str | None:
    ec = ctx.encryption_context
    if not ec:
        return None
    folded = ctx._ec_folded
    if folded is None:
        folded = {}
        for k, v in ec.items():
            folded.setdefault(k.lower(), v)  # the first of two keys that differ only in case
        ctx._ec_folded = folded
    value = folded.get(part)
    return None if value is None else str(value)


def _ec_keys(ctx: RequestContext) -> tuple[str, ...] | None:
    ec = ctx.encryption_context
    return tuple(ec) if ec else None


def _key_property(key: Key, prop: str) -> ContextValue | None:
    if prop == "KeySpec":
        return key.key_spec
    if prop == "KeyUsage":
        return key.effective_key_usage
    if prop == "Origin":
        return key.origin
    if prop == "MultiRegion":
        return "true" if key.multi_region else "false"
    if prop == "MultiRegionConfiguration.MultiRegionKeyType":
        if key.multi_region_type:
            return key.multi_region_type
        return "PRIMARY" if key.multi_region else None
    if prop == "Aliases":
        return tuple(key.aliases) or None
    return None


def _from_parameter(ctx: RequestContext, name: str, src: Source) -> ContextValue | None:
    params = ctx.facts.parameters
    field = src.field or ""
    if name == "kms:grantconstrainttype":
        constraints = params.get(field)
        if isinstance(constraints, Mapping):
            for kind in ("EncryptionContextEquals", "EncryptionContextSubset"):
                if kind in constraints:
                    return kind
        return None
    if name == "kms:validto":
        return _epoch_text(params.get(field))
    value = params.get(field)
    if value is None:
        return src.default
    if isinstance(value, bool) or name == "kms:bypasspolicylockoutsafetycheck":
        return _bool_param(value)
    return normalize_value(value)


def _kms_value(ctx: RequestContext, name: str, src: Source) -> ContextValue | None:
    origin = src.origin
    if origin == "parameter":
        return _from_parameter(ctx, name, src)
    if origin == "key":
        return _key_property(ctx.key, src.field or "") if ctx.key is not None else None
    if origin == "alias-used":
        return ctx.request_alias
    if origin == "caller":
        return ctx.facts.caller.account
    if origin == "service":
        if src.field == "ViaService":
            return ctx.facts.via_service
        return "true" if ctx.facts.via_service else src.default
    if origin == "fixed":
        return src.default
    if origin == "derived":
        if name == "kms:reencryptonsamekey":
            same = ctx.reencrypt_same_key
            return None if same is None else ("true" if same else "false")
        if name == "kms:multiregionkeytype":
            multi = _bool_param(ctx.facts.parameters.get("MultiRegion"))
            return "PRIMARY" if multi == "true" else None
    return None  # origin "none": documented key without an API field (U14)


_SourceTable = tuple[dict[str, Source], tuple[tuple[str, Source], ...]]
_TABLES: dict[str, _SourceTable] = {}


def _source_table(op: Operation) -> _SourceTable:
    """The operation's condition keys, lower-cased; families (`...:${X}`) as prefixes."""
    table = _TABLES.get(op.action)
    if table is None:
        exact: dict[str, Source] = {}
        families: list[tuple[str, Source]] = []
        for name, src in op.sources.items():
            low = name.lower()
            if "${" in low:
                families.append((low.split("${", 1)[0], src))
            else:
                exact[low] = src
        table = (exact, tuple(families))
        _TABLES[op.action] = table
    return table


def _op_key(ctx: RequestContext, name: str) -> ContextValue | None:
    """A key the catalog lists for this action (kms:*, aws:ResourceTag/*, aws:RequestTag/*, aws:TagKeys)."""
    op = ctx.op
    if op is None:
        return None
    exact, families = _source_table(op)
    src = exact.get(name)
    if src is not None:
        if src.origin == "none":
            return None  # documented, but no API field feeds it (U14)
        if name == "kms:encryptioncontextkeys":
            return _ec_keys(ctx)
        if name == "aws:tagkeys":
            return _tag_keys(ctx)
        return _kms_value(ctx, name, src)
    for prefix, src in families:
        if name.startswith(prefix):
            if src.origin == "none":
                return None
            part = name[len(prefix):]
            if prefix == "kms:encryptioncontext:":
                return _ec(ctx, part)
            if prefix == "aws:resourcetag/":
                return _resource_tag(ctx, part)
            if prefix == "aws:requesttag/":
                return _request_tag(ctx, part)
            if src.origin == "parameter" and src.field:
                field = src.field.split(".", 1)[0]
                value = ctx.facts.parameters.get(field)
                if isinstance(value, Mapping):
                    found = _first_ci(value, part)
                    return None if found is _ABSENT else normalize_value(found)  # type: ignore[return-value]
            return None
    return None


_EXACT: dict[str, Compute] = {
    # principal
    "aws:principalarn": lambda c: c.facts.caller.principal_arn,
    "aws:principalaccount": lambda c: c.facts.caller.account,
    "aws:principaltype": _principal_type,
    "aws:username": lambda c: c.facts.caller.username,
    "aws:userid": _userid,
    "aws:principalorgid": lambda c: _org_id(c.facts.caller.account, c.facts.organization),
    "aws:principalisawsservice": lambda c: "true" if c.facts.caller.is_service else "false",
    "aws:principalservicename": lambda c: c.facts.caller.service,
    # network and environment
    "aws:requestedregion": lambda c: c.region,
    "aws:sourceip": _source_ip,
    "aws:sourcevpce": lambda c: (e.id if (e := _through_endpoint(c)) is not None else None),
    "aws:sourcevpc": lambda c: (e.vpc or None if (e := _through_endpoint(c)) is not None else None),
    "aws:vpcsourceip": _vpc_source_ip,
    "aws:viaawsservice": lambda c: "true" if c.facts.via_service else "false",
    "aws:calledvia": _called_via,
    "aws:calledviafirst": lambda c: (v[0] if (v := _called_via(c)) else None),
    "aws:calledvialast": lambda c: (v[-1] if (v := _called_via(c)) else None),
    "aws:securetransport": lambda c: "true",
    "aws:currenttime": lambda c: normalize_value(c.facts.now),  # type: ignore[dict-item]
    "aws:epochtime": lambda c: str(int(c.facts.now.timestamp())),
    # resource
    "aws:resourceaccount": lambda c: c.resource_account,
    "aws:resourceorgid": lambda c: _org_id(c.resource_account, c.facts.organization),
}

_FAMILIES: tuple[tuple[str, Callable[[RequestContext, str], ContextValue | None]], ...] = (
    ("aws:principaltag/", _principal_tag),
)


_RESOLVERS: dict[str, dict[str, Compute]] = {}
"""Per action, per lower-case key name: the function that derives it (what ``_compute`` would
pick by walking the tables), chosen on first use. Dispatch only, never a value."""


def _none(ctx: RequestContext) -> None:
    return None


def _resolver(op: Operation | None, name: str) -> Compute:
    """The derivation of ``name`` for ``op``: the same choice as the exact table, then the
    families, then the catalog's sources (:func:`_op_key`), made once."""
    fn = _EXACT.get(name)
    if fn is not None:
        return fn
    for prefix, family in _FAMILIES:
        if name.startswith(prefix):
            part = name[len(prefix):]
            return lambda c: family(c, part)
    if op is None:
        return _none
    exact, families = _source_table(op)
    if name in exact:
        src = exact[name]
        if src.origin == "none":
            return _none
        return lambda c: _op_key(c, name)
    for prefix, src in families:
        if name.startswith(prefix):
            if src.origin == "none":
                return _none
            part = name[len(prefix):]
            if prefix == "kms:encryptioncontext:":
                return lambda c: _ec(c, part)
            if prefix == "aws:resourcetag/":
                return lambda c: _resource_tag(c, part)
            return lambda c: _op_key(c, name)
    return _none


class KeyPolicyView:
    """The context as a key policy sees it: `aws:ResourceTag/*` and `kms:ResourceAliases` absent."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx: RequestContext) -> None:
        self._ctx = ctx

    def lookup(self, key: str) -> ContextValue | None:
        return self.lookup_folded(key.lower())

    def lookup_folded(self, name: str) -> ContextValue | None:
        """:meth:`lookup` of a name already in lower case."""
        if name.startswith(KEY_POLICY_HIDDEN):
            return None
        return self._ctx.lookup_folded(name)
