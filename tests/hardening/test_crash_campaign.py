"""SIGKILL campaign and concurrent writers on one keystore file (the long run:
``python -m benchmarks.crash_campaign --kills 1000``)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from hardening_support import ALICE, BOB, REGION

from benchmarks import crash_campaign
from kmsauthz.kms import LocalKMS


def test_sixty_kills_lose_nothing_and_invent_nothing(tmp_path: Path) -> None:
    res = crash_campaign.campaign(tmp_path, kills=60, budget=25, writers=2, check_every=20)
    assert res.problems == []
    assert res.kills >= 50
    # the writers really got through every kind of write between kills
    assert res.keys > 20 and res.rotations > 0 and res.grants > 0 and res.scheduled > 0


def test_the_checker_sees_a_lost_grant_and_a_phantom_key(tmp_path: Path) -> None:
    key = b"k" * 32
    res = crash_campaign.campaign(tmp_path, kills=4, writers=2, check_every=100, root_key=key)
    assert res.problems == [] and res.grants > 0
    led = crash_campaign.read_logs(tmp_path)
    gid = next(g for k, names in led.grants.items() if k not in led.scheduled for g in names.values())
    db = sqlite3.connect(tmp_path / "keys.db")
    assert db.execute("DELETE FROM grants WHERE grant_id = ?", (gid,)).rowcount == 1
    db.commit()
    db.close()
    with LocalKMS.from_world(crash_campaign.world(), store=tmp_path / "keys.db", root_key=key) as kms:
        kms.client(ALICE, REGION).create_key(Description="not-in-any-log")
    problems = crash_campaign.check(tmp_path / "keys.db", tmp_path, key)
    assert any(p.startswith("phantom key not-in-any-log") for p in problems)
    assert any(p.startswith("lost grant") for p in problems)


def test_threads_and_processes_write_one_store(tmp_path: Path) -> None:
    """Two processes (each killed mid-write) and four threads of this one, on the same file."""
    store = tmp_path / "keys.db"
    root_key = b"r" * 32
    ctx = crash_campaign._context()
    with LocalKMS.from_world(crash_campaign.world(), store=store, root_key=root_key,
                             refresh_interval=0.0) as kms:
        procs = []
        for w in range(2):
            ready = ctx.Event()
            p = ctx.Process(target=crash_campaign.writer,
                            args=(str(store), str(tmp_path / f"log-p{w}.jsonl"), f"p{w}", root_key, w, ready),
                            daemon=True)
            p.start()
            procs.append((p, ready))
        for _, ready in procs:
            assert ready.wait(60)
        errors: list[BaseException] = []
        made: list[tuple[str, bytes, str]] = []

        def work(i: int) -> None:
            try:
                c = kms.client(ALICE, REGION)
                for j in range(6):
                    key = c.create_key(Description=f"t{i}-{j}")["KeyMetadata"]["KeyId"]
                    c.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["Decrypt"], Name=f"t{i}-{j}")
                    if j % 2:
                        c.rotate_key_on_demand(KeyId=key)
                    blob = c.encrypt(KeyId=key, Plaintext=f"t{i}-{j}".encode())["CiphertextBlob"]
                    made.append((key, blob, f"t{i}-{j}"))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        import os
        import signal

        for p, _ in procs:
            os.kill(p.pid, signal.SIGKILL)
            p.join(30)
        assert errors == []
        c = kms.client(ALICE, REGION)
        for key, blob, pt in made:
            assert c.decrypt(CiphertextBlob=blob)["Plaintext"] == pt.encode()
            assert [g["Name"] for g in c.list_grants(KeyId=key)["Grants"]] == [pt]
    # the threads' keys are not in the writers' logs: check them as committed, then the logs' own
    problems = [p for p in crash_campaign.check(store, tmp_path, root_key, final=True)
                if not p.startswith("phantom key t")]
    assert problems == []
    with LocalKMS.from_world(crash_campaign.world(), store=store, root_key=root_key) as kms:
        descs = {kms.client(ALICE, REGION).describe_key(KeyId=k["KeyId"])["KeyMetadata"]["Description"]
                 for k in kms.client(ALICE, REGION).list_keys(Limit=1000)["Keys"]}
    assert {f"t{i}-{j}" for i in range(4) for j in range(6)} <= descs


