"""The KMS operations: validate, resolve the key, ask the evaluator, check the key state, then
touch key material — in that order, for every call (semantics §7.13).

:class:`KMSService` keeps an in-process cache of every key (metadata, parsed policy, the
decrypted material of keys in use), alias and grant, so a hot ``Encrypt`` reads no SQLite row.
Writes go through one SQLite transaction each; the cache and the evaluator's world are updated
after the commit. Changes made by *other processes* on the same store are picked up from the
store's change log at most ``refresh_interval`` seconds later, and always before any write.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes, keywrap
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmsauthz import catalog
from kmsauthz.errors import DocumentTooLargeError, InputError
from kmsauthz.evaluate.resolve import parse_key_ref, resolve
from kmsauthz.kms import crypto, key_states
from kmsauthz.kms.clock import DAY, Clock, to_datetime
from kmsauthz.kms.errors import (
    AccessDeniedException,
    AlreadyExistsException,
    ConflictException,
    DryRunOperationException,
    ExpiredImportTokenException,
    IncorrectKeyException,
    IncorrectKeyMaterialException,
    InvalidAliasNameException,
    InvalidArnException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    InvalidKeyUsageException,
    InvalidMarkerException,
    KMSError,
    KMSInternalException,
    KMSInvalidMacException,
    KMSInvalidStateException,
    LimitExceededException,
    MalformedPolicyDocumentException,
    NotFoundException,
    TagException,
    UnsupportedOperationException,
    ValidationException,
    error_class,
)
from kmsauthz.kms.grants import GrantOperations, check_grant_tokens
from kmsauthz.kms.keystore import (
    AliasRecord,
    GrantRecord,
    KeyRecord,
    Keystore,
    KeystoreError,
    Material,
    parse_ref,
)
from kmsauthz.kms.secrets import SecretBytes
from kmsauthz.kms.validation import Checker, service_model, validators
from kmsauthz.model.decision import Decision
from kmsauthz.model.policy import Policy, PolicyKind
from kmsauthz.model.request import Request
from kmsauthz.model.unchecked import unchecked
from kmsauthz.model.world import Grant, GrantConstraints, Key, World

MAX_KEY_POLICY_BYTES = 32768
MAX_ALIASES_PER_KEY = 50
MAX_KEYS_PER_REGION = 100_000  # customer managed keys per account and Region (resource-limits.html)
MAX_TAGS = 50
MAX_ON_DEMAND_ROTATIONS = 25
IMPORT_TOKEN_TTL = DAY


class AuthorizerLike(Protocol):
    """What the local KMS needs of the evaluator (``kmsauthz.evaluate.Authorizer``)."""

    def decide(self, request: Request) -> Decision: ...
    def put_key(self, key: Key) -> None: ...
    def remove_key(self, region: str, key_id: str, account: str | None = None) -> None: ...
    def put_grant(self, region: str, key_id: str, grant: Grant) -> None: ...
    def remove_grant(self, region: str, key_id: str, grant_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who calls, from where: the part of a request that is not an API parameter."""

    principal: str
    region: str
    account: str | None
    vpc_endpoint: str | None = None
    source_ip: str | None = None
    via_service: str | None = None
    session_policy: Policy | None = None
    wipeable: bool = False
    request_base: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.request_base.update({
            "principal": self.principal, "action": "", "key": None, "region": self.region,
            "session_policy": self.session_policy, "vpc_endpoint": self.vpc_endpoint,
            "source_ip": self.source_ip, "via_service": self.via_service, "encryption_context": None,
            "grant_tokens": (), "parameters": {}, "context": {},
        })


class _Live:
    """A key as this process holds it: record, evaluator model, and decrypted material in use."""

    __slots__ = ("aeads", "current", "model", "private", "rec", "secrets", "spec")

    def __init__(self, rec: KeyRecord, model: Key) -> None:
        self.rec = rec
        self.model = model
        self.spec = crypto.KEY_SPECS[rec.key_spec]
        self.aeads: dict[bytes, AESGCM] = {}
        self.secrets: dict[str, SecretBytes] = {}
        self.private: Any = None
        # (current material's id, blob header, its AES-GCM): what sealing needs, made on first use
        self.current: tuple[str, bytes, AESGCM] | None = None

    def wipe(self) -> None:
        for s in self.secrets.values():
            s.wipe()
        self.secrets.clear()
        self.aeads.clear()
        self.private = None
        self.current = None

    def __repr__(self) -> str:
        return f"_Live({self.rec.arn!r})"


_REQUEST_FIELDS = frozenset(Request.model_fields)
_NO_BLOBS: frozenset[str] = frozenset()
_monotonic = time.monotonic
_ENABLED = key_states.ENABLED
_REFUSES_ENABLED = frozenset(op for op, row in key_states.TABLE.items() if _ENABLED in row)


class _ActionNames(dict[str, str]):
    """Operation -> its IAM action (``Encrypt`` -> ``kms:Encrypt``), each made once."""

    def __missing__(self, operation: str) -> str:
        action = self[operation] = f"kms:{operation}"
        return action


_ACTIONS = _ActionNames()


def _request(values: dict[str, Any]) -> Request:
    """A :class:`Request` without pydantic validation (model_construct costs ~15 us; this ~0.3 us).

    Safe because every field is set here from already-validated values of the right types.
    """
    return unchecked(Request, values, _REQUEST_FIELDS)


def default_key_policy(account: str) -> str:
    """The policy CreateKey attaches when none is given (semantics §6.3, key-policy-default.html)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }],
    }, indent=2)


def _blob_members() -> dict[str, frozenset[str]]:
    model = service_model()
    shapes = model["shapes"]
    out: dict[str, frozenset[str]] = {}
    for name, op in model["operations"].items():
        shape = shapes.get(op.get("input", {}).get("shape", ""), {})
        out[name] = frozenset(m for m, d in shape.get("members", {}).items()
                              if shapes[d["shape"]]["type"] == "blob")
    return out


class KMSService(GrantOperations):
    """Every KMS operation of the local KMS; :class:`kmsauthz.kms.LocalKMS` is the public face."""

    def __init__(self, store: Keystore, world: World, authorizer: AuthorizerLike, clock: Clock, *,
                 refresh_interval: float = 0.05,
                 authorizer_factory: Callable[[World], AuthorizerLike] | None = None) -> None:
        self.store = store
        self.world = world
        self.authorizer = authorizer
        self.clock = clock
        self.refresh_interval = refresh_interval
        self._authorizer_factory = authorizer_factory
        self._lock = threading.RLock()
        self._keys: dict[str, _Live] = {}
        self._key_counts: dict[tuple[str, str], int] = {}  # (account, Region) -> keys, for the quota
        self._by_addr: dict[tuple[str, str, str], _Live] = {}
        self._aliases: dict[tuple[str, str, str], AliasRecord] = {}  # (region, account, name)
        self._alias_targets: dict[tuple[str, str, str], str] = {}
        self._grants: dict[str, dict[str, GrantRecord]] = {}
        self._tokens: dict[str, tuple[str, str]] = {}
        self._policies: dict[str, Policy] = {}
        self._resolved: dict[tuple[Any, ...], _Live] = {}  # cleared on every key/alias change
        self._blob_targets: dict[tuple[str, str], str] = {}  # (ARN in a ciphertext, Region) -> key ARN
        self._principal_arns = {p.arn for p in world.principals}
        self._blobs = _blob_members()
        self._next_refresh = 0.0
        self._time_sec = -1
        # operation -> (its compiled parameter checker, its method): one look-up per call
        self._ops: dict[str, tuple[Checker, Callable[[CallContext, dict[str, Any]], dict[str, Any]]]] = {}
        checkers = validators()
        for name in service_model()["operations"]:
            fn = getattr(self, f"_op_{name}", None)
            self._ops[name] = (checkers[name], fn if fn is not None else self._unsupported(name))

    # ======================================================================== plumbing

    def call_in(self, operation: str, params: Mapping[str, Any], ctx: CallContext) -> dict[str, Any]:
        plan = self._ops.get(operation)
        if plan is None:
            raise UnsupportedOperationException(f"`{operation}` is not a KMS operation",
                                                operation_name=operation)
        try:
            check, fn = plan
            clean = check(params, "")  # validation.validate(operation, params), without its look-ups
            if _monotonic() >= self._next_refresh:
                self._refresh()
            return fn(ctx, clean)
        except KMSError as exc:
            exc.operation_name = operation
            raise
        except Exception as exc:
            # fail closed and never leak internals: an unexpected error is a KMS internal error
            # (the message names the exception type only, never its text, which could hold data)
            raise KMSInternalException(f"internal error in `{operation}`: {type(exc).__name__}",
                                       operation_name=operation) from exc

    def _unsupported(self, name: str) -> Callable[[CallContext, dict[str, Any]], dict[str, Any]]:
        def op(ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
            raise UnsupportedOperationException(f"the local kms does not implement `{name}`")
        return op

    # -- cache ---------------------------------------------------------------------------

    def load(self) -> None:
        """Fill the cache and the evaluator's world from the store (at start-up)."""
        with self.store.reading() as db:
            records = self.store.all_keys(db)
            aliases = self.store.all_aliases(db)
            grants = self.store.all_grants(db)
        for a in aliases:
            self._set_alias(a)
        for g in grants:
            self._grants.setdefault(g.key_arn, {})[g.grant_id] = g
            if g.token:
                self._tokens[g.token] = (g.key_arn, g.grant_id)
        for rec in records:
            self._install(rec, push=False)

    def initial_world_keys(self) -> list[Key]:
        return [live.model for live in self._keys.values()]

    def _refresh(self, db: Any = None) -> None:
        """Apply the changes other processes committed since we last looked."""
        with self._lock:
            self._next_refresh = time.monotonic() + self.refresh_interval
            if db is None:
                with self.store.reading() as rdb:
                    seq, changes = self.store.changes_since(rdb, self.store.last_seq)
                    self._apply_changes(rdb, changes)
            else:
                seq, changes = self.store.changes_since(db, self.store.last_seq)
                self._apply_changes(db, changes)
            self.store.last_seq = seq

    def _everything(self, db: Any) -> list[tuple[str, str]]:
        """Every key, alias and grant, cached or stored: a full reload as a list of changes."""
        store = self.store
        keys = dict.fromkeys([*self._keys, *(r.arn for r in store.all_keys(db))])
        aliases = dict.fromkeys([*(f"{a.account}|{a.region}|{a.name}" for a in self._aliases.values()),
                                 *(f"{a.account}|{a.region}|{a.name}" for a in store.all_aliases(db))])
        grants = dict.fromkeys([*(f"{arn}|{gid}" for arn, per in self._grants.items() for gid in per),
                                *(f"{g.key_arn}|{g.grant_id}" for g in store.all_grants(db))])
        return ([("key", k) for k in keys] + [("alias", a) for a in aliases] + [("grant", g) for g in grants])

    def _apply_changes(self, db: Any, changes: list[tuple[str, str]] | None) -> None:
        if changes is None:
            changes = self._everything(db)
        touched: set[str] = set()
        for kind, ref in dict.fromkeys(changes):
            if kind == "key":
                rec = self.store.get_key(db, ref)
                if rec is None:
                    self._uninstall(ref)
                else:
                    self._install(rec)
            elif kind == "alias":
                account, region, name = parse_ref(ref)
                a = self.store.get_alias(db, account, region, name)
                old = self._aliases.get((region, account, name))
                if old is not None:
                    self._drop_alias(old)
                    touched.add(self._arn(region, account, old.target_key_id))
                if a is not None:
                    self._set_alias(a)
                    touched.add(self._arn(region, account, a.target_key_id))
            elif kind == "grant":
                key_arn, grant_id = parse_ref(ref)
                g = self.store.get_grant(db, key_arn, grant_id)
                if g is None:
                    self._forget_grant(key_arn, grant_id)
                else:
                    self._remember_grant(g)
        for arn in touched:
            live = self._keys.get(arn)
            if live is not None:
                self._push_model(live)

    @staticmethod
    def _arn(region: str, account: str, key_id: str) -> str:
        return f"arn:aws:kms:{region}:{account}:key/{key_id}"

    @staticmethod
    def _authz_view(rec: KeyRecord) -> tuple[Any, ...]:
        """The parts of a key record the evaluator sees (description, rotation, material: not)."""
        return (rec.policy, rec.tags, rec.key_spec, rec.key_usage, rec.origin, rec.multi_region_type, rec.state)

    def _install(self, rec: KeyRecord, *, push: bool = True) -> _Live:
        self._resolved = {}
        old = self._keys.get(rec.arn)
        same = old is not None and self._authz_view(old.rec) == self._authz_view(rec)
        live = _Live(rec, old.model if same and old is not None else self._model(rec))
        if same:
            push = False  # nothing the evaluator sees changed: no recompilation
        if old is not None:
            # keep decrypted material that is still valid; forget what is no longer usable
            if rec.state in (key_states.ENABLED, key_states.PENDING_IMPORT) or rec.state == old.rec.state:
                ids = {m.id for m in rec.materials}
                live.secrets = {k: v for k, v in old.secrets.items() if k in ids}
                for k, v in old.secrets.items():
                    if k not in ids:
                        v.wipe()  # material that was deleted or expired
                live.aeads = {k: v for k, v in old.aeads.items() if k.hex() in ids}
                live.private = old.private if old.rec.current_material == rec.current_material else None
            else:
                old.wipe()
        if old is None:
            scope = (rec.account, rec.region)
            self._key_counts[scope] = self._key_counts.get(scope, 0) + 1
        self._keys[rec.arn] = live
        self._by_addr[(rec.region, rec.account, rec.key_id)] = live
        if push:
            self._push_model(live)
        return live

    def _uninstall(self, arn: str) -> None:
        self._resolved = {}
        live = self._keys.pop(arn, None)
        if live is None:
            return
        live.wipe()
        rec = live.rec
        self._key_counts[(rec.account, rec.region)] = self._key_counts.get((rec.account, rec.region), 1) - 1
        self._by_addr.pop((rec.region, rec.account, rec.key_id), None)
        for g in list(self._grants.pop(arn, {}).values()):
            if g.token:
                self._tokens.pop(g.token, None)
        for a in [a for a in self._aliases.values()
                  if (a.region, a.account, a.target_key_id) == (rec.region, rec.account, rec.key_id)]:
            self._drop_alias(a)
        self.authorizer.remove_key(rec.region, rec.key_id, rec.account)

    def _set_alias(self, a: AliasRecord) -> None:
        self._resolved = {}
        self._aliases[(a.region, a.account, a.name)] = a
        self._alias_targets[(a.region, a.account, a.name)] = a.target_key_id

    def _drop_alias(self, a: AliasRecord) -> None:
        self._resolved = {}
        self._aliases.pop((a.region, a.account, a.name), None)
        self._alias_targets.pop((a.region, a.account, a.name), None)

    def _remember_grant(self, g: GrantRecord) -> None:
        self._grants.setdefault(g.key_arn, {})[g.grant_id] = g
        if g.token:
            self._tokens[g.token] = (g.key_arn, g.grant_id)
        live = self._keys.get(g.key_arn)
        if live is not None:
            self.authorizer.put_grant(live.rec.region, live.rec.key_id, self._grant_model(g))

    def _forget_grant(self, key_arn: str, grant_id: str) -> None:
        g = self._grants.get(key_arn, {}).pop(grant_id, None)
        if g is not None and g.token:
            self._tokens.pop(g.token, None)
        live = self._keys.get(key_arn)
        if live is not None:
            self.authorizer.remove_grant(live.rec.region, live.rec.key_id, grant_id)

    def _policy(self, text: str, arn: str) -> Policy:
        pol = self._policies.get(text)
        if pol is None:
            pol = parse_key_policy(text, arn)
            if len(self._policies) > 4096:
                self._policies.clear()
            self._policies[text] = pol
        return pol

    def _aliases_of(self, rec: KeyRecord) -> tuple[str, ...]:
        return tuple(sorted(a.name for a in self._aliases.values()
                            if (a.region, a.account, a.target_key_id) == (rec.region, rec.account, rec.key_id)))

    def _model(self, rec: KeyRecord) -> Key:
        return Key(
            id=rec.key_id, account=rec.account, region=rec.region, key_spec=rec.key_spec,
            key_usage=rec.key_usage, origin=rec.origin, state=rec.state,
            multi_region_type=rec.multi_region_type, aliases=self._aliases_of(rec), tags=dict(rec.tags),
            policy=self._policy(rec.policy, rec.arn),
            grants=[self._grant_model(g) for g in self._grants.get(rec.arn, {}).values()],
        )

    def _push_model(self, live: _Live) -> None:
        live.model = self._model(live.rec)
        self.authorizer.put_key(live.model)

    @staticmethod
    def _grant_model(g: GrantRecord) -> Grant:
        c = g.constraints or {}
        cons = None
        if c:
            cons = GrantConstraints(encryption_context_equals=c.get("EncryptionContextEquals"),
                                    encryption_context_subset=c.get("EncryptionContextSubset"))
        return Grant(grant_id=g.grant_id, name=g.name, grantee=g.grantee, retiring=g.retiring,
                     operations=tuple(g.operations), constraints=cons,
                     issuing_account=g.issuing_account.removeprefix("arn:aws:iam::").removesuffix(":root"),
                     token=g.token, pending=g.pending, creation_date=to_datetime(g.created))

    # -- writes --------------------------------------------------------------------------

    def _write(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(db)`` in one write transaction, on a cache refreshed under the write lock."""
        with self._lock, self.store.transaction() as db:
            self._refresh(db)
            result = fn(db)
            seq, changes = self.store.changes_since(db, self.store.last_seq)
        # our own changes: apply them to the cache (after commit), skip them next refresh
        with self._lock:
            with self.store.reading() as rdb:
                self._apply_changes(rdb, changes)
            self.store.last_seq = max(self.store.last_seq, seq)
        return result

    # -- time ----------------------------------------------------------------------------

    def _now(self) -> float:
        return self.clock.time()

    def _tick(self) -> None:
        """Keep the evaluator's ``world.now`` (``aws:CurrentTime``, ``aws:EpochTime``) on the clock.

        The local KMS owns the world it hands the evaluator, so it moves that world's time once a
        second rather than passing the time as a per-request override.
        """
        sec = int(self.clock.time())
        if sec != self._time_sec:
            self._time_sec = sec
            world = getattr(self.authorizer, "world", None)
            if isinstance(world, World):
                world.now = to_datetime(sec)

    def _due(self, live: _Live) -> None:
        """Lazy timers: end of a deletion window, expiry of imported material, automatic rotation."""
        rec = live.rec
        now = self.clock.time()
        if rec.deletion_date is not None and now >= rec.deletion_date and rec.state == key_states.PENDING_DELETION:
            self._write(lambda db: self._delete_key_now(db, rec.arn))
            raise NotFoundException(f"Key '{rec.arn}' does not exist")
        if rec.valid_to is not None and now >= rec.valid_to and rec.current_material is not None:
            self._write(lambda db: self._expire_material(db, rec.arn))
        elif (rec.next_rotation is not None and now >= rec.next_rotation
              and rec.state == key_states.ENABLED and rec.multi_region_type != "REPLICA"):
            self._write(lambda db: self._rotate(db, rec.arn, "AUTOMATIC", scheduled=True))

    # ======================================================================== helpers

    def _resolve(self, ctx: CallContext, ref: str, operation: str | None = None) -> _Live:
        if (operation in _NO_ALIASES and ref.startswith(("alias/", "arn:"))
                and parse_key_ref(ref).kind in ("alias", "alias-arn")):
            raise InvalidArnException(f"key aliases are not supported for `{operation}`: `{ref}`")
        memo = (ref, ctx.account, ctx.region)
        live = self._resolved.get(memo)
        if live is None:
            r = resolve(ref, caller_account=ctx.account, region=ctx.region, keys=self._by_addr,
                        aliases=self._alias_targets)
            if r.error is not None or r.entry is None:
                raise NotFoundException(r.message or f"key `{ref}` does not exist")
            live = r.entry
            if len(self._resolved) > 65536:
                self._resolved = {}
            self._resolved[memo] = live
        rec = live.rec
        if rec.deletion_date is not None or rec.valid_to is not None or rec.next_rotation is not None:
            self._due(live)
            live = self._keys.get(rec.arn) or live
        return live

    _BLOB = object()  # marks a `_resolved` entry made for a ciphertext's key ARN

    def _blob_key(self, ctx: CallContext, blob: bytes) -> tuple[_Live, crypto.ParsedBlob]:
        """The key a ciphertext names, as Decrypt finds it in the caller's account and Region."""
        parsed = crypto.parse_blob(blob)
        memo = (parsed.key_arn, ctx.account, ctx.region, self._BLOB)
        live = self._resolved.get(memo)
        if live is None:
            live = self._blob_target(ctx, parsed)  # runs the key's lazy timers
            if len(self._resolved) > 65536:
                self._resolved = {}
            self._resolved[memo] = live  # forgotten, as every entry, on any key or alias change
            return live, parsed
        rec = live.rec
        if rec.deletion_date is not None or rec.valid_to is not None or rec.next_rotation is not None:
            try:
                live = self._resolve(ctx, rec.arn)  # the lazy timers, as _resolve runs them
            except NotFoundException:
                raise self._unknown_blob_key(parsed) from None
        return live, parsed

    @staticmethod
    def _unknown_blob_key(parsed: crypto.ParsedBlob) -> InvalidCiphertextException:
        # a forged header, a deleted key, or a single-Region key of another Region: the blob
        # cannot be authenticated, so it is an invalid ciphertext whatever the cause
        return InvalidCiphertextException(
            f"the ciphertext names key `{parsed.key_arn}`, which does not exist in this account and Region")

    def _authorize(self, ctx: CallContext, action: str, key: str | None, params: Mapping[str, Any] | None = None,
                   *, operation: str | None = None, encryption_context: Mapping[str, str] | None = None,
                   region: str | None = None) -> Decision:
        parameters: dict[str, Any] = self._parameters(operation or action[4:], params) if params else {}
        return self._decide(ctx, action, key, parameters, encryption_context, region)

    def _parameters(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters the evaluator sees: all but the operation's blobs (plaintext, ciphertext)."""
        parameters = dict(params)
        for name in self._blobs.get(operation, _NO_BLOBS):
            parameters.pop(name, None)
        return parameters

    def _decide(self, ctx: CallContext, action: str, key: str | None, parameters: dict[str, Any],
                encryption_context: Mapping[str, str] | None, region: str | None) -> Decision:
        """Ask the evaluator; raise its error, or AccessDeniedException (with the decision) on a deny."""
        if int(self.clock.time()) != self._time_sec:
            self._tick()
        tokens = parameters.get("GrantTokens")
        req = unchecked(Request, {**ctx.request_base, "action": action, "key": key,
                                  "region": ctx.region if region is None else region,
                                  "encryption_context": dict(encryption_context) if encryption_context else None,
                                  "grant_tokens": tuple(tokens) if tokens else (), "parameters": parameters},
                        _REQUEST_FIELDS)
        d = self.authorizer.decide(req)
        if d.error is not None:
            raise error_class(d.error)(d.reason or f"`{key}` cannot be used")
        if not d.allowed:
            raise AccessDeniedException(d.reason or (
                f"User: {ctx.principal} is not authorized to perform: {action} on resource: "
                f"{d.resource or key or '*'}"), decision=d)
        return d

    def _check_tokens(self, params: Mapping[str, Any]) -> None:
        tokens = params.get("GrantTokens")
        if tokens:
            check_grant_tokens(tokens, self._tokens)

    @staticmethod
    def _dry_run(params: Mapping[str, Any]) -> None:
        if params.get("DryRun"):
            raise DryRunOperationException("the request would have succeeded, but the `DryRun` parameter was set")

    def _use(self, ctx: CallContext, operation: str, params: Mapping[str, Any], *, ref_param: str = "KeyId",
             encryption_context: Mapping[str, str] | None = None) -> _Live:
        """Resolve → grant tokens → authorize → key state, for a one-key operation."""
        ref = params[ref_param]
        live = self._resolve(ctx, ref, operation)
        tokens = params.get("GrantTokens")
        if tokens:
            check_grant_tokens(tokens, self._tokens)
        self._decide(ctx, _ACTIONS[operation], ref, self._parameters(operation, params) if params else {},
                     encryption_context, None)
        rec = live.rec
        if rec.state != _ENABLED or operation in _REFUSES_ENABLED:
            key_states.check_state(operation, rec.state, rec.arn)
        return live

    # -- material ------------------------------------------------------------------------

    def _secret(self, live: _Live, material_id: str) -> SecretBytes:
        s = live.secrets.get(material_id)
        if s is None:
            try:
                raw = self.store.get_material(live.rec.arn, material_id)
            except KeystoreError as exc:
                raise KMSInternalException(str(exc)) from None
            if raw is None:
                raise InvalidCiphertextException("the key material that produced this ciphertext is not available")
            s = SecretBytes(raw)
            raw[:] = bytes(len(raw))
            live.secrets[material_id] = s
        return s

    def _aead(self, live: _Live, mid: bytes) -> AESGCM:
        a = live.aeads.get(mid)
        if a is None:
            a = AESGCM(bytes(self._secret(live, mid.hex())))
            live.aeads[mid] = a
        return a

    def _current(self, live: _Live) -> Material:
        m = live.rec.current_material
        if m is None:
            raise KMSInvalidStateException(f"key `{live.rec.arn}` has no key material (pending import)")
        return m

    def _seal(self, live: _Live, plaintext: bytes | bytearray | memoryview, ec: Mapping[str, str] | None) -> tuple[bytes, str]:
        cur = live.current
        if cur is None:
            m = self._current(live)
            mid = bytes.fromhex(m.id)
            header = crypto.blob_header(live.rec.arn, mid)
            cur = live.current = (m.id, header, self._aead(live, mid))
        mid_hex, header, aead = cur
        return crypto.seal(aead, header, plaintext, ec), mid_hex

    def _private(self, live: _Live) -> Any:
        if live.private is None:
            m = self._current(live)
            live.private = crypto.load_private_key(self._secret(live, m.id).buffer)
        return live.private

    def _blob_target(self, ctx: CallContext, parsed: crypto.ParsedBlob) -> _Live:
        arn = self._blob_targets.get((parsed.key_arn, ctx.region))
        if arn is None:
            ref = parse_key_ref(parsed.key_arn)
            if ref.kind != "arn":
                raise InvalidCiphertextException("the ciphertext is corrupt")
            arn = parsed.key_arn
            if ref.region != ctx.region and ref.name.startswith("mrk-"):
                arn = self._arn(ctx.region, ref.account or "", ref.name)  # the replica in this Region
            if len(self._blob_targets) > 65536:
                self._blob_targets = {}
            self._blob_targets[(parsed.key_arn, ctx.region)] = arn
        try:
            return self._resolve(ctx, arn)
        except NotFoundException:
            raise self._unknown_blob_key(parsed) from None

    # ======================================================================== keys

    def _metadata(self, live: _Live) -> dict[str, Any]:
        rec = live.rec
        spec = live.spec
        md: dict[str, Any] = {
            "AWSAccountId": rec.account,
            "KeyId": rec.key_id,
            "Arn": rec.arn,
            "CreationDate": to_datetime(rec.creation_date),
            "Enabled": rec.state == key_states.ENABLED,
            "Description": rec.description,
            "KeyUsage": rec.key_usage,
            "KeyState": rec.state,
            "Origin": rec.origin,
            "KeyManager": "CUSTOMER",
            "CustomerMasterKeySpec": rec.key_spec,
            "KeySpec": rec.key_spec,
            "MultiRegion": rec.multi_region_type is not None,
        }
        if rec.deletion_date is not None and rec.state == key_states.PENDING_DELETION:
            md["DeletionDate"] = to_datetime(rec.deletion_date)
        if rec.state in (key_states.PENDING_DELETION, key_states.PENDING_REPLICA_DELETION) and rec.pending_window_days:
            md["PendingDeletionWindowInDays"] = rec.pending_window_days
        if rec.origin == "EXTERNAL":
            if rec.expiration_model:
                md["ExpirationModel"] = rec.expiration_model
            if rec.valid_to is not None:
                md["ValidTo"] = to_datetime(rec.valid_to)
        if rec.key_usage == "ENCRYPT_DECRYPT":
            md["EncryptionAlgorithms"] = list(spec.encryption)
        elif rec.key_usage == "SIGN_VERIFY":
            md["SigningAlgorithms"] = list(spec.signing)
        elif rec.key_usage == "GENERATE_VERIFY_MAC":
            md["MacAlgorithms"] = list(spec.mac)
        elif rec.key_usage == "KEY_AGREEMENT":
            md["KeyAgreementAlgorithms"] = list(spec.key_agreement)
        if rec.multi_region_type is not None:
            md["MultiRegionConfiguration"] = self._mr_config(rec)
        cur = rec.current_material
        if cur is not None and spec.kind == "symmetric":
            md["CurrentKeyMaterialId"] = cur.id
        return md

    def _mr_config(self, rec: KeyRecord) -> dict[str, Any]:
        copies = sorted((lv.rec for lv in self._keys.values()
                         if lv.rec.key_id == rec.key_id and lv.rec.account == rec.account),
                        key=lambda r: r.region)
        primary = next((r for r in copies if r.multi_region_type == "PRIMARY"), rec)
        return {
            "MultiRegionKeyType": rec.multi_region_type,
            "PrimaryKey": {"Arn": primary.arn, "Region": primary.region},
            "ReplicaKeys": [{"Arn": r.arn, "Region": r.region} for r in copies if r.multi_region_type == "REPLICA"],
        }

    def _check_policy(self, ctx: CallContext, text: str, candidate: KeyRecord, bypass: bool) -> None:
        """Syntax, size, principals and the lockout safety check of a new key policy."""
        if len(text.encode("utf-8")) > MAX_KEY_POLICY_BYTES:
            raise LimitExceededException(f"the key policy is larger than {MAX_KEY_POLICY_BYTES} bytes")
        policy = parse_key_policy(text, candidate.arn)
        bad = [v for v in _named_principals(policy) if not self._principal_exists(v)]
        if bad:
            raise MalformedPolicyDocumentException(
                f"policy contains a statement with one or more invalid principals: `{bad[0]}`")
        if bypass:
            return
        # Lockout safety check: would the caller still be allowed PutKeyPolicy under the new policy?
        # Asked of an evaluator whose world holds just the candidate key.
        model = self._model(candidate).model_copy(update={"policy": policy})
        scratch = self._scratch_authorizer(model)
        req = Request(principal=ctx.principal, action="kms:PutKeyPolicy", key=candidate.arn,
                      region=candidate.region, session_policy=ctx.session_policy,
                      vpc_endpoint=ctx.vpc_endpoint, source_ip=ctx.source_ip, via_service=ctx.via_service)
        d = scratch.decide(req)
        if not d.allowed:
            raise MalformedPolicyDocumentException(
                "the new key policy will not allow you to update the key policy in the future")

    def _scratch_authorizer(self, key: Key) -> AuthorizerLike:
        world = self.world.model_copy(update={"keys": [key], "now": to_datetime(int(self.clock.time()))})
        if self._authorizer_factory is None:
            from kmsauthz.evaluate import Authorizer
            return Authorizer(world)
        return self._authorizer_factory(world)

    def _principal_exists(self, value: str) -> bool:
        if value == "*" or value.isdigit() or value.endswith(":root"):
            return True
        if not value.startswith("arn:"):
            return True  # service principals and the like
        parts = value.split(":", 5)
        if len(parts) != 6:
            return False
        res = parts[5]
        if parts[2] == "iam" and res.startswith(("user/", "role/")):
            return value in self._principal_arns
        if parts[2] == "sts" and res.startswith("assumed-role/"):
            role = res.split("/")[1]
            return any(a.startswith(f"arn:aws:iam::{parts[4]}:role/") and a.rsplit("/", 1)[-1] == role
                       for a in self._principal_arns)
        return parts[2] in ("iam", "sts")

    def _op_CreateKey(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        spec_name = p.get("KeySpec") or p.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
        if "KeySpec" in p and "CustomerMasterKeySpec" in p and p["KeySpec"] != p["CustomerMasterKeySpec"]:
            raise ValidationException("1 validation error detected: `KeySpec` and `CustomerMasterKeySpec` differ")
        spec = crypto.KEY_SPECS.get(spec_name)
        if spec is None:
            raise UnsupportedOperationException(f"key spec `{spec_name}` is not supported by the local kms")
        usage = p.get("KeyUsage") or ("ENCRYPT_DECRYPT" if spec.kind == "symmetric" else None)
        if usage is None:
            raise ValidationException(f"1 validation error detected: `KeyUsage` is required for `{spec_name}` keys")
        if usage not in spec.usages:
            raise ValidationException(
                f"1 validation error detected: key usage `{usage}` is not valid for key spec `{spec_name}`")
        origin = p.get("Origin", "AWS_KMS")
        if origin not in ("AWS_KMS", "EXTERNAL") or "CustomKeyStoreId" in p or "XksKeyId" in p:
            raise UnsupportedOperationException("custom key stores are not supported by the local kms")
        multi = bool(p.get("MultiRegion", False))
        tags = _tags(p.get("Tags", []))
        if ctx.account is None:
            raise AccessDeniedException(f"`{ctx.principal}` cannot create keys")
        # one decision: kms:CreateKey, and kms:TagResource when Tags are given (the catalog's checks)
        self._authorize(ctx, "kms:CreateKey", None, p, operation="CreateKey")
        key_id = ("mrk-" + uuid.uuid4().hex) if multi else str(uuid.uuid4())
        now = self._now()
        rec = KeyRecord(
            arn=self._arn(ctx.region, ctx.account, key_id), key_id=key_id, account=ctx.account,
            region=ctx.region, key_spec=spec_name, key_usage=usage, origin=origin,
            state=key_states.PENDING_IMPORT if origin == "EXTERNAL" else key_states.ENABLED,
            policy=p.get("Policy") or default_key_policy(ctx.account), creation_date=now,
            description=p.get("Description", ""), tags=tags,
            multi_region_type="PRIMARY" if multi else None, primary_region=ctx.region if multi else None,
        )
        if "Policy" in p:
            self._check_policy(ctx, rec.policy, rec, bool(p.get("BypassPolicyLockoutSafetyCheck")))
        secret = None
        if origin == "AWS_KMS":
            secret = crypto.generate_material(spec_name)
            rec.materials.append(Material(id=crypto.new_material_id().hex(), created=now))
        else:
            rec.expiration_model = None

        def tx(db: Any) -> None:
            self._key_quota(rec)
            self.store.put_key(db, rec)
            if secret is not None:
                self.store.put_material(db, rec.arn, rec.materials[0].id, secret)
        self._write(tx)
        return {"KeyMetadata": self._metadata(self._keys[rec.arn])}

    def _key_quota(self, rec: KeyRecord) -> None:
        """The customer managed keys quota, checked in the write transaction (the cache is fresh there)."""
        if self._key_counts.get((rec.account, rec.region), 0) >= MAX_KEYS_PER_REGION:
            raise LimitExceededException(
                f"account `{rec.account}` has {MAX_KEYS_PER_REGION} keys in `{rec.region}`, its quota")

    def _op_DescribeKey(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._use(ctx, "DescribeKey", p)
        return {"KeyMetadata": self._metadata(live)}

    def _op_ListKeys(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        self._authorize(ctx, "kms:ListKeys", None, p, operation="ListKeys")
        self._sweep()
        recs = [lv.rec for lv in self._keys.values() if lv.rec.account == ctx.account and lv.rec.region == ctx.region]
        page, more, marker = _page(recs, p, 100, lambda r: r.key_id)
        out: dict[str, Any] = {"Keys": [{"KeyId": r.key_id, "KeyArn": r.arn} for r in page], "Truncated": more}
        if more:
            out["NextMarker"] = marker
        return out

    def _sweep(self) -> None:
        """Run the lazy timers of every key (before listing)."""
        for live in list(self._keys.values()):
            rec = live.rec
            if rec.deletion_date is not None or rec.valid_to is not None or rec.next_rotation is not None:
                with contextlib.suppress(NotFoundException):
                    self._due(live)

    def _set_state(self, ctx: CallContext, operation: str, p: dict[str, Any], state: str) -> dict[str, Any]:
        live = self._use(ctx, operation, p)
        arn = live.rec.arn

        def tx(db: Any) -> None:
            rec = self.store.get_key(db, arn)
            assert rec is not None
            if rec.state != state:
                rec.state = state  # an overdue rotation happens on the next use (lazy timer)
                self.store.put_key(db, rec)
        self._write(tx)
        return {}

    def _op_EnableKey(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        return self._set_state(ctx, "EnableKey", p, key_states.ENABLED)

    def _op_DisableKey(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        return self._set_state(ctx, "DisableKey", p, key_states.DISABLED)

    def _op_ScheduleKeyDeletion(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        days = p.get("PendingWindowInDays", 30)
        if not 7 <= days <= 30:
            raise ValidationException(
                "1 validation error detected: value at `PendingWindowInDays` failed to satisfy constraint: "
                "member must have value between 7 and 30")
        live = self._use(ctx, "ScheduleKeyDeletion", p)
        arn = live.rec.arn
        replicas = [lv for lv in self._keys.values() if lv.rec.key_id == live.rec.key_id
                    and lv.rec.account == live.rec.account and lv.rec.multi_region_type == "REPLICA"]
        now = self._now()
        holder: dict[str, KeyRecord] = {}

        def tx(db: Any) -> None:
            rec = self.store.get_key(db, arn)
            assert rec is not None
            rec.state_before_deletion = rec.state
            rec.pending_window_days = days
            if rec.multi_region_type == "PRIMARY" and replicas:
                rec.state = key_states.PENDING_REPLICA_DELETION
                rec.deletion_date = None
            else:
                rec.state = key_states.PENDING_DELETION
                rec.deletion_date = now + days * DAY
            self.store.put_key(db, rec)
            holder["rec"] = rec
        self._write(tx)
        rec = holder["rec"]
        out: dict[str, Any] = {"KeyId": rec.arn, "KeyState": rec.state, "PendingWindowInDays": days}
        if rec.deletion_date is not None:
            out["DeletionDate"] = to_datetime(rec.deletion_date)
        return out

    def _op_CancelKeyDeletion(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._use(ctx, "CancelKeyDeletion", p)
        arn = live.rec.arn

        def tx(db: Any) -> None:
            rec = self.store.get_key(db, arn)
            assert rec is not None
            rec.state = key_states.DISABLED  # CancelKeyDeletion leaves the key Disabled (API doc)
            rec.deletion_date = None
            rec.pending_window_days = None
            rec.state_before_deletion = None
            self.store.put_key(db, rec)
        self._write(tx)
        return {"KeyId": arn}

    def _delete_key_now(self, db: Any, arn: str) -> None:
        rec = self.store.get_key(db, arn)
        if rec is None:
            return
        self.store.delete_key(db, arn)
        for a in self.store.all_aliases(db):
            if (a.region, a.account, a.target_key_id) == (rec.region, rec.account, rec.key_id):
                self.store.delete_alias(db, a.account, a.region, a.name)
        if rec.multi_region_type == "REPLICA":
            primary = self.store.get_key(db, self._arn(rec.primary_region or "", rec.account, rec.key_id))
            if primary is not None and primary.state == key_states.PENDING_REPLICA_DELETION:
                others = [r for r in self.store.all_keys(db) if r.key_id == rec.key_id and r.account == rec.account
                          and r.multi_region_type == "REPLICA"]
                if not others:
                    primary.state = key_states.PENDING_DELETION
                    primary.deletion_date = self._now() + (primary.pending_window_days or 30) * DAY
                    self.store.put_key(db, primary)

    def _op_UpdateKeyDescription(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._use(ctx, "UpdateKeyDescription", p)
        return self._mutate(live.rec.arn, lambda rec: setattr(rec, "description", p["Description"]))

    def _mutate(self, arn: str, change: Callable[[KeyRecord], Any]) -> dict[str, Any]:
        def tx(db: Any) -> None:
            rec = self.store.get_key(db, arn)
            if rec is None:
                raise NotFoundException(f"Key '{arn}' does not exist")
            change(rec)
            self.store.put_key(db, rec)
        self._write(tx)
        return {}

    def _op_TagResource(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        new = _tags(p["Tags"])
        live = self._use(ctx, "TagResource", p)

        def change(rec: KeyRecord) -> None:
            merged = {**rec.tags, **new}
            if len(merged) > MAX_TAGS:
                raise LimitExceededException(f"a key can have at most {MAX_TAGS} tags")
            rec.tags = merged
        return self._mutate(live.rec.arn, change)

    def _op_UntagResource(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._use(ctx, "UntagResource", p)
        drop = set(p["TagKeys"])
        return self._mutate(live.rec.arn, lambda rec: setattr(
            rec, "tags", {k: v for k, v in rec.tags.items() if k not in drop}))

    def _op_ListResourceTags(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._use(ctx, "ListResourceTags", p)
        items = sorted(live.rec.tags.items())
        page, more, marker = _page(items, p, 50, lambda kv: kv[0])
        out: dict[str, Any] = {"Tags": [{"TagKey": k, "TagValue": v} for k, v in page], "Truncated": more}
        if more:
            out["NextMarker"] = marker
        return out

    def _op_GetKeyPolicy(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        name = p.get("PolicyName", "default")
        live = self._use(ctx, "GetKeyPolicy", p)
        if name != "default":
            raise NotFoundException(f"no key policy named `{name}`: a key has one policy, `default`")
        return {"Policy": live.rec.policy, "PolicyName": "default"}

    def _op_ListKeyPolicies(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        self._use(ctx, "ListKeyPolicies", p)
        return {"PolicyNames": ["default"], "Truncated": False}

    def _op_PutKeyPolicy(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        name = p.get("PolicyName", "default")
        if name != "default":
            raise ValidationException("1 validation error detected: `PolicyName` must be `default`")
        live = self._use(ctx, "PutKeyPolicy", p)
        text = p["Policy"]
        self._check_policy(ctx, text, live.rec, bool(p.get("BypassPolicyLockoutSafetyCheck")))
        return self._mutate(live.rec.arn, lambda rec: setattr(rec, "policy", text))

    # ======================================================================== import

    def _external(self, live: _Live, what: str) -> None:
        if live.rec.origin != "EXTERNAL":
            raise UnsupportedOperationException(f"{what} is only for keys with origin `EXTERNAL`: `{live.rec.arn}`")

    def _op_GetParametersForImport(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._use(ctx, "GetParametersForImport", p)
        self._external(live, "GetParametersForImport")
        algorithm = p["WrappingAlgorithm"]
        if algorithm == "RSAES_PKCS1_V1_5":
            raise ValidationException("1 validation error detected: `RSAES_PKCS1_V1_5` is no longer supported")
        if algorithm == "SM2PKE" or p["WrappingKeySpec"] == "SM2":
            raise UnsupportedOperationException("SM2 is only available in China Regions")
        if live.spec.asymmetric and not algorithm.startswith("RSA_AES_KEY_WRAP"):
            raise ValidationException(
                f"1 validation error detected: asymmetric key material needs an `RSA_AES_KEY_WRAP_*` "
                f"wrapping algorithm, not `{algorithm}`")
        wrapping = rsa.generate_private_key(public_exponent=65537, key_size=int(p["WrappingKeySpec"][4:]))
        token_id = os.urandom(32)
        valid_to = self._now() + IMPORT_TOKEN_TTL
        arn = live.rec.arn
        params = {
            "token": token_id.hex(), "algorithm": algorithm, "valid_to": valid_to,
            "wrapping_key": self.store.wrap_secret(crypto.private_key_der(wrapping), f"import|{arn}"),
        }
        self._mutate(arn, lambda rec: setattr(rec, "import_params", params))
        return {"KeyId": arn, "ImportToken": _IMPORT_MAGIC + token_id, "PublicKey": crypto.public_key_der(wrapping),
                "ParametersValidTo": to_datetime(valid_to)}

    def _op_ImportKeyMaterial(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        model = p.get("ExpirationModel", "KEY_MATERIAL_EXPIRES")
        valid_to = p.get("ValidTo")
        if model == "KEY_MATERIAL_EXPIRES" and valid_to is None:
            raise ValidationException("1 validation error detected: `ValidTo` is required when key material expires")
        if model == "KEY_MATERIAL_DOES_NOT_EXPIRE" and valid_to is not None:
            raise ValidationException(
                "1 validation error detected: `ValidTo` is not allowed with `KEY_MATERIAL_DOES_NOT_EXPIRE`")
        live = self._use(ctx, "ImportKeyMaterial", p)
        self._external(live, "ImportKeyMaterial")
        now = self._now()
        if valid_to is not None:
            vt = valid_to.timestamp()
            if vt <= now or vt > now + 365 * DAY:
                raise ValidationException(
                    "1 validation error detected: `ValidTo` must be in the future and at most 365 days ahead")
        rec = live.rec
        ip = rec.import_params
        token = p["ImportToken"]
        if not token.startswith(_IMPORT_MAGIC) or ip is None or token[len(_IMPORT_MAGIC):].hex() != ip["token"]:
            raise InvalidImportTokenException("the import token is not the one GetParametersForImport returned for this key")
        if now > ip["valid_to"]:
            raise ExpiredImportTokenException("the import token has expired: call GetParametersForImport again")
        wrapping = crypto.load_private_key(self.store.unwrap_secret(ip["wrapping_key"], f"import|{rec.arn}"))
        material = _unwrap_import(wrapping, ip["algorithm"], p["EncryptedKeyMaterial"])
        if not crypto.material_matches_spec(material, rec.key_spec):
            raise IncorrectKeyMaterialException(f"the key material does not fit key spec `{rec.key_spec}`")
        fp = crypto.fingerprint(b"kmsauthz/material-id|" + rec.arn.encode() + b"|" + material)
        if rec.materials and rec.materials[0].id != fp:
            raise IncorrectKeyMaterialException("this key was created with different key material")
        arn = rec.arn

        def tx(db: Any) -> None:
            r = self.store.get_key(db, arn)
            assert r is not None
            r.materials = [Material(id=fp, created=now, import_state="IMPORTED", valid_to=valid_to.timestamp()
                                    if valid_to else None, expiration_model=model,
                                    description=p.get("KeyMaterialDescription"))]
            r.valid_to = valid_to.timestamp() if valid_to else None
            r.expiration_model = model
            r.import_params = None
            if r.state == key_states.PENDING_IMPORT:
                r.state = key_states.ENABLED
            self.store.put_key(db, r)
            self.store.put_material(db, arn, fp, material)
        self._write(tx)
        return {"KeyId": arn, "KeyMaterialId": fp}

    def _expire_material(self, db: Any, arn: str) -> None:
        rec = self.store.get_key(db, arn)
        if rec is None:
            return
        self.store.delete_material(db, arn)
        for m in rec.materials:
            m.import_state = "PENDING_IMPORT"
        if rec.state not in (key_states.PENDING_DELETION, key_states.PENDING_REPLICA_DELETION):
            rec.state = key_states.PENDING_IMPORT
        rec.valid_to = None
        self.store.put_key(db, rec)

    def _op_DeleteImportedKeyMaterial(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._use(ctx, "DeleteImportedKeyMaterial", p)
        self._external(live, "DeleteImportedKeyMaterial")
        mid = live.rec.materials[0].id if live.rec.materials else None
        self._write(lambda db: self._expire_material(db, live.rec.arn))
        out: dict[str, Any] = {"KeyId": live.rec.arn}
        if mid:
            out["KeyMaterialId"] = mid
        return out

    # ======================================================================== multi-Region

    def _op_ReplicateKey(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        target = p["ReplicaRegion"]
        tags = _tags(p.get("Tags", []))
        live = self._resolve(ctx, p["KeyId"], "ReplicateKey")
        # one decision: kms:ReplicateKey on the primary, kms:CreateKey (+ kms:TagResource with Tags)
        # in the replica Region (the catalog's checks for ReplicateKey)
        self._authorize(ctx, "kms:ReplicateKey", p["KeyId"], p, operation="ReplicateKey")
        key_states.check_state("ReplicateKey", live.rec.state, live.rec.arn)
        src = live.rec
        if src.multi_region_type != "PRIMARY":
            raise UnsupportedOperationException(f"`{src.arn}` is not a multi-Region primary key")
        if target == src.region:
            raise ValidationException("1 validation error detected: `ReplicaRegion` is the primary key's Region")
        arn = self._arn(target, src.account, src.key_id)
        if arn in self._keys:
            raise AlreadyExistsException(f"a replica of `{src.key_id}` already exists in `{target}`")
        rec = KeyRecord(
            arn=arn, key_id=src.key_id, account=src.account, region=target, key_spec=src.key_spec,
            key_usage=src.key_usage, origin=src.origin, policy=p.get("Policy") or default_key_policy(src.account),
            state=src.state if src.state == key_states.ENABLED else key_states.PENDING_IMPORT,
            creation_date=self._now(), description=p.get("Description", ""), tags=tags,
            multi_region_type="REPLICA", primary_region=src.region, rotation_enabled=src.rotation_enabled,
            rotation_period_days=src.rotation_period_days,
            materials=[Material(**vars(m)) for m in src.materials] if src.origin == "AWS_KMS" else [],
        )
        if "Policy" in p:
            self._check_policy(ctx, rec.policy, rec, bool(p.get("BypassPolicyLockoutSafetyCheck")))
        secrets = {m.id: bytes(self._secret(live, m.id)) for m in rec.materials}

        def tx(db: Any) -> None:
            self._key_quota(rec)
            self.store.put_key(db, rec)
            for mid, s in secrets.items():
                self.store.put_material(db, arn, mid, s)
        self._write(tx)
        return {"ReplicaKeyMetadata": self._metadata(self._keys[arn]), "ReplicaPolicy": rec.policy,
                "ReplicaTags": [{"TagKey": k, "TagValue": v} for k, v in tags.items()]}

    def _op_UpdatePrimaryRegion(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        target = p["PrimaryRegion"]
        live = self._resolve(ctx, p["KeyId"], "UpdatePrimaryRegion")
        # one decision: kms:UpdatePrimaryRegion on the primary and on the replica in PrimaryRegion
        self._authorize(ctx, "kms:UpdatePrimaryRegion", p["KeyId"], p, operation="UpdatePrimaryRegion")
        key_states.check_state("UpdatePrimaryRegion", live.rec.state, live.rec.arn)
        rec = live.rec
        if rec.multi_region_type != "PRIMARY":
            raise UnsupportedOperationException(f"`{rec.arn}` is not a multi-Region primary key")
        new_arn = self._arn(target, rec.account, rec.key_id)
        replica = self._keys.get(new_arn)
        if replica is None:
            raise NotFoundException(f"`{rec.key_id}` has no replica in `{target}`")
        key_states.check_state("UpdatePrimaryRegion", replica.rec.state, new_arn)
        arns = [lv.rec.arn for lv in self._keys.values() if lv.rec.key_id == rec.key_id and lv.rec.account == rec.account]

        def tx(db: Any) -> None:
            old = self.store.get_key(db, rec.arn)
            assert old is not None
            for arn in arns:
                r = self.store.get_key(db, arn)
                if r is None:
                    continue
                r.primary_region = target
                r.multi_region_type = "PRIMARY" if arn == new_arn else "REPLICA"
                if arn == new_arn:  # the rotation schedule moves with the primary
                    r.rotation_enabled, r.rotation_period_days = old.rotation_enabled, old.rotation_period_days
                    r.next_rotation, r.on_demand_count = old.next_rotation, old.on_demand_count
                elif arn == rec.arn:
                    r.next_rotation = None
                self.store.put_key(db, r)
        self._write(tx)
        return {}

    # ======================================================================== aliases

    def _alias_name(self, name: str) -> None:
        if not name.startswith("alias/") or name == "alias/":
            raise ValidationException(f"1 validation error detected: alias `{name}` must start with the prefix `alias/`")
        if name.startswith("alias/aws/"):
            raise InvalidAliasNameException(f"alias names beginning with `alias/aws/` are reserved: `{name}`")

    def _op_CreateAlias(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        name = p["AliasName"]
        self._alias_name(name)
        live = self._resolve(ctx, p["TargetKeyId"], "CreateAlias")
        self._authorize(ctx, "kms:CreateAlias", p["TargetKeyId"], p, operation="CreateAlias")
        key_states.check_state("CreateAlias", live.rec.state, live.rec.arn)
        rec = live.rec
        if rec.account != ctx.account:
            raise AccessDeniedException(f"an alias must be in the account of its key: `{rec.arn}`")
        now = self._now()

        def tx(db: Any) -> None:
            if self.store.get_alias(db, rec.account, rec.region, name) is not None:
                raise AlreadyExistsException(f"an alias named `{name}` already exists")
            if len(self._aliases_of(rec)) >= MAX_ALIASES_PER_KEY:
                raise LimitExceededException(f"a key can have at most {MAX_ALIASES_PER_KEY} aliases")
            self.store.put_alias(db, AliasRecord(name, rec.account, rec.region, rec.key_id, now, now))
        self._write(tx)
        return {}

    def _alias(self, ctx: CallContext, name: str) -> AliasRecord:
        a = self._aliases.get((ctx.region, ctx.account or "", name))
        if a is None:
            raise NotFoundException(f"Alias arn:aws:kms:{ctx.region}:{ctx.account}:{name} is not found.")
        return a

    def _op_UpdateAlias(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        name = p["AliasName"]
        self._alias_name(name)
        a = self._alias(ctx, name)
        new = self._resolve(ctx, p["TargetKeyId"], "UpdateAlias")
        old = self._keys.get(self._arn(a.region, a.account, a.target_key_id))
        self._authorize(ctx, "kms:UpdateAlias", p["TargetKeyId"], p, operation="UpdateAlias")
        # the current key may be pending deletion; the new one may not (key-state table, note 10)
        key_states.check_state("CreateAlias", new.rec.state, new.rec.arn)
        if old is not None and (old.spec.kind != new.spec.kind or old.rec.key_usage != new.rec.key_usage):
            raise ValidationException(
                "1 validation error detected: the new target key must have the same key type and key usage "
                f"as the current one (`{old.rec.key_spec}`/`{old.rec.key_usage}`)")
        now = self._now()

        def tx(db: Any) -> None:
            # the aliases-per-key quota applies to UpdateAlias too (resource-limits.html#aliases-per-key)
            if new.rec.key_id != a.target_key_id and len(self._aliases_of(new.rec)) >= MAX_ALIASES_PER_KEY:
                raise LimitExceededException(f"a key can have at most {MAX_ALIASES_PER_KEY} aliases")
            self.store.put_alias(db, AliasRecord(name, a.account, a.region, new.rec.key_id, a.created, now))
        self._write(tx)
        return {}

    def _op_DeleteAlias(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        name = p["AliasName"]
        a = self._alias(ctx, name)
        self._authorize(ctx, "kms:DeleteAlias", self._arn(a.region, a.account, a.target_key_id), p,
                        operation="DeleteAlias")
        self._write(lambda db: self.store.delete_alias(db, a.account, a.region, name))
        return {}

    def _op_ListAliases(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        self._authorize(ctx, "kms:ListAliases", None, p, operation="ListAliases")
        key_id = None
        if "KeyId" in p:
            key_id = self._resolve(ctx, p["KeyId"]).rec.key_id
        items = [a for a in self._aliases.values() if a.account == ctx.account and a.region == ctx.region
                 and (key_id is None or a.target_key_id == key_id)]
        items.sort(key=lambda a: a.name)
        page, more, marker = _page(items, p, 50, lambda a: a.name)
        out: dict[str, Any] = {"Aliases": [{
            "AliasName": a.name, "AliasArn": a.arn, "TargetKeyId": a.target_key_id,
            "CreationDate": to_datetime(a.created), "LastUpdatedDate": to_datetime(a.updated)} for a in page],
            "Truncated": more}
        if more:
            out["NextMarker"] = marker
        return out

    # ======================================================================== cryptography

    def _need_usage(self, live: _Live, usage: str) -> None:
        if live.rec.key_usage != usage:
            raise InvalidKeyUsageException(
                f"key `{live.rec.arn}` has key usage `{live.rec.key_usage}`, this operation needs `{usage}`")

    def _op_Encrypt(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        ec = p.get("EncryptionContext")
        live = self._use(ctx, "Encrypt", p, encryption_context=ec)
        rec = live.rec
        if rec.key_usage != "ENCRYPT_DECRYPT":
            self._need_usage(live, "ENCRYPT_DECRYPT")
        alg = p.get("EncryptionAlgorithm", "SYMMETRIC_DEFAULT")
        spec = live.spec
        if alg not in spec.encryption:
            raise InvalidKeyUsageException(f"encryption algorithm `{alg}` is not supported by `{rec.key_spec}` keys")
        if spec.kind == "symmetric":
            if p.get("DryRun"):
                self._dry_run(p)
            blob, _ = self._seal(live, p["Plaintext"], ec)
        else:
            if ec:
                raise ValidationException("1 validation error detected: asymmetric keys take no `EncryptionContext`")
            self._dry_run(p)
            blob = crypto.rsa_encrypt(self._private(live), alg, p["Plaintext"])
        return {"CiphertextBlob": blob, "KeyId": rec.arn, "EncryptionAlgorithm": alg}

    def _decrypt_with(self, ctx: CallContext, p: dict[str, Any], action: str, operation: str,
                      key_param: str, blob_param: str, ec_param: str, alg_param: str,
                      states: tuple[_Live, ...] = ()) -> tuple[_Live, bytes, str, str | None]:
        """Resolve, authorize and decrypt a ciphertext (Decrypt, and the source half of ReEncrypt).

        ``states``: further keys whose state is checked after authorization (ReEncrypt's destination).
        """
        blob = p[blob_param]
        ec = p.get(ec_param)
        alg = p.get(alg_param, "SYMMETRIC_DEFAULT")
        named = self._resolve(ctx, p[key_param], operation) if key_param in p else None
        if named is not None and named.spec.asymmetric:
            ref = p[key_param]
            self._check_tokens(p)
            self._authorize(ctx, action, ref, p, operation=operation, encryption_context=ec)
            for other in (named, *states):
                key_states.check_state(operation, other.rec.state, other.rec.arn)
            self._need_usage(named, "ENCRYPT_DECRYPT")
            if alg not in named.spec.encryption:
                raise InvalidKeyUsageException(f"`{alg}` is not an encryption algorithm of `{named.rec.key_spec}` keys")
            if ec:
                raise ValidationException("1 validation error detected: asymmetric keys take no encryption context")
            if not states:
                self._dry_run(p)
            return named, crypto.rsa_decrypt(self._private(named), alg, blob), alg, None
        live, parsed = self._blob_key(ctx, blob)
        if named is not None and named is not live:
            raise IncorrectKeyException(
                f"the ciphertext was not encrypted under `{named.rec.arn}` (the key id given does not match)")
        rec = live.rec
        tokens = p.get("GrantTokens")
        if tokens:
            check_grant_tokens(tokens, self._tokens)
        parameters = self._parameters(operation, p)
        if key_param in p:
            ref = p[key_param] or rec.arn
        else:
            ref = parameters[key_param] = rec.arn  # the evaluator sees the key the blob names
        self._decide(ctx, action, ref, parameters, ec, None)
        if rec.state != _ENABLED or operation in _REFUSES_ENABLED:
            key_states.check_state(operation, rec.state, rec.arn)
        for other in states:
            key_states.check_state(operation, other.rec.state, other.rec.arn)
        if rec.key_usage != "ENCRYPT_DECRYPT":
            self._need_usage(live, "ENCRYPT_DECRYPT")
        if alg != "SYMMETRIC_DEFAULT":
            raise InvalidKeyUsageException(f"`{alg}` cannot decrypt a symmetric ciphertext")
        if not states and p.get("DryRun"):
            self._dry_run(p)
        mid = parsed.material_id
        aead = live.aeads.get(mid)
        if aead is None:
            if mid.hex() not in {m.id for m in rec.materials}:
                raise InvalidCiphertextException("the ciphertext names key material this key does not have")
            aead = self._aead(live, mid)
        return live, crypto.open_blob(aead, parsed, ec), alg, mid.hex()

    def _op_Decrypt(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        if "Recipient" in p:
            raise UnsupportedOperationException("the local kms does not verify Nitro Enclaves attestation documents")
        if (p.get("DryRun") or "CiphertextBlob" not in p) and self._ignore_ciphertext(
                ctx, p, "Decrypt", "KeyId", "EncryptionContext"):
            self._dry_run(p)
        live, plaintext, alg, mid = self._decrypt_with(
            ctx, p, "kms:Decrypt", "Decrypt", "KeyId", "CiphertextBlob", "EncryptionContext", "EncryptionAlgorithm")
        out: dict[str, Any] = {"KeyId": live.rec.arn,
                               "Plaintext": SecretBytes(plaintext) if ctx.wipeable else plaintext,
                               "EncryptionAlgorithm": alg}
        if mid is not None:
            out["KeyMaterialId"] = mid
        return out

    def _ignore_ciphertext(self, ctx: CallContext, p: dict[str, Any], operation: str, key_param: str,
                           ec_param: str) -> bool:
        """``DryRun`` with ``DryRunModifiers=[IGNORE_CIPHERTEXT]``: authorize without a ciphertext."""
        ignore = bool(p.get("DryRun")) and "IGNORE_CIPHERTEXT" in p.get("DryRunModifiers", ())
        if not ignore:
            if "CiphertextBlob" not in p:
                raise ValidationException("1 validation error detected: missing required parameter `CiphertextBlob`")
            return False
        if key_param not in p:
            raise ValidationException(f"1 validation error detected: `IGNORE_CIPHERTEXT` needs `{key_param}`")
        self._use(ctx, operation, {**p, "KeyId": p[key_param]}, encryption_context=p.get(ec_param))
        return True

    @staticmethod
    def _plain(ctx: CallContext, data: bytes) -> bytes | SecretBytes:
        return SecretBytes(data) if ctx.wipeable else data

    def _op_ReEncrypt(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        dst = self._resolve(ctx, p["DestinationKeyId"], "ReEncrypt")
        if self._ignore_ciphertext(ctx, p, "ReEncrypt", "SourceKeyId", "SourceEncryptionContext"):
            self._dry_run(p)
        # one decision: kms:ReEncryptFrom on the source key and kms:ReEncryptTo on the destination
        # (the evaluator makes both checks when the request carries a DestinationKeyId)
        src, plaintext, src_alg, src_mid = self._decrypt_with(
            ctx, p, action="kms:ReEncryptFrom", operation="ReEncrypt", key_param="SourceKeyId",
            blob_param="CiphertextBlob", ec_param="SourceEncryptionContext",
            alg_param="SourceEncryptionAlgorithm", states=(dst,))
        dst_ec = p.get("DestinationEncryptionContext")
        self._need_usage(dst, "ENCRYPT_DECRYPT")
        dst_alg = p.get("DestinationEncryptionAlgorithm", "SYMMETRIC_DEFAULT")
        if dst_alg not in dst.spec.encryption:
            raise InvalidKeyUsageException(f"`{dst_alg}` is not an encryption algorithm of `{dst.rec.key_spec}` keys")
        if dst_ec and dst.spec.kind != "symmetric":
            raise ValidationException("1 validation error detected: asymmetric keys take no encryption context")
        self._dry_run(p)
        out: dict[str, Any] = {"SourceKeyId": src.rec.arn, "KeyId": dst.rec.arn,
                               "SourceEncryptionAlgorithm": src_alg, "DestinationEncryptionAlgorithm": dst_alg}
        if dst.spec.kind == "symmetric":
            blob, mid = self._seal(dst, plaintext, dst_ec)
            out["DestinationKeyMaterialId"] = mid
        else:
            blob = crypto.rsa_encrypt(self._private(dst), dst_alg, plaintext)
        if src_mid is not None:
            out["SourceKeyMaterialId"] = src_mid
        out["CiphertextBlob"] = blob
        return out

    def _data_key(self, ctx: CallContext, p: dict[str, Any], operation: str,
                  wipeable: bool) -> tuple[_Live, SecretBytes | bytes, bytes, str]:
        """A fresh data key and its ciphertext; the key as :class:`SecretBytes` if ``wipeable``.

        Otherwise it is the ``bytes`` from ``os.urandom``, which the caller gets anyway: a
        wipeable copy of it would protect nothing (the ``bytes`` it was made from cannot be wiped).
        """
        if ("KeySpec" in p) == ("NumberOfBytes" in p):
            raise ValidationException(
                "1 validation error detected: specify either `KeySpec` or `NumberOfBytes`, not both and not neither")
        if "Recipient" in p:
            raise UnsupportedOperationException("the local kms does not verify Nitro Enclaves attestation documents")
        ec = p.get("EncryptionContext")
        live = self._use(ctx, operation, p, encryption_context=ec)
        if live.spec.kind != "symmetric" or live.rec.key_usage != "ENCRYPT_DECRYPT":
            raise InvalidKeyUsageException(f"`{operation}` needs a symmetric encryption key, `{live.rec.arn}` is "
                                           f"`{live.rec.key_spec}`/`{live.rec.key_usage}`")
        if p.get("DryRun"):
            self._dry_run(p)
        n = crypto.DATA_KEY_SPECS[p["KeySpec"]] if "KeySpec" in p else p["NumberOfBytes"]
        if not wipeable:
            key = os.urandom(n)
            blob, mid = self._seal(live, key, ec)
            return live, key, blob, mid
        secret = SecretBytes(os.urandom(n))
        blob, mid = self._seal(live, secret.view(), ec)
        return live, secret, blob, mid

    def _op_GenerateDataKey(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live, plain, blob, mid = self._data_key(ctx, p, "GenerateDataKey", ctx.wipeable)
        return {"CiphertextBlob": blob, "Plaintext": plain, "KeyId": live.rec.arn, "KeyMaterialId": mid}

    def _op_GenerateDataKeyWithoutPlaintext(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live, secret, blob, mid = self._data_key(ctx, p, "GenerateDataKeyWithoutPlaintext", True)
        assert isinstance(secret, SecretBytes)
        secret.wipe()
        return {"CiphertextBlob": blob, "KeyId": live.rec.arn, "KeyMaterialId": mid}

    def _pair(self, ctx: CallContext, p: dict[str, Any], operation: str) -> dict[str, Any]:
        if "Recipient" in p:
            raise UnsupportedOperationException("the local kms does not verify Nitro Enclaves attestation documents")
        spec = p["KeyPairSpec"]
        if spec not in crypto.DATA_KEY_PAIR_SPECS:
            raise UnsupportedOperationException(f"data key pair spec `{spec}` is not supported by the local kms")
        ec = p.get("EncryptionContext")
        live = self._use(ctx, operation, p, encryption_context=ec)
        if live.spec.kind != "symmetric" or live.rec.key_usage != "ENCRYPT_DECRYPT":
            raise InvalidKeyUsageException(f"`{operation}` needs a symmetric encryption key")
        self._dry_run(p)
        pair = crypto.generate_private_key(spec)
        der = SecretBytes(crypto.private_key_der(pair))
        blob, mid = self._seal(live, der.view(), ec)
        out: dict[str, Any] = {"PrivateKeyCiphertextBlob": blob, "PublicKey": crypto.public_key_der(pair),
                               "KeyId": live.rec.arn, "KeyPairSpec": spec, "KeyMaterialId": mid}
        if operation == "GenerateDataKeyPair":
            if ctx.wipeable:
                out["PrivateKeyPlaintext"] = der
                return out
            out["PrivateKeyPlaintext"] = bytes(der)
        der.wipe()
        return out

    def _op_GenerateDataKeyPair(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        return self._pair(ctx, p, "GenerateDataKeyPair")

    def _op_GenerateDataKeyPairWithoutPlaintext(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        return self._pair(ctx, p, "GenerateDataKeyPairWithoutPlaintext")

    def _signing(self, ctx: CallContext, p: dict[str, Any], operation: str) -> _Live:
        live = self._use(ctx, operation, p)
        self._need_usage(live, "SIGN_VERIFY")
        alg = p["SigningAlgorithm"]
        if alg not in live.spec.signing:
            raise InvalidKeyUsageException(f"signing algorithm `{alg}` is not supported by `{live.rec.key_spec}` keys")
        if p.get("MessageType", "RAW") == "EXTERNAL_MU":
            raise InvalidKeyUsageException("`EXTERNAL_MU` messages are only for ML-DSA keys")
        self._dry_run(p)
        return live

    def _op_Sign(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._signing(ctx, p, "Sign")
        sig = crypto.sign(self._private(live), p["SigningAlgorithm"], p["Message"], p.get("MessageType", "RAW"))
        return {"KeyId": live.rec.arn, "Signature": sig, "SigningAlgorithm": p["SigningAlgorithm"]}

    def _op_Verify(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._signing(ctx, p, "Verify")
        crypto.verify(self._private(live), p["SigningAlgorithm"], p["Message"], p.get("MessageType", "RAW"),
                      p["Signature"])
        return {"KeyId": live.rec.arn, "SignatureValid": True, "SigningAlgorithm": p["SigningAlgorithm"]}

    def _mac_key(self, ctx: CallContext, p: dict[str, Any], operation: str) -> tuple[_Live, bytes]:
        live = self._use(ctx, operation, p)
        self._need_usage(live, "GENERATE_VERIFY_MAC")
        alg = p["MacAlgorithm"]
        if alg not in live.spec.mac:
            raise InvalidKeyUsageException(f"mac algorithm `{alg}` is not supported by `{live.rec.key_spec}` keys")
        self._dry_run(p)
        m = self._current(live)
        return live, crypto.mac(self._secret(live, m.id).buffer, alg, p["Message"])

    def _op_GenerateMac(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live, tag = self._mac_key(ctx, p, "GenerateMac")
        return {"Mac": tag, "MacAlgorithm": p["MacAlgorithm"], "KeyId": live.rec.arn}

    def _op_VerifyMac(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live, tag = self._mac_key(ctx, p, "VerifyMac")
        if not crypto.mac_equal(tag, p["Mac"]):
            raise KMSInvalidMacException("the mac does not verify")
        return {"KeyId": live.rec.arn, "MacValid": True, "MacAlgorithm": p["MacAlgorithm"]}

    def _op_GetPublicKey(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._use(ctx, "GetPublicKey", p)
        if not live.spec.asymmetric:
            raise UnsupportedOperationException(f"`{live.rec.arn}` is not an asymmetric key: it has no public key")
        rec = live.rec
        out: dict[str, Any] = {"KeyId": rec.arn, "PublicKey": crypto.public_key_der(self._private(live)),
                               "CustomerMasterKeySpec": rec.key_spec, "KeySpec": rec.key_spec, "KeyUsage": rec.key_usage}
        if rec.key_usage == "ENCRYPT_DECRYPT":
            out["EncryptionAlgorithms"] = list(live.spec.encryption)
        elif rec.key_usage == "SIGN_VERIFY":
            out["SigningAlgorithms"] = list(live.spec.signing)
        else:
            out["KeyAgreementAlgorithms"] = list(live.spec.key_agreement)
        return out

    def _op_DeriveSharedSecret(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        if "Recipient" in p:
            raise UnsupportedOperationException("the local kms does not verify Nitro Enclaves attestation documents")
        live = self._use(ctx, "DeriveSharedSecret", p)
        self._need_usage(live, "KEY_AGREEMENT")
        self._dry_run(p)
        secret = crypto.derive_shared_secret(self._private(live), p["PublicKey"])
        return {"KeyId": live.rec.arn, "SharedSecret": self._plain(ctx, secret),
                "KeyAgreementAlgorithm": p["KeyAgreementAlgorithm"], "KeyOrigin": live.rec.origin}

    def _op_GenerateRandom(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        if "NumberOfBytes" not in p:
            raise ValidationException("1 validation error detected: missing required parameter `NumberOfBytes`")
        if "CustomKeyStoreId" in p:
            raise error_class("CustomKeyStoreNotFoundException")("the local kms has no custom key stores")
        if "Recipient" in p:
            raise UnsupportedOperationException("the local kms does not verify Nitro Enclaves attestation documents")
        self._authorize(ctx, "kms:GenerateRandom", None, p, operation="GenerateRandom")
        return {"Plaintext": self._plain(ctx, os.urandom(p["NumberOfBytes"]))}

    # ======================================================================== rotation

    def _rotatable(self, live: _Live) -> None:
        rec = live.rec
        if live.spec.kind != "symmetric":
            raise UnsupportedOperationException(f"only symmetric encryption keys rotate: `{rec.arn}` is `{rec.key_spec}`")
        if rec.origin == "EXTERNAL":
            raise UnsupportedOperationException(f"keys with imported key material cannot rotate here: `{rec.arn}`")
        if rec.multi_region_type == "REPLICA":
            raise UnsupportedOperationException(f"rotate a multi-Region key through its primary: `{rec.arn}` is a replica")

    def _op_EnableKeyRotation(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        period = p.get("RotationPeriodInDays", 365)
        if not 90 <= period <= 2560:
            raise ValidationException(
                "1 validation error detected: value at `RotationPeriodInDays` failed to satisfy constraint: "
                "member must have value between 90 and 2560")
        live = self._use(ctx, "EnableKeyRotation", p)
        self._rotatable(live)
        now = self._now()

        def change(rec: KeyRecord) -> None:
            if not rec.rotation_enabled or rec.rotation_period_days != period:
                rec.next_rotation = now + period * DAY
            rec.rotation_enabled = True
            rec.rotation_period_days = period
        return self._mutate_mr(live, change)

    def _mutate_mr(self, live: _Live, change: Callable[[KeyRecord], Any]) -> dict[str, Any]:
        """Change a key and, for a multi-Region primary, the rotation setting of its replicas."""
        rec = live.rec
        arns = [rec.arn]
        if rec.multi_region_type == "PRIMARY":
            arns += [lv.rec.arn for lv in self._keys.values()
                     if lv.rec.key_id == rec.key_id and lv.rec.account == rec.account and lv is not live]

        def tx(db: Any) -> None:
            for arn in arns:
                r = self.store.get_key(db, arn)
                if r is not None:
                    change(r)
                    if r.multi_region_type == "REPLICA":
                        r.next_rotation = None  # replicas follow the primary
                    self.store.put_key(db, r)
        self._write(tx)
        return {}

    def _op_DisableKeyRotation(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._use(ctx, "DisableKeyRotation", p)
        self._rotatable(live)

        def change(rec: KeyRecord) -> None:
            rec.rotation_enabled = False
            rec.next_rotation = None
        return self._mutate_mr(live, change)

    def _op_GetKeyRotationStatus(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._use(ctx, "GetKeyRotationStatus", p)
        rec = live.rec
        if live.spec.kind != "symmetric" or rec.origin == "EXTERNAL":
            raise UnsupportedOperationException(f"`{rec.arn}` does not support automatic rotation")
        out: dict[str, Any] = {"KeyRotationEnabled": rec.rotation_enabled, "KeyId": rec.arn}
        if rec.rotation_enabled:
            out["RotationPeriodInDays"] = rec.rotation_period_days
            src = rec
            if rec.multi_region_type == "REPLICA":
                primary = self._keys.get(self._arn(rec.primary_region or "", rec.account, rec.key_id))
                src = primary.rec if primary is not None else rec
            if src.next_rotation is not None:
                out["NextRotationDate"] = to_datetime(src.next_rotation)
        if rec.on_demand_started is not None:
            out["OnDemandRotationStartDate"] = to_datetime(rec.on_demand_started)
        return out

    def _op_RotateKeyOnDemand(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._use(ctx, "RotateKeyOnDemand", p)
        self._rotatable(live)
        rec = live.rec
        if rec.on_demand_count >= MAX_ON_DEMAND_ROTATIONS:
            raise LimitExceededException(f"a key can be rotated on demand at most {MAX_ON_DEMAND_ROTATIONS} times")
        if rec.next_rotation is not None and rec.next_rotation - self._now() < 20 * 60:
            raise ConflictException("an automatic rotation of this key is due within 20 minutes")
        self._write(lambda db: self._rotate(db, rec.arn, "ON_DEMAND"))
        return {"KeyId": rec.arn}

    def _rotate(self, db: Any, arn: str, kind: str, *, scheduled: bool = False) -> None:
        """New current material for a key (and its multi-Region replicas); old material stays."""
        rec = self.store.get_key(db, arn)
        if rec is None:
            return
        now = self._now()
        if scheduled and (rec.next_rotation is None or now < rec.next_rotation):
            return  # another process rotated it first
        secret = crypto.generate_material(rec.key_spec)
        mid = crypto.new_material_id().hex()
        copies = [rec] + [r for r in self.store.all_keys(db) if r.key_id == rec.key_id and r.account == rec.account
                          and r.multi_region_type == "REPLICA"] if rec.multi_region_type == "PRIMARY" else [rec]
        for r in copies:
            for m in r.materials:
                if m.state == "CURRENT":
                    m.state = "NON_CURRENT"
            r.materials.append(Material(id=mid, created=now, rotation_type=kind))
            if r is rec:
                if kind == "AUTOMATIC":
                    rec.next_rotation = now + (rec.rotation_period_days or 365) * DAY
                else:
                    rec.on_demand_count += 1
                    rec.on_demand_started = now
            self.store.put_key(db, r)
            self.store.put_material(db, r.arn, mid, secret)

    def _op_ListKeyRotations(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        live = self._use(ctx, "ListKeyRotations", p)
        rec = live.rec
        if live.spec.kind != "symmetric":
            raise UnsupportedOperationException(f"`{rec.arn}` does not support rotation")
        every = p.get("IncludeKeyMaterial") == "ALL_KEY_MATERIAL"
        mats = [m for m in rec.materials if every or m.rotation_type is not None]
        page, more, marker = _page(mats, p, 50, lambda m: m.id)
        items = []
        for m in page:
            e: dict[str, Any] = {"KeyId": rec.arn, "KeyMaterialId": m.id,
                                 "KeyMaterialState": m.state, "RotationDate": to_datetime(m.created)}
            if m.rotation_type:
                e["RotationType"] = m.rotation_type
            if m.import_state:
                e["ImportState"] = m.import_state
            items.append(e)
        out: dict[str, Any] = {"Rotations": items, "Truncated": more}
        if more:
            out["NextMarker"] = marker
        return out

    def _op_DescribeCustomKeyStores(self, ctx: CallContext, p: dict[str, Any]) -> dict[str, Any]:
        self._authorize(ctx, "kms:DescribeCustomKeyStores", None, p, operation="DescribeCustomKeyStores")
        if "CustomKeyStoreId" in p or "CustomKeyStoreName" in p:
            raise error_class("CustomKeyStoreNotFoundException")("the local kms has no custom key stores")
        return {"CustomKeyStores": [], "Truncated": False}


# ============================================================================ module helpers

_IMPORT_MAGIC = b"kmsauthz-import-token/v1:"
_KEY_FORMS: dict[str, frozenset[str]] = {
    op.name: op.key_id_forms for op in catalog.API_OPERATIONS.values() if op.key_id_forms
}
_NO_ALIASES = frozenset(op for op, forms in _KEY_FORMS.items() if not forms & {"alias-name", "alias-arn"})
"""Operations whose key parameter may not name an alias."""


def parse_key_policy(text: str, arn: str) -> Policy:
    from kmsauthz.syntax import load_policy_text

    try:
        return load_policy_text(text, kind=PolicyKind.KEY, source=f"key policy of {arn}",
                                name=f"key policy of {arn}")
    except DocumentTooLargeError as exc:
        # AWS: a key policy over 32 KB is LimitExceededException ("a length constraint or quota was
        # exceeded"), not MalformedPolicyDocumentException (semantics §7.3; KMS API Reference, PutKeyPolicy)
        raise LimitExceededException(f"the key policy is too large: {exc}") from None
    except InputError as exc:
        raise MalformedPolicyDocumentException(f"the key policy is not valid: {exc}") from None


def _named_principals(policy: Policy) -> Iterable[str]:
    for st in policy.statements:
        for pr in (st.principal, st.not_principal):
            if pr is not None:
                yield from pr.values_of("AWS")


def _tags(items: list[dict[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for t in items:
        k, v = t["TagKey"], t["TagValue"]
        if k.lower().startswith("aws:"):
            raise TagException(f"tag keys beginning with `aws:` are reserved: `{k}`")
        out[k] = v
    if len(out) > MAX_TAGS:
        raise TagException(f"a key can have at most {MAX_TAGS} tags")
    return out


def _page(items: list[Any], p: Mapping[str, Any], default: int, ident: Callable[[Any], str]) -> tuple[list[Any], bool, str]:
    limit = p.get("Limit", default)
    start = 0
    marker = p.get("Marker")
    if marker is not None:
        try:
            start = int(marker)
        except ValueError:
            raise InvalidMarkerException(f"`{marker}` is not a marker this kms returned") from None
        if not 0 <= start <= len(items):
            raise InvalidMarkerException(f"`{marker}` is not a marker this kms returned")
    page = items[start:start + limit]
    more = start + limit < len(items)
    return page, more, str(start + limit)


def _unwrap_import(wrapping: Any, algorithm: str, blob: bytes) -> bytes:
    """Unwrap imported key material (RSAES_OAEP_SHA_* or RSA_AES_KEY_WRAP_SHA_*)."""
    h: hashes.HashAlgorithm = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)
    try:
        if algorithm.startswith("RSAES_OAEP"):
            return wrapping.decrypt(blob, oaep)
        k = wrapping.key_size // 8
        aes_key = wrapping.decrypt(blob[:k], oaep)
        return keywrap.aes_key_unwrap_with_padding(aes_key, blob[k:])
    except (ValueError, keywrap.InvalidUnwrap):
        raise InvalidCiphertextException("the encrypted key material cannot be unwrapped with the import parameters") from None


__all__ = ["AuthorizerLike", "CallContext", "KMSService", "default_key_policy", "parse_key_policy"]
