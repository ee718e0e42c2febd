"""Locate the files of `grammar/` both in a source checkout and in an installed wheel."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any


@cache
def grammar_dir() -> Path:
    """The folder holding `policy.lark` and the JSON Schemas.

    In a wheel the folder is shipped as `kmsauthz/_grammar`; in a source checkout (and an editable
    install) it is the repository's top-level `grammar/`.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "_grammar", here.parent / "grammar"):
        if (candidate / "policy.schema.json").is_file() or (candidate / "policy.lark").is_file():
            return candidate
    raise FileNotFoundError("kmsauthz grammar files are missing from this installation")


def grammar_file(name: str) -> Path:
    return grammar_dir() / name


@cache
def grammar_json(name: str) -> Any:
    """A JSON file of `grammar/` (the JSON Schemas), parsed once; callers must not mutate it."""
    with open(grammar_file(name), encoding="utf-8") as fh:
        return json.load(fh)
