"""The authorizer: the layers of a KMS decision and how they combine (semantics.md §1.5).

``Authorizer(world).decide(request) -> Decision``. Per authorization (one action on one
resource; ReEncrypt, alias operations, UpdatePrimaryRegion and ReplicateKey make several, taken
from the catalog's ``Operation.authorizations``, each reported in ``Decision.sub_decisions``):

0. resolve the key reference (``resolve.py``): a missing key or alias, an ARN of another Region,
   an alias *name* of another account → ``Decision(error="NotFoundException")``; a key of
   another account with an action that cannot be used cross-account → ImplicitDeny;
1. explicit deny in any applicable layer: RCPs of the key's account (not in the management
   account, not for ``kms:RetireGrant``, not for AWS managed keys), SCPs of the caller's account
   (not in the management account, not for service-linked roles or service principals), the key
   policy, the caller's identity policies, permissions boundary and session policy, the VPC
   endpoint policy when the request traverses an endpoint. Grants never deny;
2. guardrails that need an Allow: RCPs, SCPs, the endpoint policy;
3. a source of Allow: a key-policy statement naming the caller directly (a role ARN still needs
   the boundary and session policy to allow), a key-policy statement naming the caller's account
   plus an identity-policy Allow (+ boundary, session policy), or an effective grant; cross-account
   needs the key policy (any naming) *and* an identity Allow in the caller's account, or a grant.

Fail closed: an exception inside ``decide`` gives ImplicitDeny with the error in
``Decision.errors``; a Deny statement whose condition errors counts as matching; an Allow
statement whose condition errors does not apply, and any error keeps the decision from being
an Allow.

The world may change at run time (the local KMS): ``put_key``, ``remove_key``, ``put_grant``,
``remove_grant``, ``put_principal`` recompile one key or principal. They take a lock; ``decide``
takes none (it reads dictionaries whose entries are replaced, never mutated in place).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kmsauthz import catalog
from kmsauthz.catalog import Operation
from kmsauthz.evaluate import explain
from kmsauthz.evaluate.compile import CGrant, CompiledPolicy, CStatement, compile_grant, compile_policy
from kmsauthz.evaluate.context import (
    KEY_POLICY_HIDDEN,
    KeyPolicyView,
    RequestContext,
    RequestFacts,
    normalize_value,
)
from kmsauthz.evaluate.principals import Caller, MatchKind, account_of_principal_value, parse_caller
from kmsauthz.evaluate.protocols import ConditionContext, ContextValue
from kmsauthz.evaluate.resolve import Resolution, parse_key_ref, ref_region, resolve
from kmsauthz.model.decision import Decision, Effect, Match
from kmsauthz.model.policy import Policy
from kmsauthz.model.request import Request
from kmsauthz.model.unchecked import unchecked
from kmsauthz.model.world import Grant, IamPrincipal, Key, VpcEndpoint, World

__all__ = ["Authorizer"]

_OPERATIONS = catalog.OPERATIONS

# enum members as module constants: attribute access on an Enum class costs on the hot path
_NONE, _ACCOUNT, _ROLE, _DIRECT = MatchKind.NONE, MatchKind.ACCOUNT, MatchKind.ROLE, MatchKind.DIRECT
_ALLOW, _EXPLICIT_DENY, _IMPLICIT_DENY = Effect.ALLOW, Effect.EXPLICIT_DENY, Effect.IMPLICIT_DENY

KEY_POLICY = "key-policy"
IDENTITY = "identity"
BOUNDARY = "permissions-boundary"
SESSION = "session"
SCP = "scp"
RCP = "rcp"
VPC_ENDPOINT = "vpc-endpoint"
GRANT = "grant"
CROSS_ACCOUNT = "cross-account"

_RESOURCE_POLICY_LAYERS = frozenset({KEY_POLICY, RCP, VPC_ENDPOINT})
_EC_PARAMETER = {"kms:reencryptfrom": "SourceEncryptionContext", "kms:reencryptto": "DestinationEncryptionContext"}


# ------------------------------------------------------------------------------ compiled world


class _GrantIndex:
    """One key's grants, indexed by grantee, id and token; updated one grant at a time.

    A new grant is appended to its grantee's bucket in place (one atomic ``list.append``, so adding
    the 50,000th grant of one grantee costs what the first did); a removal replaces the bucket
    with a new list. Dict entries are set or deleted atomically, so a concurrent ``decide`` sees a
    grant either fully present or absent.
    """

    __slots__ = ("by_grantee", "by_id", "by_token")

    def __init__(self, grants: Iterable[CGrant] = ()) -> None:
        self.by_grantee: dict[str, list[CGrant]] = {}
        self.by_id: dict[str, CGrant] = {}
        self.by_token: dict[str, CGrant] = {}
        for g in grants:
            self.put(g)

    def put(self, grant: CGrant) -> None:
        if grant.grant_id in self.by_id:
            self.remove(grant.grant_id)
        grantee = grant.grant.grantee
        bucket = self.by_grantee.get(grantee)
        if bucket is None:
            self.by_grantee[grantee] = [grant]
        else:
            bucket.append(grant)
        if grant.grant.token:
            self.by_token[grant.grant.token] = grant
        self.by_id[grant.grant_id] = grant

    def remove(self, grant_id: str) -> bool:
        old = self.by_id.pop(grant_id, None)
        if old is None:
            return False
        grantee = old.grant.grantee
        bucket = [g for g in self.by_grantee.get(grantee, ()) if g is not old]
        if bucket:
            self.by_grantee[grantee] = bucket
        else:
            self.by_grantee.pop(grantee, None)
        token = old.grant.token
        if token and self.by_token.get(token) is old:
            del self.by_token[token]
        return True

    def snapshot(self) -> tuple[CGrant, ...]:
        return tuple(self.by_id.values())

    def for_caller(self, caller: Caller) -> list[tuple[CGrant, MatchKind]]:
        """Grants whose grantee names the caller, with how (a role ARN, an account)."""
        out: list[tuple[CGrant, MatchKind]] = []
        by = self.by_grantee
        if not by:
            return out
        for ident in caller.identities:
            for g in by.get(ident, ()):
                out.append((g, _DIRECT))
        for ident in caller.role_identities:
            for g in by.get(ident, ()):
                out.append((g, _ROLE))
        root = caller.root_arn
        if root is not None and root not in caller.identities:
            for g in by.get(root, ()):
                out.append((g, _ACCOUNT))
            for g in by.get(caller.account or "", ()):
                out.append((g, _ACCOUNT))
        if len(out) > 1:
            out.sort(key=lambda gk: gk[0].grant_id)
        return out


@dataclass(slots=True, eq=False)
class _KeyEntry:
    key: Key
    arn: str
    policy: CompiledPolicy
    grants: _GrantIndex
    aws_managed: bool
    hides: bool = True
    """The key policy's text names a key that a key policy cannot see (`aws:ResourceTag/*`,
    `kms:ResourceAliases`): only then does it read the context through a :class:`KeyPolicyView`."""


@dataclass(slots=True, eq=False)
class _PrincipalEntry:
    principal: IamPrincipal
    identity: tuple[CompiledPolicy, ...]
    boundary: CompiledPolicy | None
    sessions: dict[str, CompiledPolicy] = field(default_factory=dict)
    """Session policies of the principal's access keys, by session name."""


class _Trace:
    """What one authorization met: missing condition keys and errors, in order."""

    __slots__ = ("errors", "missing")

    def __init__(self) -> None:
        self.missing: dict[str, str] | None = None
        self.errors: list[str] | None = None

    def miss(self, keys: Iterable[str]) -> None:
        if self.missing is None:
            self.missing = {}
        for k in keys:
            self.missing.setdefault(k.lower(), k)

    def fail(self, text: str) -> None:
        if self.errors is None:
            self.errors = []
        self.errors.append(text)


class _Side:
    """The caller's side of an authorization: identity, boundary, session, SCP, endpoint policies."""

    __slots__ = ("boundary", "capped", "endpoint", "guarded", "identity", "scps", "session")

    def __init__(self, identity: tuple[CompiledPolicy, ...], boundary: CompiledPolicy | None,
                 session: CompiledPolicy | None, scps: tuple[CompiledPolicy, ...],
                 endpoint: CompiledPolicy | None) -> None:
        self.identity = identity
        self.boundary = boundary
        self.session = session
        self.scps = scps
        self.endpoint = endpoint
        self.capped = boundary is not None or session is not None
        """A boundary or session policy caps identity-side allows (else `_caps` is skipped)."""
        self.guarded = bool(scps) or endpoint is not None
        """An SCP or endpoint policy must allow too (with RCPs, `_guardrails`)."""


class _CallerEntry:
    """A parsed caller with what the world declares about it (cached per principal string)."""

    __slots__ = ("caller", "endpoint_sides", "pentry", "side", "tags")

    def __init__(self, caller: Caller, pentry: _PrincipalEntry | None, side: _Side) -> None:
        self.caller = caller
        self.pentry = pentry
        self.side = side
        self.tags = pentry.principal.tags if pentry is not None else None
        self.endpoint_sides: dict[str, _Side] = {}
        """The side through each VPC endpoint with a policy: built once, so deny plans keep."""


_DECISION_FIELDS = set(Decision.model_fields)
"""Shared by every Decision built here: frozen models never change their fields set."""


def _decision(effect: Effect, *, error: str | None = None, layer: str | None = None, reason: str = "",
              matched: tuple[Match, ...] = (), missing_keys: tuple[str, ...] = (),
              errors: tuple[str, ...] = (), action: str = "", resource: str | None = None,
              principal: str = "", sub_decisions: tuple[Decision, ...] = ()) -> Decision:
    """A Decision without pydantic validation (every value is built here, already valid)."""
    return unchecked(Decision, {
        "effect": effect, "error": error, "layer": layer, "reason": reason, "matched": matched,
        "missing_keys": missing_keys, "errors": errors, "action": action, "resource": resource,
        "principal": principal, "sub_decisions": sub_decisions,
    }, _DECISION_FIELDS)


def _names_hidden_key(policy: Policy) -> bool:
    """Whether any text through which ``policy`` reads the context names a key a key policy cannot
    see: condition keys, and condition values and resources (which may hold policy variables).
    Principals and actions never read the context. Lower-cased substrings: conservative."""
    for st in policy.statements:
        texts: list[str] = []
        for values in (st.resource, st.not_resource):
            if values is not None:
                texts.extend(values.values)
        if st.condition is not None:
            for clause in st.condition.clauses:
                texts.append(clause.key)
                texts.extend(str(v) for v in clause.values)
        if any(name in text.lower() for text in texts for name in KEY_POLICY_HIDDEN):
            return True
    return False


_REGIONS: dict[str, str | None] = {}


def _region_of(ref: str | None) -> str | None:
    """:func:`ref_region`, parsed once per key reference text."""
    if ref is None:
        return None
    try:
        return _REGIONS[ref]
    except KeyError:
        pass
    if len(_REGIONS) > 65536:
        _REGIONS.clear()
    found = _REGIONS[ref] = ref_region(ref)
    return found


def _label(policy: Policy, fallback: str) -> str:
    return policy.name if policy.name and policy.name != "policy" else fallback


# ----------------------------------------------------------------------------------- authorizer


class Authorizer:
    """Decide KMS requests against one world, exactly as AWS KMS would."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._lock = threading.RLock()
        self._keys: dict[tuple[str, str, str], _KeyEntry] = {}
        self._aliases: dict[tuple[str, str, str], str] = {}
        self._principals: dict[str, _PrincipalEntry] = {}
        self._roles: dict[tuple[str, str], str] = {}
        self._callers: dict[str, _CallerEntry] = {}
        self._sessions: dict[int, tuple[Policy, CompiledPolicy]] = {}
        self._resolved: dict[tuple[str, str | None, str], Resolution[_KeyEntry]] = {}
        self._reasons: dict[tuple[Any, ...], tuple[tuple[Match, ...], str]] = {}
        self._deny_plans: dict[tuple[int, int, str], tuple[tuple[CStatement, bool, bool], ...]] = {}
        self._scps: dict[str, tuple[CompiledPolicy, ...]] = {}
        self._rcps: dict[str, tuple[CompiledPolicy, ...]] = {}
        self._endpoints: dict[str, tuple[VpcEndpoint, CompiledPolicy | None]] = {}
        self._adhoc_endpoints: dict[tuple[str, str], VpcEndpoint] = {}
        org = world.organization
        self._management = org.management_account if org is not None else None
        for account, layers in world.accounts.items():
            if layers.scps:
                self._scps[account] = tuple(
                    compile_policy(p, layer=SCP, label=_label(p, f"SCP {i} of {account}"))
                    for i, p in enumerate(layers.scps)
                )
            if layers.rcps:
                self._rcps[account] = tuple(
                    compile_policy(p, layer=RCP, label=_label(p, f"RCP {i} of {account}"))
                    for i, p in enumerate(layers.rcps)
                )
        for ep in world.vpc_endpoints:
            self._endpoints[ep.id] = (
                ep,
                compile_policy(ep.policy, layer=VPC_ENDPOINT, label=_label(ep.policy, f"endpoint policy of {ep.id}"))
                if ep.policy is not None else None,
            )
        for key in world.keys:
            self._put_key(key)
        for principal in world.principals:
            self._put_principal(principal)

    # ---------------------------------------------------------------------------- updates

    def put_key(self, key: Key) -> None:
        """Add or replace a key (its policy, aliases and grants are recompiled; nothing else)."""
        with self._lock:
            self._put_key(key)
            self._resolved = {}
            self._deny_plans = {}

    def _put_key(self, key: Key) -> None:
        address = (key.region, key.account, key.id)
        old = self._keys.get(address)
        if old is not None:
            for alias in old.key.aliases:
                if self._aliases.get((key.region, key.account, alias)) == key.id:
                    del self._aliases[(key.region, key.account, alias)]
        arn = key.arn
        entry = _KeyEntry(
            key=key,
            arn=arn,
            policy=compile_policy(key.policy, layer=KEY_POLICY, label=_label(key.policy, f"key policy of {arn}")),
            grants=_GrantIndex(compile_grant(g, arn) for g in key.grants),
            aws_managed=any(a.startswith("alias/aws/") for a in key.aliases),
            hides=_names_hidden_key(key.policy),
        )
        self._keys[address] = entry
        for alias in key.aliases:
            self._aliases[(key.region, key.account, alias)] = key.id

    def remove_key(self, region: str, key_id: str, account: str | None = None) -> None:
        with self._lock:
            for address in [a for a in self._keys if a[0] == region and a[2] == key_id
                            and (account is None or a[1] == account)]:
                entry = self._keys.pop(address)
                for alias in entry.key.aliases:
                    if self._aliases.get((region, address[1], alias)) == key_id:
                        del self._aliases[(region, address[1], alias)]
            self._resolved = {}
            self._deny_plans = {}

    def put_alias(self, region: str, account: str, alias: str, key_id: str | None) -> None:
        """Point an alias at a key (None removes it); the local KMS calls this on Create/Update/DeleteAlias."""
        with self._lock:
            if key_id is None:
                self._aliases.pop((region, account, alias), None)
            else:
                self._aliases[(region, account, alias)] = key_id
            self._resolved = {}

    def _entry(self, region: str, key_id: str) -> list[_KeyEntry]:
        return [e for a, e in self._keys.items() if a[0] == region and a[2] == key_id]

    def put_grant(self, region: str, key_id: str, grant: Grant) -> None:
        with self._lock:
            for entry in self._entry(region, key_id):
                entry.grants.put(compile_grant(grant, entry.arn))

    def remove_grant(self, region: str, key_id: str, grant_id: str) -> None:
        with self._lock:
            for entry in self._entry(region, key_id):
                entry.grants.remove(grant_id)

    def put_principal(self, principal: IamPrincipal) -> None:
        with self._lock:
            self._put_principal(principal)
            self._callers = {}
            self._deny_plans = {}

    def _put_principal(self, principal: IamPrincipal) -> None:
        arn = principal.arn
        identity = tuple(
            compile_policy(p, layer=IDENTITY, label=_label(p, f"policy {i} of {arn}"))
            for i, p in enumerate(principal.policies)
        )
        boundary = (
            compile_policy(principal.permissions_boundary, layer=BOUNDARY,
                           label=_label(principal.permissions_boundary, f"permissions boundary of {arn}"))
            if principal.permissions_boundary is not None else None
        )
        sessions = {
            ak.session: compile_policy(ak.session_policy, layer=SESSION,
                                       label=_label(ak.session_policy, f"session policy of {ak.session}"))
            for ak in principal.access_keys
            if ak.session and ak.session_policy is not None
        }
        self._principals[arn] = _PrincipalEntry(principal, identity, boundary, sessions)
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[5].startswith("role/"):
            self._roles[(parts[4], parts[5].rsplit("/", 1)[-1])] = arn

    def resolve_key(self, ref: str, *, caller_account: str | None, region: str) -> Key | None:
        """The key a `KeyId` names for a caller of ``caller_account`` calling ``region``, or None."""
        res = resolve(ref, caller_account=caller_account, region=region, keys=self._keys, aliases=self._aliases)
        return res.entry.key if res.entry is not None else None

    # ---------------------------------------------------------------------------- decide

    def decide(self, request: Request) -> Decision:
        """Decide one request; never raises for policy content (fails closed instead)."""
        try:
            return self._decide(request)
        except Exception as exc:  # fail closed: a bug must never become an Allow
            text = f"internal error: {type(exc).__name__}: {exc}"
            return _decision(
                effect=_IMPLICIT_DENY,
                reason=explain.failed(request.principal, request.action, request.key, text),
                errors=(text,),
                action=request.action,
                resource=request.key,
                principal=request.principal,
            )

    def _caller(self, text: str) -> _CallerEntry:
        found = self._callers.get(text)
        if found is None:
            caller = parse_caller(text, self._roles)
            pentry = self._principals.get(caller.role_arn or text)
            side = _Side(
                identity=pentry.identity if pentry is not None else (),
                boundary=pentry.boundary if pentry is not None else None,
                session=(pentry.sessions.get(caller.session_name)
                         if pentry is not None and caller.session_name else None),
                scps=self._scps_for(caller),
                endpoint=None,
            )
            found = _CallerEntry(caller, pentry, side)
            if len(self._callers) > 65536:
                self._callers = {}
                self._deny_plans = {}  # plans are keyed by the id of a cached caller side
            self._callers[text] = found
        return found

    def _undeclared_endpoint(self, endpoint_id: str, region: str) -> VpcEndpoint:
        """An endpoint the world does not declare (no VPC, the default policy): one model per id and
        Region, built once rather than validated by pydantic on every request through it."""
        memo = (endpoint_id, region)
        found = self._adhoc_endpoints.get(memo)
        if found is None:
            found = VpcEndpoint(id=endpoint_id, vpc="", region=region)
            if len(self._adhoc_endpoints) > 4096:
                self._adhoc_endpoints = {}
            self._adhoc_endpoints[memo] = found
        return found

    def _compiled_session(self, policy: Policy) -> CompiledPolicy:
        cached = self._sessions.get(id(policy))
        if cached is not None and cached[0] is policy:
            return cached[1]
        compiled = compile_policy(policy, layer=SESSION, label=_label(policy, "session policy"))
        if len(self._sessions) > 1024:
            self._sessions = {}
        self._sessions[id(policy)] = (policy, compiled)
        return compiled

    def _resolve(self, ref: str, account: str | None, region: str) -> Resolution[_KeyEntry]:
        memo = (ref, account, region)
        found = self._resolved.get(memo)
        if found is None:
            found = resolve(ref, caller_account=account, region=region, keys=self._keys, aliases=self._aliases)
            if len(self._resolved) > 65536:
                self._resolved = {}
            self._resolved[memo] = found
        return found

    def _decide(self, request: Request) -> Decision:
        action = request.action
        low = action.lower()
        op = _OPERATIONS.get(low)
        ce = self._callers.get(request.principal) or self._caller(request.principal)
        region = request.region or _region_of(request.key) or self.world.region
        side = ce.side
        endpoint: VpcEndpoint | None = None
        if request.vpc_endpoint and not request.via_service:
            found = self._endpoints.get(request.vpc_endpoint)
            endpoint = found[0] if found is not None else self._undeclared_endpoint(request.vpc_endpoint, region)
            if found is not None and found[1] is not None:  # None: the default, allow-all endpoint policy
                through = ce.endpoint_sides.get(request.vpc_endpoint)
                if through is None:
                    through = _Side(side.identity, side.boundary, side.session, side.scps, found[1])
                    if len(ce.endpoint_sides) < 256:
                        ce.endpoint_sides[request.vpc_endpoint] = through
                side = through
        cached = side if side is ce.side or ce.endpoint_sides.get(request.vpc_endpoint or "") is side else ce.side
        if request.session_policy is not None:
            side = _Side(side.identity, side.boundary, self._compiled_session(request.session_policy),
                         side.scps, side.endpoint)
            cached = ce.side
        run = _Run(self, request, ce, side, endpoint, region, cached)
        if op is None:
            return run.unknown_action(action)
        params = request.parameters
        plan = _PLANS.get(op.action)
        if plan is not None and not plan[1] and not (params and "DestinationKeyId" in params):
            steps = plan[0]  # :func:`_steps`' common case, inlined
        else:
            steps = _steps(op, low, params)
        if len(steps) == 1:
            step = steps[0]
            if step.simple and request.key is not None:  # one action on the request's key
                return run.key_check(step.action, step.low, step.op, request.key, region)
            return run.step(step)
        return _combine(request, [run.step(st) for st in steps])

    def _scps_for(self, caller: Caller) -> tuple[CompiledPolicy, ...]:
        account = caller.account
        if account is None or account == self._management:
            return ()
        if caller.role_arn is not None and ":role/aws-service-role/" in caller.role_arn:
            return ()
        return self._scps.get(account, ())

    def _rcps_for(self, op: Operation | None, entry: _KeyEntry) -> tuple[CompiledPolicy, ...]:
        account = entry.key.account
        if account == self._management or entry.aws_managed or (op is not None and not op.rcp):
            return ()
        return self._rcps.get(account, ())


@dataclass(frozen=True, slots=True)
class _Step:
    """One permission check of a call, prepared once per catalog operation."""

    action: str
    low: str
    op: Operation | None
    resource: str | None
    target: str
    region: str | None
    when: str | None
    simple: bool = False
    """One action on the request's own key in its own Region (`step`'s common case)."""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "simple", self.target == "KeyId" and self.resource == "key" and self.region is None)


_PLANS: dict[str, tuple[tuple[_Step, ...], bool]] = {}


def _plan(op: Operation) -> tuple[tuple[_Step, ...], bool]:
    """The checks of ``op`` and whether any is conditional on a parameter (`when`)."""
    found = _PLANS.get(op.action)
    if found is None:
        steps = tuple(
            _Step(a.action, a.action.lower(), op if a.action == op.action else catalog.operation(a.action),
                  a.resource, a.target or "KeyId", a.region, a.when)
            for a in op.authorizations
        )
        found = (steps, any(st.when is not None for st in steps))
        _PLANS[op.action] = found
    return found


def _steps(op: Operation, low: str, params: Mapping[str, Any]) -> tuple[_Step, ...]:
    """The checks a call makes; `kms:ReEncryptFrom`/`To` with a DestinationKeyId is a whole ReEncrypt."""
    if params and low in ("kms:reencryptfrom", "kms:reencryptto") and "DestinationKeyId" in params:
        whole = catalog.operation("kms:ReEncrypt")
        if whole is not None:
            op = whole
    found = _PLANS.get(op.action)
    steps, conditional = found if found is not None else _plan(op)
    if conditional:
        kept = tuple(st for st in steps if st.when is None or st.when in params)
        return kept or steps[:1]
    return steps


def _overrides(context: Mapping[str, Any]) -> dict[str, ContextValue | None]:
    return {str(k).lower(): normalize_value(v) for k, v in context.items()}


def _combine(request: Request, parts: Sequence[Decision]) -> Decision:
    """All parts must allow; the first error, else the first explicit, else implicit deny decides."""
    chosen = next((p for p in parts if p.error is not None), None)
    if chosen is None:
        chosen = next((p for p in parts if p.effect is _EXPLICIT_DENY), None)
    if chosen is None:
        chosen = next((p for p in parts if p.effect is not _ALLOW or p.errors), None)
    missing: dict[str, str] = {}
    errors: list[str] = []
    for p in parts:
        for k in p.missing_keys:
            missing.setdefault(k.lower(), k)
        errors.extend(p.errors)
    if chosen is None:  # every part allowed
        matched = tuple(m for p in parts for m in p.matched)
        return _decision(
            effect=_ALLOW, layer=parts[-1].layer,
            reason="; ".join(p.reason for p in parts),
            matched=matched, missing_keys=tuple(missing.values()), errors=tuple(errors),
            action=request.action, resource=parts[0].resource, principal=request.principal,
            sub_decisions=tuple(parts), error=None,
        )
    return _decision(
        effect=chosen.effect, error=chosen.error, layer=chosen.layer, reason=chosen.reason,
        matched=chosen.matched, missing_keys=tuple(missing.values()), errors=tuple(errors),
        action=request.action, resource=chosen.resource, principal=request.principal,
        sub_decisions=tuple(parts),
    )


# ------------------------------------------------------------------------------- one decision


class _Run(RequestFacts):
    """The work of one ``decide`` call: the request's facts for the context, and the caller's side."""

    __slots__ = ("auth", "cached_side", "pentry", "region", "request", "side")

    def __init__(self, auth: Authorizer, request: Request, ce: _CallerEntry, side: _Side,
                 endpoint: VpcEndpoint | None, region: str, cached_side: _Side) -> None:
        world = auth.world
        # RequestFacts.__init__, inlined: this runs once per decide
        self.caller = ce.caller
        self.now = world.now
        self.caller_tags = ce.tags
        self.organization = world.organization
        self.endpoint = endpoint
        self.source_ip = request.source_ip
        self.via_service = request.via_service
        self.parameters = request.parameters
        context = request.context
        self.overrides = _overrides(context) if context else None
        self.auth = auth
        self.request = request
        self.pentry = ce.pentry
        self.side = side
        self.cached_side = cached_side
        """A side the caller's entry keeps (``side`` itself unless a session policy made a fresh one)."""
        self.region = region

    # -- dispatch over one catalog Authorization -----------------------------------------

    def step(self, step: _Step) -> Decision:
        request = self.request
        action, low, op = step.action, step.low, step.op
        region = self.region
        if step.target == "KeyId" and step.resource == "key" and step.region is None:
            ref = request.key  # the common case: one action on the request's key
            if ref is None:
                return self._error(action, None, "ValidationException", "the request names no key (`KeyId`)")
            return self.key_check(action, low, op, ref, region)
        params = request.parameters
        if step.region is not None:
            region = str(params.get(step.region) or region)
        if step.resource is None:
            return self.resourceless(action, low, op, region)
        if step.resource == "alias":
            alias = _alias_name(request, params)
            if alias is None:
                return self._error(action, None, "ValidationException", "the request names no alias")
            return self.alias_check(action, low, op, alias, region)
        target = step.target
        if target.endswith(":target"):
            found = _alias_name(request, params)
            if found is None:
                return self._error(action, None, "ValidationException", "the request names no alias")
            ref = found
        else:
            ref = _key_param(request, params, target)
        if ref is None:
            return self._error(action, None, "ValidationException", f"the request names no key (`{target}`)")
        if step.region is not None:
            parsed = parse_key_ref(ref)
            if parsed.kind == "arn":
                ref = parsed.name  # the same key id, resolved in the other Region
        same_key = None
        if low in ("kms:reencryptfrom", "kms:reencryptto"):
            same_key = self._same_key(params)
        return self.key_check(action, low, op, ref, region, same_key=same_key)

    def _same_key(self, params: Mapping[str, Any]) -> bool:
        request = self.request
        source = params.get("SourceKeyId") or request.key
        dest = params.get("DestinationKeyId") or request.key
        if source is None or dest is None:
            return False
        auth = self.auth
        a = auth._resolve(str(source), self.caller.account, self.region)
        b = auth._resolve(str(dest), self.caller.account, self.region)
        return a.entry is not None and a.entry is b.entry

    # -- context ---------------------------------------------------------------------------

    def _context(self, low: str, op: Operation | None, region: str, *, key: Key | None = None,
                 resource_account: str | None = None, request_alias: str | None = None,
                 same_key: bool | None = None) -> RequestContext:
        request = self.request
        ec: Mapping[str, str] | None = request.encryption_context
        params = request.parameters
        if params:
            param_name = _EC_PARAMETER.get(low)
            if param_name is not None and isinstance(params.get(param_name), Mapping):
                ec = params[param_name]
        if low == "kms:creategrant":
            # CreateGrant's kms:EncryptionContext:* / kms:EncryptionContextKeys describe the grant's
            # Constraints, never an encryption context of the call (conditions-kms.html,
            # kms:GrantConstraintType and kms:EncryptionContext:; semantics §3.7)
            ec = None
            constraints = params.get("Constraints") if params else None
            if isinstance(constraints, Mapping):
                for kind in ("EncryptionContextEquals", "EncryptionContextSubset"):
                    if isinstance(constraints.get(kind), Mapping):
                        ec = constraints[kind]
                        break
        return RequestContext(self, low, op, region, key, resource_account, request_alias, ec, same_key)

    # -- the statement test --------------------------------------------------------------------

    def _applies(self, st: CStatement, arn: str, ctx: ConditionContext, trace: _Trace,
                 resource_policy: bool) -> MatchKind:
        """Whether a statement applies to this request, and how it names the caller."""
        kind = _DIRECT
        if resource_policy:
            principal = st.principal
            if principal is not None:
                kind = principal.kind(self.caller)
                if kind is _NONE:
                    return kind
            elif st.not_principal is not None:
                if st.not_principal.exempts(self.caller) and not (
                    not st.allow and self.pentry is not None and self.pentry.boundary is not None
                ):
                    return _NONE
            elif st.needs_principal:
                return _NONE  # every key-policy statement needs a principal
        if not st.any_resource:
            resource = st.resource
            if resource is None:
                return _NONE
            if resource.error is not None:  # fail closed, like an erroring condition
                where = st.match.sid or f"{st.match.policy}[{st.index}]"
                trace.fail(f"{st.match.layer} statement `{where}`: resource {resource.error}")
                return _NONE if st.allow else kind
            if not resource.matches(arn, ctx):
                return _NONE
        if st.has_condition:
            out = st.condition.evaluate(ctx)
            if out.missing:
                trace.miss(out.missing)
            if out.error is not None:
                where = st.match.sid or f"{st.match.policy}[{st.index}]"
                trace.fail(f"{st.match.layer} statement `{where}`: {out.error}")
                return _NONE if st.allow else kind
            if not out.matched:
                return _NONE
        return kind

    def _denies(self, policies: Iterable[CompiledPolicy], low: str, arn: str, ctx: ConditionContext,
                trace: _Trace, out: list[Match]) -> None:
        for cp in policies:
            resource_policy = cp.layer in _RESOURCE_POLICY_LAYERS
            for st in cp.for_action(low).denies:
                if self._applies(st, arn, ctx, trace, resource_policy) is not _NONE:
                    out.append(st.match)

    def _deny_plan(self, entry: _KeyEntry, low: str,
                   rcps: tuple[CompiledPolicy, ...]) -> tuple[tuple[CStatement, bool, bool], ...]:
        """Every Deny statement that can match ``low`` on this key for this caller, layer by layer.

        Kept per (caller side, key, action) while the side is one the caller's entry keeps (its
        own, or its side through a VPC endpoint); a request with its own session policy gets a
        fresh side and a fresh plan.
        """
        side = self.side
        cacheable = side is self.cached_side
        memo = (id(side), id(entry), low)
        plans = self.auth._deny_plans
        if cacheable:
            found = plans.get(memo)
            if found is not None:
                return found
        layers: list[CompiledPolicy] = [*rcps, *side.scps, entry.policy, *side.identity]
        for extra in (side.boundary, side.session, side.endpoint):
            if extra is not None:
                layers.append(extra)
        plan = tuple(
            (st, cp.layer in _RESOURCE_POLICY_LAYERS, cp is entry.policy)
            for cp in layers for st in cp.for_action(low).denies
        )
        if cacheable:
            if len(plans) > 65536:
                self.auth._deny_plans = plans = {}
            plans[memo] = plan
        return plan

    def _first_allow(self, policies: Iterable[CompiledPolicy], low: str, arn: str, ctx: ConditionContext,
                     trace: _Trace) -> Match | None:
        for cp in policies:
            resource_policy = cp.layer in _RESOURCE_POLICY_LAYERS
            for st in cp.for_action(low).allow_candidates(ctx):
                if self._applies(st, arn, ctx, trace, resource_policy) is not _NONE:
                    return st.match
        return None

    def _guardrails(self, low: str, arn: str, ctx: RequestContext, trace: _Trace,
                    rcps: tuple[CompiledPolicy, ...]) -> str | None:
        """The guardrail layer that fails to allow, or None."""
        if rcps and self._first_allow(rcps, low, arn, ctx, trace) is None:
            return RCP
        side = self.side
        if side.scps and self._first_allow(side.scps, low, arn, ctx, trace) is None:
            return SCP
        if side.endpoint is not None and self._first_allow((side.endpoint,), low, arn, ctx, trace) is None:
            return VPC_ENDPOINT
        return None

    def _caps(self, low: str, arn: str, ctx: RequestContext, trace: _Trace) -> str | None:
        """Boundary and session policy on an identity-side allow: the layer that fails, or None."""
        side = self.side
        if side.boundary is not None and self._first_allow((side.boundary,), low, arn, ctx, trace) is None:
            return BOUNDARY
        if side.session is not None and self._first_allow((side.session,), low, arn, ctx, trace) is None:
            return SESSION
        return None

    def _identity_allow(self, low: str, arn: str, ctx: RequestContext, trace: _Trace) -> tuple[bool, Match | None]:
        """(allowed, statement) on the identity side; the root user needs no statement."""
        if self.caller.is_root:
            return True, None
        found = self._first_allow(self.side.identity, low, arn, ctx, trace)
        return found is not None, found

    # -- decisions ----------------------------------------------------------------------------

    def _decision(self, effect: Effect, action: str, resource: str | None, layer: str | None,
                  matched: Sequence[Match], trace: _Trace, reason: str) -> Decision:
        errors = tuple(trace.errors) if trace.errors else ()
        if errors and effect is _ALLOW:
            effect, layer = _IMPLICIT_DENY, layer
            reason = explain.failed(self.request.principal, action, resource, errors[0])
            matched = ()
        # the values :func:`_decision` would get, without its keyword-call cost: this runs once per decide
        return unchecked(Decision, {
            "effect": effect, "error": None, "layer": layer, "reason": reason, "matched": tuple(matched),
            "missing_keys": tuple(trace.missing.values()) if trace.missing else (), "errors": errors,
            "action": action, "resource": resource, "principal": self.request.principal, "sub_decisions": (),
        }, _DECISION_FIELDS)

    def _error(self, action: str, resource: str | None, code: str, message: str) -> Decision:
        return _decision(
            effect=_IMPLICIT_DENY, error=code, layer=None, reason=message, matched=(),
            missing_keys=(), errors=(), action=action, resource=resource,
            principal=self.request.principal, sub_decisions=(),
        )

    def _reason(self, kind: str, action: str, resource: str | None, layer: str,
                matched: Sequence[Match]) -> str:
        """The reason sentence, memoised: the same request shape gets the same text."""
        principal = self.request.principal
        matched = tuple(matched)
        memo = (kind, principal, action, resource, layer, *map(id, matched))
        cache = self.auth._reasons
        found = cache.get(memo)
        if found is not None and found[0] == matched:  # identity first: the same Match objects
            return found[1]
        if kind == "allow":
            text = explain.allowed(principal, action, resource, matched)
        elif kind == "explicit":
            text = explain.explicit_deny(principal, action, resource, layer)
        else:
            text = explain.implicit_deny(principal, action, resource, layer)
        if len(cache) > 16384:
            self.auth._reasons = cache = {}
        cache[memo] = (matched, text)
        return text

    def _explicit(self, action: str, arn: str, denies: list[Match], trace: _Trace) -> Decision:
        layer = denies[0].layer
        return self._decision(_EXPLICIT_DENY, action, arn, layer, denies, trace,
                              self._reason("explicit", action, arn, layer, ()))

    def _implicit(self, action: str, arn: str, layer: str, trace: _Trace) -> Decision:
        return self._decision(_IMPLICIT_DENY, action, arn, layer, (), trace,
                              self._reason("implicit", action, arn, layer, ()))

    def _allow(self, action: str, arn: str, layer: str, matched: Sequence[Match], trace: _Trace) -> Decision:
        return self._decision(_ALLOW, action, arn, layer, matched, trace,
                              self._reason("allow", action, arn, layer, matched))

    def unknown_action(self, action: str) -> Decision:
        """An action the catalog does not know: KMS has no such operation, nothing can allow it."""
        return _decision(
            _IMPLICIT_DENY, layer=None, action=action, resource=self.request.key,
            principal=self.request.principal,
            reason=explain.unknown_action(self.request.principal, action, self.request.key),
        )

    # -- the three shapes of authorization -------------------------------------------------------

    def resourceless(self, action: str, low: str, op: Operation | None, region: str) -> Decision:
        """An IAM-only action without a resource (`Resource` is `*` or an account pattern)."""
        caller = self.caller
        arn = f"arn:aws:kms:{region}:{caller.account or ''}:*"
        ctx = self._context(low, op, region, resource_account=caller.account)
        return self._iam_only(action, low, arn, ctx, display="*")

    def alias_check(self, action: str, low: str, op: Operation | None, alias: str, region: str) -> Decision:
        """The IAM half of an alias operation: permission on the alias ARN."""
        caller = self.caller
        ref = parse_key_ref(alias)
        account = ref.account or caller.account or ""
        arn = f"arn:aws:kms:{ref.region or region}:{account}:{ref.name}"
        ctx = self._context(low, op, region, resource_account=account)
        return self._iam_only(action, low, arn, ctx, display=arn)

    def _iam_only(self, action: str, low: str, arn: str, ctx: RequestContext, display: str) -> Decision:
        trace = _Trace()
        side = self.side
        denies: list[Match] = []
        self._denies(side.scps, low, arn, ctx, trace, denies)
        self._denies(side.identity, low, arn, ctx, trace, denies)
        if side.boundary is not None:
            self._denies((side.boundary,), low, arn, ctx, trace, denies)
        if side.session is not None:
            self._denies((side.session,), low, arn, ctx, trace, denies)
        if side.endpoint is not None:
            self._denies((side.endpoint,), low, arn, ctx, trace, denies)
        if denies:
            return self._explicit(action, display, denies, trace)
        failed = self._guardrails(low, arn, ctx, trace, ())
        if failed is not None:
            return self._implicit(action, display, failed, trace)
        ok, stmt = self._identity_allow(low, arn, ctx, trace)
        if not ok:
            return self._implicit(action, display, IDENTITY, trace)
        capped = self._caps(low, arn, ctx, trace) if self.side.capped else None
        if capped is not None:
            return self._implicit(action, display, capped, trace)
        return self._allow(action, display, IDENTITY, (stmt,) if stmt is not None else (), trace)

    def key_check(self, action: str, low: str, op: Operation | None, ref: str, region: str,
                  *, same_key: bool | None = None) -> Decision:
        """One action on one KMS key: the whole §1.5 procedure."""
        auth = self.auth
        caller = self.caller
        res = auth._resolve(ref, caller.account, region)
        entry = res.entry
        if entry is None:
            return self._error(action, ref, res.error or "NotFoundException", res.message)
        key = entry.key
        arn = entry.arn
        same_account = caller.is_service or caller.account == key.account
        trace = _Trace()
        if not same_account and (op is None or not op.cross_account):
            return self._implicit(action, arn, CROSS_ACCOUNT, trace)

        ctx = self._context(low, op, region, key=key, request_alias=res.ref.alias, same_key=same_key)
        kp_ctx: ConditionContext = KeyPolicyView(ctx) if entry.hides else ctx
        rcps = auth._rcps_for(op, entry) if auth._rcps else ()

        # 1. explicit deny anywhere (grants never deny)
        plan = self._deny_plan(entry, low, rcps)
        if plan:
            denies: list[Match] = []
            for st, resource_policy, in_key_policy in plan:
                if self._applies(st, arn, kp_ctx if in_key_policy else ctx, trace, resource_policy) is not _NONE:
                    denies.append(st.match)
            if denies:
                return self._explicit(action, arn, denies, trace)

        # 2. guardrails that need an Allow
        failed = self._guardrails(low, arn, ctx, trace, rcps) if rcps or self.side.guarded else None
        if failed is not None:
            return self._implicit(action, arn, failed, trace)

        # 3. sources of Allow
        if op is not None and op.name == "RetireGrant":
            return self._retire_grant(action, low, entry, ctx, trace)
        blocked: str | None = None
        if op is None or op.key_policy:
            direct: Match | None = None
            role: Match | None = None
            account: Match | None = None
            for st in entry.policy.for_action(low).allow_candidates(kp_ctx):
                kind = self._applies(st, arn, kp_ctx, trace, True)
                if kind is _DIRECT:
                    direct = st.match
                    break
                if kind is _ROLE and role is None:
                    role = st.match
                elif kind is _ACCOUNT and account is None:
                    account = st.match
            if same_account:
                if direct is not None:
                    return self._allow(action, arn, KEY_POLICY, (direct,), trace)
                if role is not None:
                    blocked = self._caps(low, arn, ctx, trace) if self.side.capped else None
                    if blocked is None:
                        return self._allow(action, arn, KEY_POLICY, (role,), trace)
                if account is not None:
                    ok, stmt = self._identity_allow(low, arn, ctx, trace)
                    if ok:
                        capped = self._caps(low, arn, ctx, trace) if self.side.capped else None
                        if capped is None:
                            matched = (account, stmt) if stmt is not None else (account,)
                            return self._allow(action, arn, KEY_POLICY, matched, trace)
                        blocked = blocked or capped
                    else:
                        blocked = blocked or IDENTITY
            else:
                named = direct or role or account
                ok, stmt = self._identity_allow(low, arn, ctx, trace)
                if named is not None and ok:
                    capped = self._caps(low, arn, ctx, trace) if self.side.capped else None
                    if capped is None:
                        matched = (named, stmt) if stmt is not None else (named,)
                        return self._allow(action, arn, KEY_POLICY, matched, trace)
                    blocked = capped
                elif named is not None:
                    blocked = IDENTITY
        granted = self._grant_allow(low, entry, ctx, trace)
        if granted is not None:
            return self._allow(action, arn, GRANT, (granted,), trace)
        return self._implicit(action, arn, blocked or KEY_POLICY, trace)

    # -- grants -------------------------------------------------------------------------------

    def _grant_allow(self, low: str, entry: _KeyEntry, ctx: RequestContext, trace: _Trace) -> Match | None:
        grants = entry.grants
        if not grants.by_id:
            return None
        request = self.request
        tokens = request.grant_tokens
        uses_ec = _uses_ec(low)
        ec = ctx.encryption_context
        for g, kind in grants.for_caller(self.caller):
            if low not in g.operations:
                continue
            if g.grant.pending and (not g.grant.token or g.grant.token not in tokens):
                continue
            if low == "kms:creategrant":
                if not self._child_grant_ok(g):
                    continue
            elif uses_ec and not g.constraint_ok(dict(ec) if ec is not None else None):
                continue
            if kind is _ACCOUNT:
                ok, _ = self._identity_allow(low, entry.arn, ctx, trace)
                if not ok or (self._caps(low, entry.arn, ctx, trace) if self.side.capped else None) is not None:
                    continue
            elif kind is _ROLE and (self._caps(low, entry.arn, ctx, trace) if self.side.capped else None) is not None:
                continue
            return g.match
        return None

    def _child_grant_ok(self, parent: CGrant) -> bool:
        """CreateGrant through a grant: the child may not exceed its parent (§3.5)."""
        params = self.request.parameters
        ops = params.get("Operations")
        if ops is not None:
            child_ops = {f"kms:{o}".lower() for o in (ops if isinstance(ops, list | tuple) else [ops])}
            if not child_ops <= parent.operations:
                return False
        constraints = params.get("Constraints")
        constraints = constraints if isinstance(constraints, Mapping) else {}
        c_equals = constraints.get("EncryptionContextEquals")
        c_subset = constraints.get("EncryptionContextSubset")
        if parent.equals is not None:
            return isinstance(c_equals, Mapping) and dict(c_equals) == parent.equals
        if parent.subset is not None:
            child = c_equals if isinstance(c_equals, Mapping) else c_subset if isinstance(c_subset, Mapping) else None
            if child is None:
                return False
            return all(child.get(k) == v for k, v in parent.subset.items())
        return True

    def _retire_grant(self, action: str, low: str, entry: _KeyEntry, ctx: RequestContext,
                      trace: _Trace) -> Decision:
        """RetireGrant is decided by the grant: retiring principal, grantee with RetireGrant, issuer (§3.6)."""
        params = self.request.parameters
        grants = entry.grants
        caller = self.caller
        gid = params.get("GrantId")
        token = params.get("GrantToken")
        gid = str(gid) if gid is not None else None
        token = str(token) if token is not None else None
        if gid is not None:
            candidates: Sequence[CGrant] = (grants.by_id[gid],) if gid in grants.by_id else ()
        elif token is not None:
            candidates = (grants.by_token[token],) if token in grants.by_token else ()
        else:
            candidates = grants.snapshot()
        names = caller.identities | caller.role_identities
        for g in candidates:
            grant = g.grant
            if grant.retiring and grant.retiring in names:
                return self._allow(action, entry.arn, GRANT, (g.match,), trace)
            if grant.grantee in names and low in g.operations:
                return self._allow(action, entry.arn, GRANT, (g.match,), trace)
            accounts = {grant.issuing_account or entry.key.account}
            if grant.retiring:
                acct = account_of_principal_value(grant.retiring)
                if acct is not None:
                    accounts.add(acct)
            if caller.account in accounts:
                ok, stmt = self._identity_allow(low, entry.arn, ctx, trace)
                if ok and (self._caps(low, entry.arn, ctx, trace) if self.side.capped else None) is None:
                    matched = (g.match, stmt) if stmt is not None else (g.match,)
                    return self._allow(action, entry.arn, GRANT, matched, trace)
        return self._implicit(action, entry.arn, GRANT, trace)


def _uses_ec(low: str) -> bool:
    op = catalog.operation(low)
    return op is not None and op.uses_encryption_context


def _alias_name(request: Request, params: Mapping[str, Any]) -> str | None:
    name = params.get("AliasName")
    if name:
        return str(name)
    key = request.key
    if key and (key.startswith("alias/") or ":alias/" in key):
        return key
    return None


def _key_param(request: Request, params: Mapping[str, Any], target: str) -> str | None:
    value = params.get(target)
    if value:
        return str(value)
    key = request.key
    if target in ("TargetKeyId",) and key and (key.startswith("alias/") or ":alias/" in key):
        return None  # the request's key is the alias being created, not the target
    return key
