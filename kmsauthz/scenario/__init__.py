"""Scenario files: a small AWS world plus requests with the outcome each must get.

The format is the contract of ``shared/spec/scenarios.md``; ``grammar/scenario.schema.json`` states
its shape. ``load_scenario`` validates a file and builds the :class:`~kmsauthz.model.World` and one
:class:`~kmsauthz.model.Request` per case; ``run_paths`` decides every case of every file found and
reports what passed, what failed and which files could not be loaded.
"""

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
