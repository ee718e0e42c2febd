"""Fuzz the policy loaders: `load_policy_text` on bytes, text, mutated valid policies (JSON and
`.kmsp`), token soup, generated near-valid documents, deep nesting and huge strings.

The oracle (targets.run_policy): a Policy that prints to both forms and loads back equal, or a
PolicySyntaxError/PolicyValidationError with located problems. Nothing else.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsauthz.errors import DocumentTooLargeError, PolicySyntaxError, PolicyValidationError
from kmsauthz.syntax import load_policy_text

from .strategies import documents, mutated, nested, policy_seeds, token_soup
from .targets import run_policy

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_seeds_are_valid_policies() -> None:
    # the mutations start from valid input, so most of them reach the schema and kind rules
    for suffix in (".json", ".kmsp"):
        seeds = policy_seeds(suffix)
        assert len(seeds) >= 3
        for seed in seeds:
            assert run_policy(seed) is not None


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    run_policy(data)
    run_policy(data, format="kmsp")


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    run_policy(text, format="json")
    run_policy(text, format="kmsp")


@FUZZ
@given(mutated(policy_seeds(".json")))
def test_mutated_json_policies(data: bytes) -> None:
    run_policy(data, format="json")


@FUZZ
@given(mutated(policy_seeds(".kmsp")))
def test_mutated_kmsp_policies(data: bytes) -> None:
    run_policy(data, format="kmsp")


@FUZZ
@given(token_soup())
def test_token_soup(text: str) -> None:
    run_policy(text, format="json")
    run_policy(text, format="kmsp")


@FUZZ
@given(documents(), st.sampled_from([None, "key", "identity", "scp", "rcp", "session", "vpc-endpoint",
                                     "permissions-boundary"]))
def test_generated_documents_of_every_kind(doc: dict, kind: str | None) -> None:
    run_policy(json.dumps(doc), format="json", kind=kind)
    run_policy(json.dumps(doc, ensure_ascii=False), format="json", kind=kind)


@pytest.mark.parametrize("depth", [63, 64, 65, 500, 20_000])
@pytest.mark.parametrize(("open_", "close"), [("[", "]"), ('{"a":', "}")])
def test_deep_nesting_is_a_syntax_error_not_a_recursion_error(depth: int, open_: str, close: str) -> None:
    text = '{"Statement": ' + nested(depth, open_, close) + "}"
    with pytest.raises((PolicySyntaxError, PolicyValidationError)) as err:
        load_policy_text(text)
    if depth > 64:
        assert isinstance(err.value, PolicySyntaxError)
        assert "nesting is deeper than 64 levels" in str(err.value)


@pytest.mark.parametrize("depth", [100, 5_000])
def test_deep_nesting_in_the_policy_language_is_a_syntax_error(depth: int) -> None:
    text = "allow { action " + "[" * depth + " }"
    with pytest.raises(PolicySyntaxError):
        load_policy_text(text, format="kmsp")


@pytest.mark.parametrize("size", [40_000, 900_000])
def test_huge_string_value_is_a_size_error(size: int) -> None:
    doc = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "a" * size}]}
    with pytest.raises(DocumentTooLargeError) as err:
        load_policy_text(json.dumps(doc))
    expected = "a key policy can be at most 32,768 bytes" if size < 131_072 else "more than the 131,072 kmsauthz parses"
    assert expected in str(err.value)


def test_input_over_the_read_limit_is_refused_before_parsing() -> None:
    data = b'{"Statement": "' + b"a" * 1_100_000 + b'"}'
    with pytest.raises(DocumentTooLargeError) as err:
        load_policy_text(data)
    assert "more than the 1,048,576 bytes kmsauthz reads" in str(err.value)
    with pytest.raises(DocumentTooLargeError):
        load_policy_text(data.decode())


@pytest.mark.parametrize("text", ['"\\ud800"', '"\\udc00\\ud800"', "\"\ud800\"", '"\\u12"', '"\\x41"'])
def test_broken_escapes_and_lone_surrogates(text: str) -> None:
    with pytest.raises((PolicySyntaxError, PolicyValidationError)):
        load_policy_text('{"Id": ' + text + ', "Statement": []}')
