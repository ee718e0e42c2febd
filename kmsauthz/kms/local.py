"""`LocalKMS`: a real KMS in your process, authorizing every call with the kmsauthz evaluator.

::

    kms = LocalKMS.from_world("world.yaml", store="keys.db")      # root key from KMSAUTHZ_ROOT_KEY
    client = kms.client(principal="arn:aws:iam::111122223333:role/app", region="us-east-1")
    key_id = client.create_key()["KeyMetadata"]["KeyId"]
    blob = client.encrypt(KeyId=key_id, Plaintext=b"secret", EncryptionContext={"app": "orders"})

World keys and stored keys: the world (a scenario file without ``cases``) declares principals,
organization layers, VPC endpoints and *seed* keys. When a store is opened, each world key that
the store does not have yet is created in it (fresh key material; its policy, tags, aliases and
grants as the world says); a key the store already has keeps its stored state — what the API
changed (policy, state, tags, aliases, grants, rotation) persists across reopenings, and the world
file never overwrites it. IAM principals and their policies always come from the world.
"""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from kmsauthz.evaluate.principals import parse_caller
from kmsauthz.kms import crypto, key_states
from kmsauthz.kms.clock import Clock, SystemClock
from kmsauthz.kms.errors import ERRORS, KMSError, ValidationException
from kmsauthz.kms.grants import make_token
from kmsauthz.kms.keystore import AliasRecord, GrantRecord, KeyRecord, Keystore, KeystoreError, Material
from kmsauthz.kms.service import AuthorizerLike, CallContext, KMSService
from kmsauthz.kms.validation import operation_names
from kmsauthz.model.policy import Policy
from kmsauthz.model.world import World

WorldSource = str | Path | Mapping[str, Any] | World


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


SNAKE_TO_OPERATION: dict[str, str] = {_snake(n): n for n in operation_names()}


def _load_world(world: WorldSource) -> World:
    if isinstance(world, World):
        return world
    from kmsauthz.scenario import load_world

    return load_world(world)


class LocalKMS(KMSService):
    """A local KMS over a keystore, authorizing every call against a world.

    ``authorizer`` defaults to ``kmsauthz.evaluate.Authorizer`` over the world (with the stored
    keys); pass another object with the same methods only to test the crypto core in isolation.
    """

    def __init__(self, world: World | None = None, *, store: str | Path = ":memory:",
                 root_key: bytes | None = None, root_key_file: str | Path | None = None,
                 clock: Clock | None = None, authorizer: AuthorizerLike | None = None,
                 authorizer_factory: Callable[[World], AuthorizerLike] | None = None,
                 refresh_interval: float = 0.05) -> None:
        world = world if world is not None else World()
        keystore = Keystore(store, root_key=root_key, root_key_file=root_key_file)
        clock = clock or SystemClock()
        if authorizer is None and authorizer_factory is None:
            from kmsauthz.evaluate import Authorizer

            authorizer_factory = Authorizer
        placeholder: Any = _Deferred()
        super().__init__(keystore, world, authorizer or placeholder, clock, refresh_interval=refresh_interval,
                         authorizer_factory=authorizer_factory)
        try:
            self._seed(world)
            self.load()
        except sqlite3.Error as exc:  # a full disk, a read-only file: say so, not a traceback
            keystore.close()
            raise KeystoreError(f"cannot open keystore `{keystore.path}`: {exc}") from None
        if authorizer is None:
            assert authorizer_factory is not None
            self.authorizer = authorizer_factory(world.model_copy(update={"keys": self.initial_world_keys()}))
        else:
            for model in self.initial_world_keys():
                self.authorizer.put_key(model)

    @classmethod
    def from_world(cls, world: WorldSource, store: str | Path = ":memory:", **kwargs: Any) -> LocalKMS:
        """A local KMS for ``world`` (a world/scenario file path, the same structure as a mapping,
        or a :class:`World`), keeping its keys in ``store`` (a SQLite file path or ``":memory:"``)."""
        return cls(_load_world(world), store=store, **kwargs)

    # -- seeding -----------------------------------------------------------------------------

    def _seed(self, world: World) -> None:
        """Create in the store the world keys it does not have yet (see the module docstring)."""
        def tx(db: Any) -> None:
            now = self.clock.time()
            for k in world.keys:
                if self.store.get_key(db, k.arn) is not None:
                    continue
                spec = k.key_spec if k.key_spec in crypto.KEY_SPECS else None
                if spec is None:
                    raise ValidationException(f"world key `{k.arn}` has key spec `{k.key_spec}`, which the local "
                                              "kms does not implement")
                from kmsauthz.syntax import to_json

                rec = KeyRecord(arn=k.arn, key_id=k.id, account=k.account, region=k.region, key_spec=spec,
                                key_usage=k.effective_key_usage, origin=k.origin, state=k.state,
                                policy=to_json(k.policy), creation_date=now, tags=dict(k.tags),
                                multi_region_type=k.multi_region_type or ("PRIMARY" if k.multi_region else None),
                                primary_region=k.region if k.multi_region else None)
                if k.state in (key_states.PENDING_DELETION,):
                    rec.deletion_date = now + 30 * 86400
                    rec.pending_window_days = 30
                copies: dict[str, bytes] = {}
                sibling = self._sibling(db, k) if k.multi_region else None
                if sibling is not None:
                    # a multi-Region key has one key material in every Region: copy it
                    rec.materials = [Material(**vars(m)) for m in sibling.materials]
                    rec.expiration_model = sibling.expiration_model
                    for m in sibling.materials:
                        secret = self.store.get_material(sibling.arn, m.id)
                        if secret is not None:
                            copies[m.id] = bytes(secret)
                elif k.origin == "AWS_KMS" or k.state != key_states.PENDING_IMPORT:
                    mid = crypto.new_material_id().hex()
                    copies[mid] = crypto.generate_material(spec)
                    rec.materials.append(Material(id=mid, created=now,
                                                  import_state="IMPORTED" if k.origin == "EXTERNAL" else None))
                    if k.origin == "EXTERNAL":
                        rec.expiration_model = "KEY_MATERIAL_DOES_NOT_EXPIRE"
                self.store.put_key(db, rec)
                for mid, secret in copies.items():
                    self.store.put_material(db, rec.arn, mid, secret)
                for alias in k.aliases:
                    if self.store.get_alias(db, k.account, k.region, alias) is None:
                        self.store.put_alias(db, AliasRecord(alias, k.account, k.region, k.id, now, now))
                for g in k.grants:
                    cons = None
                    if g.constraints is not None:
                        if g.constraints.encryption_context_equals is not None:
                            cons = {"EncryptionContextEquals": dict(g.constraints.encryption_context_equals)}
                        elif g.constraints.encryption_context_subset is not None:
                            cons = {"EncryptionContextSubset": dict(g.constraints.encryption_context_subset)}
                    issuing = g.issuing_account or k.account
                    self.store.put_grant(db, GrantRecord(
                        grant_id=g.grant_id, key_arn=k.arn, grantee=g.grantee, operations=list(g.operations),
                        issuing_account=issuing if issuing.startswith("arn:") else f"arn:aws:iam::{issuing}:root",
                        created=g.creation_date.timestamp() if g.creation_date else now, name=g.name,
                        retiring=g.retiring, constraints=cons, token=g.token or make_token(k.arn, g.grant_id),
                        pending=g.pending))
        with self.store.transaction() as db:
            tx(db)
        with self.store.reading() as db:
            self.store.last_seq, _ = self.store.changes_since(db, 0)

    def _sibling(self, db: Any, k: Any) -> KeyRecord | None:
        """Another Region's copy of multi-Region key ``k`` already in the store, if any."""
        for rec in self.store.all_keys(db):
            if rec.key_id == k.id and rec.account == k.account and rec.region != k.region:
                return rec
        return None

    # -- the API ---------------------------------------------------------------------------

    def call(self, operation_name: str, params: Mapping[str, Any] | None = None, *, principal: str,
             region: str | None = None, vpc_endpoint: str | None = None, source_ip: str | None = None,
             via_service: str | None = None, session_policy: Policy | None = None,
             wipeable: bool = False) -> dict[str, Any]:
        """Run one KMS API operation as ``principal`` and return boto3's response dictionary.

        ``operation_name`` is the API name (``Encrypt``); ``params`` use the API's parameter names.
        Raises a :class:`~kmsauthz.kms.errors.KMSError` subclass whose ``.code`` is the KMS error.
        """
        ctx = self.context(principal=principal, region=region, vpc_endpoint=vpc_endpoint, source_ip=source_ip,
                           via_service=via_service, session_policy=session_policy, wipeable=wipeable)
        return self.call_in(operation_name, params or {}, ctx)

    def context(self, *, principal: str, region: str | None = None, vpc_endpoint: str | None = None,
                source_ip: str | None = None, via_service: str | None = None,
                session_policy: Policy | None = None, wipeable: bool = False) -> CallContext:
        return CallContext(principal=principal, region=region or self.world.region,
                           account=parse_caller(principal).account, vpc_endpoint=vpc_endpoint,
                           source_ip=source_ip, via_service=via_service, session_policy=session_policy,
                           wipeable=wipeable)

    def client(self, principal: str, region: str | None = None, *, vpc_endpoint: str | None = None,
               source_ip: str | None = None, via_service: str | None = None,
               session_policy: Policy | None = None, wipeable_plaintext: bool = False) -> KMSClient:
        """A client with boto3's KMS method names (``encrypt``, ``generate_data_key``, …), calling as
        ``principal``. With ``wipeable_plaintext=True``, plaintext in responses (``Plaintext``,
        ``PrivateKeyPlaintext``, ``SharedSecret``) is a :class:`~kmsauthz.kms.secrets.SecretBytes`."""
        return KMSClient(self, self.context(principal=principal, region=region, vpc_endpoint=vpc_endpoint,
                                            source_ip=source_ip, via_service=via_service,
                                            session_policy=session_policy, wipeable=wipeable_plaintext))

    def close(self) -> None:
        for live in self._keys.values():
            live.wipe()
        self.store.close()

    def __enter__(self) -> LocalKMS:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalKMS(store={self.store.path!r}, keys={len(self._keys)})"


class _Deferred:
    """Stands in for the evaluator while the store is read, before the real one is built."""

    def put_key(self, *a: Any) -> None: ...
    def remove_key(self, *a: Any) -> None: ...
    def put_grant(self, *a: Any) -> None: ...
    def remove_grant(self, *a: Any) -> None: ...

    def decide(self, request: Any) -> Any:  # pragma: no cover - never called before construction ends
        raise RuntimeError("the local kms is still starting")


class _Exceptions:
    """``client.exceptions.NotFoundException`` and friends, as boto3 offers them."""

    ClientError = KMSError

    def __init__(self) -> None:
        for name, cls in ERRORS.items():
            setattr(self, name, cls)


_PAGINATED = {"list_keys": "Keys", "list_aliases": "Aliases", "list_grants": "Grants",
              "list_retirable_grants": "Grants", "list_key_policies": "PolicyNames",
              "list_resource_tags": "Tags", "list_key_rotations": "Rotations"}


# a request id: the client's random prefix "xxxxxxxx-xxxx-xxxx-xxxx-" then a 12-hex-digit counter,
# so a UUID-shaped id (formatted inline in the client's methods)


class Paginator:
    def __init__(self, method: Callable[..., dict[str, Any]], result_key: str) -> None:
        self._method = method
        self.result_key = result_key

    def paginate(self, **params: Any) -> Iterator[dict[str, Any]]:
        config = params.pop("PaginationConfig", {}) or {}
        if "PageSize" in config:
            params["Limit"] = config["PageSize"]
        while True:
            page = self._method(**params)
            yield page
            if not page.get("Truncated"):
                return
            params["Marker"] = page["NextMarker"]


class KMSClient:
    """boto3-shaped KMS client bound to one caller; every method is :meth:`LocalKMS.call`."""

    exceptions = _Exceptions()

    def __init__(self, kms: LocalKMS, ctx: CallContext) -> None:
        self._kms = kms
        self._ctx = ctx
        self._ids = itertools.count(1)
        r = os.urandom(10).hex()
        self._prefix = f"{r[:8]}-{r[8:12]}-{r[12:16]}-{r[16:20]}-"

    @property
    def principal(self) -> str:
        return self._ctx.principal

    @property
    def region(self) -> str:
        return self._ctx.region

    def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]:
        op = SNAKE_TO_OPERATION.get(name)
        if op is None:
            raise AttributeError(f"'KMSClient' object has no attribute '{name}'")
        call_in = self._kms.call_in
        ctx = self._ctx
        ids = self._ids
        prefix = self._prefix

        def method(**params: Any) -> dict[str, Any]:
            out = call_in(op, params, ctx)
            out["ResponseMetadata"] = {"RequestId": f"{prefix}{next(ids):012x}", "HTTPStatusCode": 200,
                                       "HTTPHeaders": {}, "RetryAttempts": 0}
            return out

        method.__name__ = name
        method.__doc__ = f"KMS `{op}`: keyword arguments as boto3's `kms.{name}`; returns its response dict."
        setattr(self, name, method)  # bind once; later calls skip __getattr__
        return method

    def can_paginate(self, name: str) -> bool:
        return name in _PAGINATED

    def get_paginator(self, name: str) -> Paginator:
        """boto3's paginator for the list operations (``Marker``/``NextMarker``/``Truncated``)."""
        if name not in _PAGINATED:
            raise KMSError(f"operation `{name}` cannot be paginated")
        return Paginator(getattr(self, name), _PAGINATED[name])

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(SNAKE_TO_OPERATION))

    def __repr__(self) -> str:
        return f"KMSClient(principal={self._ctx.principal!r}, region={self._ctx.region!r})"


__all__ = ["SNAKE_TO_OPERATION", "KMSClient", "LocalKMS", "Paginator"]
