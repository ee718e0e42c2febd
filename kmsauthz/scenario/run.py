"""Run scenario files: decide every case and compare with what it expects.

A file that cannot be loaded is a *file error* (counted in ``RunReport.errors``), never a crash; a
case whose evaluation raises is a *failed case* with the error as its reason (fail closed).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from kmsauthz.errors import InputError
from kmsauthz.model.decision import Decision
from kmsauthz.model.request import Request
from kmsauthz.model.world import World
from kmsauthz.scenario.load import ScenarioCase, ScenarioFile, load_scenario, looks_like_scenario

SUFFIXES = (".yaml", ".yml", ".json")


class Decider(Protocol):
    def decide(self, request: Request) -> Decision: ...


AuthorizerFactory = Callable[[World], Decider]


def default_authorizer(world: World) -> Decider:
    """The real evaluator (imported on first use, so loading scenarios never needs it)."""
    from kmsauthz.evaluate.engine import Authorizer

    return Authorizer(world)


@dataclass(frozen=True, slots=True)
class CaseResult:
    file: str
    name: str
    expected: str
    actual: str
    passed: bool
    reason: str
    line: int = 0
    decision: Decision | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The case as `kmsauthz test --format json` prints it (shared/spec/scenarios.md)."""
        return {
            "file": self.file,
            "name": self.name,
            "expected": self.expected,
            "actual": self.actual,
            "passed": self.passed,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class FileError:
    file: str
    line: int
    message: str
    detail: str = ""
    """Every problem of the file, rendered with its location (for text output)."""

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}


@dataclass
class RunReport:
    cases: list[CaseResult] = field(default_factory=list)
    file_errors: list[FileError] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cases if c.passed)

    @property
    def failed(self) -> int:
        return sum(1 for c in self.cases if not c.passed)

    @property
    def errors(self) -> int:
        return len(self.file_errors)

    @property
    def exit_code(self) -> int:
        """0 when every case passed and no file had an error, 1 when a case failed, 2 on a file error."""
        if self.file_errors:
            return 2
        return 1 if self.failed else 0

    def summary(self) -> str:
        text = f"{self.passed} passed, {self.failed} failed"
        return text + (f", {self.errors} errors" if self.errors else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "cases": [c.to_json() for c in self.cases],
            "file_errors": [e.to_json() for e in self.file_errors],
        }


# --- explaining a decision ---------------------------------------------------------------------


def decision_labels(decision: Decision) -> list[str]:
    """The `matched` labels of a decision and of its parts (ReEncrypt, alias operations), in order."""
    out: list[str] = []
    stack = [decision]
    while stack:
        d = stack.pop(0)
        out.extend(m.label for m in d.matched)
        stack.extend(d.sub_decisions)
    return out


def explain(decision: Decision) -> str:
    """One paragraph: the decision's reason, the layer, what matched, which keys were missing."""
    parts: list[str] = []
    if decision.reason:
        parts.append(decision.reason)
    if decision.layer:
        parts.append(f"layer: {decision.layer}")
    labels = decision_labels(decision)
    if labels:
        parts.append("matched: " + ", ".join(dict.fromkeys(labels)))
    if decision.missing_keys:
        parts.append("missing condition keys: " + ", ".join(decision.missing_keys))
    if decision.errors:
        parts.append("errors: " + "; ".join(decision.errors))
    return "; ".join(parts) if parts else decision.outcome


def check_case(case: ScenarioCase, decider: Decider, file: str) -> CaseResult:
    """Decide one case; any exception makes it a failed case (fail closed), never a crash."""
    try:
        decision = decider.decide(case.request)
    except Exception as exc:  # a case must fail, not the run
        return CaseResult(file, case.name, case.expect, "error", False,
                          f"evaluation raised {type(exc).__name__}: {exc}", case.line)
    actual = decision.outcome
    reason = explain(decision)
    passed = actual == case.expect
    if case.matched:
        labels = decision_labels(decision)
        missing = [m for m in case.matched if m not in labels]
        if missing:
            passed = False
            got = ", ".join(dict.fromkeys(labels)) or "nothing"
            reason = f"expected matched {', '.join(missing)} but the decision matched {got}; {reason}"
    return CaseResult(file, case.name, case.expect, actual, passed, reason, case.line, decision)


def run_scenario(scenario: ScenarioFile, *, authorizer: AuthorizerFactory = default_authorizer) -> list[CaseResult]:
    """Every case of one loaded file, decided by one authorizer built for its world."""
    if not scenario.cases:
        return []
    try:
        decider = authorizer(scenario.world)
    except Exception as exc:  # every case fails closed
        return [CaseResult(scenario.path, c.name, c.expect, "error", False,
                           f"building the authorizer raised {type(exc).__name__}: {exc}", c.line)
                for c in scenario.cases]
    return [check_case(case, decider, scenario.path) for case in scenario.cases]


# --- finding files -----------------------------------------------------------------------------


def discover(paths: Iterable[str | os.PathLike[str]]) -> Iterator[str]:
    """Each scenario file: files named explicitly, and scenario files found in folders.

    In a folder (searched recursively, hidden folders skipped) a ``*.yaml``/``*.yml``/``*.json`` file is
    a scenario when its top level is a mapping with ``cases``, ``keys`` or ``principals`` — so policy
    documents, CloudFormation templates and Terraform plans beside scenarios are left alone. A folder
    holding no scenario file is yielded itself (the runner reports it: an empty run hides mistakes).
    """
    for raw in paths:
        path = os.fspath(raw)
        if not os.path.isdir(path):
            yield path
            continue
        found = False
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in ("__pycache__", "node_modules"))
            for name in sorted(filenames):
                if name.lower().endswith(SUFFIXES) and not name.startswith("."):
                    full = os.path.join(dirpath, name)
                    if looks_like_scenario(full):
                        found = True
                        yield full
        if not found:
            yield path


def run_paths(paths: Iterable[str | os.PathLike[str]], *,
              authorizer: AuthorizerFactory = default_authorizer) -> RunReport:
    """Load and run every scenario file under ``paths``."""
    report = RunReport()
    seen: set[str] = set()
    for path in discover(paths):
        if os.path.isdir(path):
            report.file_errors.append(FileError(path, 0, "no scenario files found in this folder",
                                                f"{path}: no scenario files found in this folder"))
            continue
        key = os.path.normcase(os.path.abspath(path))
        if key in seen:
            continue
        seen.add(key)
        try:
            scenario = load_scenario(path)
        except InputError as exc:
            report.file_errors.append(file_error(path, exc))
            continue
        report.cases.extend(run_scenario(scenario, authorizer=authorizer))
    return report


def file_error(path: str, exc: InputError) -> FileError:
    problems = exc.problems
    first = problems[0] if problems else None
    line = first.span.line if first is not None and first.span is not None else 0
    message = first.message if first is not None else str(exc)
    if first is not None and first.span is not None and first.span.source not in (path, "<world>"):
        message = f"{first.span.describe()}: {message}"
    if len(problems) > 1:
        message += "".join(f"\n{p.span.describe() if p.span else path}: {p.message}" for p in problems[1:])
    return FileError(path, line, message, exc.render())

