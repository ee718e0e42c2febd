"""The language reference's examples parse; each fixture's JSON and .kmsp forms are the same policy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kmsauthz.syntax import load_policy_file, load_policy_text, to_json, to_kmsp
from kmsauthz.syntax.document import policy_to_document
from kmsauthz.syntax.formatter import format_kmsp

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "policy-language.md"
FIXTURES = ROOT / "fixtures" / "policies"

BLOCKS = re.findall(r"```kmsp\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
JSON_FIXTURES = sorted(FIXTURES.glob("*.json"))


def test_the_reference_has_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("block", BLOCKS, ids=[f"example-{i}" for i in range(len(BLOCKS))])
def test_reference_examples_are_valid_and_formatted(block: str) -> None:
    policy = load_policy_text(block, source=str(DOC), format="kmsp")
    assert policy.statements
    assert format_kmsp(block) == block, "examples are written in the canonical layout"


def test_first_example_equals_the_json_shown_beside_it() -> None:
    text = DOC.read_text(encoding="utf-8")
    shown = json.loads(re.findall(r"```json\n(.*?)```", text, flags=re.S)[0])
    assert policy_to_document(load_policy_text(BLOCKS[0], format="kmsp")) == shown


def test_there_are_fixtures_of_both_forms() -> None:
    assert len(JSON_FIXTURES) >= 7
    assert sorted(p.stem for p in FIXTURES.glob("*.kmsp")) == [p.stem for p in JSON_FIXTURES]


@pytest.mark.parametrize("path", JSON_FIXTURES, ids=[p.stem for p in JSON_FIXTURES])
def test_fixture_pairs_agree(path: Path) -> None:
    from_json = load_policy_file(path)
    kmsp_path = path.with_suffix(".kmsp")
    from_kmsp = load_policy_file(kmsp_path)
    assert from_json.kind == from_kmsp.kind
    assert policy_to_document(from_json) == policy_to_document(from_kmsp) == json.loads(path.read_text())
    # the .kmsp file is the converter's output, and the JSON file is the printer's layout
    assert kmsp_path.read_text(encoding="utf-8") == to_kmsp(from_json)
    assert path.read_text(encoding="utf-8") == to_json(from_kmsp)
