"""How many key policies `kmsauthz audit` checks per second, on one core.

A corpus of generated key policies (default, console-style, cross-account, VPC endpoint, encryption
context, grants, and randomly mixed statements, 1 to 8 statements each — real key policies hold
2 to 4; seeded, so every run
audits the same corpus) is loaded once, then every rule runs over every policy. It prints the
rules-only rate (the figure the target of 2,000 policies/s is about) for one pass over the corpus,
the end-to-end rate including JSON parsing and validation, and the findings per rule. Times are
CPU time of this process (`time.process_time`), so other load on the machine does not count.

    python benchmarks/audit_bench.py [--policies 5000] [--seed 7]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from collections import Counter
from typing import Any

from kmsauthz.audit.rules import RULES, audit_target
from kmsauthz.audit.target import AuditTarget
from kmsauthz.syntax import load_policy_text

OWNER = "111122223333"
OTHERS = ["444455556666", "777788889999", "210987654321"]
ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
           "kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant", "kms:Get*", "kms:List*", "kms:Put*",
           "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:Sign", "kms:Verify", "kms:GenerateMac",
           "kms:TagResource", "kms:Decript", "kms:CreateKey", "s3:GetObject"]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"kms:CallerAccount": OWNER}},
    {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:CallerAccount": OWNER}},
    {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    {"StringEquals": {"kms:EncryptionContext:Department": "Payroll"}},
    {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Department", "Project"]}},
    {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d5e6f70809"}},
    {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    {"ForAllValues:StringEquals": {"kms:CallerAccount": [OWNER]}},
    {"NumericLessThanEquals": {"kms:ScheduleKeyDeletionPendingWindowInDays": "30"}},
    {"StringLike": {"kms:RequestAlias": "alias/app-*"}},
]


def _principal(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.1:
        return "*"
    if roll < 0.25:
        return {"AWS": f"arn:aws:iam::{rng.choice(OTHERS)}:root"}
    if roll < 0.35:
        return {"Service": "logs.us-east-1.amazonaws.com"}
    roles = [f"arn:aws:iam::{OWNER}:role/{rng.choice(['app', 'admin', 'batch', 'etl', 'ops'])}"
             for _ in range(rng.randint(1, 3))]
    return {"AWS": roles if len(roles) > 1 else roles[0]}


def _statement(rng: random.Random, i: int) -> dict[str, Any]:
    st: dict[str, Any] = {
        "Sid": f"Statement{i}",
        "Effect": "Deny" if rng.random() < 0.15 else "Allow",
        "Principal": _principal(rng),
        "Action": rng.sample(ACTIONS, rng.randint(1, 6)),
        "Resource": "*",
    }
    if rng.random() < 0.6:
        cond: dict[str, Any] = {}
        for c in rng.sample(CONDITIONS, rng.randint(1, 2)):
            for op, block in c.items():
                cond.setdefault(op, {}).update(block)
        st["Condition"] = cond
    return st


def corpus(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    root = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"}, "Action": "kms:*", "Resource": "*"}
    out = []
    for _ in range(n):
        statements = ([root] if rng.random() < 0.85 else [])
        statements += [_statement(rng, i) for i in range(rng.randint(0 if statements else 1, 7))]
        out.append(json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    texts = corpus(args.policies, args.seed)
    t0 = time.process_time()
    policies = [load_policy_text(t, kind="key", source=f"gen/{i}.json") for i, t in enumerate(texts)]
    t_load = time.process_time() - t0
    targets = [AuditTarget(p, p.name) for p in policies]
    # The corpus is held in memory only for the benchmark (the CLI streams files one by one): move it
    # out of the cyclic GC's reach so that collections do not traverse 5,000 policies' models and bill
    # that to whichever rule happens to allocate.
    gc.collect()
    gc.freeze()

    audit_target(targets[0])  # warm the catalog lookups once, as a long CI run would be
    t0 = time.process_time()
    findings = [f for t in targets for f in audit_target(t)]
    t_rules = time.process_time() - t0

    statements = sum(len(p.statements) for p in policies)
    per_rule = Counter(f.rule for f in findings)
    print(f"corpus: {len(policies)} key policies, {statements} statements, {len(RULES)} rules (seed {args.seed})")
    print(f"rules only:  {len(policies) / t_rules:10,.0f} policies/s  ({t_rules * 1e3 / len(policies):.3f} ms each, "
          f"{statements / t_rules:,.0f} statements/s)")
    print(f"end to end:  {len(policies) / (t_rules + t_load):10,.0f} policies/s  (parse + validate + rules)")
    print(f"findings:    {len(findings)}  ({len(findings) / len(policies):.1f} per policy)")
    for rule, count in per_rule.most_common():
        print(f"  {rule:<38} {count}")
    target = 2000
    for label, seconds in (("rules only", t_rules), ("end to end", t_rules + t_load)):
        verdict = "meets" if len(policies) / seconds >= target else "MISSES"
        print(f"target {target:,} policies/s ({label}, one core): {verdict}")


if __name__ == "__main__":
    main()
