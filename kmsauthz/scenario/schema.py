"""Validate a scenario document against `grammar/scenario.schema.json`; every violation, located.

The schema states the format's shape (``shared/spec/scenarios.md``); this module only turns
jsonschema's errors into sentences that name the field, the line and what was expected. Schema
nodes carry the extension keyword ``x-expected`` (what a value there must be, in user words), as
`policy.schema.json` does.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from functools import cache
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from kmsauthz._resources import grammar_json
from kmsauthz.errors import Problem
from kmsauthz.model.spans import pointer_join
from kmsauthz.scenario.yaml_source import Source
from kmsauthz.syntax.schema import describe
from kmsauthz.syntax.schema import where as policy_where

CODE = "scenario-invalid"


@cache
def scenario_schema() -> dict[str, Any]:
    schema: dict[str, Any] = grammar_json("scenario.schema.json")
    return schema


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(scenario_schema())


def where(pointer: str) -> str:
    """`/keys/0/grants/1/operations` → `keys[0].grants[1].operations`, the form used in messages."""
    return policy_where(pointer) if pointer else "the file"


_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
}


def did_you_mean(word: str, options: Iterable[str]) -> str | None:
    options = list(options)
    lowered = {o.lower(): o for o in options}
    if word.lower() in lowered:
        return f"did you mean `{lowered[word.lower()]}`?"
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def _quote_help(value: Any) -> str | None:
    if isinstance(value, bool | int | float) and value is not None:
        shown = json.dumps(value)
        return f'YAML read this as {"a boolean" if isinstance(value, bool) else "a number"}; quote it: "{shown}"'
    return None


def _problems(error: ValidationError, src: Source) -> list[Problem]:
    pointer = pointer_join("", *error.absolute_path)
    here = where(pointer)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    expected = schema.get("x-expected")

    if "propertyNames" in error.relative_schema_path:
        name = str(error.instance)
        member = pointer_join(pointer, name)
        sub = schema.get("x-expected") or "a valid name"
        return [Problem(f"{here}: `{name}` is not {sub}", src.key_span(member), CODE,
                        _quote_help(error.instance))]
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        out = []
        for extra in [k for k in error.instance if k not in allowed]:
            member = pointer_join(pointer, extra)
            place = "at the top level" if not pointer else f"in {here}"
            hint = did_you_mean(extra, allowed)
            help_ = (hint + " " if hint else "") + f"the fields allowed here are {', '.join(allowed)}"
            out.append(Problem(f"unknown field `{extra}` {place}", src.key_span(member), CODE, help_))
        return out
    if kind == "required":
        missing = [p for p in error.validator_value if p not in error.instance]
        # a misspelt field is reported once, as unknown with its suggestion, not also as missing
        allowed = schema.get("properties", {})
        misspelt = {did_you_mean(k, allowed) for k in error.instance if k not in allowed}
        missing = [m for m in missing if f"did you mean `{m}`?" not in misspelt]
        if not missing:
            return []
        fields = ", ".join(f"`{m}`" for m in missing)
        return [Problem(f"{here} is missing the required field{'s' if len(missing) > 1 else ''} {fields}",
                        src.span(pointer), CODE)]
    span = src.span(pointer)
    if kind == "type":
        want = expected or _TYPES.get(str(error.validator_value), str(error.validator_value))
        return [Problem(f"{here} must be {want}, got {describe(error.instance)}", span, CODE,
                        _quote_help(error.instance) if error.validator_value == "string" else None)]
    if kind == "enum":
        options = [str(v) for v in error.validator_value]
        hint = did_you_mean(str(error.instance), options) if isinstance(error.instance, str) else None
        return [Problem(f"{here} must be one of {', '.join(options)}, got {describe(error.instance)}",
                        span, CODE, hint)]
    if kind == "anyOf" and expected:
        hint = None
        if isinstance(error.instance, str):
            hint = did_you_mean(error.instance, ["Allow", "ExplicitDeny", "ImplicitDeny", "NotFoundException"])
        return [Problem(f"{here} must be {expected}, got {describe(error.instance)}", span, CODE, hint)]
    if kind == "minLength":
        return [Problem(f"{here} must not be empty", span, CODE)]
    if kind == "minItems":
        return [Problem(f"{here} must list at least {error.validator_value} item"
                        f"{'s' if error.validator_value != 1 else ''}", span, CODE)]
    if kind == "maxItems":
        return [Problem(f"{here} may list at most {error.validator_value} items", span, CODE)]
    if kind == "maxLength":
        return [Problem(f"{here} is longer than {error.validator_value} characters", span, CODE)]
    if expected:
        return [Problem(f"{here} must be {expected}, got {describe(error.instance)}", span, CODE)]
    return [Problem(f"{here}: {error.message}", span, CODE)]


def schema_problems(src: Source) -> list[Problem]:
    """Every violation of the scenario schema in ``src.value``, sorted by position."""
    out: list[Problem] = []
    seen: set[tuple[str, int, int]] = set()
    for error in _validator().iter_errors(src.value):
        for problem in _problems(error, src):
            span = problem.span
            key = (problem.message, span.line if span else 0, span.column if span else 0)
            if key not in seen:
                seen.add(key)
                out.append(problem)
    out.sort(key=lambda p: (p.span.line, p.span.column) if p.span else (0, 0))
    return out
