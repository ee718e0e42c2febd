"""Local KMS throughput: Encrypt / Decrypt / GenerateDataKey per second, with and without the
authorization check, against plain AES-GCM (the floor) and moto's KMS backend (no policy check).

Run: ``python -m benchmarks.crypto_bench`` or ``python benchmarks/crypto_bench.py``
(``--quick`` for a short run, ``--json`` for machine-readable output).

Each figure is the best of several rounds (the least disturbed by other load), in microseconds
per call and calls per second. "authorized" runs the real evaluator (``kmsauthz.evaluate.Authorizer``)
on a key policy with root delegation plus an IAM policy, as most keys are set up; "no authz" swaps in
an evaluator that returns a constant Allow, so the difference is the authorization check.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmsauthz.kms import LocalKMS, ManualClock
from kmsauthz.model.decision import Decision, Effect

ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/app"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
WORLD: dict[str, Any] = {
    "region": "us-east-1",
    "principals": [{"arn": USER, "policies": [{"Version": "2012-10-17", "Statement": [
        {"Sid": "UseKeys", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*"}]}]}],
    "keys": [{"id": KEY_ID, "account": ACCOUNT, "policy": {"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}]}}],
}


class _ConstantAllow:
    """An evaluator that allows everything at no cost: isolates the crypto core's own overhead."""

    _ALLOW = Decision(effect=Effect.ALLOW)

    def decide(self, request: Any) -> Decision:
        return self._ALLOW

    def put_key(self, *a: Any) -> None: ...
    def remove_key(self, *a: Any) -> None: ...
    def put_grant(self, *a: Any) -> None: ...
    def remove_grant(self, *a: Any) -> None: ...


def best_us(fn: Callable[[], Any], n: int, rounds: int) -> float:
    fn()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def run(n: int, rounds: int) -> list[dict[str, Any]]:
    plaintext = os.urandom(4096)
    rows: list[dict[str, Any]] = []

    def add(name: str, fn: Callable[[], Any]) -> None:
        us = best_us(fn, n, rounds)
        rows.append({"benchmark": name, "us_per_call": round(us, 2), "calls_per_s": round(1e6 / us)})

    aead = AESGCM(os.urandom(32))
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, plaintext, b"aad")
    add("AES-256-GCM encrypt 4 KiB (cryptography, floor)", lambda: aead.encrypt(os.urandom(12), plaintext, b"aad"))
    add("AES-256-GCM decrypt 4 KiB (cryptography, floor)", lambda: aead.decrypt(nonce, sealed, b"aad"))

    for label, kwargs in (("authorized", {}),
                          ("no authz", {"authorizer": _ConstantAllow(),
                                        "authorizer_factory": lambda w: _ConstantAllow()})):
        kms = LocalKMS.from_world(WORLD, clock=ManualClock(), **kwargs)
        client = kms.client(USER, "us-east-1")
        blob = client.encrypt(KeyId=KEY_ID, Plaintext=plaintext)["CiphertextBlob"]
        add(f"LocalKMS Encrypt 4 KiB ({label})", lambda c=client: c.encrypt(KeyId=KEY_ID, Plaintext=plaintext))
        add(f"LocalKMS Decrypt 4 KiB ({label})", lambda c=client, b=blob: c.decrypt(CiphertextBlob=b))
        add(f"LocalKMS GenerateDataKey AES_256 ({label})",
            lambda c=client: c.generate_data_key(KeyId=KEY_ID, KeySpec="AES_256"))
        kms.close()

    try:
        from moto.kms.models import kms_backends
    except ImportError:
        rows.append({"benchmark": "moto KMS backend Encrypt 4 KiB", "us_per_call": None, "calls_per_s": None,
                     "note": "moto is not installed"})
    else:
        backend = kms_backends["123456789012"]["us-east-1"]
        key = backend.create_key(None, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "bench", None)
        mblob, _ = backend.encrypt(key.id, plaintext, {})
        add("moto KMS backend Encrypt 4 KiB (no policy check)", lambda: backend.encrypt(key.id, plaintext, {}))
        add("moto KMS backend Decrypt 4 KiB (no policy check)", lambda: backend.decrypt(mblob, {}))
        add("moto KMS backend GenerateDataKey AES_256 (no policy check)",
            lambda: backend.generate_data_key(key.id, {}, 0, "AES_256"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls per round (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    n, rounds = (300, 3) if args.quick else (3000, 7)
    rows = run(n, rounds)
    if args.json:
        print(json.dumps({"calls_per_round": n, "rounds": rounds, "results": rows}, indent=2))
        return 0
    width = max(len(r["benchmark"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'us/call':>9}  {'calls/s':>9}")
    for r in rows:
        us = "n/a" if r["us_per_call"] is None else f"{r['us_per_call']:.2f}"
        per_s = "n/a" if r["calls_per_s"] is None else f"{r['calls_per_s']:,}"
        print(f"{r['benchmark']:<{width}}  {us:>9}  {per_s:>9}")
    print(f"(best of {rounds} rounds of {n} calls; python {sys.version.split()[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
