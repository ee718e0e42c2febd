"""A seeded corpus of policies for the golden-findings test, and the script that records it.

The corpus mixes the benchmark's key policies with statements that reach every rule (NotAction,
NotPrincipal, Null, variables, typed operators, bad values, IAM policies...). The recorded file
holds the policy documents themselves (the audited text is `json.dumps(document, indent=2)`), so the
test does not depend on this generator staying the same:

    python -m tests.audit.golden_corpus        # rewrites tests/audit/data/golden_findings.json

Re-record only when a finding is meant to change, and review the diff.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from kmsauthz.errors import KmsauthzError

OUT = Path(__file__).resolve().parent / "data" / "golden_findings.json"
OWNER = "111122223333"
OTHERS = ["444455556666", "777788889999"]
ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
           "kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant", "kms:RetireGrant", "kms:Get*", "kms:List*",
           "kms:Put*", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:Sign",
           "kms:Verify", "kms:GenerateMac", "kms:TagResource", "kms:Decript", "kms:CreateKey", "kms:*", "*",
           "kms:Create*", "kms:GenerateRandom", "kms:ListAliases", "s3:GetObject", "k*:Describe?ey",
           "kms:Enable*", "kms:Disable*", "kms:ImportKeyMaterial"]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"kms:CallerAccount": OWNER}},
    {"StringEquals": {"kms:CallerAccount": OTHERS[0]}},
    {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
    {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    {"Bool": {"aws:ViaAWSService": ["true", "false"]}},
    {"StringEquals": {"kms:EncryptionContext:Department": "Payroll"}},
    {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Department", "Project"]}},
    {"ForAllValues:StringEquals": {"kms:EncryptionContext:Project": "x"}},
    {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt", "Encrypt"]}},
    {"Null": {"kms:GrantOperations": "false"}},
    {"Null": {"kms:EncryptionContextKeys": "true"}},
    {"StringEquals": {"kms:GrantOperations": "Decrypt"}},
    {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d5e6f70809"}},
    {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
    {"IpAddress": {"aws:SourceIp": "not-an-ip"}},
    {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    {"StringEquals": {"aws:SourceAccount": OWNER}},
    {"ArnLike": {"aws:SourceArn": f"arn:aws:logs:us-east-1:{OWNER}:*"}},
    {"ForAllValues:StringEquals": {"kms:CallerAccount": [OWNER]}},
    {"NumericLessThanEquals": {"kms:ScheduleKeyDeletionPendingWindowInDays": "30"}},
    {"NumericLessThanEquals": {"kms:ScheduleKeyDeletionPendingWindowInDays": "thirty"}},
    {"NumericEquals": {"kms:CallerAccount": "7"}},
    {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
    {"DateLessThan": {"aws:CurrentTime": "tomorrow"}},
    {"StringLike": {"kms:RequestAlias": "alias/app-*"}},
    {"StringEquals": {"kms:RequestAlias": "alias/app-*"}},
    {"StringEquals": {"kms:EncryptionAlgorthm": "SYMMETRIC_DEFAULT"}},
    {"StringEquals": {"aws:ResourceTag/team": "blue"}},
    {"StringEquals": {"kms:ResourceAliases": "alias/x"}},
    {"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:role/app"}},
    {"StringLike": {"kms:EncryptionContext:user": "${aws:username}"}},
    {"StringNotLike": {"kms:ViaService": "ec2.*.amazonaws.com"}},
    {"StringEqualsIfExists": {"kms:ViaService": "rds.us-east-1.amazonaws.com"}},
    {"NullIfExists": {"kms:ViaService": "true"}},
    {"StringEqualz": {"kms:ViaService": "x"}},
    {"ForAnyValue:Null": {"kms:ViaService": "true"}},
    {"BinaryEquals": {"kms:RecipientAttestation:ImageSha384": "not base64!"}},
    {"Bool": {"aws:PrincipalIsAWSService": "false"}},
]
PRINCIPALS: list[Any] = [
    "*",
    {"AWS": "*"},
    {"AWS": "arn:aws:iam::*:root"},
    {"AWS": f"arn:aws:iam::{OWNER}:root"},
    {"AWS": OWNER},
    {"AWS": f"arn:aws:iam::{OTHERS[0]}:root"},
    {"AWS": [f"arn:aws:iam::{OTHERS[1]}:role/ops", f"arn:aws:iam::{OWNER}:role/app"]},
    {"AWS": f"arn:aws:iam::{OWNER}:role/admin"},
    {"AWS": f"arn:aws:sts::{OWNER}:assumed-role/app/session"},
    {"Service": "logs.us-east-1.amazonaws.com"},
    {"Service": ["cloudtrail.amazonaws.com", "s3.amazonaws.com"]},
    {"Federated": "cognito-identity.amazonaws.com"},
    {"AWS": f"arn:aws:iam::{OWNER}:role/app", "Service": "ec2.amazonaws.com"},
]
RESOURCES: list[Any] = ["*", "*", "*", "*", f"arn:aws:kms:us-east-1:{OWNER}:key/*",
                        "arn:aws:s3:::bucket/*", "arn:aws:kms:*:*:key/*",
                        f"arn:aws:kms:us-east-1:{OWNER}:key/${{aws:username}}"]
DEFAULT = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
           "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"}, "Action": "kms:*", "Resource": "*"}


def _condition(rng: random.Random) -> dict[str, Any]:
    cond: dict[str, Any] = {}
    for c in rng.sample(CONDITIONS, rng.randint(1, 3)):
        for op, block in c.items():
            cond.setdefault(op, {}).update(block)
    return cond


def _statement(rng: random.Random, i: int, *, key: bool) -> dict[str, Any]:
    st: dict[str, Any] = {}
    roll = rng.random()
    if roll < 0.8:
        st["Sid"] = f"S{i}" if rng.random() < 0.9 else "Dup"
    st["Effect"] = "Deny" if rng.random() < 0.25 else "Allow"
    if key:
        if rng.random() < 0.08:
            st["NotPrincipal"] = {"AWS": f"arn:aws:iam::{OWNER}:role/admin"}
        else:
            st["Principal"] = rng.choice(PRINCIPALS)
    actions = rng.sample(ACTIONS, rng.randint(1, 6))
    if rng.random() < 0.1:
        st["NotAction"] = actions
    else:
        st["Action"] = actions if len(actions) > 1 or rng.random() < 0.5 else actions[0]
    if rng.random() < 0.1:
        st["NotResource"] = rng.choice(RESOURCES)
    else:
        st["Resource"] = rng.choice(RESOURCES)
    if rng.random() < 0.6:
        st["Condition"] = _condition(rng)
    return st


def _policy(rng: random.Random, *, key: bool) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [DEFAULT] if key and rng.random() < 0.6 else []
    statements += [_statement(rng, i, key=key) for i in range(rng.randint(1, 6))]
    if rng.random() < 0.2 and statements:
        statements.append(dict(statements[rng.randrange(len(statements))], Sid="Again"))
    doc: dict[str, Any] = {"Statement": statements if len(statements) > 1 or rng.random() < 0.7
                           else statements[0]}
    version = rng.random()
    if version < 0.85:
        doc = {"Version": "2012-10-17", **doc}
    elif version < 0.93:
        doc = {"Version": "2008-10-17", **doc}
    return doc


def build(seed: int = 11, count: int = 300) -> list[dict[str, str]]:
    """The corpus: key policies of the benchmark and generated key and identity policies (valid ones)."""
    from benchmarks.audit_bench import corpus
    from kmsauthz.syntax import load_policy_text

    out = [{"kind": "key", "text": t} for t in corpus(count // 4, seed)]
    rng = random.Random(seed)
    while len(out) < count:
        key = rng.random() < 0.75
        text = json.dumps(_policy(rng, key=key), indent=2)
        kind = "key" if key else "identity"
        try:
            load_policy_text(text, kind=kind, source="gen.json")
        except KmsauthzError:
            continue  # the corpus is about the rules: only documents that load
        out.append({"kind": kind, "text": text})
    return out


def findings_of(kind: str, text: str, index: int) -> list[dict[str, Any]]:
    from kmsauthz.audit.rules import audit_target
    from kmsauthz.audit.target import AuditTarget
    from kmsauthz.syntax import load_policy_text

    policy = load_policy_text(text, kind=kind, source=f"golden/{index}.json")
    return [row(f.to_dict()) for f in audit_target(AuditTarget(policy, f"golden/{index}.json"))]


FIELDS = ("rule", "line", "column", "pointer", "statement", "sid", "message", "help")
"""What is recorded per finding; the rest (severity, title, file, origin) follows from the rule and input."""


def row(finding: dict[str, Any]) -> list[Any]:
    return [finding.get(k) for k in FIELDS]


def main() -> None:
    items = build()
    for i, item in enumerate(items):
        item["findings"] = findings_of(item["kind"], item["text"], i)  # type: ignore[assignment]
    lines = ["["]
    for n, item in enumerate(items):
        lines.append(f' {{"kind": {json.dumps(item["kind"])}, "document": {json.dumps(json.loads(item["text"]))},'
                     ' "findings": [')
        rows = [json.dumps(r) for r in item["findings"]]
        lines.extend(f"  {r}," for r in rows[:-1])
        lines.extend(f"  {r}" for r in rows[-1:])
        lines.append(" ]}" + ("," if n < len(items) - 1 else ""))
    lines.append("]")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rules = {f[0] for item in items for f in item["findings"]}
    print(f"{len(items)} policies, {sum(len(i['findings']) for i in items)} findings, {len(rules)} rules -> {OUT}")


if __name__ == "__main__":
    main()
