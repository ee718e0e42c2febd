"""Scenario files: a small AWS world plus requests with the outcome each must get.

The format is the contract of ``shared/spec/scenarios.md``; ``grammar/scenario.schema.json`` states
its shape. ``load_scenario`` validates a file and builds the :class:`~kmsauthz.model.World` and one
:class:`~kmsauthz.model.Request` per case; ``run_paths`` decides every case of every file found and
reports what passed, what failed and which files could not be loaded.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kmsauthz.scenario.load import (
        ScenarioCase,
        ScenarioFile,
        load_request,
        load_scenario,
        load_scenario_text,
        load_world,
        looks_like_scenario,
    )
    from kmsauthz.scenario.run import CaseResult, FileError, RunReport, discover, run_paths, run_scenario

_WHERE = {
    "ScenarioCase": "load",
    "ScenarioFile": "load",
    "load_request": "load",
    "load_scenario": "load",
    "load_scenario_text": "load",
    "load_world": "load",
    "looks_like_scenario": "load",
    "CaseResult": "run",
    "FileError": "run",
    "RunReport": "run",
    "discover": "run",
    "run_paths": "run",
    "run_scenario": "run",
}


def __getattr__(name: str) -> Any:
    # Lazy (PEP 562): the pytest plugin lives in this package and must not make every pytest run
    # import YAML, jsonschema and the policy loaders.
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"kmsauthz.scenario.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CaseResult",
    "FileError",
    "RunReport",
    "ScenarioCase",
    "ScenarioFile",
    "discover",
    "load_request",
    "load_scenario",
    "load_scenario_text",
    "load_world",
    "looks_like_scenario",
    "run_paths",
    "run_scenario",
]
