"""docs/audit.md lists every rule; the pre-commit hook runs the audit; the progress bar rule."""

from __future__ import annotations

import re
import shlex

import yaml
from click.testing import CliRunner

from kmsauthz.audit import RULES
from kmsauthz.cli import audit_command
from kmsauthz.cli.main import cli
from tests.audit.conftest import ROOT


def test_audit_doc_lists_every_rule_with_its_severity() -> None:
    text = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| \[`([a-z-]+)`\]\(rules/[a-z-]+\.md\) \| (\w+) \|", text, re.M))
    assert listed == {r.id: r.severity.value for r in RULES.values()}


def test_pre_commit_hook_runs_the_audit_on_matching_files() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "kmsauthz-audit" and hook["language"] == "python"
    files = re.compile(hook["files"])
    assert files.search("infra/key.yaml") and files.search("p/key.kmsp") and files.search("plan.json")
    assert not files.search("README.md")
    program, *args = shlex.split(hook["entry"])
    assert program == "kmsauthz" and args[0] == "audit"
    paths = [str(ROOT / "fixtures" / "policies" / "key-default.json"), str(ROOT / "README.md")]
    result = CliRunner().invoke(cli, [*args, *paths])
    assert result.exit_code == 0 and "1 other file skipped" in result.output


def test_progress_bar_only_on_a_terminal_for_many_files(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(audit_command.sys.stderr, "isatty", lambda: True, raising=False)
    assert audit_command._progress_wanted(False, 50)
    assert not audit_command._progress_wanted(True, 50)
    assert not audit_command._progress_wanted(False, 3)
    monkeypatch.setattr(audit_command.sys.stderr, "isatty", lambda: False, raising=False)
    assert not audit_command._progress_wanted(False, 50)


def test_progress_bar_run_audits_the_same() -> None:
    files = sorted((ROOT / "fixtures" / "policies").glob("*.json"))
    with_bar = audit_command._run(files, account=None, select=None, progress=True)
    without = audit_command._run(files, account=None, select=None, progress=False)
    assert [f.to_dict() for f in with_bar.findings] == [f.to_dict() for f in without.findings]
    assert with_bar.policies == len(files)
