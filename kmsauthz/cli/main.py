"""Entry point of the `kmsauthz` command.

Subcommands live in their own modules and are imported only when invoked, so `kmsauthz --help`
and every command start fast and one command's dependencies never slow another.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

import click

from kmsauthz.errors import KmsauthzError

# name -> "module:attribute" of a click.Command
COMMANDS: dict[str, tuple[str, str]] = {
    "test": ("kmsauthz.cli.scenario_commands:test", "run scenario files and check every case"),
    "eval": ("kmsauthz.cli.scenario_commands:eval_", "decide one request and explain the decision"),
    "validate": ("kmsauthz.cli.policy_commands:validate", "validate policy documents (JSON or .kmsp)"),
    "fmt": ("kmsauthz.cli.policy_commands:fmt", "format .kmsp files in the canonical layout"),
    "convert": ("kmsauthz.cli.policy_commands:convert", "convert a policy between AWS JSON and .kmsp"),
    "audit": ("kmsauthz.cli.audit_command:audit", "report findings on key policies before deployment"),
    "serve": ("kmsauthz.cli.serve_command:serve", "serve a local KMS on the KMS JSON protocol"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target[0].partition(":")
        command = getattr(import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kmsauthz")
def cli() -> None:
    """Decide, audit and test AWS KMS authorization offline."""


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; a deliberate error prints its message (exit 2), never a traceback."""
    try:
        return cli.main(args=argv, prog_name="kmsauthz", standalone_mode=True)
    except KmsauthzError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
