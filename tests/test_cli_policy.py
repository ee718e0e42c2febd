"""`kmsauthz validate`, `fmt`, `convert`: exit codes, messages, and never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kmsauthz.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "policies"
BAD = ROOT / "tests" / "syntax" / "data"


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=True)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_validate_fixtures_folder_recursively() -> None:
    result = run("validate", str(FIXTURES))
    assert result.exit_code == 0, result.output
    assert "key-console-default.kmsp: valid key policy (4 statements)" in result.output
    assert "iam-app-use-key.json: valid identity policy (2 statements)" in result.output
    assert result.output.count(": valid ") == len(list(FIXTURES.glob("*.json"))) * 2


def test_validate_with_kind_applies_that_kinds_rules() -> None:
    result = run("validate", "--kind", "identity", str(FIXTURES / "key-default.json"))
    assert result.exit_code == 1
    assert "key-default.json:8:20: Statement[0]" in result.output and "an identity policy cannot have Principal" in result.output
    assert "may contain only letters" in result.output


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("trailing-comma.json", "trailing comma"),
        ("duplicate-key.json", "duplicate key `Effect`"),
        ("invalid-utf8.json", "invalid UTF-8"),
        ("nul-byte.json", "NUL byte"),
        ("not-json.json", "expected a value"),
        ("comment.json", "comments are not allowed"),
        ("nan.json", "`NaN` is not JSON"),
        ("deep.json", "deeper than 64 levels"),
        ("lowercase-effect.json", 'Statement[2].Effect must be "Allow" or "Deny", got "allow"'),
        ("missing-brace.kmsp", "unexpected `deny`"),
        ("unknown-keyword.kmsp", "unexpected `actions`"),
        ("unterminated-string.kmsp", "unterminated string"),
        ("partial-wildcard-principal.kmsp", "partial wildcard"),
    ],
)
def test_malformed_input_is_exit_1_with_a_located_message(name: str, words: str) -> None:
    result = run("validate", str(BAD / name))
    assert result.exit_code == 1, result.output
    assert words in result.output
    assert f"{BAD / name}:" in result.output


def test_huge_document_is_an_error_not_a_crash(tmp_path: Path) -> None:
    big = tmp_path / "huge.json"
    statement = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                 "Action": ["kms:Decrypt"] * 3000, "Resource": "*"}
    big.write_text(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    result = run("validate", str(big))
    assert result.exit_code == 1
    assert "a key policy can be at most 32,768 bytes" in result.output
    enormous = tmp_path / "enormous.json"
    enormous.write_bytes(b"[" + b"1," * 600_000 + b"1]")
    result = run("validate", str(enormous))
    assert result.exit_code == 1 and "more than the 1,048,576 bytes" in result.output


def test_missing_path_and_usage_errors_exit_2(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nope.json"))
    assert result.exit_code == 2 and "no such file or directory" in result.output
    assert run("validate").exit_code == 2
    assert run("validate", "--kind", "bogus", str(FIXTURES)).exit_code == 2
    assert run("convert", str(FIXTURES / "key-default.json")).exit_code == 2  # --to is required


def test_unreadable_beats_invalid(tmp_path: Path) -> None:
    result = run("validate", str(BAD / "nan.json"), str(tmp_path / "missing.kmsp"))
    assert result.exit_code == 2


def test_fmt_rewrites_and_check_lists(tmp_path: Path) -> None:
    messy = tmp_path / "messy.kmsp"
    messy.write_text('version "2012-10-17"\nallow "A" {   action    kms:Decrypt  # keep me\n resource *}\n')
    result = run("fmt", "--check", str(tmp_path))
    assert result.exit_code == 1 and f"would reformat {messy}" in result.output
    assert "   action    kms:Decrypt" in messy.read_text()  # --check changes nothing
    result = run("fmt", str(messy))
    assert result.exit_code == 0 and f"formatted {messy}" in result.output
    assert messy.read_text() == (
        'version "2012-10-17"\n\nallow "A" {\n  action kms:Decrypt  # keep me\n  resource *\n}\n'
    )
    assert run("fmt", "--check", str(messy)).exit_code == 0


def test_fmt_check_accepts_the_fixtures(tmp_path: Path) -> None:
    assert run("fmt", "--check", str(FIXTURES)).exit_code == 0


def test_fmt_reports_syntax_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.kmsp"
    shutil.copy(BAD / "missing-brace.kmsp", bad)
    before = bad.read_text()
    result = run("fmt", str(bad))
    assert result.exit_code == 1 and "unexpected `deny`" in result.output
    assert bad.read_text() == before


def test_convert_both_ways(tmp_path: Path) -> None:
    source = FIXTURES / "key-vpc-endpoint-only.json"
    to_kmsp = run("convert", "--to", "kmsp", str(source))
    assert to_kmsp.exit_code == 0
    assert to_kmsp.output == (FIXTURES / "key-vpc-endpoint-only.kmsp").read_text()
    middle = tmp_path / "k.kmsp"
    middle.write_text(to_kmsp.output)
    out = tmp_path / "k.json"
    result = run("convert", "--to", "json", str(middle), "-o", str(out))
    assert result.exit_code == 0 and result.output == ""
    assert json.loads(out.read_text()) == json.loads(source.read_text())
    assert out.read_text() == source.read_text()


def test_convert_errors_are_located() -> None:
    result = run("convert", "--to", "kmsp", str(BAD / "duplicate-key.json"))
    assert result.exit_code == 1
    assert f"{BAD / 'duplicate-key.json'}:4:5: duplicate key `Effect`" in result.output


def test_real_command_line_has_no_traceback() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "kmsauthz", "validate", str(BAD / "invalid-utf8.json")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "invalid UTF-8" in proc.stderr and "Traceback" not in proc.stderr


def test_fmt_refuses_json_files() -> None:
    result = run("fmt", str(FIXTURES / "key-default.json"))
    assert result.exit_code == 2 and "not a .kmsp file" in result.output
