"""Text and JSON forms of a :class:`RunReport` and of one decision (`kmsauthz test`, `kmsauthz eval`).

The text form lists every failed case (expected, actual, reason) and every file error, and its last
line is exactly ``N passed, N failed`` (``, N errors`` follows when a file could not be loaded) —
the contract of ``shared/spec/scenarios.md``. Colour is added only when writing to a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from kmsauthz.model.decision import Decision, Match
from kmsauthz.scenario.run import RunReport

Line = tuple[str, str]
"""(style, text): style is a rich style name, or "" for plain text."""


def _location(file: str, line: int) -> str:
    return f"{file}:{line}" if line else file


def report_lines(report: RunReport) -> Iterator[Line]:
    for error in report.file_errors:
        detail = error.detail or f"{_location(error.file, error.line)}: {error.message}"
        first, *rest = detail.splitlines()
        yield "bold red", f"ERROR {first}"
        for extra in rest:
            if extra.startswith("  "):  # a problem's help line
                yield "", extra
            else:
                yield "bold red", f"ERROR {extra}"
        yield "", ""
    for case in report.cases:
        if case.passed:
            continue
        yield "bold red", f"FAIL {_location(case.file, case.line)}: {case.name}"
        yield "", f"  expected: {case.expected}"
        yield "", f"  actual:   {case.actual}"
        yield "", f"  reason:   {case.reason}"
        yield "", ""
    style = "bold green" if report.exit_code == 0 else "bold red"
    yield style, report.summary()


def write_text(report: RunReport, out: IO[str], *, color: bool) -> None:
    write_lines(report_lines(report), out, color=color)


def write_lines(lines: Iterator[Line], out: IO[str], *, color: bool) -> None:
    if not color:
        for _, text in lines:
            out.write(text + "\n")
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out, highlight=False, soft_wrap=True)
    for style, text in lines:
        console.print(Text(text, style=style or ""))


def report_json(report: RunReport) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False)


# --- one decision (`kmsauthz eval`) ---------------------------------------------------------------


def _match_line(m: Match) -> str:
    what = m.sid or m.grant_name or m.grant_id or (f"statement {m.index}" if m.index is not None else "")
    where = f"  {m.span.describe()}" if m.span is not None and m.span.line else ""
    return f"    {m.effect:<5} {what}  ({m.layer}: {m.policy}){where}"


def decision_lines(decision: Decision, *, indent: str = "") -> Iterator[Line]:
    outcome = decision.outcome
    style = "bold green" if decision.allowed else "bold red"
    target = f" on {decision.resource}" if decision.resource else ""
    if not indent:
        yield style, f"{outcome}: {decision.principal} {decision.action}{target}".rstrip()
    else:
        yield style, f"{indent}{outcome}: {decision.action}{target}"
    pad = indent + "  "
    if decision.layer:
        yield "", f"{pad}layer:   {decision.layer}"
    if decision.reason:
        yield "", f"{pad}reason:  {decision.reason}"
    if decision.matched:
        yield "", f"{pad}matched:"
        for m in decision.matched:
            yield "", indent + _match_line(m)
    if decision.missing_keys:
        yield "yellow", f"{pad}missing condition keys: {', '.join(decision.missing_keys)}"
    for err in decision.errors:
        yield "red", f"{pad}error:   {err}"
    for sub in decision.sub_decisions:
        yield from decision_lines(sub, indent=pad)


def decision_json(decision: Decision) -> str:
    data: dict[str, Any] = decision.model_dump(mode="json")
    data["outcome"] = decision.outcome
    data["matched_labels"] = [m.label for m in decision.matched]
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)
