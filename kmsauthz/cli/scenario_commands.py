"""`kmsauthz test` (run scenario files) and `kmsauthz eval` (decide one request and explain it)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from kmsauthz.errors import InputError


def _color(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@click.command("test")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text lists failures and ends with `N passed, N failed`; json prints one object")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
def test(fmt: str, paths: tuple[str, ...]) -> None:
    """Run scenario files and check every case.

    PATH is a scenario file or a folder, searched recursively for *.yaml, *.yml and *.json files
    whose top level has `cases`, `keys` or `principals`. Exit status: 0 when every case passed,
    1 when a case failed, 2 when a file could not be loaded.
    """
    from kmsauthz.scenario.report import report_json, write_text
    from kmsauthz.scenario.run import run_paths

    report = run_paths(paths)
    out = sys.stdout
    if fmt == "json":
        out.write(report_json(report) + "\n")
    else:
        write_text(report, out, color=_color(out))
    out.flush()
    sys.exit(report.exit_code)


def _pairs(values: tuple[str, ...], option: str, *, as_json: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got `{item}`", param_hint=option)
        if as_json:
            try:
                out[name] = json.loads(value)
            except ValueError:
                out[name] = value
        else:
            out[name] = value
    return out


@click.command("eval")
@click.option("--world", "world_path", required=True, type=click.Path(path_type=str),
              help="a scenario or world file (its cases are not run)")
@click.option("--principal", required=True, help="the caller: user/role ARN, assumed-role session ARN, root or service")
@click.option("--action", required=True, help="a KMS action, e.g. kms:Decrypt")
@click.option("--key", help="key id, key ARN, alias name or alias ARN")
@click.option("--region", help="the Regional endpoint called (default: the key ARN's, else the world's)")
@click.option("--vpc-endpoint", help="the request arrives through this VPC endpoint")
@click.option("--source-ip", help="the caller's public IP address")
@click.option("--via-service", help="made by this AWS service on the caller's behalf, e.g. ec2.us-east-1.amazonaws.com")
@click.option("--encryption-context", "encryption_context", multiple=True, metavar="K=V",
              help="an encryption context pair (repeatable)")
@click.option("--grant-token", "grant_tokens", multiple=True, metavar="TOKEN", help="a grant token (repeatable)")
@click.option("--parameter", "parameters", multiple=True, metavar="NAME=JSON",
              help="a KMS API request parameter, value as JSON (repeatable), e.g. Operations='[\"Decrypt\"]'")
@click.option("--context", "context", multiple=True, metavar="KEY=VALUE",
              help="a condition key set verbatim (repeatable), e.g. aws:SecureTransport=true")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def eval_(world_path: str, principal: str, action: str, key: str | None, region: str | None,
          vpc_endpoint: str | None, source_ip: str | None, via_service: str | None,
          encryption_context: tuple[str, ...], grant_tokens: tuple[str, ...], parameters: tuple[str, ...],
          context: tuple[str, ...], fmt: str) -> None:
    """Decide one request against a world file and explain the decision.

    Exit status: 0 on Allow, 1 on a deny (or an error such as NotFoundException), 2 on a usage or
    file error.
    """
    from kmsauthz.scenario.load import load_request
    from kmsauthz.scenario.report import decision_json, decision_lines, write_lines
    from kmsauthz.scenario.run import default_authorizer

    case: dict[str, Any] = {"principal": principal, "action": action}
    for name, value in (("key", key), ("region", region), ("vpc_endpoint", vpc_endpoint),
                        ("source_ip", source_ip), ("via_service", via_service)):
        if value is not None:
            case[name] = value
    if encryption_context:
        case["encryption_context"] = _pairs(encryption_context, "--encryption-context", as_json=False)
    if grant_tokens:
        case["grant_tokens"] = list(grant_tokens)
    if parameters:
        case["parameters"] = _pairs(parameters, "--parameter", as_json=True)
    if context:
        case["context"] = _pairs(context, "--context", as_json=True)
    try:
        world, request = load_request(world_path, case)
    except InputError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(2)
    try:
        decision = default_authorizer(world).decide(request)
    except Exception as exc:  # fail closed: an evaluation that raises is a deny
        click.echo(f"error: evaluation raised {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    out = sys.stdout
    if fmt == "json":
        out.write(decision_json(decision) + "\n")
    else:
        write_lines(decision_lines(decision), out, color=_color(out))
    out.flush()
    sys.exit(0 if decision.allowed else 1)
