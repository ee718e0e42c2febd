"""`kmsauthz.syntax` exposes exactly the functions docs/internals.md names."""

from __future__ import annotations

import inspect

import kmsauthz.syntax as syntax


def test_public_surface_is_exactly_the_contract() -> None:
    assert sorted(syntax.__all__) == ["load_policy_document", "load_policy_file", "load_policy_text", "to_json",
                                      "to_kmsp"]
    public = {name for name in vars(syntax) if not name.startswith("_") and callable(getattr(syntax, name))}
    assert public == set(syntax.__all__)


def test_signatures_match_the_contract() -> None:
    text = inspect.signature(syntax.load_policy_text)
    assert list(text.parameters) == ["text", "kind", "source", "name", "format"]
    assert text.parameters["source"].default == "<string>" and text.parameters["kind"].default is None
    assert list(inspect.signature(syntax.load_policy_file).parameters) == ["path", "kind"]
    document = inspect.signature(syntax.load_policy_document)
    assert list(document.parameters) == ["data", "kind", "source", "name", "locate"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(document.parameters.values())[1:])
