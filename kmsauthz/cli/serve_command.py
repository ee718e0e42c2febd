"""`kmsauthz serve`: the local KMS of a world on the KMS JSON protocol, for boto3, the AWS CLI and
the AWS Encryption SDK (``docs/endpoint.md``)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

DEFAULT_PORT = 7143


@click.command("serve")
@click.option(
    "--world",
    "world_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="world file (the scenario format; `cases` optional): keys, principals and their access keys",
)
@click.option(
    "--store",
    required=True,
    help="SQLite keystore file (created when missing), or `:memory:` for a store that ends with the server",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="port to listen on; 0 picks a free port",
)
@click.option("--quiet", "-q", is_flag=True, help="do not log one line per request")
def serve(world_path: Path, store: str, host: str, port: int, quiet: bool) -> None:
    """Serve the world's local KMS over HTTP (AWS JSON 1.1, SigV4-signed requests).

    Callers authenticate with the access keys the world declares; the Region is the one their
    signature names. Prints `listening on http://HOST:PORT` once it accepts connections, then one
    line per request on standard error. The root key of a file store comes from KMSAUTHZ_ROOT_KEY
    or KMSAUTHZ_ROOT_KEY_FILE. Stop with Ctrl-C or SIGTERM.
    """
    from kmsauthz.kms import LocalKMS
    from kmsauthz.scenario import load_world
    from kmsauthz.server import CredentialStore, Endpoint, KMSServer, RunningServer

    _configure_logging(quiet)
    world = load_world(world_path)
    credentials = CredentialStore.from_world(world)
    kms = LocalKMS.from_world(world, store=store)
    endpoint = Endpoint(kms, credentials)
    try:
        server = KMSServer((host, port), endpoint)
    except OSError as exc:
        _close(kms)
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    if not len(credentials):
        click.echo(
            "warning: the world declares no access keys, so every request will be refused "
            "(UnrecognizedClientException); add `access_keys` to a principal",
            err=True,
        )
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _on_signal)
    running = RunningServer(server)
    click.echo(f"listening on {server.url}")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            if not running.thread.is_alive():  # pragma: no cover - serve_forever died
                break
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        running.stop()
        _close(kms)
        click.echo("stopped", err=True)


def _configure_logging(quiet: bool) -> None:
    logger = logging.getLogger("kmsauthz.server")
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
    logger.propagate = False


def _close(kms: object) -> None:
    close = getattr(kms, "close", None)
    if callable(close):
        close()
