"""The embedded keystore: SQLite (a file or ``:memory:``), WAL mode, one transaction per change.

What is stored: keys (metadata, key policy, tags, rotation state), their key material (one row per
material version, encrypted with AES-256-GCM under the user's root key, with the key ARN and the
material id as additional authenticated data so a row moved to another key fails to decrypt),
aliases and grants. A ``changes`` log (one row per changed key or alias) lets every process that
shares the file refresh just what another process changed.

Concurrency: one connection per store, guarded by a lock (threads); ``BEGIN IMMEDIATE`` write
transactions and a busy timeout (processes). The root key is checked against a verifier stored in
the file *before* anything is written, so opening a store with the wrong root key changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmsauthz.errors import InputError
from kmsauthz.kms import crypto

ROOT_KEY_ENV = "KMSAUTHZ_ROOT_KEY"
ROOT_KEY_FILE_ENV = "KMSAUTHZ_ROOT_KEY_FILE"
SCHEMA_VERSION = 1
CHANGE_LOG_KEEP = 10_000
CHANGE_LOG_PRUNE_EVERY = 1000
_CHECK_AAD = b"kmsauthz/root-key-check/v1"
_CHECK_TEXT = b"kmsauthz keystore root key verifier"


class KeystoreError(InputError):
    """The keystore cannot be opened: missing or wrong root key, unreadable or foreign file."""

    code = "keystore-error"


# --------------------------------------------------------------------------- root key


def load_root_key(root_key: bytes | None = None, root_key_file: str | Path | None = None, *,
                  ephemeral_ok: bool = False) -> bytes:
    """The 32-byte root key: an explicit value, a key file, ``KMSAUTHZ_ROOT_KEY`` (base64) or
    ``KMSAUTHZ_ROOT_KEY_FILE``; a random ephemeral key only where allowed (in-memory stores)."""
    if root_key is not None:
        return _check_len(bytes(root_key), "the `root_key` argument")
    if root_key_file is not None:
        return _read_key_file(Path(root_key_file))
    env = os.environ.get(ROOT_KEY_ENV)
    if env:
        try:
            raw = base64.b64decode(env.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KeystoreError(f"`{ROOT_KEY_ENV}` is not valid base64") from None
        return _check_len(raw, f"`{ROOT_KEY_ENV}`")
    env_file = os.environ.get(ROOT_KEY_FILE_ENV)
    if env_file:
        return _read_key_file(Path(env_file))
    if ephemeral_ok:
        return os.urandom(32)
    raise KeystoreError(
        "no root key for the keystore: set `KMSAUTHZ_ROOT_KEY` (base64 of 32 random bytes, e.g. "
        "`python -c \"import os,base64;print(base64.b64encode(os.urandom(32)).decode())\"`), or "
        "`KMSAUTHZ_ROOT_KEY_FILE`, or pass `root_key_file=`")


def _read_key_file(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeystoreError(f"cannot read the root key file `{path}`: {exc.strerror}") from None
    if len(data) == 32:
        return data
    try:
        raw = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeystoreError(f"root key file `{path}` holds neither 32 raw bytes nor base64 of 32 bytes") from None
    return _check_len(raw, f"root key file `{path}`")


def _check_len(raw: bytes, where: str) -> bytes:
    if len(raw) != 32:
        raise KeystoreError(f"{where} must be 32 bytes (AES-256), got {len(raw)}")
    return raw


# --------------------------------------------------------------------------- records


@dataclass
class Material:
    """One version of a key's material (the secret itself is never in this record)."""

    id: str  # 64 hex characters, the KeyMaterialId
    created: float
    rotation_type: str | None = None  # None for the first material; AUTOMATIC | ON_DEMAND
    state: str = "CURRENT"  # CURRENT | NON_CURRENT | PENDING_ROTATION
    import_state: str | None = None  # IMPORTED | PENDING_IMPORT for EXTERNAL keys
    valid_to: float | None = None
    expiration_model: str | None = None
    description: str | None = None


@dataclass
class KeyRecord:
    """Everything the keystore keeps about one KMS key, except its material."""

    arn: str
    key_id: str
    account: str
    region: str
    key_spec: str
    key_usage: str
    origin: str
    state: str
    policy: str
    creation_date: float
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    deletion_date: float | None = None
    pending_window_days: int | None = None
    state_before_deletion: str | None = None
    multi_region_type: str | None = None
    primary_region: str | None = None
    rotation_enabled: bool = False
    rotation_period_days: int | None = None
    next_rotation: float | None = None
    on_demand_started: float | None = None
    on_demand_count: int = 0
    valid_to: float | None = None
    expiration_model: str | None = None
    import_params: dict[str, Any] | None = None  # wrapping key (root-wrapped) and token id
    materials: list[Material] = field(default_factory=list)

    @property
    def current_material(self) -> Material | None:
        for m in self.materials:
            if m.state == "CURRENT" and m.import_state != "PENDING_IMPORT":
                return m
        return None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> KeyRecord:
        data = json.loads(text)
        data["materials"] = [Material(**m) for m in data.get("materials", [])]
        return cls(**data)

    def __repr__(self) -> str:
        return f"KeyRecord({self.arn!r}, state={self.state!r}, spec={self.key_spec!r})"


@dataclass
class AliasRecord:
    name: str
    account: str
    region: str
    target_key_id: str
    created: float
    updated: float

    @property
    def arn(self) -> str:
        return f"arn:aws:kms:{self.region}:{self.account}:{self.name}"


@dataclass
class GrantRecord:
    grant_id: str
    key_arn: str
    grantee: str
    operations: list[str]
    issuing_account: str
    created: float
    name: str | None = None
    retiring: str | None = None
    constraints: dict[str, dict[str, str]] | None = None
    token: str | None = None
    pending: bool = False  # a world grant not yet propagated: effective only with its token

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> GrantRecord:
        return cls(**json.loads(text))


# --------------------------------------------------------------------------- the store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS keys (arn TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
    key_id TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS keys_by_scope ON keys (account, region, key_id);
CREATE TABLE IF NOT EXISTS materials (key_arn TEXT NOT NULL, material_id TEXT NOT NULL,
    blob BLOB NOT NULL, PRIMARY KEY (key_arn, material_id));
CREATE TABLE IF NOT EXISTS aliases (account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
    target_key_id TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (account, region, name));
CREATE TABLE IF NOT EXISTS grants (key_arn TEXT NOT NULL, grant_id TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (key_arn, grant_id));
CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
    ref TEXT NOT NULL);
"""


class Keystore:
    """SQLite persistence of keys, material, aliases and grants (no caching, no authorization)."""

    def __init__(self, path: str | Path = ":memory:", *, root_key: bytes | None = None,
                 root_key_file: str | Path | None = None, busy_timeout: float = 30.0) -> None:
        self.path = str(path)
        memory = self.path == ":memory:"
        key = load_root_key(root_key, root_key_file, ephemeral_ok=memory)
        self._root = AESGCM(key)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None,
                                       check_same_thread=False)
        except sqlite3.Error as exc:
            raise KeystoreError(f"cannot open keystore `{self.path}`: {exc}") from None
        try:
            self._open()
        except sqlite3.Error as exc:  # a full disk or a read-only file while initialising: a clear error
            self._db.close()
            raise KeystoreError(f"cannot open keystore `{self.path}`: {exc}") from None
        except BaseException:
            self._db.close()
            raise
        self.last_seq = self._max_seq()

    def _open(self) -> None:
        db = self._db
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise KeystoreError(f"`{self.path}` is not a kmsauthz keystore: {exc}") from None
        has_meta = "meta" in tables
        if tables and not has_meta:
            raise KeystoreError(f"`{self.path}` is an SQLite database of something else, not a kmsauthz keystore")
        if has_meta:
            row = db.execute("SELECT value FROM meta WHERE name='root_check'").fetchone()
            if row is None:
                raise KeystoreError(f"`{self.path}` is not a kmsauthz keystore (no root key verifier)")
            try:
                if crypto.unwrap(self._root, row[0], _CHECK_AAD) != _CHECK_TEXT:
                    raise InvalidTag
            except (InvalidTag, ValueError):
                raise KeystoreError(
                    f"the root key does not open keystore `{self.path}`: it was created with another "
                    "root key (nothing was changed)") from None
            version = db.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
            if version is None or int(version[0]) != SCHEMA_VERSION:
                raise KeystoreError(f"keystore `{self.path}` has an unsupported schema version")
        if self.path != ":memory:":
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise KeystoreError(f"keystore `{self.path}` could not be put in WAL mode ({mode})")
            db.execute("PRAGMA synchronous=NORMAL")
        if not has_meta:
            with self.transaction():
                for stmt in _SCHEMA.strip().split(";"):
                    if stmt.strip():
                        db.execute(stmt)
                exists = db.execute("SELECT value FROM meta WHERE name='root_check'").fetchone()
                if exists is None:  # another process may have initialised the file meanwhile
                    db.execute("INSERT INTO meta VALUES ('root_check', ?)",
                               (crypto.wrap(self._root, _CHECK_TEXT, _CHECK_AAD),))
                    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                elif not crypto_unwrap_ok(self._root, exists[0]):
                    raise KeystoreError(f"the root key does not open keystore `{self.path}` (nothing was changed)")

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): all or nothing, serialised across processes."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                # a COMMIT that fails (SQLITE_FULL, SQLITE_IOERR) leaves the transaction open: it
                # must be rolled back too, or the connection stays inside it and every later write
                # fails ("cannot start a transaction within a transaction") while reads see the
                # uncommitted rows (https://www.sqlite.org/lang_transaction.html, "Response To Errors")
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        """Roll back if a transaction is still open (SQLite may have rolled it back itself)."""
        if self._db.in_transaction:
            with suppress(sqlite3.Error):  # the original error is the one to report
                self._db.execute("ROLLBACK")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- change log -----------------------------------------------------------------------

    def _max_seq(self) -> int:
        row = self._db.execute("SELECT MAX(seq) FROM changes").fetchone()
        return int(row[0] or 0)

    def log_change(self, db: sqlite3.Connection, kind: str, ref: str) -> None:
        seq = db.execute("INSERT INTO changes (kind, ref) VALUES (?, ?)", (kind, ref)).lastrowid or 0
        if seq % CHANGE_LOG_PRUNE_EVERY == 0:  # keep the log bounded; a reader that fell further behind reloads all
            db.execute("DELETE FROM changes WHERE seq <= ?", (seq - CHANGE_LOG_KEEP,))

    def changes_since(self, db: sqlite3.Connection, seq: int) -> tuple[int, list[tuple[str, str]] | None]:
        """``(latest seq, changes after seq)``; changes None when the log no longer reaches back to seq."""
        rows = db.execute("SELECT seq, kind, ref FROM changes WHERE seq > ? ORDER BY seq", (seq,)).fetchall()
        if not rows:
            return seq, []
        if seq > 0 and int(rows[0][0]) > seq + 1:
            oldest = db.execute("SELECT MIN(seq) FROM changes").fetchone()[0]
            if oldest is not None and int(oldest) > seq + 1:
                return int(rows[-1][0]), None
        return int(rows[-1][0]), [(k, r) for _, k, r in rows]

    # -- keys -----------------------------------------------------------------------------

    def put_key(self, db: sqlite3.Connection, rec: KeyRecord) -> None:
        db.execute("INSERT OR REPLACE INTO keys VALUES (?, ?, ?, ?, ?)",
                   (rec.arn, rec.account, rec.region, rec.key_id, rec.to_json()))
        self.log_change(db, "key", rec.arn)

    def get_key(self, db: sqlite3.Connection, arn: str) -> KeyRecord | None:
        row = db.execute("SELECT doc FROM keys WHERE arn = ?", (arn,)).fetchone()
        return KeyRecord.from_json(row[0]) if row else None

    def all_keys(self, db: sqlite3.Connection) -> list[KeyRecord]:
        return [KeyRecord.from_json(r[0]) for r in db.execute("SELECT doc FROM keys ORDER BY rowid")]

    def delete_key(self, db: sqlite3.Connection, arn: str) -> None:
        db.execute("DELETE FROM keys WHERE arn = ?", (arn,))
        db.execute("DELETE FROM materials WHERE key_arn = ?", (arn,))
        db.execute("DELETE FROM grants WHERE key_arn = ?", (arn,))
        self.log_change(db, "key", arn)

    # -- material -------------------------------------------------------------------------

    @staticmethod
    def _material_aad(arn: str, material_id: str) -> bytes:
        return b"kmsauthz/material/v1|" + arn.encode() + b"|" + material_id.encode()

    def put_material(self, db: sqlite3.Connection, arn: str, material_id: str, secret: bytes | bytearray) -> None:
        blob = crypto.wrap(self._root, secret, self._material_aad(arn, material_id))
        db.execute("INSERT OR REPLACE INTO materials VALUES (?, ?, ?)", (arn, material_id, blob))

    def get_material(self, arn: str, material_id: str) -> bytearray | None:
        with self.reading() as db:
            row = db.execute("SELECT blob FROM materials WHERE key_arn = ? AND material_id = ?",
                             (arn, material_id)).fetchone()
        if row is None:
            return None
        try:
            return bytearray(crypto.unwrap(self._root, row[0], self._material_aad(arn, material_id)))
        except (InvalidTag, ValueError):
            raise KeystoreError(f"key material of `{arn}` fails its integrity check") from None

    def delete_material(self, db: sqlite3.Connection, arn: str, material_id: str | None = None) -> None:
        if material_id is None:
            db.execute("DELETE FROM materials WHERE key_arn = ?", (arn,))
        else:
            db.execute("DELETE FROM materials WHERE key_arn = ? AND material_id = ?", (arn, material_id))

    def wrap_secret(self, secret: bytes, purpose: str) -> str:
        return base64.b64encode(crypto.wrap(self._root, secret, purpose.encode())).decode()

    def unwrap_secret(self, text: str, purpose: str) -> bytes:
        return crypto.unwrap(self._root, base64.b64decode(text), purpose.encode())

    # -- aliases --------------------------------------------------------------------------

    def put_alias(self, db: sqlite3.Connection, a: AliasRecord) -> None:
        db.execute("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?, ?, ?, ?)",
                   (a.account, a.region, a.name, a.target_key_id, a.created, a.updated))
        self.log_change(db, "alias", f"{a.account}|{a.region}|{a.name}")

    def delete_alias(self, db: sqlite3.Connection, account: str, region: str, name: str) -> None:
        db.execute("DELETE FROM aliases WHERE account = ? AND region = ? AND name = ?", (account, region, name))
        self.log_change(db, "alias", f"{account}|{region}|{name}")

    def get_alias(self, db: sqlite3.Connection, account: str, region: str, name: str) -> AliasRecord | None:
        row = db.execute("SELECT name, account, region, target_key_id, created, updated FROM aliases "
                         "WHERE account = ? AND region = ? AND name = ?", (account, region, name)).fetchone()
        return AliasRecord(*row) if row else None

    def all_aliases(self, db: sqlite3.Connection) -> list[AliasRecord]:
        return [AliasRecord(*r) for r in db.execute(
            "SELECT name, account, region, target_key_id, created, updated FROM aliases ORDER BY name")]

    # -- grants ---------------------------------------------------------------------------

    def put_grant(self, db: sqlite3.Connection, g: GrantRecord) -> None:
        db.execute("INSERT OR REPLACE INTO grants VALUES (?, ?, ?)", (g.key_arn, g.grant_id, g.to_json()))
        self.log_change(db, "grant", f"{g.key_arn}|{g.grant_id}")

    def delete_grant(self, db: sqlite3.Connection, key_arn: str, grant_id: str) -> None:
        db.execute("DELETE FROM grants WHERE key_arn = ? AND grant_id = ?", (key_arn, grant_id))
        self.log_change(db, "grant", f"{key_arn}|{grant_id}")

    def get_grant(self, db: sqlite3.Connection, key_arn: str, grant_id: str) -> GrantRecord | None:
        row = db.execute("SELECT doc FROM grants WHERE key_arn = ? AND grant_id = ?", (key_arn, grant_id)).fetchone()
        return GrantRecord.from_json(row[0]) if row else None

    def grants_of(self, db: sqlite3.Connection, key_arn: str) -> list[GrantRecord]:
        return [GrantRecord.from_json(r[0]) for r in db.execute(
            "SELECT doc FROM grants WHERE key_arn = ? ORDER BY rowid", (key_arn,))]

    def all_grants(self, db: sqlite3.Connection) -> list[GrantRecord]:
        return [GrantRecord.from_json(r[0]) for r in db.execute("SELECT doc FROM grants ORDER BY rowid")]

    def __repr__(self) -> str:
        return f"Keystore({self.path!r})"


def crypto_unwrap_ok(root: AESGCM, blob: bytes) -> bool:
    try:
        return crypto.unwrap(root, blob, _CHECK_AAD) == _CHECK_TEXT
    except (InvalidTag, ValueError):
        return False


def parse_ref(ref: str) -> tuple[str, ...]:
    return tuple(ref.split("|"))


__all__ = ["AliasRecord", "GrantRecord", "KeyRecord", "Keystore", "KeystoreError", "Material",
           "load_root_key", "parse_ref"]
