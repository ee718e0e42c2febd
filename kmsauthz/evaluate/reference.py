"""A second, plainly written evaluator of the same rules, for differential testing.

No indexing, no caches, no laziness: it walks the world's model objects for every request,
builds the whole request context as a dictionary, and follows semantics.md §1.5 step by step.
Condition operators, wildcards and policy variables come from ``conditions``, ``patterns`` and
``variables`` (tested on their own); what this module writes a second time is everything the
engine adds: key resolution, principal matching, the context keys, the layers and how they
combine. ``tests/evaluate/test_reference_agreement.py`` checks that both give the same outcome.

    reference_outcome(world, request) -> "Allow" | "ExplicitDeny" | "ImplicitDeny" | error code
"""

from __future__ import annotations

from typing import Any

from kmsauthz import catalog
from kmsauthz.evaluate.conditions import compile_condition
from kmsauthz.evaluate.patterns import compile_arn_parts, compile_arn_pattern, compile_wildcard
from kmsauthz.evaluate.variables import compile_template
from kmsauthz.model.policy import Policy, Principal, Statement
from kmsauthz.model.request import Request
from kmsauthz.model.world import IamPrincipal, Key, World

__all__ = ["reference_outcome"]

ALLOW, EXPLICIT, IMPLICIT = "Allow", "ExplicitDeny", "ImplicitDeny"


# ----------------------------------------------------------------------------------- the caller


class _Who:
    """The caller, described plainly."""

    def __init__(self, arn: str, world: World) -> None:
        self.arn = arn
        self.account: str | None = None
        self.kind = "Service"
        self.role: str | None = None  # the role ARN for a session of a role
        self.session: str | None = None
        if arn.startswith("arn:"):
            parts = arn.split(":", 5)
            self.account = parts[4]
            resource = parts[5]
            if parts[2] == "iam" and resource == "root":
                self.kind = "Account"
            elif parts[2] == "iam" and resource.startswith("user/"):
                self.kind = "User"
            elif parts[2] == "iam" and resource.startswith("role/"):
                self.kind, self.role = "AssumedRole", arn
            elif parts[2] == "sts" and resource.startswith("assumed-role/"):
                bits = resource.split("/")
                self.kind, self.session = "AssumedRole", (bits[2] if len(bits) > 2 else None)
                self.role = f"arn:aws:iam::{self.account}:role/{bits[1]}"
                for p in world.principals:  # the role may have a path
                    if p.arn.startswith(f"arn:aws:iam::{self.account}:role/") and p.arn.rsplit("/", 1)[-1] == bits[1]:
                        self.role = p.arn
            elif parts[2] == "sts" and resource.startswith("federated-user/"):
                self.kind = "FederatedUser"
            else:
                self.kind = "Unknown"
        self.entry: IamPrincipal | None = None
        for p in world.principals:
            if p.arn == (self.role or arn):
                self.entry = p

    @property
    def root(self) -> str | None:
        return f"arn:aws:iam::{self.account}:root" if self.account else None


def _principal_kind(principal: Principal, who: _Who) -> str | None:
    """How a `Principal` names the caller: "direct", "role", "account" or None."""
    if principal.wildcard:
        return "direct"
    best: str | None = None
    for entry in principal.entries:
        if entry.type not in ("AWS", "Service"):
            continue
        for value in entry.values.values:
            if entry.type == "AWS" and value == "*":
                return "direct"
            if value == who.arn and who.role != who.arn:
                return "direct"  # the user, the exact session, the federated user, the service
            if entry.type == "AWS" and who.role is not None and value == who.role:
                best = "role"
            is_account = value == who.account or (who.root is not None and value == who.root)
            if entry.type == "AWS" and is_account and who.account:
                if who.kind == "Account":
                    return "direct"
                best = best or "account"
    return best


def _exempt(not_principal: Principal, who: _Who) -> bool:
    """A NotPrincipal exempts the caller only if its account, role and itself are all listed."""
    if not_principal.wildcard:
        return True
    listed = set(not_principal.values_of("AWS")) | set(not_principal.values_of("Service"))
    if "*" in listed:
        return True
    chain: list[str] = []
    if who.root:
        chain.append(who.root)
    if who.kind != "Account":
        if who.role:
            chain.append(who.role)
            if who.session:
                chain.append(who.arn)
        elif who.kind == "Service":
            chain = [who.arn]
        else:
            chain.append(who.arn)
    for ident in chain:
        if ident == who.root:
            if ident not in listed and who.account not in listed:
                return False
        elif ident not in listed:
            return False
    return True


# ---------------------------------------------------------------------------------- the context


def _context(world: World, request: Request, who: _Who, action: str, key: Key | None,
             alias_used: str | None, ec: dict[str, str] | None, same_key: bool | None,
             region: str, resource_account: str | None, key_policy: bool) -> dict[str, Any]:
    """Every condition key of this request, eagerly (lower-case names)."""
    c: dict[str, Any] = {}
    org = world.organization

    def org_of(account: str | None) -> str | None:
        if org is None or account is None:
            return None
        return org.id if account in org.accounts or account == org.management_account else None

    c["aws:principalarn"] = who.role if who.role else (None if who.kind == "Service" else who.arn)
    c["aws:principalaccount"] = who.account
    c["aws:principaltype"] = who.kind if who.kind in ("Account", "User", "AssumedRole", "FederatedUser") else None
    c["aws:username"] = who.arn.rsplit("/", 1)[-1] if who.kind == "User" else None
    c["aws:principalorgid"] = org_of(who.account)
    c["aws:principalisawsservice"] = "true" if who.kind == "Service" else "false"
    c["aws:requestedregion"] = region
    c["aws:securetransport"] = "true"
    c["aws:currenttime"] = world.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    c["aws:epochtime"] = str(int(world.now.timestamp()))
    c["aws:viaawsservice"] = "true" if request.via_service else "false"
    through = request.vpc_endpoint if request.vpc_endpoint and not request.via_service else None
    if through:
        c["aws:sourcevpce"] = through
        c["aws:sourcevpc"] = next((e.vpc for e in world.vpc_endpoints if e.id == through), None) or None
        c["aws:vpcsourceip"] = request.source_ip
    else:
        c["aws:sourceip"] = request.source_ip
    c["aws:resourceaccount"] = resource_account
    c["aws:resourceorgid"] = org_of(resource_account)
    if who.entry is not None:
        for k, v in who.entry.tags.items():
            c.setdefault(f"aws:principaltag/{k.lower()}", v)
    op = catalog.operation(action)
    supported = {k.lower() for k, src in op.sources.items() if src.origin != "none"} if op else set()
    if "kms:calleraccount" in supported:
        c["kms:calleraccount"] = who.account
    if "kms:viaservice" in supported:
        c["kms:viaservice"] = request.via_service
    if key is not None:
        if "aws:resourcetag/${tagkey}" in supported and not key_policy:
            for k, v in key.tags.items():
                c.setdefault(f"aws:resourcetag/{k.lower()}", v)
        if "kms:resourcealiases" in supported and not key_policy and key.aliases:
            c["kms:resourcealiases"] = tuple(key.aliases)
        for name, value in (("kms:keyspec", key.key_spec), ("kms:keyusage", key.effective_key_usage),
                            ("kms:keyorigin", key.origin),
                            ("kms:multiregion", "true" if key.multi_region else "false")):
            if name in supported:
                c[name] = value
        if "kms:multiregionkeytype" in supported and key.multi_region:
            c["kms:multiregionkeytype"] = key.multi_region_type or "PRIMARY"
    elif action.lower() == "kms:createkey":  # the new key's properties come from the request
        params = request.parameters
        c["kms:keyspec"] = str(params.get("KeySpec", "SYMMETRIC_DEFAULT"))
        c["kms:keyusage"] = str(params.get("KeyUsage", "ENCRYPT_DECRYPT"))
        c["kms:keyorigin"] = str(params.get("Origin", "AWS_KMS"))
        c["kms:multiregion"] = "true" if params.get("MultiRegion") else "false"
    if "kms:requestalias" in supported:
        c["kms:requestalias"] = alias_used
    if "kms:encryptioncontext:${encryptioncontextkey}" in supported and ec:
        for k, v in ec.items():
            c.setdefault(f"kms:encryptioncontext:{k.lower()}", v)
        c["kms:encryptioncontextkeys"] = tuple(ec)
    if "kms:encryptionalgorithm" in supported:  # ReEncrypt: each half names its own side's algorithm
        param = {"kms:reencryptfrom": "SourceEncryptionAlgorithm",
                 "kms:reencryptto": "DestinationEncryptionAlgorithm"}.get(action.lower(), "EncryptionAlgorithm")
        c["kms:encryptionalgorithm"] = str(request.parameters.get(param, "SYMMETRIC_DEFAULT"))
    if "kms:grantconstrainttype" in supported:
        constraints = request.parameters.get("Constraints") or {}
        c["kms:grantconstrainttype"] = next(
            (k for k in ("EncryptionContextEquals", "EncryptionContextSubset") if k in constraints), None)
    if "kms:grantisforawsresource" in supported:
        c["kms:grantisforawsresource"] = "true" if request.via_service else "false"
    if "kms:reencryptonsamekey" in supported and same_key is not None:
        c["kms:reencryptonsamekey"] = "true" if same_key else "false"
    if "kms:grantoperations" in supported and "Operations" in request.parameters:
        c["kms:grantoperations"] = tuple(request.parameters["Operations"])
    for k, v in request.context.items():
        c[k.lower()] = _text(v)
    return {k: v for k, v in c.items() if v is not None}


def _text(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return tuple(_text(x) for x in v)
    return None if v is None else str(v)


class _Dict:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def lookup(self, key: str) -> Any:
        return self.values.get(key.lower())


# ------------------------------------------------------------------------------- the statements


def _action_matches(st: Statement, action: str) -> bool:
    listed = st.action if st.action is not None else st.not_action
    if listed is None:
        return False
    hit = any(compile_wildcard(v, case_sensitive=False).match(action) for v in listed.values)
    return hit if st.action is not None else not hit


def _resource_matches(st: Statement, policy: Policy, arn: str, ctx: _Dict) -> bool:
    listed = st.resource if st.resource is not None else st.not_resource
    if listed is None:
        return False
    hit = False
    for v in listed.values:
        if v == "*":
            hit = True
        elif policy.supports_variables and "${" in v:
            pieces = compile_template(v).render_pieces(ctx)
            hit = hit or (pieces is not None and compile_arn_parts(pieces).match(arn))
        else:
            hit = hit or compile_arn_pattern(v).match(arn)
    return hit if st.resource is not None else not hit


def _resource_malformed(st: Statement, policy: Policy) -> bool:
    listed = st.resource if st.resource is not None else st.not_resource
    if listed is None or not policy.supports_variables:
        return False
    return any("${" in v and compile_template(v).error is not None for v in listed.values)


def _applies(st: Statement, policy: Policy, layer: str, who: _Who, action: str, arn: str,
             ctx: _Dict, has_boundary: bool) -> str | None:
    """None if the statement does not apply; else how it names the caller ("direct" if no principal)."""
    kind: str | None = "direct"
    if layer in ("key-policy", "rcp", "vpc-endpoint"):
        if st.principal is not None:
            kind = _principal_kind(st.principal, who)
        elif st.not_principal is not None:
            if _exempt(st.not_principal, who) and not (st.effect == "Deny" and has_boundary):
                kind = None
        elif layer == "key-policy":
            kind = None
    if kind is None or not _action_matches(st, action):
        return None
    if _resource_malformed(st, policy):  # fail closed: a Deny applies, an Allow never does
        return kind if st.effect == "Deny" else None
    if not _resource_matches(st, policy, arn, ctx):
        return None
    outcome = compile_condition(st.condition, variables=policy.supports_variables).evaluate(ctx)
    if outcome.error is not None:
        return kind if st.effect == "Deny" else None
    return kind if outcome.matched else None


# --------------------------------------------------------------------------------- the decision


class _Reference:
    def __init__(self, world: World, request: Request) -> None:
        self.world = world
        self.request = request
        self.who = _Who(request.principal, world)
        self.region = request.region or _arn_region(request.key) or world.region
        entry = self.who.entry
        self.identity = list(entry.policies) if entry else []
        self.boundary = entry.permissions_boundary if entry else None
        self.session = request.session_policy
        if self.session is None and entry is not None and self.who.session:
            for ak in entry.access_keys:
                if ak.session == self.who.session and ak.session_policy is not None:
                    self.session = ak.session_policy
        self.endpoint_policy: Policy | None = None
        if request.vpc_endpoint and not request.via_service:
            for e in world.vpc_endpoints:
                if e.id == request.vpc_endpoint:
                    self.endpoint_policy = e.policy
        org = world.organization
        management = org.management_account if org else None
        acct = self.who.account
        role = self.who.role or ""
        self.scps = [] if acct is None or acct == management or "/aws-service-role/" in role else (
            list(world.accounts[acct].scps) if acct in world.accounts else [])
        self.management = management
        self.had_error = False

    # -- helpers -----------------------------------------------------------------------

    def find_key(self, ref: str, region: str) -> tuple[Key | None, str | None]:
        account = self.who.account
        alias = None
        if ref.startswith("arn:"):
            parts = ref.split(":", 5)
            if len(parts) != 6 or parts[2] != "kms" or parts[3] != region:
                return None, None
            account, resource = parts[4], parts[5]
            if resource.startswith("alias/"):
                alias = resource
            elif resource.startswith("key/"):
                key_id = resource[4:]
            else:
                return None, None
        elif ref.startswith("alias/"):
            alias = ref
        else:
            key_id = ref
        found = [k for k in self.world.keys
                 if k.region == region and (account is None or k.account == account)
                 and (alias in k.aliases if alias else k.id == key_id)]
        if len(found) == 1 or (found and account is not None):
            return found[0], alias
        return None, alias

    def any_allows(self, policies: list[Policy], layer: str, action: str, arn: str, ctx: _Dict) -> bool:
        return any(
            st.effect == "Allow" and _applies(st, p, layer, self.who, action, arn, ctx, self.boundary is not None)
            for p in policies for st in p.statements
        )

    def caps_ok(self, action: str, arn: str, ctx: _Dict) -> bool:
        if self.boundary is not None and not self.any_allows([self.boundary], "permissions-boundary", action, arn, ctx):
            return False
        return self.session is None or self.any_allows([self.session], "session", action, arn, ctx)

    def identity_ok(self, action: str, arn: str, ctx: _Dict) -> bool:
        if self.who.kind == "Account":
            return self.caps_ok(action, arn, ctx)
        return self.any_allows(self.identity, "identity", action, arn, ctx) and self.caps_ok(action, arn, ctx)

    def layers(self, key: Key | None, action: str) -> list[tuple[str, list[Policy]]]:
        out: list[tuple[str, list[Policy]]] = []
        op = catalog.operation(action)
        if key is not None and key.account != self.management and not any(
            a.startswith("alias/aws/") for a in key.aliases
        ) and (op is None or op.rcp) and key.account in self.world.accounts:
            out.append(("rcp", list(self.world.accounts[key.account].rcps)))
        out.append(("scp", self.scps))
        if key is not None:
            out.append(("key-policy", [key.policy]))
        out.append(("identity", self.identity))
        out.append(("permissions-boundary", [self.boundary] if self.boundary else []))
        out.append(("session", [self.session] if self.session else []))
        out.append(("vpc-endpoint", [self.endpoint_policy] if self.endpoint_policy else []))
        return out

    # -- one authorization ------------------------------------------------------------------

    def check(self, action: str, ref: str | None, region: str, *, alias_arn: str | None = None,
              same_key: bool | None = None) -> str:
        request, who = self.request, self.who
        op = catalog.operation(action)
        key = None
        alias_used = None
        if alias_arn is not None:
            arn = alias_arn
        elif ref is None:
            arn = f"arn:aws:kms:{region}:{who.account or ''}:*"
        else:
            key, alias_used = self.find_key(ref, region)
            if key is None:
                return "NotFoundException"
            arn = key.arn
            if not (who.kind == "Service" or who.account == key.account) and (op is None or not op.cross_account):
                return IMPLICIT
        ec = request.encryption_context
        side_ec = {"kms:reencryptfrom": "SourceEncryptionContext", "kms:reencryptto": "DestinationEncryptionContext"}
        if isinstance(request.parameters.get(side_ec.get(action.lower(), "")), dict):
            ec = request.parameters[side_ec[action.lower()]]
        if action.lower() == "kms:creategrant":
            constraints = request.parameters.get("Constraints") or {}
            ec = constraints.get("EncryptionContextEquals", constraints.get("EncryptionContextSubset"))
        resource_account = key.account if key else who.account
        ctx = _Dict(_context(self.world, request, who, action, key, alias_used, ec, same_key, region,
                             resource_account, False))
        kp_ctx = _Dict(_context(self.world, request, who, action, key, alias_used, ec, same_key, region,
                                resource_account, True))
        layers = self.layers(key, action)
        for layer, policies in layers:
            for p in policies:
                for st in p.statements:
                    c = kp_ctx if layer == "key-policy" else ctx
                    if st.effect == "Deny" and _applies(st, p, layer, who, action, arn, c, self.boundary is not None):
                        return EXPLICIT
        for layer, policies in layers:
            if layer in ("rcp", "scp", "vpc-endpoint") and policies and not self.any_allows(
                policies, layer, action, arn, ctx
            ):
                return IMPLICIT
        if key is None:  # resource-less, or the alias half of an alias operation
            return ALLOW if self.identity_ok(action, arn, ctx) else IMPLICIT
        if op is not None and op.name == "RetireGrant":
            return ALLOW if self.retire_ok(key, action, arn, ctx) else IMPLICIT
        same_account = who.kind == "Service" or who.account == key.account
        if op is None or op.key_policy:
            kinds = {
                _applies(st, key.policy, "key-policy", who, action, arn, kp_ctx, self.boundary is not None)
                for st in key.policy.statements if st.effect == "Allow"
            } - {None}
            if same_account:
                if "direct" in kinds:
                    return ALLOW
                if "role" in kinds and self.caps_ok(action, arn, ctx):
                    return ALLOW
                if "account" in kinds and self.identity_ok(action, arn, ctx):
                    return ALLOW
            elif kinds and self.identity_ok(action, arn, ctx):
                return ALLOW
        return ALLOW if self.grant_ok(key, action, arn, ctx, ec) else IMPLICIT

    def grant_ok(self, key: Key, action: str, arn: str, ctx: _Dict, ec: dict[str, str] | None) -> bool:
        who, request = self.who, self.request
        name = action.split(":", 1)[1].lower()
        op = catalog.operation(action)
        for g in key.grants:
            if name not in {o.lower() for o in g.operations}:
                continue
            if g.pending and (not g.token or g.token not in request.grant_tokens):
                continue
            if name == "creategrant":
                if not self.child_ok(g):
                    continue
            elif op is not None and op.uses_encryption_context and g.constraints is not None:
                have = ec or {}
                if g.constraints.encryption_context_equals is not None and have != g.constraints.encryption_context_equals:
                    continue
                subset = g.constraints.encryption_context_subset
                if subset is not None and any(have.get(k) != v for k, v in subset.items()):
                    continue
            if g.grantee == who.arn and (who.kind != "AssumedRole" or who.session):
                return True
            if who.role is not None and g.grantee == who.role and self.caps_ok(action, arn, ctx):
                return True
            if who.kind != "Account" and g.grantee in (who.root, who.account) and self.identity_ok(action, arn, ctx):
                return True
            if who.kind == "Account" and g.grantee == who.arn:
                return True
        return False

    def child_ok(self, parent: Any) -> bool:
        params = self.request.parameters
        ops = params.get("Operations")
        if ops is not None and not set(ops) <= set(parent.operations):
            return False
        child = params.get("Constraints") or {}
        c = parent.constraints
        if c is None or (c.encryption_context_equals is None and c.encryption_context_subset is None):
            return True
        if c.encryption_context_equals is not None:
            return child.get("EncryptionContextEquals") == c.encryption_context_equals
        pairs = child.get("EncryptionContextEquals", child.get("EncryptionContextSubset"))
        return pairs is not None and all(pairs.get(k) == v for k, v in c.encryption_context_subset.items())

    def retire_ok(self, key: Key, action: str, arn: str, ctx: _Dict) -> bool:
        who, params = self.who, self.request.parameters
        names = {who.arn} | ({who.role} if who.role else set())
        for g in key.grants:
            if "GrantId" in params and g.grant_id != params["GrantId"]:
                continue
            if "GrantId" not in params and "GrantToken" in params and g.token != params["GrantToken"]:
                continue
            if g.retiring in names or (g.grantee in names and "RetireGrant" in g.operations):
                return True
            accounts = {g.issuing_account or key.account}
            if g.retiring and g.retiring.endswith(":root"):
                accounts.add(g.retiring.split(":")[4])
            if who.account in accounts and self.identity_ok(action, arn, ctx):
                return True
        return False

    # -- the whole request ---------------------------------------------------------------------

    def decide(self) -> str:
        request = self.request
        action = request.action
        params = request.parameters
        op = catalog.operation(action)
        if op is None:
            return IMPLICIT  # not an action of KMS: nothing allows it
        if action.lower() in ("kms:reencryptfrom", "kms:reencryptto") and "DestinationKeyId" in params:
            op = catalog.operation("kms:ReEncrypt")
            assert op is not None
        outcomes = []
        for auth in op.authorizations:
            if auth.when is not None and auth.when not in params:
                continue
            region = str(params.get(auth.region) or self.region) if auth.region else self.region
            if auth.resource is None:
                outcomes.append(self.check(auth.action, None, region))
                continue
            alias = params.get("AliasName") or (
                request.key if request.key and (request.key.startswith("alias/") or ":alias/" in request.key) else None)
            if auth.resource == "alias":
                if alias is None:
                    outcomes.append("ValidationException")
                    continue
                name = alias.split(":", 5)[5] if alias.startswith("arn:") else alias
                outcomes.append(self.check(auth.action, None, region,
                                           alias_arn=f"arn:aws:kms:{region}:{self.who.account}:{name}"))
                continue
            target = auth.target or "KeyId"
            if target.endswith(":target"):
                ref = alias
            elif target == "TargetKeyId" and not params.get("TargetKeyId") and alias == request.key:
                ref = None
            else:
                ref = params.get(target) or request.key
            if ref is None:
                outcomes.append("ValidationException")
                continue
            if auth.region and ref.startswith("arn:") and ":key/" in ref:
                ref = ref.split(":key/", 1)[1]
            same = None
            if auth.action in ("kms:ReEncryptFrom", "kms:ReEncryptTo"):
                src = params.get("SourceKeyId") or request.key
                dst = params.get("DestinationKeyId") or request.key
                a = self.find_key(str(src), self.region)[0] if src else None
                b = self.find_key(str(dst), self.region)[0] if dst else None
                same = a is not None and a is b
            outcomes.append(self.check(auth.action, str(ref), region, same_key=same))
        for bad in outcomes:
            if bad not in (ALLOW, EXPLICIT, IMPLICIT):
                return bad
        if EXPLICIT in outcomes:
            return EXPLICIT
        if IMPLICIT in outcomes:
            return IMPLICIT
        return ALLOW


def _arn_region(ref: str | None) -> str | None:
    if ref and ref.startswith("arn:"):
        parts = ref.split(":", 5)
        return parts[3] if len(parts) == 6 and parts[3] else None
    return None


def reference_outcome(world: World, request: Request) -> str:
    """The outcome of ``request`` in ``world``: an effect, or the KMS error met before authorization."""
    return _Reference(world, request).decide()
