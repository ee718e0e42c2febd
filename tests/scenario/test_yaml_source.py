"""YAML → values with positions: the YAML 1.2 core schema, keys as text, merges, and what is refused."""

from __future__ import annotations

import json

import jsonschema
import pytest

from kmsauthz.scenario.schema import scenario_schema
from kmsauthz.scenario.yaml_source import YamlError, parse_yaml


def test_the_scenario_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(scenario_schema())


@pytest.mark.parametrize(("text", "value"), [
    ("a: true", True), ("a: False", False), ("a: on", "on"), ("a: yes", "yes"), ("a: ~", None),
    ("a: null", None), ("a: 12", 12), ("a: 0777", 777), ("a: 0x1f", 31), ("a: 1.5", 1.5), ("a: 1_000", "1_000"),
    ("a: 12:30", "12:30"), ('a: "12"', "12"), ("a: 2026-01-01", "2026-01-01"),
    ("a: 2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"), ("a: !!str 5", "5"), ("a: |\n  x\n", "x\n"),
])
def test_scalars_follow_the_yaml_1_2_core_schema(text: str, value: object) -> None:
    assert parse_yaml(text + "\n", "t.yaml").value == {"a": value}


def test_keys_are_the_text_written() -> None:
    src = parse_yaml("Null: 1\ntrue: 2\n111122223333: 3\n", "t.yaml")
    assert src.value == {"Null": 1, "true": 2, "111122223333": 3}


def test_spans_of_values_and_keys() -> None:
    src = parse_yaml("keys:\n  - id: k1\n    account: '1'\n", "t.yaml")
    span = src.span("/keys/0/account")
    assert (span.source, span.line, span.column, span.pointer) == ("t.yaml", 3, 14, "/keys/0/account")
    assert (src.key_span("/keys/0/account").line, src.key_span("/keys/0/account").column) == (3, 5)
    assert src.span("/keys/0/missing/deeper").line == 2  # nearest ancestor
    assert src.span("/keys/0/missing/deeper").pointer == "/keys/0/missing/deeper"


def test_merge_keys_and_aliases() -> None:
    src = parse_yaml("base: &b {account: '1', region: us-east-1}\nkey:\n  <<: *b\n  region: eu-west-1\n", "t")
    assert src.value["key"] == {"account": "1", "region": "eu-west-1"}


def test_json_text_is_yaml() -> None:
    data = {"keys": [{"id": "x", "tags": {"a": "b"}}], "cases": []}
    assert parse_yaml(json.dumps(data), "t.json").value == data


@pytest.mark.parametrize(("text", "line", "message"), [
    ("a: 1\na: 2\n", 2, "duplicate field `a`"),
    ("a: !Sub x\n", 1, "unsupported YAML tag `!Sub`"),
    ("a: !!binary aGk=\n", 1, "unsupported YAML tag `tag:yaml.org,2002:binary`"),
    ("? [a]\n: 1\n", 1, "a mapping key must be a plain string"),
    ("a: [1\n", 2, "invalid YAML"),
    ("--- 1\n--- 2\n", 2, "invalid YAML"),
    ("", 1, "the file is empty"),
])
def test_refused_input_is_located(text: str, line: int, message: str) -> None:
    with pytest.raises(YamlError) as info:
        parse_yaml(text, "t.yaml")
    (problem,) = info.value.problems
    assert problem.span is not None and problem.span.line == line
    assert problem.message.startswith(message)
