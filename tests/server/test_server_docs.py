"""docs/endpoint.md runs: its world file, its AWS CLI session, its boto3 and Encryption SDK code,
against a server started on a free loopback port in place of the page's `127.0.0.1:7143`."""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kmsauthz.kms import LocalKMS
from kmsauthz.scenario import load_world
from kmsauthz.server import CredentialStore, Endpoint, start_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "endpoint.md"
PAGE_URL = "http://127.0.0.1:7143"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.S | re.M)


def blocks(language: str) -> list[tuple[str, str]]:
    return [(info.strip(), body) for lang, info, body in FENCE.findall(DOC.read_text()) if lang == language]


def _exports(body: str) -> dict[str, str]:
    return dict(re.findall(r"^export (\w+)=(\S+)$", body, re.M))


@pytest.fixture(scope="module")
def page_world(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    (_info, body), *_ = [b for b in blocks("yaml") if "file=world.yaml" in b[0]]
    (folder / "world.yaml").write_text(body)
    return folder


@pytest.fixture(scope="module")
def live(page_world: Path):
    world = load_world(page_world / "world.yaml")
    kms = LocalKMS.from_world(world, store=":memory:")
    with start_server(Endpoint(kms, CredentialStore.from_world(world)), "127.0.0.1", 0) as running:
        yield running
    kms.close()


def test_the_root_key_command_makes_32_random_bytes() -> None:
    start = next(body for _, body in blocks("sh") if "KMSAUTHZ_ROOT_KEY" in body)
    line = next(line for line in start.splitlines() if "KMSAUTHZ_ROOT_KEY=" in line)
    out = subprocess.run(
        ["bash", "-c", f'{line} && printf %s "$KMSAUTHZ_ROOT_KEY"'],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert len(base64.b64decode(out.stdout, validate=True)) == 32


def test_the_boto3_examples_run(live, page_world: Path, capsys) -> None:
    code = [
        body for _, body in blocks("python") if "boto3.client(" in body and "aws_encryption_sdk" not in body
    ]
    assert len(code) == 1
    namespace: dict = {}
    exec(compile(code[0].replace(PAGE_URL, live.url), "docs/endpoint.md", "exec"), namespace)
    assert "AccessDeniedException" in capsys.readouterr().out
    hook = next(body for _, body in blocks("python") if "before-sign" in body)
    exec(compile(hook, "docs/endpoint.md", "exec"), namespace)
    namespace["kms"].list_keys()


def test_the_python_test_example_runs(page_world: Path, monkeypatch, capsys) -> None:
    code = next(body for _, body in blocks("python") if "start_server(" in body)
    monkeypatch.chdir(page_world)
    exec(compile(code, "docs/endpoint.md", "exec"), {})
    assert capsys.readouterr().out.startswith("http://127.0.0.1:")


@pytest.mark.skipif(
    importlib.util.find_spec("aws_encryption_sdk") is None,
    reason="the AWS Encryption SDK is not installed: pip install '.[test]'",
)
def test_the_encryption_sdk_example_runs(live, monkeypatch) -> None:
    env = next(body for _, body in blocks("sh") if "AWS_ENDPOINT_URL_KMS" in body and "export" in body)
    for name, value in _exports(env.replace(PAGE_URL, live.url)).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    code = next(body for _, body in blocks("python") if "aws_encryption_sdk" in body)
    exec(compile(code, "docs/endpoint.md", "exec"), {})


@pytest.mark.skipif(
    importlib.util.find_spec("awscli") is None,
    reason="the AWS CLI v1 is not installed: pip install '.[test]'",
)
def test_the_aws_cli_session_runs(live, tmp_path: Path) -> None:
    script = next(body for _, body in blocks("sh") if "aws kms" in body)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "aws"  # `aws` is this interpreter's AWS CLI
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m awscli "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_MAX_ATTEMPTS": "1",
        }
    )
    out = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace(PAGE_URL, live.url)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "hello, kms" in out.stdout
    assert "alias/demo" in out.stdout
    assert "AccessDeniedException" in out.stderr
