"""The conformance suite: every case of ../shared/scenarios, of the benchmark's generated scenarios and
of this project's own fixtures/scenarios, one test each, asserting the outcome and the matched labels."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from kmsauthz.errors import InputError
from kmsauthz.scenario import ScenarioCase, ScenarioFile, discover, load_scenario
from kmsauthz.scenario.run import Decider, decision_labels, default_authorizer, explain

ROOT = Path(__file__).parents[1]
SHARED = ROOT / ".." / "shared" / "scenarios"
GENERATED = ROOT / ".." / "shared" / "bench" / "workloads" / "generated" / "scenarios"
OWN = ROOT / "fixtures" / "scenarios"

if not SHARED.is_dir():
    pytest.skip("../shared/scenarios is not beside this checkout", allow_module_level=True)


def _params() -> list[object]:
    params: list[object] = []
    for folder in (SHARED, GENERATED, OWN):
        if not folder.is_dir():
            continue
        for path in discover([folder]):
            if Path(path).is_dir():
                continue
            label = f"{folder.name}/{Path(path).name}"
            try:
                scenario = load_scenario(path)
            except InputError as exc:
                params.append(pytest.param(None, None, exc.render(), id=f"{label}: cannot load"))
                continue
            for case in scenario.cases:
                params.append(pytest.param(path, case.index, None, id=f"{label}: {case.name}"))
    return params


@cache
def _loaded(path: str) -> tuple[ScenarioFile, Decider]:
    scenario = load_scenario(path)
    return scenario, default_authorizer(scenario.world)


@pytest.mark.parametrize(("path", "index", "load_error"), _params())
def test_case(path: str | None, index: int | None, load_error: str | None) -> None:
    if load_error is not None:
        pytest.fail(f"scenario file could not be loaded:\n{load_error}", pytrace=False)
    assert path is not None and index is not None
    scenario, decider = _loaded(path)
    case: ScenarioCase = scenario.cases[index]
    decision = decider.decide(case.request)
    assert decision.outcome == case.expect, f"{path}:{case.line}: {explain(decision)}"
    labels = decision_labels(decision)
    missing = [m for m in case.matched if m not in labels]
    assert not missing, f"{path}:{case.line}: expected matched {missing}, decision matched {labels}"
