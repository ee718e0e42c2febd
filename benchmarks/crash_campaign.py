"""Crash campaign on the local KMS keystore: SIGKILL writers at random points, then check the store.

Each round starts writer processes (two at a time, on one store file) that loop over CreateKey
(+ Encrypt), RotateKeyOnDemand (+ Encrypt under the new material), CreateGrant and
ScheduleKeyDeletion, logging an *intent* line before each call and a *done* line (fsynced) after
it returns. The parent SIGKILLs them at a random moment, then reopens the store and checks:

* everything logged as done is there and whole: every key decrypts what it encrypted (old and
  rotated material), every grant is listed, every scheduled key is PendingDeletion, every
  rotation is listed;
* nothing else is there: a key, grant or rotation that was not logged as done may exist only if
  it was the killed writer's in-flight call (SQLite committed, the log line did not make it).

``python -m benchmarks.crash_campaign --kills 1000`` prints kills survived and any loss found.
The test suite (``tests/hardening/test_crash_campaign.py``) runs a short campaign.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT = "111122223333"
REGION = "us-east-1"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
_ALLOW_ALL = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}


def world() -> dict[str, Any]:
    """Alice may do anything (IAM, delegated by the default key policy); Bob is a grantee."""
    return {"region": REGION, "principals": [{"arn": ALICE, "policies": [_ALLOW_ALL]}, {"arn": BOB}]}


def _context() -> multiprocessing.context.BaseContext:
    """Fork (fast) unless other threads run in this process, where forking is unsafe."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["kmsauthz.kms", "benchmarks.crash_campaign"])
    return ctx


def _line(out: Any, rec: dict[str, Any]) -> None:
    out.write(json.dumps(rec, separators=(",", ":")) + "\n")
    out.flush()
    os.fsync(out.fileno())


def writer(store: str, log: str, tag: str, root_key: bytes, seed: int, ready: Any) -> None:
    """A writer process: random mutating operations until killed (logs intent, then done)."""
    from kmsauthz.kms import LocalKMS

    rng = random.Random(seed)
    kms = LocalKMS.from_world(world(), store=store, root_key=root_key)
    c = kms.client(ALICE, REGION)
    keys: list[str] = []
    rotations: dict[str, int] = {}
    ready.set()
    with open(log, "a") as out:
        for i in range(1_000_000):
            roll = rng.random()
            if not keys or roll < 0.35:
                desc = f"{tag}-{i}"
                _line(out, {"op": "key", "desc": desc})
                key = c.create_key(Description=desc)["KeyMetadata"]["KeyId"]
                pt = f"pt-{desc}"
                blob = c.encrypt(KeyId=key, Plaintext=pt.encode())["CiphertextBlob"]
                _line(out, {"done": "key", "desc": desc, "key": key, "blob": blob.hex(), "pt": pt})
                keys.append(key)
            elif roll < 0.6:
                key = rng.choice(keys)
                if rotations.get(key, 0) >= 20:
                    continue
                _line(out, {"op": "rotate", "key": key})
                c.rotate_key_on_demand(KeyId=key)
                rotations[key] = rotations.get(key, 0) + 1
                pt = f"pt-{tag}-{i}-rotated"
                blob = c.encrypt(KeyId=key, Plaintext=pt.encode())["CiphertextBlob"]
                _line(out, {"done": "rotate", "key": key, "blob": blob.hex(), "pt": pt})
            elif roll < 0.9:
                key = rng.choice(keys)
                name = f"{tag}-g{i}"
                _line(out, {"op": "grant", "key": key, "name": name})
                gid = c.create_grant(KeyId=key, GranteePrincipal=BOB, Operations=["Encrypt", "Decrypt"],
                                     Name=name)["GrantId"]
                _line(out, {"done": "grant", "key": key, "name": name, "grant_id": gid})
            else:
                key = keys.pop(rng.randrange(len(keys)))
                _line(out, {"op": "schedule", "key": key})
                c.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
                _line(out, {"done": "schedule", "key": key})


@dataclass
class Ledger:
    """What the writers' logs say was committed, and what each killed writer had in flight."""

    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # desc -> done record
    key_ids: dict[str, str] = field(default_factory=dict)  # key id -> desc
    rotations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    grants: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> {name: grant id}
    scheduled: set[str] = field(default_factory=set)
    inflight: list[dict[str, Any]] = field(default_factory=list)


def read_logs(folder: Path) -> Ledger:
    led = Ledger()
    for path in sorted(folder.glob("log-*.jsonl")):
        pending: dict[str, Any] | None = None
        for raw in path.read_text().splitlines():
            if not raw.endswith("}"):
                continue  # torn by the kill
            rec = json.loads(raw)
            if "op" in rec:
                pending = rec
                continue
            pending = None
            kind = rec["done"]
            if kind == "key":
                led.keys[rec["desc"]] = rec
                led.key_ids[rec["key"]] = rec["desc"]
            elif kind == "rotate":
                led.rotations.setdefault(rec["key"], []).append(rec)
            elif kind == "grant":
                led.grants.setdefault(rec["key"], {})[rec["name"]] = rec["grant_id"]
            elif kind == "schedule":
                led.scheduled.add(rec["key"])
        if pending is not None:
            led.inflight.append(pending)
    return led


def check(store: Path, folder: Path, root_key: bytes, *, final: bool = False) -> list[str]:
    """Reopen the store and compare it with the logs; returns the problems (empty: nothing lost)."""
    from kmsauthz.kms import KMSError, LocalKMS

    led = read_logs(folder)
    problems: list[str] = []
    inflight_keys = {r["desc"] for r in led.inflight if r["op"] == "key"}
    inflight_rot = {r["key"] for r in led.inflight if r["op"] == "rotate"}
    inflight_grants = {(r["key"], r["name"]) for r in led.inflight if r["op"] == "grant"}
    inflight_sched = {r["key"] for r in led.inflight if r["op"] == "schedule"}
    with LocalKMS.from_world(world(), store=store, root_key=root_key) as kms:
        c = kms.client(ALICE, REGION)
        found: dict[str, dict[str, Any]] = {}
        for page in c.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 1000}):
            for k in page["Keys"]:
                md = c.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
                found[md["Description"]] = md
        for desc, md in found.items():
            if desc not in led.keys and desc not in inflight_keys:
                problems.append(f"phantom key {desc} ({md['KeyId']}): never committed by a writer")
        for desc, rec in led.keys.items():
            md = found.get(desc)
            key = rec["key"]
            if md is None or md["KeyId"] != key:
                problems.append(f"lost key {desc} ({key})")
                continue
            state = md["KeyState"]
            if key in led.scheduled:
                if state != "PendingDeletion":
                    problems.append(f"key {key} scheduled for deletion is {state}")
                if not final:
                    continue
                c.cancel_key_deletion(KeyId=key)
                c.enable_key(KeyId=key)
            elif key in inflight_sched and state == "PendingDeletion":
                if not final:
                    continue
                c.cancel_key_deletion(KeyId=key)
                c.enable_key(KeyId=key)
            elif state != "Enabled":
                problems.append(f"key {key} is {state}, never disabled or scheduled")
                continue
            blobs = [rec, *led.rotations.get(key, [])]
            for b in blobs:
                try:
                    out = c.decrypt(CiphertextBlob=bytes.fromhex(b["blob"]))
                    if out["Plaintext"] != b["pt"].encode() or not out["KeyId"].endswith(key):
                        problems.append(f"key {key} decrypts {b['pt']!r} wrongly")
                except KMSError as exc:
                    problems.append(f"key {key} no longer decrypts {b['pt']!r}: {exc.code}")
            rot = len(c.list_key_rotations(KeyId=key, Limit=1000)["Rotations"])
            want = len(led.rotations.get(key, []))
            if not (rot == want or (rot == want + 1 and key in inflight_rot)):
                problems.append(f"key {key} lists {rot} rotations, {want} committed")
            names = {g.get("Name"): g["GrantId"] for g in c.list_grants(KeyId=key, Limit=100)["Grants"]}
            for name, gid in led.grants.get(key, {}).items():
                if names.get(name) != gid:
                    problems.append(f"lost grant {name} ({gid}) of key {key}")
            for name in set(names) - set(led.grants.get(key, {})):
                if (key, name) not in inflight_grants:
                    problems.append(f"phantom grant {name} on key {key}")
            probe = c.encrypt(KeyId=key, Plaintext=b"probe")["CiphertextBlob"]
            if c.decrypt(CiphertextBlob=probe)["Plaintext"] != b"probe":
                problems.append(f"key {key} fails a fresh round trip")
    return problems


@dataclass
class CampaignResult:
    kills: int
    rounds: int
    keys: int
    grants: int
    rotations: int
    scheduled: int
    problems: list[str]
    seconds: float


def campaign(folder: Path, *, kills: int, seed: int = 20261201, budget: float | None = None,
             writers: int = 2, check_every: int = 10, max_wait: float = 0.08,
             root_key: bytes | None = None) -> CampaignResult:
    """Kill ``kills`` writers (``writers`` at a time on one store), checking every ``check_every`` kills."""
    from kmsauthz.kms import LocalKMS

    folder.mkdir(parents=True, exist_ok=True)
    store = folder / "keys.db"
    root_key = root_key or os.urandom(32)
    LocalKMS.from_world(world(), store=store, root_key=root_key).close()
    ctx = _context()
    rng = random.Random(seed)
    start = time.monotonic()
    done = rounds = 0
    problems: list[str] = []
    next_check = check_every
    while done < kills and (budget is None or time.monotonic() - start < budget):
        procs = []
        for w in range(writers):
            ready = ctx.Event()
            tag = f"r{rounds}w{w}"
            p = ctx.Process(target=writer, args=(str(store), str(folder / f"log-{tag}.jsonl"), tag, root_key,
                                                 rng.randrange(1 << 30), ready), daemon=True)
            p.start()
            procs.append((p, ready))
        for p, ready in procs:
            if not ready.wait(60):
                problems.append(f"writer {p.pid} did not start")
        for p, _ in rng.sample(procs, len(procs)):
            time.sleep(rng.uniform(0.0, max_wait))
            os.kill(p.pid, signal.SIGKILL)
        for p, _ in procs:
            p.join(30)
            if p.exitcode != -signal.SIGKILL:
                problems.append(f"writer {p.pid} ended with {p.exitcode}, not killed (it failed on its own)")
            done += 1
        rounds += 1
        if done >= next_check:
            next_check += check_every
            problems += check(store, folder, root_key)
            if problems:
                break
    problems += check(store, folder, root_key, final=True)
    led = read_logs(folder)
    return CampaignResult(kills=done, rounds=rounds, keys=len(led.keys),
                          grants=sum(len(g) for g in led.grants.values()),
                          rotations=sum(len(r) for r in led.rotations.values()), scheduled=len(led.scheduled),
                          problems=problems, seconds=time.monotonic() - start)


def main(argv: list[str] | None = None) -> int:
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=1000, help="writer processes to SIGKILL (default 1000)")
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--writers", type=int, default=2, help="writers at a time on the one store")
    ap.add_argument("--dir", help="folder for the store and logs (default: a temporary one)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kmsauthz-crash-") as tmp:
        folder = Path(args.dir) if args.dir else Path(tmp)
        res = campaign(folder, kills=args.kills, seed=args.seed, writers=args.writers, check_every=50)
    print(f"kills survived: {res.kills} ({res.rounds} rounds, {args.writers} writers each, {res.seconds:.0f} s)")
    print(f"committed and verified: {res.keys} keys, {res.rotations} rotations, {res.grants} grants, "
          f"{res.scheduled} scheduled deletions")
    if res.problems:
        print(f"LOSS OR CORRUPTION FOUND ({len(res.problems)}):")
        for p in res.problems[:50]:
            print(f"  {p}")
        return 1
    print("loss found: none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
