"""Key policies and KMS-related IAM policies in Terraform plan JSON (`terraform show -json`).

Terraform holds each policy as a JSON *string* attribute, so positions inside the policy cannot
be mapped to lines of the plan file; findings point at the line of the resource's `address` in the
plan and carry the JSON pointer inside the policy. A policy that is unknown until apply
(`after_unknown`) is counted, not audited.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kmsauthz.model.policy import PolicyKind
from kmsauthz.model.spans import pointer_join

# resource type -> (attribute holding the policy, kind)
POLICY_ATTRIBUTES: dict[str, tuple[str, PolicyKind]] = {
    "aws_kms_key": ("policy", PolicyKind.KEY),
    "aws_kms_external_key": ("policy", PolicyKind.KEY),
    "aws_kms_replica_key": ("policy", PolicyKind.KEY),
    "aws_kms_replica_external_key": ("policy", PolicyKind.KEY),
    "aws_kms_key_policy": ("policy", PolicyKind.KEY),
    "aws_iam_policy": ("policy", PolicyKind.IDENTITY),
    "aws_iam_role_policy": ("policy", PolicyKind.IDENTITY),
    "aws_iam_user_policy": ("policy", PolicyKind.IDENTITY),
    "aws_iam_group_policy": ("policy", PolicyKind.IDENTITY),
}


def is_plan(data: Any) -> bool:
    return isinstance(data, dict) and "format_version" in data and (
        "planned_values" in data or "values" in data or "resource_changes" in data
    )


@dataclass
class PlanPolicy:
    text: str
    kind: PolicyKind
    address: str
    pointer: str
    line: int
    column: int
    account: str | None


@dataclass
class PlanScan:
    policies: list[PlanPolicy]
    unknown: list[str]
    """Addresses whose policy is only known after apply."""


def _modules(module: Any, pointer: str) -> Iterator[tuple[dict[str, Any], str]]:
    if not isinstance(module, dict):
        return
    for i, res in enumerate(module.get("resources") or []):
        if isinstance(res, dict):
            yield res, pointer_join(pointer, "resources", i)
    for i, child in enumerate(module.get("child_modules") or []):
        yield from _modules(child, pointer_join(pointer, "child_modules", i))


def _caller_account(data: dict[str, Any]) -> str | None:
    """The account of `data.aws_caller_identity`, when the plan recorded it."""
    for section in ("prior_state", None):
        root = data.get(section) if section else data
        values = root.get("values") if isinstance(root, dict) else None
        if not isinstance(values, dict):
            continue
        for res, _ in _modules(values.get("root_module"), ""):
            if res.get("type") == "aws_caller_identity":
                acct = (res.get("values") or {}).get("account_id")
                if isinstance(acct, str):
                    return acct
    return None


def _unknown_addresses(data: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for rc in data.get("resource_changes") or []:
        if not isinstance(rc, dict):
            continue
        change = rc.get("change") or {}
        unknown = change.get("after_unknown") or {}
        attr = POLICY_ATTRIBUTES.get(str(rc.get("type")), ("policy", None))[0]
        if isinstance(unknown, dict) and unknown.get(attr) is True:
            out.add(str(rc.get("address")))
    return out


def _line_of(text: str, address: str) -> tuple[int, int]:
    m = re.search(r'"address"\s*:\s*' + re.escape(json.dumps(address)), text)
    if m is None:
        return 1, 1
    start = m.start()
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return line, column


def scan_plan(data: dict[str, Any], text: str) -> PlanScan:
    account = _caller_account(data)
    unknown = _unknown_addresses(data)
    policies: list[PlanPolicy] = []
    seen_unknown: list[str] = []
    separate_key_policies = any(isinstance(rc, dict) and rc.get("type") == "aws_kms_key_policy"
                                for rc in data.get("resource_changes") or [])
    section = "planned_values" if isinstance(data.get("planned_values"), dict) else "values"
    root = (data.get(section) or {}).get("root_module")
    for res, pointer in _modules(root, pointer_join("", section, "root_module")):
        rtype = str(res.get("type"))
        address = str(res.get("address"))
        values = res.get("values") or {}
        if rtype == "aws_iam_role":
            for i, inline in enumerate(values.get("inline_policy") or []):
                if isinstance(inline, dict) and isinstance(inline.get("policy"), str) and inline["policy"]:
                    line, column = _line_of(text, address)
                    policies.append(PlanPolicy(inline["policy"], PolicyKind.IDENTITY,
                                               f"{address} inline_policy {inline.get('name') or i}",
                                               pointer_join(pointer, "values", "inline_policy", i, "policy"),
                                               line, column, account))
            continue
        if rtype not in POLICY_ATTRIBUTES:
            continue
        attr, kind = POLICY_ATTRIBUTES[rtype]
        value = values.get(attr)
        if address in unknown and not value:
            if not (rtype == "aws_kms_key" and separate_key_policies):
                seen_unknown.append(address)  # (an aws_kms_key_policy resource sets it instead)
            continue
        if not isinstance(value, str) or not value.strip():
            continue  # aws_kms_key without policy: KMS attaches the default key policy
        line, column = _line_of(text, address)
        policies.append(PlanPolicy(value, kind, address, pointer_join(pointer, "values", attr), line, column,
                                   account))
    return PlanScan(policies, seen_unknown)
