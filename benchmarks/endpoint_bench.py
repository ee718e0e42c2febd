"""Requests per second through boto3 against `kmsauthz serve`.

Starts the real server (`python -m kmsauthz serve --store :memory: --port 0 --quiet`) in a child
process on a free loopback port, with the endpoint tests' world, and drives it with boto3 clients
(SigV4-signed, HTTP keep-alive) from this process: each client is a thread with its own boto3
client. Every loop is bounded by time and by count, and the server is stopped at the end.

Also measures, for comparison:
- the server's start-up time (process start to `listening on ...`);
- the same boto3 loop against the endpoint over a backend that does nothing, also in a child
  process (boto3 + HTTP + SigV4 + the JSON protocol alone: the ceiling for any backend);
- the same operation on LocalKMS directly, in process (no HTTP, no boto3).

Run: ``python benchmarks/endpoint_bench.py [--seconds 2] [--clients 1,4] [--ops Encrypt,...]``
(or ``python -m benchmarks.endpoint_bench``). The machine has 2 cores: client and server share
them, so the figures are a floor for a server on its own host.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "tests" / "server" / "worlds" / "endpoint.yaml"
ADMIN = ("AKIAADMINEXAMPLE0001", "admin/Secret+Key/EXAMPLE0000000000000000")
MAX_REQUESTS_PER_CLIENT = 200_000
PLAINTEXT = os.urandom(4096)


def _client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "kms",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=ADMIN[0],
        aws_secret_access_key=ADMIN[1],
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )


def _operation(client: Any, op: str, key_id: str, blob: bytes) -> Callable[[], Any]:
    if op == "Encrypt":
        return lambda: client.encrypt(KeyId=key_id, Plaintext=PLAINTEXT)
    if op == "Decrypt":
        return lambda: client.decrypt(CiphertextBlob=blob)
    if op == "GenerateDataKey":
        return lambda: client.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    if op == "DescribeKey":
        return lambda: client.describe_key(KeyId=key_id)
    if op == "GenerateRandom":
        return lambda: client.generate_random(NumberOfBytes=32)
    raise SystemExit(f"unknown operation {op}")


def drive(url: str, op: str, clients: int, seconds: float, key_id: str, blob: bytes) -> float:
    """Requests per second of ``clients`` threads, each calling ``op`` in a loop for ``seconds``."""
    counts = [0] * clients
    errors: list[BaseException] = []
    start_gate = threading.Barrier(clients + 1)

    def worker(n: int) -> None:
        try:
            call = _operation(_client(url), op, key_id, blob)
            for _ in range(10):  # warm-up: connection, signing-key cache
                call()
            start_gate.wait(30)
            deadline = time.perf_counter() + seconds
            done = 0
            while time.perf_counter() < deadline and done < MAX_REQUESTS_PER_CLIENT:
                call()
                done += 1
            counts[n] = done
        except BaseException as exc:
            errors.append(exc)
            start_gate.abort()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        start_gate.wait(60)
    begin = time.perf_counter()
    for t in threads:
        t.join(seconds + 60)
    elapsed = time.perf_counter() - begin
    if errors:
        raise SystemExit(f"{op}: a client failed: {errors[0]!r}")
    return sum(counts) / elapsed


def start_serve() -> tuple[subprocess.Popen[str], str, float]:
    began = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kmsauthz",
            "serve",
            "--world",
            str(WORLD),
            "--store",
            ":memory:",
            "--port",
            "0",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(
            f"kmsauthz serve did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        )
    return proc, line.split()[-1], time.perf_counter() - began


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _setup_key(url: str) -> tuple[str, bytes]:
    client = _client(url)
    key_id = client.create_key(Description="endpoint bench")["KeyMetadata"]["KeyId"]
    blob = client.encrypt(KeyId=key_id, Plaintext=PLAINTEXT)["CiphertextBlob"]
    return key_id, blob


def in_process_localkms(op: str, seconds: float) -> float | None:
    try:
        from kmsauthz.kms import LocalKMS
    except ImportError:
        return None
    kms = LocalKMS.from_world(str(WORLD), store=":memory:")
    principal = "arn:aws:iam::111122223333:user/admin"
    kw = {"principal": principal, "region": "us-east-1"}
    key_id = kms.call("CreateKey", {"Description": "bench"}, **kw)["KeyMetadata"]["KeyId"]
    blob = kms.call("Encrypt", {"KeyId": key_id, "Plaintext": PLAINTEXT}, **kw)["CiphertextBlob"]
    params = {
        "Encrypt": {"KeyId": key_id, "Plaintext": PLAINTEXT},
        "Decrypt": {"CiphertextBlob": blob},
        "GenerateDataKey": {"KeyId": key_id, "KeySpec": "AES_256"},
        "DescribeKey": {"KeyId": key_id},
        "GenerateRandom": {"NumberOfBytes": 32},
    }[op]
    n, begin = 0, time.perf_counter()
    deadline = begin + seconds
    while time.perf_counter() < deadline and n < 5_000_000:
        kms.call(op, dict(params), **kw)
        n += 1
    return n / (time.perf_counter() - begin)


class _NullBackend:
    def call(self, operation_name: str, params: dict[str, Any], **context: Any) -> dict[str, Any]:
        return {"CiphertextBlob": b"x" * 4200, "KeyId": "k", "KeyMetadata": {"KeyId": "k"}, "Plaintext": b"p"}


def serve_null() -> int:
    """Child process: the endpoint over a backend that does nothing, until SIGTERM."""
    import signal

    from kmsauthz.server import CredentialStore, Endpoint, start_server

    creds = CredentialStore.from_mapping({ADMIN[0]: ("arn:aws:iam::111122223333:user/admin", ADMIN[1])})
    stop_event = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop_event.set())
    with start_server(Endpoint(_NullBackend(), creds), "127.0.0.1", 0) as running:
        print(f"listening on {running.url}", flush=True)
        stop_event.wait(600)  # bounded: a forgotten child ends by itself
    return 0


def start_null() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-null"], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"null server did not start: {line!r}")
    return proc, line.split()[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time of each figure")
    parser.add_argument("--clients", default="1,4", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--ops", default="Encrypt,Decrypt,GenerateDataKey,DescribeKey")
    parser.add_argument("--serve-null", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_null:
        return serve_null()
    clients = [int(c) for c in args.clients.split(",")]
    ops = args.ops.split(",")
    import logging

    logging.getLogger("kmsauthz.server").setLevel(logging.WARNING)

    proc, url, startup = start_serve()
    null_proc, null_url = start_null()
    print(f"kmsauthz serve: listening after {startup * 1000:.0f} ms ({url})")
    print(
        f"{'operation':<18}{'clients':>8}{'serve req/s':>14}{'null-backend req/s':>20}{'LocalKMS.call /s':>18}"
    )
    try:
        key_id, blob = _setup_key(url)
        for op in ops:
            direct = in_process_localkms(op, args.seconds)
            for n in clients:
                served = drive(url, op, n, args.seconds, key_id, blob)
                null = drive(null_url, op, n, args.seconds, "k", b"x")
                direct_text = f"{direct:,.0f}" if direct is not None else "-"
                print(f"{op:<18}{n:>8}{served:>14,.0f}{null:>20,.0f}{direct_text:>18}", flush=True)
    finally:
        stop(proc)
        stop(null_proc)
    print("serve: `kmsauthz serve` (LocalKMS, authorization, :memory: store) in a child process;")
    print("null-backend: the same endpoint over a backend that does nothing, in a child process;")
    print("LocalKMS.call: the crypto core in process, no HTTP. Encrypt of 4 KiB. boto3 clients are threads")
    print("of this process; clients and servers share the machine's cores.")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
