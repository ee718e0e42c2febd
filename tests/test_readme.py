"""The README's examples run: its scenario passes, its eval output is what the tool prints, its
Python blocks execute."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kmsauthz.cli.main import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _block(start: str) -> str:
    match = re.search(r"```(?:yaml|python|console)\n" + re.escape(start) + r"(.*?)```", README, re.S)
    assert match, f"README has no block starting with {start!r}"
    return start + match.group(1)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "orders.yaml").write_text(_block("# orders.yaml\n"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_two_commands_open_the_readme() -> None:
    first = README.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert first == [
        "pip install . && kmsauthz audit fixtures/ && kmsauthz test fixtures/scenarios",
        "pip install '.[test]' && python -m pytest",
    ]


def test_the_scenario_passes(in_tmp: Path) -> None:
    result = CliRunner().invoke(cli, ["test", "orders.yaml"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "2 passed, 0 failed"


def test_the_eval_output_is_what_the_tool_prints(in_tmp: Path) -> None:
    console = _block("$ kmsauthz test orders.yaml\n")
    shown = console.split("--action kms:Encrypt --key alias/orders\n", 1)[1].strip()
    result = CliRunner().invoke(cli, ["eval", "--world", "orders.yaml", "--principal",
                                      "arn:aws:iam::111122223333:role/app", "--action", "kms:Encrypt",
                                      "--key", "alias/orders"])
    assert result.exit_code == 1
    assert result.output.strip() == shown


@pytest.mark.parametrize("start", ["from kmsauthz import Authorizer", "from kmsauthz.kms import"])
def test_python_blocks_run(in_tmp: Path, start: str, capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {}
    exec(compile(_block(start), "README.md", "exec"), namespace)
    if start.startswith("from kmsauthz import"):
        decision = namespace["decision"]
        assert decision.outcome == "Allow"  # type: ignore[attr-defined]
    else:
        assert "no identity-based policy allows the kms:Encrypt action" in capsys.readouterr().out
