"""`kmsauthz serve` as a user runs it: a child process on a free loopback port, the `listening on`
line, one log line per request, persistence in a file store, clean stops and clear errors."""

from __future__ import annotations

import base64
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from endpoint_helpers import kms_client

WORLD = Path(__file__).parent / "worlds" / "endpoint.yaml"
ADMIN = ("AKIAADMINEXAMPLE0001", "admin/Secret+Key/EXAMPLE0000000000000000")
MALLORY = ("AKIAMALLORYEXAMPLE01", "mallory/Secret+Key/EXAMPLE000000000000000")
ROOT_KEY = base64.b64encode(b"\x07" * 32).decode()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KMSAUTHZ_ROOT_KEY", "AWS_"))}
    env.update(extra)
    return env


class Served:
    def __init__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 20.0) -> None:
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kmsauthz", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env or _env(),
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        self.line = self.proc.stdout.readline() if ready else ""
        self.startup = time.perf_counter() - started
        self.url = self.line.split()[-1] if self.line.startswith("listening on http://") else None

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=15)
        return self.proc.returncode, err


@pytest.fixture
def served():
    running: list[Served] = []

    def _start(*args: str, **kwargs) -> Served:
        s = Served(*args, **kwargs)
        running.append(s)
        return s

    yield _start
    for s in running:
        s.stop(signal.SIGKILL)


def test_serve_prints_listening_serves_logs_and_stops_on_sigterm(served) -> None:
    s = served("--world", str(WORLD), "--store", ":memory:", "--port", "0")
    assert s.url and s.url.startswith("http://127.0.0.1:"), s.line
    print(f"kmsauthz serve started in {s.startup * 1000:.0f} ms")
    assert s.startup < 5.0  # in practice a few hundred ms; generous for a loaded CI machine
    admin = kms_client(s.url, key=ADMIN)
    key = admin.create_key(Description="from the serve test")["KeyMetadata"]
    blob = admin.encrypt(KeyId=key["KeyId"], Plaintext=b"plaintext-marker-91c2")["CiphertextBlob"]
    assert admin.decrypt(CiphertextBlob=blob)["Plaintext"] == b"plaintext-marker-91c2"
    with pytest.raises(ClientError) as caught:
        kms_client(s.url, key=MALLORY).decrypt(CiphertextBlob=blob)
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    code, err = s.stop()
    assert code == 0, err
    lines = [line for line in err.splitlines() if " principal=" in line]
    assert len(lines) == 4, err
    assert " CreateKey " in lines[0] and "principal=arn:aws:iam::111122223333:user/admin" in lines[0]
    assert "decision=Allow status=200" in lines[1] and f"key={key['KeyId']}" in lines[1]
    assert " Decrypt " in lines[3] and "principal=arn:aws:iam::111122223333:user/mallory" in lines[3]
    # ImplicitDeny once the crypto core's AccessDeniedException carries its decision; Deny until then
    assert (
        "decision=ImplicitDeny" in lines[3] or "decision=Deny " in lines[3]
    ) and "error=AccessDeniedException" in lines[3]
    assert "plaintext-marker-91c2" not in err and base64.b64encode(blob).decode() not in err
    assert ADMIN[1] not in err


def test_a_file_store_keeps_keys_across_restarts(served, tmp_path: Path) -> None:
    store = tmp_path / "keys.db"
    env = _env(KMSAUTHZ_ROOT_KEY=ROOT_KEY)
    first = served("--world", str(WORLD), "--store", str(store), "--port", "0", "-q", env=env)
    assert first.url, first.line
    admin = kms_client(first.url, key=ADMIN, region="eu-west-1")
    key_id = admin.create_key(Description="persisted")["KeyMetadata"]["KeyId"]
    blob = admin.encrypt(KeyId=key_id, Plaintext=b"kept")["CiphertextBlob"]
    assert first.stop(signal.SIGINT)[0] == 0  # Ctrl-C stops it cleanly too
    second = served("--world", str(WORLD), "--store", str(store), "--port", "0", "-q", env=env)
    assert second.url, second.line
    admin = kms_client(second.url, key=ADMIN, region="eu-west-1")
    assert admin.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"].startswith(
        "arn:aws:kms:eu-west-1:111122223333:"
    )
    assert admin.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"
    code, err = second.stop()
    assert code == 0 and " principal=" not in err  # --quiet: no request lines


def test_a_file_store_without_a_root_key_is_a_clear_error(served, tmp_path: Path) -> None:
    s = served("--world", str(WORLD), "--store", str(tmp_path / "k.db"), "--port", "0")
    assert s.url is None
    code, err = s.stop()
    assert code != 0 and "KMSAUTHZ_ROOT_KEY" in err and "Traceback" not in err


def test_a_port_in_use_is_a_clear_error(served) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        s = served("--world", str(WORLD), "--store", ":memory:", "--port", str(port))
        assert s.url is None
        code, err = s.stop()
    assert code != 0 and f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err


def test_a_world_without_access_keys_warns(served, tmp_path: Path) -> None:
    world = tmp_path / "w.yaml"
    world.write_text("region: us-east-1\nprincipals:\n  - arn: arn:aws:iam::111122223333:user/u\n")
    s = served("--world", str(world), "--store", ":memory:", "--port", "0")
    assert s.url
    code, err = s.stop()
    assert code == 0 and "declares no access keys" in err


def test_a_bad_world_file_is_a_clear_error(served, tmp_path: Path) -> None:
    world = tmp_path / "bad.yaml"
    world.write_text(
        "region: us-east-1\nprincipals:\n  - arn: arn:aws:iam::111122223333:user/u\n    nope: 1\n"
    )
    s = served("--world", str(world), "--store", ":memory:", "--port", "0")
    assert s.url is None
    code, err = s.stop()
    assert code == 2 and "bad.yaml" in err and "Traceback" not in err


def test_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kmsauthz", "serve", "--help"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0
    for option in ("--world", "--store", "--host", "--port"):
        assert option in out.stdout
