"""`kmsauthz validate`, `kmsauthz fmt`, `kmsauthz convert`: thin commands over `kmsauthz.syntax`.

Exit status: 0 all good, 1 an invalid policy (or, for `fmt --check`, a file that would change),
2 usage errors and unreadable paths. Errors are printed with their locations, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import click

from kmsauthz.errors import KmsauthzError, PolicySyntaxError, PolicyValidationError
from kmsauthz.model.policy import PolicyKind
from kmsauthz.syntax.formatter import format_kmsp
from kmsauthz.syntax.loader import build_policy, load_policy_file, parse_text, read_source
from kmsauthz.syntax.printer import to_json, to_kmsp

KINDS = [k.value for k in PolicyKind]
POLICY_SUFFIXES = (".json", ".kmsp")

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _Status:
    def __init__(self) -> None:
        self.code = EXIT_OK

    def invalid(self) -> None:
        self.code = max(self.code, EXIT_INVALID)

    def unusable(self) -> None:
        self.code = EXIT_USAGE


def _report(exc: KmsauthzError) -> None:
    click.echo(str(exc) if str(exc) else f"error: {exc.code}", err=True)


def _expand(paths: Iterable[str], suffixes: tuple[str, ...], status: _Status) -> Iterator[Path]:
    """Files named on the command line as given; folders recursed for the suffixes, sorted."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
            if not found:
                click.echo(f"{path}: no {' or '.join('*' + s for s in suffixes)} files found", err=True)
            yield from found
        elif path.exists():
            yield path
        else:
            click.echo(f"{path}: no such file or directory", err=True)
            status.unusable()


def _fail(exc: Exception, status: _Status) -> None:
    """Report one file's failure; an unexpected exception is a bug, reported without a traceback."""
    if not isinstance(exc, KmsauthzError):
        click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        status.unusable()
        return
    _report(exc)
    if isinstance(exc, PolicySyntaxError | PolicyValidationError):
        status.invalid()
    else:
        status.unusable()


@click.command()
@click.option("--kind", type=click.Choice(KINDS), default=None,
              help="policy kind to check against; default: key policy if a statement has a Principal, "
                   "else identity policy")
@click.option("-q", "--quiet", is_flag=True, help="print only problems")
@click.argument("paths", nargs=-1, required=True)
def validate(kind: str | None, quiet: bool, paths: tuple[str, ...]) -> None:
    """Validate policy documents (AWS JSON or .kmsp); folders are searched for *.json and *.kmsp."""
    status = _Status()
    for path in _expand(paths, POLICY_SUFFIXES, status):
        try:
            policy = load_policy_file(path, kind=kind)
        except Exception as exc:
            _fail(exc, status)
            continue
        if not quiet:
            n = len(policy.statements)
            click.echo(f"{path}: valid {policy.kind.value} policy ({n} statement{'' if n == 1 else 's'})")
    sys.exit(status.code)


@click.command()
@click.option("--check", is_flag=True, help="change nothing; list files that are not formatted and exit 1")
@click.argument("paths", nargs=-1, required=True)
def fmt(check: bool, paths: tuple[str, ...]) -> None:
    """Rewrite .kmsp files in the canonical layout (comments are kept)."""
    status = _Status()
    for path in _expand(paths, (".kmsp",), status):
        if path.suffix.lower() != ".kmsp":
            click.echo(f"{path}: not a .kmsp file (fmt formats the policy language only)", err=True)
            status.unusable()
            continue
        try:
            original = read_source(path)
            formatted = format_kmsp(original, str(path))
        except Exception as exc:
            _fail(exc, status)
            continue
        if formatted.encode("utf-8") == original:
            continue
        if check:
            click.echo(f"would reformat {path}")
            status.invalid()
            continue
        try:
            path.write_text(formatted, encoding="utf-8")
        except OSError as exc:
            click.echo(f"{path}: cannot write: {exc.strerror or exc}", err=True)
            status.unusable()
            continue
        click.echo(f"formatted {path}")
    sys.exit(status.code)


@click.command()
@click.option("--to", "target", type=click.Choice(["json", "kmsp"]), required=True, help="output form")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="write here instead of standard output")
@click.option("--kind", type=click.Choice(KINDS), default=None,
              help="also check the rules of this policy kind (default: only the document's shape)")
@click.argument("path")
def convert(target: str, output: str | None, kind: str | None, path: str) -> None:
    """Convert a policy between AWS JSON and the policy language (.kmsp)."""
    try:
        source = read_source(path)
        _, document, locate, decoded = parse_text(source, source=path, format=None)
        policy = build_policy(document, kind=kind, source=path, name=Path(path).name, locate=locate,
                              raw_text=decoded, check_rules=kind is not None)
    except Exception as exc:
        status = _Status()
        _fail(exc, status)
        sys.exit(status.code)
    text = to_json(policy) if target == "json" else to_kmsp(policy)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(f"{output}: cannot write: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_USAGE)
