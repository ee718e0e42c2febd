"""Fixtures of the hardening tests: a small world, in-memory and file-backed local KMSs."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from hardening_support import ALICE, REGION, make_world

from kmsauthz.kms import LocalKMS, ManualClock


@pytest.fixture
def kms() -> Iterator[LocalKMS]:
    k = LocalKMS.from_world(make_world(), clock=ManualClock())
    yield k
    k.close()


@pytest.fixture
def alice(kms: LocalKMS) -> Any:
    return kms.client(ALICE, REGION)


@pytest.fixture
def root_key() -> bytes:
    return os.urandom(32)
