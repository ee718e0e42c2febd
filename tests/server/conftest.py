"""Fixtures for the endpoint tests: servers on free loopback ports that every test stops."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# the helpers beside this file import as `endpoint_helpers` whatever pytest's import mode
sys.path.insert(0, str(Path(__file__).parent))
from endpoint_helpers import ALICE, ALICE_ARN, BOB, BOB_ARN, FakeKMS

from kmsauthz.server import CredentialStore, Endpoint, RunningServer, start_server


@pytest.fixture
def fake() -> FakeKMS:
    return FakeKMS()


@pytest.fixture
def credentials() -> CredentialStore:
    return CredentialStore.from_mapping({ALICE[0]: (ALICE_ARN, ALICE[1]), BOB[0]: (BOB_ARN, BOB[1])})


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningServer]]:
    """Start servers on free loopback ports; all of them are stopped when the test ends."""
    running: list[RunningServer] = []

    def _start(backend: Any, credentials: CredentialStore, **endpoint_options: Any) -> RunningServer:
        server = start_server(Endpoint(backend, credentials, **endpoint_options), "127.0.0.1", 0)
        running.append(server)
        return server

    yield _start
    for server in running:
        server.stop()


@pytest.fixture
def server(serve: Callable[..., RunningServer], fake: FakeKMS, credentials: CredentialStore) -> RunningServer:
    return serve(fake, credentials)
