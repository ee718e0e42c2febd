"""The keystore: persistence, root keys, material bound to its key, threads, processes, SIGKILL."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from kms_support import ALICE, BOB, REGION, SEED_KEY, code_of, make_world

from kmsauthz.kms import KeystoreError, KMSError, LocalKMS, ManualClock


def _open(path: Path, **kw) -> LocalKMS:
    return LocalKMS.from_world(make_world(), store=path, **kw)


def test_missing_root_key_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KMSAUTHZ_ROOT_KEY", raising=False)
    monkeypatch.delenv("KMSAUTHZ_ROOT_KEY_FILE", raising=False)
    with pytest.raises(KeystoreError) as exc:
        _open(tmp_path / "k.db")
    assert "KMSAUTHZ_ROOT_KEY" in str(exc.value)
    assert not (tmp_path / "k.db").exists()
    monkeypatch.setenv("KMSAUTHZ_ROOT_KEY", "not base64!")
    with pytest.raises(KeystoreError):
        _open(tmp_path / "k.db")
    monkeypatch.setenv("KMSAUTHZ_ROOT_KEY", "c2hvcnQ=")
    with pytest.raises(KeystoreError) as exc:
        _open(tmp_path / "k.db")
    assert "32 bytes" in str(exc.value)


def test_root_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KMSAUTHZ_ROOT_KEY", raising=False)
    keyfile = tmp_path / "root.key"
    keyfile.write_bytes(os.urandom(32))
    with _open(tmp_path / "k.db", root_key_file=keyfile) as kms:
        blob = kms.client(ALICE, REGION).encrypt(KeyId=SEED_KEY, Plaintext=b"x")["CiphertextBlob"]
    monkeypatch.setenv("KMSAUTHZ_ROOT_KEY_FILE", str(keyfile))
    with _open(tmp_path / "k.db") as kms:
        assert kms.client(ALICE, REGION).decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_wrong_root_key_fails_and_changes_nothing(tmp_path: Path, root_key_env: bytes,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "db" / "k.db"
    store.parent.mkdir()
    with _open(store) as kms:
        kms.client(ALICE, REGION).create_key()
    before = _digest(store.parent)
    monkeypatch.setenv("KMSAUTHZ_ROOT_KEY", __import__("base64").b64encode(os.urandom(32)).decode())
    with pytest.raises(KeystoreError) as exc:
        _open(store)
    assert "another root key" in str(exc.value)
    assert _digest(store.parent) == before


def test_state_persists_across_reopening(tmp_path: Path, root_key_env: bytes) -> None:
    store = tmp_path / "k.db"
    clock = ManualClock()
    with _open(store, clock=clock) as kms:
        a = kms.client(ALICE, REGION)
        key = a.create_key(Description="kept", Tags=[{"TagKey": "t", "TagValue": "v"}])["KeyMetadata"]["KeyId"]
        a.create_alias(AliasName="alias/kept", TargetKeyId=key)
        g = a.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["Encrypt"])
        a.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
        old = a.encrypt(KeyId=key, Plaintext=b"v1")["CiphertextBlob"]
        a.rotate_key_on_demand(KeyId=key)
        new = a.encrypt(KeyId="alias/kept", Plaintext=b"v2")["CiphertextBlob"]
        a.disable_key(KeyId=SEED_KEY)  # a world key changed through the API
        policy = a.get_key_policy(KeyId=key)["Policy"]
    with _open(store, clock=clock) as kms:
        a, b = kms.client(ALICE, REGION), kms.client(BOB, REGION)
        md = a.describe_key(KeyId="alias/kept")["KeyMetadata"]
        assert md["KeyId"] == key and md["Description"] == "kept"
        assert a.list_resource_tags(KeyId=key)["Tags"] == [{"TagKey": "t", "TagValue": "v"}]
        assert a.list_grants(KeyId=key)["Grants"][0]["GrantId"] == g["GrantId"]
        assert b.encrypt(KeyId=key, Plaintext=b"via grant")  # the grant still authorizes
        assert a.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"] == 180
        assert a.decrypt(CiphertextBlob=old)["Plaintext"] == b"v1"
        assert a.decrypt(CiphertextBlob=new)["Plaintext"] == b"v2"
        assert a.get_key_policy(KeyId=key)["Policy"] == policy
        assert a.describe_key(KeyId=SEED_KEY)["KeyMetadata"]["KeyState"] == "Disabled"  # store wins over world


def test_material_is_bound_to_its_key(tmp_path: Path, root_key_env: bytes) -> None:
    store = tmp_path / "k.db"
    with _open(store) as kms:
        a = kms.client(ALICE, REGION)
        k1 = a.create_key()["KeyMetadata"]["Arn"]
        k2 = a.create_key()["KeyMetadata"]["Arn"]
        blob = a.encrypt(KeyId=k2, Plaintext=b"x")["CiphertextBlob"]
    db = sqlite3.connect(store)
    m1 = db.execute("SELECT blob FROM materials WHERE key_arn = ?", (k1,)).fetchone()[0]
    db.execute("UPDATE materials SET blob = ? WHERE key_arn = ?", (m1, k2))  # move k1's blob to k2
    db.commit()
    db.close()
    with _open(store) as kms:
        with pytest.raises(KMSError) as exc:
            kms.client(ALICE, REGION).decrypt(CiphertextBlob=blob)
        assert code_of(exc) == "KMSInternalException"
        assert "integrity" in exc.value.message


def test_material_is_encrypted_at_rest(tmp_path: Path, root_key_env: bytes) -> None:
    store = tmp_path / "k.db"
    with _open(store) as kms:
        a = kms.client(ALICE, REGION)
        key = a.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
        live = kms._keys[f"arn:aws:kms:{REGION}:111122223333:key/{key}"]
        mid = live.rec.materials[0].id
        secret = bytes(kms._secret(live, mid))
        assert secret not in repr(kms).encode() and secret.hex() not in repr(live.rec)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret not in raw


def test_threads_share_one_store(tmp_path: Path, root_key_env: bytes) -> None:
    with _open(tmp_path / "k.db") as kms:
        errors: list[BaseException] = []
        results: list[tuple[bytes, bytes]] = []

        def work(i: int) -> None:
            try:
                c = kms.client(ALICE, REGION)
                for j in range(5):
                    key = c.create_key()["KeyMetadata"]["KeyId"]
                    pt = f"{i}-{j}".encode()
                    results.append((c.encrypt(KeyId=key, Plaintext=pt)["CiphertextBlob"], pt))
                    c.encrypt(KeyId=SEED_KEY, Plaintext=pt)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        c = kms.client(ALICE, REGION)
        assert all(c.decrypt(CiphertextBlob=b)["Plaintext"] == pt for b, pt in results)
        assert len(c.list_keys(Limit=1000)["Keys"]) == 31


def _mp() -> multiprocessing.context.BaseContext:
    """Fork (fast) unless other threads run in this process, where forking is unsafe."""
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["kmsauthz.kms", "kms_support"])
    return ctx


def _writer(store: str, log: str, n: int, tag: str, root_key: bytes, ready: Any = None) -> None:
    kms = LocalKMS.from_world(make_world(), store=store, root_key=root_key)
    c = kms.client(ALICE, REGION)
    if ready is not None:
        ready.set()
    with open(log, "a") as out:
        for i in range(n):
            key = c.create_key(Description=f"{tag}-{i}")["KeyMetadata"]["KeyId"]
            pt = f"{tag}-{i}".encode()
            blob = c.encrypt(KeyId=key, Plaintext=pt)["CiphertextBlob"]
            out.write(json.dumps({"key": key, "blob": blob.hex(), "pt": pt.decode()}) + "\n")
            out.flush()
            os.fsync(out.fileno())


def _check(store: Path, log: Path) -> int:
    with _open(store) as kms:
        c = kms.client(ALICE, REGION)
        lines = log.read_text().splitlines() if log.exists() else []
        for line in lines:
            if not line.endswith("}"):
                continue  # the writer was killed mid-line
            rec = json.loads(line)
            out = c.decrypt(CiphertextBlob=bytes.fromhex(rec["blob"]))
            assert out["Plaintext"] == rec["pt"].encode() and out["KeyId"].endswith(rec["key"])
        for k in c.list_keys(Limit=1000)["Keys"]:  # every committed key is whole and usable
            blob = c.encrypt(KeyId=k["KeyId"], Plaintext=b"probe")["CiphertextBlob"]
            assert c.decrypt(CiphertextBlob=blob)["Plaintext"] == b"probe"
        return len(lines)


def test_several_processes_on_one_file(tmp_path: Path, root_key_env: bytes) -> None:
    ctx = _mp()
    store, log = tmp_path / "k.db", tmp_path / "log.jsonl"
    _open(store).close()
    procs = [ctx.Process(target=_writer, args=(str(store), str(log), 8, f"p{i}", root_key_env)) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert _check(store, log) == 24


def test_another_process_sees_changes(tmp_path: Path, root_key_env: bytes) -> None:
    store = tmp_path / "k.db"
    with _open(store, refresh_interval=0.0) as reader:
        ctx = _mp()
        p = ctx.Process(target=_writer, args=(str(store), str(tmp_path / "log"), 1, "x", root_key_env))
        p.start()
        p.join(60)
        key = json.loads((tmp_path / "log").read_text())["key"]
        c = reader.client(ALICE, REGION)
        assert c.describe_key(KeyId=key)["KeyMetadata"]["Description"] == "x-0"
        c.disable_key(KeyId=key)


def test_sigkill_at_random_points_never_corrupts_the_store(tmp_path: Path, root_key_env: bytes) -> None:
    ctx = _mp()
    store, log = tmp_path / "k.db", tmp_path / "log.jsonl"
    _open(store).close()
    rng = random.Random(20260101)
    kills = 0
    deadline = time.monotonic() + 20
    while kills < 20 and time.monotonic() < deadline:
        ready = ctx.Event()
        p = ctx.Process(target=_writer, args=(str(store), str(log), 10_000, f"k{kills}", root_key_env, ready))
        p.start()
        assert ready.wait(30)
        time.sleep(rng.uniform(0.0, 0.15))  # somewhere in the write loop
        os.kill(p.pid, signal.SIGKILL)
        p.join()
        assert p.exitcode == -signal.SIGKILL
        kills += 1
        if kills % 5 == 0:
            _check(store, log)
    assert kills >= 10
    assert _check(store, log) > 0


def test_a_file_that_is_not_a_keystore_is_refused_untouched(tmp_path: Path, root_key_env: bytes) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(4096))
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    for path in (junk, other):
        before = path.read_bytes()
        with pytest.raises(KeystoreError) as exc:
            _open(path)
        assert "not a kmsauthz keystore" in str(exc.value)
        assert path.read_bytes() == before
    with pytest.raises(KeystoreError):
        _open(tmp_path / "no" / "such" / "dir" / "k.db")


def test_a_reader_behind_a_pruned_change_log_reloads_everything(tmp_path: Path, root_key_env: bytes,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from kmsauthz.kms import keystore

    monkeypatch.setattr(keystore, "CHANGE_LOG_KEEP", 3)
    monkeypatch.setattr(keystore, "CHANGE_LOG_PRUNE_EVERY", 2)
    store = tmp_path / "k.db"
    with _open(store, refresh_interval=3600) as reader, _open(store) as writer:
        w = writer.client(ALICE, REGION)
        key = w.create_key()["KeyMetadata"]["KeyId"]
        w.create_alias(AliasName="alias/late", TargetKeyId=key)
        g = w.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["Encrypt"])
        w.schedule_key_deletion(KeyId=SEED_KEY)
        for i in range(8):
            w.tag_resource(KeyId=key, Tags=[{"TagKey": f"t{i}", "TagValue": "v"}])
        with reader.store.reading() as db:
            gap = reader.store.changes_since(db, reader.store.last_seq)
        assert gap[1] is None  # the log no longer reaches back to the reader's position
        reader.refresh_interval = 0.0
        reader._next_refresh = 0.0
        r = reader.client(ALICE, REGION)
        assert r.describe_key(KeyId="alias/late")["KeyMetadata"]["KeyId"] == key
        assert len(r.list_resource_tags(KeyId=key)["Tags"]) == 8
        assert reader.client(BOB, REGION).encrypt(KeyId=key, Plaintext=b"x")  # the grant arrived
        assert r.describe_key(KeyId=SEED_KEY)["KeyMetadata"]["KeyState"] == "PendingDeletion"
        assert r.list_grants(KeyId=key)["Grants"][0]["GrantId"] == g["GrantId"]
