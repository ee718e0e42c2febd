"""pytest plugin `kmsauthz`: scenario files in your repository run as tests, one test per case.

Collected:

- every file named ``*.kmsauthz.yaml``, ``*.kmsauthz.yml`` or ``*.kmsauthz.json`` that pytest's
  collection reaches;
- every scenario file (a ``*.yaml``/``*.yml``/``*.json`` mapping with top-level ``cases``, ``keys`` or
  ``principals``) under the paths of the ini option ``kmsauthz_scenarios``, e.g. in ``pyproject.toml``::

      [tool.pytest.ini_options]
      kmsauthz_scenarios = ["policies/scenarios"]

  When pytest runs without path arguments, those folders are collected even if they lie outside
  ``testpaths``; with explicit paths, only what those paths reach.

Nothing else is touched: for other files the plugin costs one suffix check, and it imports the
scenario loader and the evaluator only when it collects a scenario file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kmsauthz.scenario.load import ScenarioCase, ScenarioFile
    from kmsauthz.scenario.run import CaseResult, Decider

INI = "kmsauthz_scenarios"
NAMED_SUFFIXES = (".kmsauthz.yaml", ".kmsauthz.yml", ".kmsauthz.json")
SUFFIXES = (".yaml", ".yml", ".json")
_ROOTS = pytest.StashKey[tuple[Path, ...]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI, type="paths", default=[],
                  help="files or folders of kmsauthz scenario files to run as tests (one test per case)")


def pytest_configure(config: pytest.Config) -> None:
    roots = tuple(Path(p).resolve() for p in config.getini(INI))
    config.stash[_ROOTS] = roots
    if not roots or config.args_source == pytest.Config.ArgsSource.ARGS:
        return
    # No paths on the command line: add the scenario folders that the default collection misses.
    covered = [Path(a.split("::")[0]).resolve() for a in config.args]
    for root in roots:
        if root.exists() and not any(root == c or c in root.parents for c in covered):
            config.args.append(str(root))


def _under_roots(path: Path, roots: tuple[Path, ...]) -> bool:
    resolved = path.resolve()
    return any(resolved == r or r in resolved.parents for r in roots)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    name = file_path.name.lower()
    if name.endswith(NAMED_SUFFIXES):
        return ScenarioFileCollector.from_parent(parent, path=file_path)
    if not name.endswith(SUFFIXES):
        return None
    roots = parent.config.stash.get(_ROOTS, ())
    if roots and _under_roots(file_path, roots):
        from kmsauthz.scenario.load import looks_like_scenario

        if looks_like_scenario(file_path):
            return ScenarioFileCollector.from_parent(parent, path=file_path)
    return None


class ScenarioCaseFailed(AssertionError):
    def __init__(self, result: CaseResult) -> None:
        self.result = result
        super().__init__(f"expected {result.expected}, got {result.actual}")


class ScenarioFileCollector(pytest.File):
    """One scenario file; its items are its cases. A file that cannot be loaded is a collection error."""

    _scenario: ScenarioFile | None = None
    _decider: Decider | None = None

    def shown_path(self) -> str:
        try:
            return os.path.relpath(self.path, self.config.rootpath)
        except ValueError:  # another drive on Windows
            return str(self.path)

    def collect(self) -> Iterator[pytest.Item]:
        from kmsauthz.scenario.load import load_scenario

        self._scenario = load_scenario(self.path, display_path=self.shown_path())
        seen: dict[str, int] = {}
        for case in self._scenario.cases:
            name = case.name.replace("::", ": :")
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name} [{seen[name]}]"
            yield ScenarioCaseItem.from_parent(self, name=name, case=case)

    def decider(self) -> Decider:
        if self._decider is None:
            from kmsauthz.scenario.run import default_authorizer

            assert self._scenario is not None
            self._decider = default_authorizer(self._scenario.world)
        return self._decider

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        from kmsauthz.errors import InputError

        if isinstance(excinfo.value, InputError):
            return f"kmsauthz scenario file could not be loaded:\n{excinfo.value.render()}"
        return super().repr_failure(excinfo)


class ScenarioCaseItem(pytest.Item):
    """One case: decide its request and compare with `expect` (and `matched`)."""

    def __init__(self, *, case: ScenarioCase, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        from kmsauthz.scenario.run import check_case

        parent = self.parent
        assert isinstance(parent, ScenarioFileCollector)
        result = check_case(self.case, parent.decider(), parent.shown_path())
        if not result.passed:
            raise ScenarioCaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, ScenarioCaseFailed):
            r = excinfo.value.result
            return "\n".join((
                f"scenario case `{self.case.name}` ({r.file}:{r.line})",
                f"  expected: {r.expected}",
                f"  actual:   {r.actual}",
                f"  reason:   {r.reason}",
            ))
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.case.line - 1, 0), f"kmsauthz scenario: {self.case.name}"
