"""Every rule has a page under docs/rules/ whose examples run: the triggering example triggers the
rule, the fixed example does not. These are each rule's triggering and non-triggering tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kmsauthz.audit import RULES, audit_paths
from tests.audit.conftest import ROOT

DOCS = ROOT / "docs" / "rules"
BLOCK = re.compile(r"^```(\w+) (audit-triggers|audit-clean) (\S+)\n(.*?)^```", re.S | re.M)
NO_EXAMPLE = {"internal-error"}  # a kmsauthz bug cannot be written as a policy; see test_engine.py


def _examples(rule_id: str) -> dict[str, tuple[str, str]]:
    text = (DOCS / f"{rule_id}.md").read_text(encoding="utf-8")
    return {m.group(2): (m.group(3), m.group(4)) for m in BLOCK.finditer(text)}


def _audit(tmp_path: Path, name: str, text: str) -> set[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return {f.rule for f in audit_paths([path]).active}


def test_every_rule_has_a_page_and_every_page_a_rule() -> None:
    pages = {p.stem for p in DOCS.glob("*.md")}
    assert pages == set(RULES)


@pytest.mark.parametrize("rule_id", sorted(set(RULES) - NO_EXAMPLE))
def test_rule_triggers_on_its_documented_example(rule_id: str, tmp_path: Path) -> None:
    name, text = _examples(rule_id)["audit-triggers"]
    assert rule_id in _audit(tmp_path, name, text)


@pytest.mark.parametrize("rule_id", sorted(set(RULES) - NO_EXAMPLE))
def test_rule_does_not_trigger_on_its_documented_fix(rule_id: str, tmp_path: Path) -> None:
    name, text = _examples(rule_id)["audit-clean"]
    found = _audit(tmp_path, name, text)
    assert rule_id not in found
    assert not found & {"invalid-policy", "invalid-input", "internal-error"}


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_page_states_the_severity_and_title(rule_id: str) -> None:
    text = (DOCS / f"{rule_id}.md").read_text(encoding="utf-8")
    rule = RULES[rule_id]
    assert text.startswith(f"# `{rule_id}`\n")
    assert f"| {rule.severity.value} |" in text and rule.title in text
