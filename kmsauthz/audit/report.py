"""The audit report for people (text, coloured with rich on a terminal) and for programs (JSON)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain, groupby
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from kmsauthz import __version__
from kmsauthz.audit.engine import AuditReport
from kmsauthz.audit.findings import Finding, Severity
from kmsauthz.audit.jsontext import dumps_indented

STYLE = {
    Severity.ERROR: "bold red",
    Severity.SECURITY: "bold magenta",
    Severity.WARNING: "yellow",
    Severity.SUGGESTION: "cyan",
}
MAX_SOURCE_WIDTH = 120
_BATCH = 256
"""Report lines handed to rich per `print`."""


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def source_excerpt(text: str, line: int, column: int) -> tuple[str, int] | None:
    """The source line (cut around the column when very long) and the caret's 0-based offset in it."""
    if line <= 0:
        return None
    return _excerpt(text.splitlines(), line, column)


def _excerpt(lines: list[str], line: int, column: int) -> tuple[str, int] | None:
    """`source_excerpt` over the file's lines, split once per file rather than once per finding."""
    if line <= 0 or line > len(lines):
        return None
    src = lines[line - 1].expandtabs(1)
    col = max(column - 1, 0)
    if len(src) > MAX_SOURCE_WIDTH:
        start = max(0, min(col - MAX_SOURCE_WIDTH // 3, len(src) - MAX_SOURCE_WIDTH))
        src = ("…" if start else "") + src[start:start + MAX_SOURCE_WIDTH] + "…"
        col = col - start + (1 if start else 0)
    return src, min(col, len(src))


def summary_line(report: AuditReport) -> str:
    counts = report.counts()
    parts = [_plural(counts["error"], "error"), _plural(counts["security"], "security finding"),
             _plural(counts["warning"], "warning"), _plural(counts["suggestion"], "suggestion")]
    text = (f"audited {_plural(report.files, 'file')} ({_plural(report.policies, 'policy', 'policies')}): "
            + ", ".join(parts))
    if report.suppressed:
        text += f"; {len(report.suppressed)} suppressed"
    if report.skipped:
        text += f"; {_plural(report.skipped, 'other file')} skipped"
    return text


def _lines(report: AuditReport, *, show_suppressed: bool) -> Iterator[Text]:
    shown = [f for f in report.findings if show_suppressed or f.suppressed is None]
    for file, group in groupby(shown, key=lambda f: f.file):
        items = list(group)
        yield Text.from_markup(f"[bold underline]{escape(file)}[/]")
        source = report.sources.get(file)
        if source is None:
            try:
                with open(file, encoding="utf-8", errors="replace") as fh:
                    source = fh.read()
            except OSError:
                source = ""
        origin: str | None = None
        lines = source.splitlines()
        for f in items:
            if f.origin and f.origin != origin:
                origin = f.origin
                yield Text.from_markup(f"  [dim]{escape(origin)}[/]")
            yield from _finding_lines(f, lines)
        yield Text("")


def _finding_lines(f: Finding, lines: list[str]) -> Iterator[Text]:
    where = f"{f.line}:{f.column}" if f.line else "-"
    head = Text("  ")
    head.append(f"{f.severity.value:<10}", style=STYLE[f.severity])
    head.append(f" {where:<8} ")
    head.append(f.message)
    where_in = f", statement `{f.sid}`" if f.sid else (f", Statement[{f.statement}]" if f.statement is not None else "")
    head.append(f"  [{f.rule}{where_in}]", style="dim")
    yield head
    if f.suppressed is not None:
        yield Text(f"             suppressed: {f.suppressed.reason} ({f.suppressed.location})", style="dim")
    excerpt = _excerpt(lines, f.line, f.column) if f.line else None
    if excerpt is not None:
        src, col = excerpt
        gutter = f"{f.line:>6} │ "
        yield Text(gutter, style="dim") + Text(src)
        yield Text(" " * 6 + " │ ", style="dim") + Text(" " * col + "^", style=STYLE[f.severity])
    if f.help:
        yield Text(f"         help: {f.help}", style="green")


def write_text(report: AuditReport, out: IO[str], *, color: bool | None = None,
               show_suppressed: bool = False) -> None:
    console = Console(file=out, highlight=False, soft_wrap=True, emoji=False,
                      force_terminal=color if color else None, no_color=color is False,
                      color_system="auto" if color is not False else None)
    lines = _lines(report, show_suppressed=show_suppressed)
    notes = (Text(f"note: {file}: the policy of {resource} is only known at deploy time; not audited", style="dim")
             for file, resource in report.unresolved)
    counts = report.counts()
    worst = next((s for s in Severity if counts[s.value]), None)
    summary = Text(summary_line(report), style=STYLE[worst] if worst else "green")
    if console.color_system is None:
        _write_plain(console, chain(lines, notes, (summary,)))
        return
    # Lines go to rich a batch at a time: one `print` per line cost more than the audit itself
    # (rich sets up options, measures the terminal and flushes per call); `sep="\n"` joins a batch
    # into one text, which renders to the same output.
    batch: list[Text] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= _BATCH:
            console.print(*batch, sep="\n")
            batch.clear()
    if batch:
        console.print(*batch, sep="\n")
    for note in notes:
        console.print(note)
    console.print(summary)


def _write_plain(console: Console, lines: Iterable[Text]) -> None:
    """What rich prints for these lines without colour, written directly.

    With `soft_wrap` rich neither wraps nor crops: a line renders as its plain text (control codes
    were stripped when the Text was made) with tabs expanded by rich's own cell-aware rule.
    """
    chunk: list[str] = []
    for line in lines:
        if "\t" in line.plain:
            line = line.copy()
            line.expand_tabs((console.tab_size if line.tab_size is None else line.tab_size) or 8)
        chunk.append(line.plain)
        if len(chunk) >= _BATCH:
            _write(console, chunk)
            chunk = []
    _write(console, chunk)


def _write(console: Console, chunk: list[str]) -> None:
    if not chunk:
        return
    try:
        console.file.write("\n".join(chunk) + "\n")
    except UnicodeEncodeError as error:  # as rich words it
        error.reason = f"{error.reason}\n*** You may need to add PYTHONIOENCODING=utf-8 to your environment ***"
        raise
    console.file.flush()


def report_dict(report: AuditReport) -> dict[str, Any]:
    return {
        "tool": {"name": "kmsauthz audit", "version": __version__},
        "summary": {
            "files": report.files,
            "policies": report.policies,
            "skipped": report.skipped,
            "suppressed": len(report.suppressed),
            **report.counts(),
        },
        "findings": [f.to_dict() for f in report.findings],
        "unresolved": [{"file": f, "resource": r} for f, r in report.unresolved],
    }


def report_json(report: AuditReport) -> str:
    return dumps_indented(report_dict(report)) + "\n"
