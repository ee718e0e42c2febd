"""Evaluator speed on the workloads of GitHub issue 7 (CPU µs per decision, best of 7 rounds).

    python benchmarks/bench_engine.py            # all workloads
    python benchmarks/bench_engine.py --json out.json

Workloads (targets from the issue):

- ``console-default``: the console default key policy (4 statements) + one IAM policy — ~10 µs;
- ``team-roles-100``: a key policy of 100 `Principal {"AWS": "*"}` statements, each with its own
  `ArnLike aws:PrincipalArn arn:aws:iam::111122223333:role/team-NNN-*` and a `StringLike
  kms:EncryptionContext:Project` condition — ~25 µs;
- ``unrelated-10`` / ``unrelated-10000``: a key policy with 10 / 10,000 statements for other
  actions plus the delegation statement — the second at most twice the first;
- ``grants-0`` / ``grants-50000``: 50,000 grants for other principals at most twice no grants.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from kmsauthz.evaluate import Authorizer
from kmsauthz.model import Grant, IamPrincipal, Key, PolicyKind, Request, World
from kmsauthz.syntax.document import policy_from_document

A = "111122223333"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:{A}:key/{KEY_ID}"
ROOT = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"}


def _key_policy(statements: list[dict[str, Any]]) -> Any:
    return policy_from_document({"Version": "2012-10-17", "Statement": statements}, kind=PolicyKind.KEY, name="key")


def _identity(statements: list[dict[str, Any]]) -> Any:
    return policy_from_document({"Version": "2012-10-17", "Statement": statements},
                                kind=PolicyKind.IDENTITY, name="iam")


def console_default() -> tuple[Authorizer, list[Request]]:
    admin = f"arn:aws:iam::{A}:role/KeyAdmin"
    user = f"arn:aws:iam::{A}:role/App"
    policy = _key_policy([
        ROOT,
        {"Sid": "Allow access for Key Administrators", "Effect": "Allow", "Principal": {"AWS": admin},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                    "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"],
         "Resource": "*"},
        {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": user},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"},
        {"Sid": "Allow attachment of persistent resources", "Effect": "Allow", "Principal": {"AWS": user},
         "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
    ])
    pipeline = f"arn:aws:iam::{A}:role/Pipeline"
    world = World(
        keys=[Key(id=KEY_ID, account=A, policy=policy)],
        principals=[
            IamPrincipal(arn=admin), IamPrincipal(arn=user),
            IamPrincipal(arn=pipeline, policies=[_identity([
                {"Sid": "UseKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": KEY_ARN}
            ])]),
        ],
    )
    requests = [
        Request(principal=user, action="kms:Decrypt", key=KEY_ID),
        Request(principal=pipeline, action="kms:Decrypt", key=KEY_ARN),
        Request(principal=admin, action="kms:Decrypt", key=KEY_ID),
        Request(principal=user, action="kms:CreateGrant", key=KEY_ID),
    ]
    return Authorizer(world), requests


def team_roles(n: int = 100) -> tuple[Authorizer, list[Request]]:
    statements = [
        {"Sid": f"Team{i:03d}", "Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], "Resource": "*",
         "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{A}:role/team-{i:03d}-*"},
                       "StringLike": {"kms:EncryptionContext:Project": f"team-{i:03d}/*"}}}
        for i in range(n)
    ]
    world = World(keys=[Key(id=KEY_ID, account=A, policy=_key_policy(statements))])
    requests = [
        Request(principal=f"arn:aws:sts::{A}:assumed-role/team-042-app/s1", action="kms:Decrypt", key=KEY_ID,
                encryption_context={"Project": "team-042/orders"}),
        Request(principal=f"arn:aws:iam::{A}:role/team-077-batch", action="kms:Decrypt", key=KEY_ID,
                encryption_context={"Project": "team-001/orders"}),
        Request(principal=f"arn:aws:iam::{A}:role/outsider", action="kms:Encrypt", key=KEY_ID,
                encryption_context={"Project": "team-001/orders"}),
    ]
    return Authorizer(world), requests


def unrelated(n: int) -> tuple[Authorizer, list[Request]]:
    actions = ["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:TagResource", "kms:Get*", "kms:List*"]
    statements = [ROOT] + [
        {"Sid": f"Other{i}", "Effect": "Allow" if i % 3 else "Deny",
         "Principal": {"AWS": f"arn:aws:iam::{A}:role/r{i}"}, "Action": actions[i % len(actions)], "Resource": "*"}
        for i in range(n)
    ]
    app = f"arn:aws:iam::{A}:role/App"
    world = World(
        keys=[Key(id=KEY_ID, account=A, policy=_key_policy(statements))],
        principals=[IamPrincipal(arn=app, policies=[_identity([
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY_ARN}])])],
    )
    return Authorizer(world), [Request(principal=app, action="kms:Decrypt", key=KEY_ID)]


def grants(n: int) -> tuple[Authorizer, list[Request]]:
    app = f"arn:aws:iam::{A}:role/App"
    grant_list = [
        Grant(grant_id=f"{i:064x}", grantee=f"arn:aws:iam::{A}:role/other-{i}", operations=("Decrypt",))
        for i in range(n)
    ]
    grant_list.append(Grant(grant_id="f" * 64, name="app-decrypt", grantee=app, operations=("Decrypt",)))
    world = World(keys=[Key(id=KEY_ID, account=A, policy=_key_policy([ROOT]), grants=grant_list)],
                  principals=[IamPrincipal(arn=app)])
    return Authorizer(world), [Request(principal=app, action="kms:Decrypt", key=KEY_ID)]


WORKLOADS: dict[str, Callable[[], tuple[Authorizer, list[Request]]]] = {
    "console-default": console_default,
    "team-roles-100": team_roles,
    "unrelated-10": lambda: unrelated(10),
    "unrelated-10000": lambda: unrelated(10_000),
    "grants-0": lambda: grants(0),
    "grants-50000": lambda: grants(50_000),
}


def measure(auth: Authorizer, requests: list[Request], *, rounds: int = 7, min_time: float = 0.05) -> float:
    """Best µs per decision over ``rounds``, each looping over the requests for ``min_time``."""
    for r in requests:
        auth.decide(r)  # warm the per-action slices
    loops = 1
    while True:
        t0 = time.process_time()
        for _ in range(loops):
            for r in requests:
                auth.decide(r)
        if time.process_time() - t0 >= min_time:
            break
        loops *= 2
    samples = []
    for _ in range(rounds):
        t0 = time.process_time()
        for _ in range(loops):
            for r in requests:
                auth.decide(r)
        samples.append((time.process_time() - t0) / (loops * len(requests)) * 1e6)
    return min(samples)  # the least disturbed round (the machine is shared)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--only", help="comma-separated workload names")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(WORKLOADS)
    results: dict[str, float] = {}
    for name in names:
        auth, requests = WORKLOADS[name]()
        results[name] = measure(auth, requests)
        print(f"{name:18s} {results[name]:8.2f} µs/decision")
    if "unrelated-10" in results and "unrelated-10000" in results:
        print(f"{'ratio 10000/10':18s} {results['unrelated-10000'] / results['unrelated-10']:8.2f}")
    if "grants-0" in results and "grants-50000" in results:
        print(f"{'ratio grants':18s} {results['grants-50000'] / results['grants-0']:8.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"python": sys.version, "us_per_decision": results}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
