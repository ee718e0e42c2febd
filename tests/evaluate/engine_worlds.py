"""Helpers for the engine tests: small worlds from plain dicts, and hypothesis strategies.

The strategies draw worlds and requests over a small vocabulary (two accounts, a few principals,
keys, actions and conditions) so that random policies often *match* the random requests: the
point is to exercise every branch of the decision procedure, not to cover AWS's whole grammar.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from kmsauthz.model import (
    AccessKey,
    AccountLayers,
    Grant,
    GrantConstraints,
    IamPrincipal,
    Key,
    Organization,
    PolicyKind,
    Request,
    VpcEndpoint,
    World,
)
from kmsauthz.syntax.document import policy_from_document

A = "111122223333"
B = "444455556666"
REGION = "us-east-1"
K1 = "1234abcd-12ab-34cd-56ef-1234567890ab"
K2 = "0987dcba-09fe-87dc-65ba-ab0987654321"
KB = "5d3e6a1b-7c2f-4e8a-9b0d-3f4a5b6c7d8e"
K1_ARN = f"arn:aws:kms:{REGION}:{A}:key/{K1}"
K2_ARN = f"arn:aws:kms:{REGION}:{A}:key/{K2}"
KB_ARN = f"arn:aws:kms:{REGION}:{B}:key/{KB}"
ALICE = f"arn:aws:iam::{A}:user/alice"
BOB = f"arn:aws:iam::{A}:user/bob"
APP = f"arn:aws:iam::{A}:role/app"
APP_SESSION = f"arn:aws:sts::{A}:assumed-role/app/s1"
A_ROOT = f"arn:aws:iam::{A}:root"
PARTNER = f"arn:aws:iam::{B}:role/partner"
B_ROOT = f"arn:aws:iam::{B}:root"
SERVICE = "logs.us-east-1.amazonaws.com"
VPCE = "vpce-0a1b2c3d4e5f60718"
ORG = "o-a1b2c3d4e5"
DELEGATE = {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": A_ROOT},
            "Action": "kms:*", "Resource": "*"}


def policy(statements: list[dict[str, Any]] | dict[str, Any], kind: PolicyKind = PolicyKind.KEY,
           name: str = "policy", version: str = "2012-10-17") -> Any:
    doc = {"Version": version, "Statement": statements}
    return policy_from_document(doc, kind=kind, name=name)


def key(key_id: str = K1, account: str = A, statements: list[dict[str, Any]] | None = None, **kw: Any) -> Key:
    return Key(id=key_id, account=account, policy=policy(statements if statements is not None else [DELEGATE]), **kw)


def principal(arn: str, statements: list[dict[str, Any]] | None = None, *,
              boundary: list[dict[str, Any]] | None = None, **kw: Any) -> IamPrincipal:
    return IamPrincipal(
        arn=arn,
        policies=[policy(statements, PolicyKind.IDENTITY, f"policy of {arn}")] if statements else [],
        permissions_boundary=policy(boundary, PolicyKind.PERMISSIONS_BOUNDARY) if boundary else None,
        **kw,
    )


# ----------------------------------------------------------------------------------- strategies

CALLERS = (ALICE, BOB, APP, APP_SESSION, A_ROOT, PARTNER, B_ROOT, SERVICE)
PRINCIPAL_VALUES = ("*", A_ROOT, A, B_ROOT, ALICE, APP, APP_SESSION, PARTNER, SERVICE)
STATEMENT_ACTIONS = (
    "kms:Decrypt", "kms:Encrypt", "kms:*", "kms:Gen*", "kms:DescribeKey", "kms:CreateGrant",
    "kms:ScheduleKeyDeletion", "kms:ReEncrypt*", "kms:CreateKey", "kms:RetireGrant", "*", "KMS:decrypt",
    "kms:*Alias",
)
RESOURCES = ("*", K1_ARN, K2_ARN, KB_ARN, f"arn:aws:kms:*:{A}:key/*", f"arn:aws:kms:{REGION}:{A}:alias/app",
             f"arn:aws:kms:{REGION}:{A}:alias/*",
             f"arn:aws:kms:{REGION}:{A}:*", "arn:aws:kms:us-west-2:*:key/*")
CONDITIONS: tuple[tuple[str, str, tuple[Any, ...]], ...] = (
    ("StringEquals", "kms:EncryptionContext:Project", ("alpha",)),
    ("StringEquals", "kms:EncryptionContext:project", ("alpha", "beta")),
    ("StringNotEquals", "aws:SourceVpce", (VPCE,)),
    ("StringEqualsIfExists", "aws:SourceVpce", (VPCE,)),
    ("Bool", "aws:ViaAWSService", ("false",)),
    ("BoolIfExists", "aws:PrincipalIsAWSService", (False,)),
    ("StringEquals", "kms:CallerAccount", (A,)),
    ("StringEquals", "aws:PrincipalAccount", (B,)),
    ("ArnLike", "aws:PrincipalArn", (f"arn:aws:iam::{A}:role/*",)),
    ("ArnNotLike", "aws:PrincipalArn", (f"arn:aws:iam::{A}:user/*",)),
    ("Null", "kms:EncryptionContextKeys", ("false",)),
    ("ForAnyValue:StringEquals", "kms:EncryptionContextKeys", ("Project",)),
    ("ForAllValues:StringEquals", "kms:EncryptionContextKeys", ("Project", "Env")),
    ("StringEquals", "kms:RequestAlias", ("alias/app",)),
    ("ForAnyValue:StringLike", "kms:ResourceAliases", ("alias/a*",)),
    ("IpAddress", "aws:SourceIp", ("203.0.113.0/24",)),
    ("NotIpAddress", "aws:SourceIp", ("203.0.113.0/24",)),
    ("StringEquals", "aws:PrincipalOrgID", (ORG,)),
    ("StringEquals", "aws:PrincipalTag/team", ("blue",)),
    ("StringEquals", "kms:EncryptionContext:owner", ("${aws:username}",)),
    ("StringLike", "kms:ViaService", ("ec2.*.amazonaws.com",)),
    ("Bool", "kms:GrantIsForAWSResource", ("true",)),
    ("StringEquals", "aws:ResourceTag/Env", ("prod",)),
    ("ForAllValues:StringEquals", "kms:GrantOperations", ("Decrypt", "Encrypt")),
    ("Bool", "kms:ReEncryptOnSameKey", ("true",)),
    ("StringEquals", "kms:KeySpec", ("SYMMETRIC_DEFAULT",)),
    ("DateLessThan", "aws:CurrentTime", ("2027-01-01T00:00:00Z",)),
)


def _listish(draw: Any, values: tuple[str, ...], max_size: int = 3) -> str | list[str]:
    chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=max_size, unique=True))
    return chosen[0] if len(chosen) == 1 and draw(st.booleans()) else chosen


@st.composite
def conditions(draw: Any) -> dict[str, dict[str, Any]] | None:
    clauses = draw(st.lists(st.sampled_from(CONDITIONS), max_size=2, unique_by=lambda c: (c[0], c[1].lower())))
    if not clauses:
        return None
    block: dict[str, dict[str, Any]] = {}
    for op, k, values in clauses:
        block.setdefault(op, {})[k] = list(values) if len(values) > 1 else values[0]
    return block


@st.composite
def statements(draw: Any, *, principals: bool) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": draw(st.sampled_from(("Allow", "Allow", "Deny")))}
    if draw(st.booleans()):
        s["Sid"] = f"S{draw(st.integers(0, 999))}"
    if principals:
        form = draw(st.integers(0, 9))
        if form == 0:
            s["Principal"] = "*"
        elif form == 1 and s["Effect"] == "Deny":
            s["NotPrincipal"] = {"AWS": _listish(draw, (A_ROOT, ALICE, APP, APP_SESSION, B_ROOT))}
        else:
            values = draw(st.lists(st.sampled_from(PRINCIPAL_VALUES), min_size=1, max_size=3, unique=True))
            aws = [v for v in values if v != SERVICE]
            s["Principal"] = {}
            if aws:
                s["Principal"]["AWS"] = aws[0] if len(aws) == 1 else aws
            if SERVICE in values or not aws:
                s["Principal"]["Service"] = SERVICE
    if draw(st.integers(0, 7)) == 0:
        s["NotAction"] = _listish(draw, STATEMENT_ACTIONS)
    else:
        s["Action"] = _listish(draw, STATEMENT_ACTIONS)
    if principals and draw(st.integers(0, 20)) == 0:
        pass  # no Resource: the statement is inert in a key policy
    elif draw(st.integers(0, 9)) == 0:
        s["NotResource"] = _listish(draw, RESOURCES, 2)
    else:
        s["Resource"] = "*" if principals and draw(st.booleans()) else _listish(draw, RESOURCES, 2)
    cond = draw(conditions())
    if cond:
        s["Condition"] = cond
    return s


def statement_lists(*, principals: bool, min_size: int = 1, max_size: int = 5) -> Any:
    return st.lists(statements(principals=principals), min_size=min_size, max_size=max_size)


@st.composite
def grants(draw: Any) -> Grant:
    ops = draw(st.lists(st.sampled_from(("Decrypt", "Encrypt", "GenerateDataKey", "DescribeKey", "CreateGrant",
                                         "RetireGrant", "ReEncryptFrom")), min_size=1, max_size=3, unique=True))
    constraint = draw(st.sampled_from((None, "equals", "subset")))
    constraints = None
    if constraint == "equals":
        constraints = GrantConstraints(encryption_context_equals={"Project": "alpha"})
    elif constraint == "subset":
        constraints = GrantConstraints(encryption_context_subset={"Project": "alpha"})
    pending = draw(st.integers(0, 4)) == 0
    n = draw(st.integers(0, 10**6))
    return Grant(
        grant_id=f"{n:064x}", name=f"g{n}", grantee=draw(st.sampled_from((ALICE, APP, APP_SESSION, PARTNER, B_ROOT, A_ROOT))),
        retiring=draw(st.sampled_from((None, BOB, PARTNER))), operations=tuple(ops),
        constraints=constraints, pending=pending,
        token=f"token-{draw(st.integers(0, 2))}" if pending or draw(st.booleans()) else None,
    )


@st.composite
def worlds(draw: Any) -> World:
    keys = [
        Key(id=K1, account=A, aliases=("alias/app",), tags={"Env": draw(st.sampled_from(("prod", "dev")))},
            policy=policy(draw(statement_lists(principals=True)), PolicyKind.KEY, "K1 policy"),
            grants=draw(st.lists(grants(), max_size=3, unique_by=lambda g: g.grant_id))),
        Key(id=K2, account=A, policy=policy(draw(statement_lists(principals=True, max_size=3)), PolicyKind.KEY, "K2 policy")),
        Key(id=KB, account=B, aliases=("alias/app",),
            policy=policy(draw(statement_lists(principals=True, max_size=3)), PolicyKind.KEY, "KB policy")),
    ]

    def maybe_identity() -> list[Any]:
        if draw(st.integers(0, 3)) == 0:
            return []
        return [policy(draw(statement_lists(principals=False, max_size=4)), PolicyKind.IDENTITY, "iam")]

    boundary = None
    if draw(st.integers(0, 3)) == 0:
        boundary = policy(draw(statement_lists(principals=False, max_size=2)), PolicyKind.PERMISSIONS_BOUNDARY, "pb")
    session_keys = []
    if draw(st.integers(0, 3)) == 0:
        session_keys = [AccessKey(id="AKIAEXAMPLE", secret="x", session="s1",
                                  session_policy=policy(draw(statement_lists(principals=False, max_size=2)),
                                                        PolicyKind.SESSION, "sp"))]
    principals = [
        IamPrincipal(arn=ALICE, policies=maybe_identity()),
        IamPrincipal(arn=APP, policies=maybe_identity(), permissions_boundary=boundary, tags={"team": "blue"},
                     access_keys=session_keys),
        IamPrincipal(arn=PARTNER, policies=maybe_identity()),
    ]
    accounts: dict[str, AccountLayers] = {}
    if draw(st.integers(0, 3)) == 0:
        accounts[A] = AccountLayers(
            scps=[policy([{"Effect": "Allow", "Action": "*", "Resource": "*"}], PolicyKind.SCP, "FullAWSAccess"),
                  policy(draw(statement_lists(principals=False, max_size=2)), PolicyKind.SCP, "scp")],
            rcps=[policy([{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}], PolicyKind.RCP,
                         "RCPFullAWSAccess")]
            + ([policy([dict(s, Principal="*") for s in draw(statement_lists(principals=False, max_size=2))],
                       PolicyKind.RCP, "rcp")] if draw(st.booleans()) else []),
        )
    endpoints = [VpcEndpoint(id=VPCE, vpc="vpc-0123456789abcdef0",
                             policy=policy(draw(statement_lists(principals=True, max_size=2)), PolicyKind.VPC_ENDPOINT, "ep")
                             if draw(st.booleans()) else None)]
    org = Organization(id=ORG, accounts=(A, B) if draw(st.booleans()) else (A,))
    return World(keys=keys, principals=principals, accounts=accounts, vpc_endpoints=endpoints,
                 organization=org, region=REGION)


REQUEST_ACTIONS = (
    "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant",
    "kms:ScheduleKeyDeletion", "kms:ReEncryptFrom", "kms:ReEncrypt", "kms:CreateKey", "kms:RetireGrant",
    "kms:decrypt", "kms:ListKeys", "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias",
)
KEY_REFS = (K1, K1_ARN, "alias/app", f"arn:aws:kms:{REGION}:{A}:alias/app", K2, K2_ARN, KB_ARN,
            f"arn:aws:kms:{REGION}:{B}:alias/app", "alias/missing", f"arn:aws:kms:us-west-2:{A}:key/{K1}")


@st.composite
def requests(draw: Any) -> Request:
    action = draw(st.sampled_from(REQUEST_ACTIONS))
    params: dict[str, Any] = {}
    if action == "kms:CreateGrant":
        params["Operations"] = draw(st.lists(st.sampled_from(("Decrypt", "Encrypt", "RetireGrant")), min_size=1,
                                             max_size=2, unique=True))
        params["GranteePrincipal"] = APP
        if draw(st.booleans()):
            params["Constraints"] = {draw(st.sampled_from(("EncryptionContextEquals", "EncryptionContextSubset"))):
                                     draw(st.sampled_from(({"Project": "alpha"}, {"Project": "alpha", "Env": "x"})))}
    if action in ("kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"):
        params["AliasName"] = draw(st.sampled_from(("alias/app", "alias/new")))
        if action != "kms:DeleteAlias":
            params["TargetKeyId"] = draw(st.sampled_from((K1, K2, K2_ARN)))
    if action in ("kms:ReEncrypt", "kms:ReEncryptFrom") and draw(st.booleans()):
        params["DestinationKeyId"] = draw(st.sampled_from((K1, K2, K1_ARN, KB_ARN)))
    session = None
    if draw(st.integers(0, 5)) == 0:
        session = policy(draw(statement_lists(principals=False, max_size=2)), PolicyKind.SESSION, "request session")
    return Request(
        session_policy=session,
        principal=draw(st.sampled_from(CALLERS)),
        action=action,
        key=None if action in ("kms:CreateKey", "kms:ListKeys") else draw(st.sampled_from(KEY_REFS)),
        vpc_endpoint=VPCE if draw(st.integers(0, 3)) == 0 else None,
        source_ip=draw(st.sampled_from((None, "203.0.113.7", "198.51.100.1"))),
        via_service="ec2.us-east-1.amazonaws.com" if draw(st.integers(0, 4)) == 0 else None,
        encryption_context=draw(st.sampled_from((None, {"Project": "alpha"}, {"project": "beta"},
                                                 {"Project": "alpha", "owner": "alice"}, {"Other": "x"}))),
        grant_tokens=tuple(draw(st.lists(st.sampled_from([f"token-{i}" for i in range(3)]), max_size=1))),
        parameters=params,
    )
