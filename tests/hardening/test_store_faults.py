"""Keystore faults: a full disk (random write statements fail, and SQLite's max_page_count), a
read-only database. Every call ends in success or a clear KMS error; the store reopens; nothing
committed is lost, nothing that failed is there."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from hardening_support import ALICE, REGION, make_world
from store_workload import FaultyConnection, Model, step, verify

from kmsauthz.kms import KMSError, LocalKMS

INTERNAL = frozenset({"KMSInternalException"})


def _open(path: Path, root_key: bytes) -> LocalKMS:
    return LocalKMS.from_world(make_world(), store=path, root_key=root_key)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_disk_full_faults(tmp_path: Path, root_key: bytes, seed: int) -> None:
    rng = random.Random(seed)
    store = tmp_path / "k.db"
    m = Model()
    kms = _open(store, root_key)
    faulty = FaultyConnection(kms.store._db, rng, rate=0.08)
    kms.store._db = faulty  # type: ignore[assignment]
    for i in range(120):
        step(kms, m, rng, i, INTERNAL)
        if i % 30 == 29:
            faulty.armed = False
            verify(kms, m)  # the running KMS: a failed call left nothing in its cache
            faulty.armed = True
    faulty.armed = False
    assert faulty.injected > 5 and m.failures.get("KMSInternalException", 0) > 5 and m.successes > 40
    verify(kms, m)
    kms.close()
    with _open(store, root_key) as again:  # the store reopens, with exactly what committed
        verify(again, m)
        step(again, m, rng, 1000, frozenset())  # and takes writes again
        verify(again, m)


def test_a_failed_commit_does_not_wedge_the_store(tmp_path: Path, root_key: bytes) -> None:
    store = tmp_path / "k.db"
    kms = _open(store, root_key)
    real = kms.store._db

    class FailCommit(FaultyConnection):
        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            if self.armed and sql.strip().upper() == "COMMIT":
                self.armed = False
                raise sqlite3.OperationalError("database or disk is full")
            return self.real.execute(sql, *args)

    kms.store._db = FailCommit(real, random.Random(0), 1.0)  # type: ignore[assignment]
    c = kms.client(ALICE, REGION)
    with pytest.raises(KMSError) as exc:
        c.create_key(Description="h-lost")
    assert exc.value.code == "KMSInternalException"
    assert not real.in_transaction
    key = c.create_key(Description="h-kept")["KeyMetadata"]["KeyId"]  # the next write works
    kms.close()
    with _open(store, root_key) as again:
        c = again.client(ALICE, REGION)
        descs = [c.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["Description"] for k in c.list_keys()["Keys"]]
        assert "h-kept" in descs and "h-lost" not in descs
        assert c.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_sqlite_max_page_count_full_disk(tmp_path: Path, root_key: bytes) -> None:
    store = tmp_path / "k.db"
    rng = random.Random(7)
    m = Model()
    kms = _open(store, root_key)
    pages = kms.store._db.execute("PRAGMA page_count").fetchone()[0]
    kms.store._db.execute(f"PRAGMA max_page_count = {pages + 3}")
    for i in range(80):
        step(kms, m, rng, i, INTERNAL)
    assert m.failures.get("KMSInternalException", 0) > 10 and m.successes > 0
    verify(kms, m)
    kms.store._db.execute("PRAGMA max_page_count = 1073741823")  # room again: writes work
    step(kms, m, rng, 500, frozenset())
    kms.close()
    with _open(store, root_key) as again:
        verify(again, m)


def test_a_read_only_database(tmp_path: Path, root_key: bytes) -> None:
    store = tmp_path / "k.db"
    rng = random.Random(3)
    m = Model()
    with _open(store, root_key) as kms:
        for i in range(12):
            step(kms, m, rng, i, frozenset())
    kms = _open(store, root_key)
    kms.store._db.execute("PRAGMA query_only = ON")  # every write refused, as on a read-only file
    verify(kms, m)  # reads and cryptography still work
    before = (store.read_bytes(), len(m.keys), m.successes)
    for i in range(100, 130):
        step(kms, m, rng, i, INTERNAL)
    assert m.successes == before[2] and m.failures["KMSInternalException"] >= 25
    verify(kms, m)
    kms.close()
    with _open(store, root_key) as again:
        verify(again, m)


def test_a_read_only_uri_connection(tmp_path: Path, root_key: bytes) -> None:
    store = tmp_path / "k.db"
    m = Model()
    rng = random.Random(4)
    kms = _open(store, root_key)
    for i in range(8):
        step(kms, m, rng, i, frozenset())
    # swap the store's connection for one opened `mode=ro` (another connection keeps the WAL files)
    ro = sqlite3.connect(f"file:{store}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    rw = kms.store._db
    kms.store._db = ro
    for i in range(100, 120):
        step(kms, m, rng, i, INTERNAL)
    assert m.failures.get("KMSInternalException", 0) >= 15
    verify(kms, m)
    kms.store._db = rw
    ro.close()
    kms.close()
    with _open(store, root_key) as again:
        verify(again, m)


def test_opening_on_a_full_disk_is_a_keystore_error(tmp_path: Path, root_key: bytes,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from hardening_support import ACCOUNT, key_policy

    from kmsauthz.kms import KeystoreError

    real = sqlite3.connect

    def full_disk(*a: object, **kw: object) -> FaultyConnection:
        return FaultyConnection(real(*a, **kw), random.Random(0), rate=1.0)  # type: ignore[arg-type]

    store = tmp_path / "k.db"
    monkeypatch.setattr(sqlite3, "connect", full_disk)
    with pytest.raises(KeystoreError) as exc:  # initialising a new store (sqlite3.OperationalError before)
        _open(store, root_key)
    assert "database or disk is full" in str(exc.value) and str(store) in str(exc.value)
    monkeypatch.undo()
    m = Model()
    rng = random.Random(5)
    with _open(store, root_key) as kms:
        for i in range(6):
            step(kms, m, rng, i, frozenset())
    world = make_world()
    world["keys"].append({"id": "77777777-12ab-34cd-56ef-1234567890ab", "account": ACCOUNT,
                          "policy": key_policy()})
    monkeypatch.setattr(sqlite3, "connect", full_disk)
    with pytest.raises(KeystoreError):  # seeding a new world key fails: a clear error, nothing half-done
        LocalKMS.from_world(world, store=store, root_key=root_key)
    monkeypatch.undo()
    with LocalKMS.from_world(world, store=store, root_key=root_key) as kms:
        verify(kms, m)
        assert kms.client(ALICE, REGION).describe_key(KeyId="77777777-12ab-34cd-56ef-1234567890ab")
