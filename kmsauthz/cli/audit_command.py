"""`kmsauthz audit PATH...`: findings on key policies before deployment, for people and for CI."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click

from kmsauthz.audit import RULES, Severity, UnreadableInput
from kmsauthz.audit.engine import AuditReport, audit_results
from kmsauthz.audit.inputs import FileResult, discover, load_file

PROGRESS_THRESHOLD = 20
"""Show a progress bar (on a terminal) from this many files on."""


def _progress_wanted(no_progress: bool, count: int) -> bool:
    return not no_progress and count >= PROGRESS_THRESHOLD and sys.stderr.isatty()


def _run(files: list[Path], *, account: str | None, select: frozenset[str] | None, progress: bool) -> AuditReport:
    if not progress:
        return audit_results((load_file(f, account=account) for f in files), select=select)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=len(files))

        def advance(result: FileResult) -> None:
            bar.update(task, advance=1, description=result.path[-50:])

        return audit_results((load_file(f, account=account) for f in files), select=select, on_file=advance)


@click.command("audit")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True,
              help="text for people, json for programs, sarif for code scanning")
@click.option("--fail-on", type=click.Choice([s.value for s in Severity]), default="error", show_default=True,
              help="exit 1 when a finding of this severity or worse is not suppressed")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="write the report to this file instead of standard output")
@click.option("--account", metavar="ACCOUNT_ID",
              help="the account that owns the keys of standalone key policies and Terraform plans")
@click.option("--rule", "rules", multiple=True, metavar="RULE", help="run only these rules (repeatable)")
@click.option("--show-suppressed", is_flag=True, help="also list suppressed findings in the text report")
@click.option("--color/--no-color", default=None, help="force colour on or off (default: when a terminal)")
@click.option("--no-progress", is_flag=True, help="never show the progress bar")
def audit(paths: tuple[str, ...], fmt: str, fail_on: str, output: IO[str], account: str | None,
          rules: tuple[str, ...], show_suppressed: bool, color: bool | None, no_progress: bool) -> None:
    """Report findings on key policies and KMS IAM policies in PATHS (files or folders).

    Reads JSON and .kmsp policies, scenario files, CloudFormation templates (JSON or YAML) and
    Terraform plan JSON (`terraform show -json`); other files are skipped. Exit status: 0 clean,
    1 when a finding at --fail-on or worse is not suppressed, 2 on usage errors or unreadable paths.
    """
    unknown = sorted(set(rules) - set(RULES))
    if unknown:
        raise click.BadParameter(f"unknown rule `{unknown[0]}`", param_hint="--rule")
    if account is not None and not (account.isdigit() and len(account) == 12):
        raise click.BadParameter(f"`{account}` is not a 12-digit account id", param_hint="--account")
    try:
        files, skipped = discover(paths)
        report = _run(files, account=account, select=frozenset(rules) if rules else None,
                      progress=_progress_wanted(no_progress, len(files)))
    except UnreadableInput as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    report.skipped += skipped
    if fmt == "json":
        from kmsauthz.audit.report import report_json

        output.write(report_json(report))
    elif fmt == "sarif":
        from kmsauthz.audit.sarif import report_sarif

        output.write(report_sarif(report))
    else:
        from kmsauthz.audit.report import write_text

        is_tty = getattr(output, "isatty", lambda: False)()
        write_text(report, output, color=color if color is not None else bool(is_tty),
                   show_suppressed=show_suppressed)
    sys.exit(1 if report.failed(Severity(fail_on)) else 0)
