from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kmsauthz.audit import AuditReport, audit_paths

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
ACCOUNT = "111122223333"
DELEGATION = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}


@pytest.fixture
def audit_doc(tmp_path: Path) -> Callable[..., AuditReport]:
    """Write a document (dict → JSON, or text) to a file and audit it."""

    def run(document: Any, name: str = "policy.json") -> AuditReport:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document if isinstance(document, str) else json.dumps(document, indent=2),
                        encoding="utf-8")
        return audit_paths([path])

    return run


def rules_of(report: AuditReport) -> set[str]:
    return {f.rule for f in report.active}


def key_policy(*statements: dict[str, Any], delegation: bool = True) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": ([DELEGATION] if delegation else []) + list(statements)}
