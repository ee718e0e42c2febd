"""Hostile audit inputs become located `invalid-input` findings within bounded work."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmsauthz.audit.inputs import load_file
from kmsauthz.audit.located import MAX_ALIAS_NODES, DocumentError, parse_yaml


def test_a_yaml_alias_bomb_stops_at_the_expansion_budget() -> None:
    lines = ["AWSTemplateFormatVersion: '2010-09-09'", "Resources: {}", "x0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    with pytest.raises(DocumentError) as err:
        parse_yaml("\n".join(lines))
    assert f"more than {MAX_ALIAS_NODES:,} nodes" in str(err.value)


def test_json_nested_beyond_pythons_parser_is_an_invalid_input_finding(tmp_path: Path) -> None:
    path = tmp_path / "template.json"
    path.write_text('{"Resources": ' + "[" * 5000 + "1" + "]" * 5000 + "}", encoding="utf-8")
    result = load_file(path)
    assert [f.rule for f in result.findings] == ["invalid-input"]
    assert "nest" in result.findings[0].message
