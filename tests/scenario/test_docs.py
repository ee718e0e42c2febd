"""The examples of docs/scenarios.md run: the first scenario passes, its eval output is as shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kmsauthz.cli.main import cli

DOC = Path(__file__).parents[2] / "docs" / "scenarios.md"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    first = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)[0]
    path = tmp_path / "orders.kmsauthz.yaml"
    path.write_text(first)
    return path


def test_first_example_passes(example: Path) -> None:
    result = CliRunner().invoke(cli, ["test", str(example)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "3 passed, 0 failed"


def test_eval_example_matches_the_doc(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(example.parent)
    result = CliRunner().invoke(cli, [
        "eval", "--world", example.name, "--principal", "arn:aws:iam::111122223333:role/app",
        "--action", "kms:Decrypt", "--key", "alias/orders", "--encryption-context", "table=orders"])
    assert result.exit_code == 0
    shown = DOC.read_text().split("--encryption-context table=orders\n", 1)[1].split("```", 1)[0]
    doc_lines = shown.strip().splitlines()
    out_lines = result.output.strip().splitlines()
    assert out_lines[0] == doc_lines[0]
    assert out_lines[-1] == doc_lines[-1]
