"""Fixtures for the local KMS tests: a small world, an in-memory LocalKMS on a manual clock."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from kms_support import ALICE, BOB, CAROL, REGION, make_world

from kmsauthz.kms import LocalKMS, ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def kms(clock: ManualClock) -> LocalKMS:
    k = LocalKMS.from_world(make_world(), clock=clock)
    yield k
    k.close()


@pytest.fixture
def alice(kms: LocalKMS) -> Any:
    return kms.client(ALICE, REGION)


@pytest.fixture
def bob(kms: LocalKMS) -> Any:
    return kms.client(BOB, REGION)


@pytest.fixture
def carol(kms: LocalKMS) -> Any:
    return kms.client(CAROL, REGION)


@pytest.fixture
def root_key_env(monkeypatch: pytest.MonkeyPatch) -> bytes:
    raw = os.urandom(32)
    monkeypatch.setenv("KMSAUTHZ_ROOT_KEY", base64.b64encode(raw).decode())
    monkeypatch.delenv("KMSAUTHZ_ROOT_KEY_FILE", raising=False)
    return raw

