"""Validate a policy document against `grammar/policy.schema.json`; every violation, located.

The schema is the single statement of a document's shape. Its nodes carry two extension
keywords that only shape messages: ``x-expected`` (what a value there must be, in user words)
and ``x-message`` (the sentence for a failed ``not`` or ``propertyNames``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from kmsauthz._resources import grammar_json
from kmsauthz.errors import PolicyValidationError, Problem
from kmsauthz.model.spans import Span, pointer_join
from kmsauthz.syntax.document import where
from kmsauthz.syntax.schema_fast import DocumentCheck, compile_schema

Locate = Callable[[str], Span | None]


@cache
def policy_schema() -> dict[str, Any]:
    schema: dict[str, Any] = grammar_json("policy.schema.json")
    return schema


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = policy_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@cache
def _fast_check() -> DocumentCheck | None:
    """The compiled yes/no check (None if the schema outgrows it): valid documents skip jsonschema."""
    return compile_schema(policy_schema())


def describe(value: Any) -> str:
    """A short rendering of a user value for `got ...`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:57] + '…"'
    return json.dumps(value)


def _pointer(parts: Iterable[Any]) -> str:
    return pointer_join("", *parts)


@cache
def known_operators() -> tuple[str, ...]:
    """Every operator spelling the schema accepts (from its `propertyNames` pattern), for suggestions."""
    pattern = policy_schema()["$defs"]["condition"]["propertyNames"]["pattern"]
    groups = re.findall(r"\(\?:\(\?:([A-Za-z|]+)\)", pattern)
    names = max(groups, key=len).split("|") if groups else []
    return (*names, *(n + "IfExists" for n in names), "Null")


def _suggest(word: str, options: Iterable[str]) -> str | None:
    """`did you mean ...` for a misspelt name (case-insensitive match first)."""
    options = list(options)
    for option in options:
        if option.lower() == word.lower():
            return f"did you mean `{option}`? names are case-sensitive"
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.75)
    return f"did you mean `{close[0]}`?" if close else None


def _message(error: ValidationError) -> tuple[str, str, str | None]:
    """(pointer, message, help) for one schema error."""
    pointer = _pointer(error.absolute_path)
    here = where(pointer)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    if kind == "enum":
        options = " or ".join(json.dumps(v) for v in error.validator_value)
        return pointer, f"{here} must be {options}, got {describe(error.instance)}", None
    if kind == "required":
        missing = [p for p in error.validator_value if p not in error.instance]
        return pointer, f"{here} is missing {', '.join(missing)}", None
    if kind == "additionalProperties":
        allowed = ", ".join(schema.get("properties", {}))
        extra = [k for k in error.instance if k not in schema.get("properties", {})]
        member = pointer_join(pointer, extra[0]) if extra else pointer
        names = ", ".join(f"`{k}`" for k in extra)
        hint = _suggest(extra[0], schema.get("properties", {})) if extra else None
        return member, f"{here}: unknown field {names} (expected one of {allowed})", hint
    if kind == "not":
        return pointer, f"{here}: {schema.get('x-message', 'is not allowed')}", None
    if kind == "minItems":
        return pointer, f"{here} must not be an empty list", None
    if kind == "minProperties":
        expected = schema.get("x-expected", "a non-empty object")
        return pointer, f"{here} must be {expected}, got an empty object", None
    expected = schema.get("x-expected")
    if expected is not None:
        return pointer, f"{here} must be {expected}, got {describe(error.instance)}", None
    return pointer, f"{here}: {error.message}", None


def _property_name_error(error: ValidationError) -> tuple[str, str, str | None]:
    """A member name that breaks `propertyNames` (an unknown operator, an empty key)."""
    pointer = _pointer(error.absolute_path)
    name = str(error.instance)
    sentence = error.schema.get("x-message", "invalid name") if isinstance(error.schema, dict) else "invalid name"
    shown = f" `{name}`" if name else ""
    hint = None
    if error.validator == "pattern":
        qualifier, _, base = name.rpartition(":")
        hint = _suggest(base, known_operators())
        if hint and qualifier:
            hint = hint.replace("`", f"`{qualifier}:", 1)
        if base == "NullIfExists":
            hint = "the Null operator cannot take IfExists"
    return pointer_join(pointer, name), f"{where(pointer)}: {sentence}{shown}", hint


def schema_problems(
    document: Any, *, source: str, locate: Locate | None = None, json_typed: bool = False
) -> list[Problem]:
    """Every violation of the policy schema, each with its span (sorted by position).

    ``json_typed``: the document holds only JSON types (it came from the JSON reader).
    """
    fast = _fast_check()
    if fast is not None and fast(document, json_typed=json_typed):
        return []
    problems: list[tuple[tuple[int, int, str], Problem]] = []
    for error in _leaves(_validator().iter_errors(document)):
        if "propertyNames" in error.relative_schema_path:
            pointer, message, hint = _property_name_error(error)
        else:
            pointer, message, hint = _message(error)
        problems.append(_located(pointer, message, hint, source, locate))
    problems.sort(key=lambda item: item[0])
    seen: set[tuple[str, str]] = set()
    out: list[Problem] = []
    for _, problem in problems:
        key = (problem.message, problem.span.pointer if problem.span else "")
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out


def _leaves(errors: Iterable[ValidationError]) -> Iterable[ValidationError]:
    """Replace a failed `oneOf` by the errors of the one branch whose type fits the value.

    `Statement` is an object or a list: a list whose third item has a bad Effect should say so,
    not that the list is not an object. When no branch (or several) fits, the `oneOf` stays.
    """
    for error in errors:
        if error.validator not in ("oneOf", "anyOf") or not error.context:
            yield error
            continue
        by_branch: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            by_branch.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
        n_branches = len(error.validator_value)
        fitting = [
            i for i in range(n_branches)
            if not any(not sub.relative_path and sub.validator in ("type", "const")
                       for sub in by_branch.get(i, []))
        ]
        if len(fitting) == 1 and by_branch.get(fitting[0]):
            yield from _leaves(by_branch[fitting[0]])
        else:
            yield error


def _located(
    pointer: str, message: str, hint: str | None, source: str, locate: Locate | None
) -> tuple[tuple[int, int, str], Problem]:
    span = locate(pointer) if locate is not None else None
    if span is None:
        span = Span(source, 0, 0, pointer)
    elif span.pointer != pointer:
        span = span.with_pointer(pointer)
    return (span.line, span.column, pointer), Problem(message, span, "policy-invalid", hint)


def validate_document(
    document: Any, *, source: str, locate: Locate | None = None, json_typed: bool = False
) -> None:
    """Raise :class:`PolicyValidationError` listing every schema violation, if any."""
    problems = schema_problems(document, source=source, locate=locate, json_typed=json_typed)
    if problems:
        raise PolicyValidationError(problems)
