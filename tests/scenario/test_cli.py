"""`kmsauthz test` and `kmsauthz eval`: output formats and exit statuses, through click's CliRunner."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from kmsauthz.cli.main import cli

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
WORLD = textwrap.dedent(
    f"""\
    keys:
      - id: {KEY_ID}
        account: "111122223333"
        aliases: [alias/orders]
        policy:
          Version: "2012-10-17"
          Statement:
            - Sid: AppDecryptsSalesData
              Effect: Allow
              Principal: {{AWS: arn:aws:iam::111122223333:role/app}}
              Action: kms:Decrypt
              Resource: "*"
              Condition:
                StringEquals: {{kms:EncryptionContext:Dept: sales}}
    principals:
      - arn: arn:aws:iam::111122223333:role/app
    """
)
CASES = textwrap.dedent(
    f"""\
    cases:
      - name: app decrypts sales data
        principal: arn:aws:iam::111122223333:role/app
        action: kms:Decrypt
        key: alias/orders
        encryption_context: {{Dept: sales}}
        expect: Allow
        matched: [AppDecryptsSalesData]
      - name: app without context
        principal: arn:aws:iam::111122223333:role/app
        action: kms:Decrypt
        key: {KEY_ID}
        expect: ImplicitDeny
    """
)
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) errors)?$")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "pass.yaml").write_text(WORLD + CASES)
    (tmp_path / "fail.yaml").write_text(WORLD + CASES.replace("expect: ImplicitDeny", "expect: Allow"))
    (tmp_path / "broken.yaml").write_text(WORLD + CASES.replace("expect: Allow", "expect: Allowed"))
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_all_pass_exit_0_and_last_line(files: Path) -> None:
    code, out = run("test", str(files / "pass.yaml"))
    assert code == 0
    assert out.splitlines()[-1] == "2 passed, 0 failed"


def test_a_failed_case_is_listed_with_expected_actual_and_reason(files: Path) -> None:
    code, out = run("test", str(files / "fail.yaml"))
    assert code == 1
    lines = out.splitlines()
    assert lines[-1] == "1 passed, 1 failed"
    assert SUMMARY.match(lines[-1])
    at = lines.index(f"FAIL {files / 'fail.yaml'}:25: app without context")
    assert lines[at + 1] == "  expected: Allow"
    assert lines[at + 2] == "  actual:   ImplicitDeny"
    assert lines[at + 3].startswith("  reason:   ")
    assert "kms:EncryptionContext:Dept" in lines[at + 3]
    assert "app decrypts sales data" not in out


def test_file_error_exit_2_and_errors_in_the_summary(files: Path) -> None:
    code, out = run("test", str(files))
    assert code == 2
    assert out.splitlines()[-1] == "3 passed, 1 failed, 1 errors"
    assert f"ERROR {files / 'broken.yaml'}:23:13: cases[0].expect must be" in out


def test_json_shape(files: Path) -> None:
    code, out = run("test", "--format", "json", str(files))
    assert code == 2
    data = json.loads(out)
    assert set(data) == {"passed", "failed", "errors", "cases", "file_errors"}
    assert (data["passed"], data["failed"], data["errors"]) == (3, 1, 1)
    assert len(data["cases"]) == 4
    for case in data["cases"]:
        assert set(case) == {"file", "name", "expected", "actual", "passed", "reason"}
        assert isinstance(case["passed"], bool)
    failed = [c for c in data["cases"] if not c["passed"]]
    assert [(c["name"], c["expected"], c["actual"]) for c in failed] == [("app without context", "Allow", "ImplicitDeny")]
    (error,) = data["file_errors"]
    assert set(error) == {"file", "line", "message"}
    assert error["file"] == str(files / "broken.yaml") and error["line"] == 23


def test_missing_path_is_exit_2(tmp_path: Path) -> None:
    code, out = run("test", "--format", "json", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert json.loads(out)["file_errors"][0]["message"] == "file not found"


def test_usage_errors_are_exit_2(files: Path) -> None:
    assert run("test")[0] == 2
    assert run("test", "--format", "xml", str(files))[0] == 2


# --- eval ---------------------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path) -> Path:
    path = tmp_path / "world.yaml"
    path.write_text(WORLD)
    return path


def test_eval_allow_exit_0(world: Path) -> None:
    code, out = run("eval", "--world", str(world), "--principal", "arn:aws:iam::111122223333:role/app",
                    "--action", "kms:Decrypt", "--key", "alias/orders", "--encryption-context", "Dept=sales")
    assert code == 0, out
    assert out.startswith("Allow: arn:aws:iam::111122223333:role/app kms:Decrypt on ")
    assert "AppDecryptsSalesData" in out
    assert f"{world}:8:" in out  # the matched statement with file:line


def test_eval_deny_exit_1_shows_missing_keys(world: Path) -> None:
    code, out = run("eval", "--world", str(world), "--principal", "arn:aws:iam::111122223333:role/app",
                    "--action", "kms:Decrypt", "--key", KEY_ID)
    assert code == 1
    assert out.startswith("ImplicitDeny")
    assert "missing condition keys: kms:EncryptionContext:Dept" in out


def test_eval_json(world: Path) -> None:
    code, out = run("eval", "--world", str(world), "--principal", "arn:aws:iam::111122223333:role/app",
                    "--action", "kms:Decrypt", "--key", "alias/orders", "--encryption-context", "Dept=sales",
                    "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["outcome"] == "Allow" and data["effect"] == "Allow"
    assert data["matched_labels"] == ["AppDecryptsSalesData"]


def test_eval_not_found_is_exit_1(world: Path) -> None:
    code, out = run("eval", "--world", str(world), "--principal", "arn:aws:iam::111122223333:role/app",
                    "--action", "kms:Decrypt", "--key", "alias/missing")
    assert code == 1
    assert out.startswith("NotFoundException")


def test_eval_usage_and_file_errors_are_exit_2(world: Path, tmp_path: Path) -> None:
    base = ["eval", "--world", str(world), "--action", "kms:Decrypt"]
    code, out = run(*base, "--principal", "arn:aws:iam::111122223333:role/nobody")
    assert code == 2 and "unknown principal" in out
    code, out = run(*base, "--principal", "arn:aws:iam::111122223333:role/app", "--source-ip", "x")
    assert code == 2 and "--source-ip" in out
    code, out = run(*base, "--principal", "arn:aws:iam::111122223333:role/app", "--encryption-context", "novalue")
    assert code == 2 and "NAME=VALUE" in out
    code, out = run("eval", "--world", str(tmp_path / "none.yaml"), "--principal", "x", "--action", "kms:Decrypt")
    assert code == 2 and "file not found" in out
    assert run("eval", "--world", str(world))[0] == 2  # required options missing


def test_eval_parameters_and_context_are_json(world: Path) -> None:
    from kmsauthz.cli.scenario_commands import _pairs

    assert _pairs(("Operations=[\"Decrypt\"]", "Name=plain"), "--parameter", as_json=True) == {
        "Operations": ["Decrypt"], "Name": "plain"}
    assert _pairs(("aws:SecureTransport=true",), "--context", as_json=True) == {"aws:SecureTransport": True}
