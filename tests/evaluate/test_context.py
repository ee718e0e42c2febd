"""The request context: exactly the condition keys AWS sets, per situation (semantics.md §4, §4.3, §8)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kmsauthz import catalog
from kmsauthz.evaluate.context import KeyPolicyView, RequestContext, RequestFacts, normalize_value
from kmsauthz.evaluate.principals import parse_caller
from kmsauthz.model import Key, Organization, VpcEndpoint

from .engine_worlds import A_ROOT, ALICE, APP, APP_SESSION, K1, SERVICE, A, B, key

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ORG = Organization(id="o-a1b2c3d4e5", accounts=(A,))
KEY = key(K1, aliases=("alias/app", "alias/other"), tags={"Env": "prod"})


def ctx(action: str = "kms:Decrypt", *, caller: str = ALICE, key_: Key | None = KEY, tags: dict[str, str] | None = None,
        endpoint: VpcEndpoint | None = None, source_ip: str | None = None, via: str | None = None,
        params: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None,
        ec: dict[str, str] | None = None, alias: str | None = None, same_key: bool | None = None) -> RequestContext:
    facts = RequestFacts(
        parse_caller(caller), NOW, tags, ORG, endpoint, source_ip, via, params or {},
        {k.lower(): normalize_value(v) for k, v in overrides.items()} if overrides else None,
    )
    low = action.lower()
    return RequestContext(facts, low, catalog.operation(low), "us-east-1", key_, None, alias, ec, same_key)


def test_principal_keys_of_an_iam_user() -> None:
    c = ctx()
    assert c.lookup("aws:PrincipalArn") == ALICE
    assert c.lookup("aws:principalaccount") == A
    assert c.lookup("aws:PrincipalType") == "User"
    assert c.lookup("aws:username") == "alice"
    assert c.lookup("aws:PrincipalIsAWSService") == "false"
    assert c.lookup("aws:PrincipalOrgID") == "o-a1b2c3d4e5"
    assert c.lookup("aws:PrincipalServiceName") is None


def test_a_role_session_reports_the_role_arn_and_no_username() -> None:
    # reference_policies_condition-keys.html#condition-keys-principalarn / #condition-keys-username
    c = ctx(caller=APP_SESSION, tags={"team": "blue"})
    assert c.lookup("aws:PrincipalArn") == APP
    assert c.lookup("aws:PrincipalType") == "AssumedRole"
    assert c.lookup("aws:username") is None
    assert c.lookup("aws:PrincipalTag/Team") == "blue"  # tag key part is case-insensitive
    assert c.lookup("aws:PrincipalTag/missing") is None


def test_the_root_user_and_a_service_principal() -> None:
    root = ctx(caller=A_ROOT)
    assert root.lookup("aws:PrincipalType") == "Account"
    assert root.lookup("aws:userid") == A
    service = ctx(caller=SERVICE)
    assert service.lookup("aws:PrincipalIsAWSService") == "true"
    assert service.lookup("aws:PrincipalServiceName") == SERVICE
    assert service.lookup("aws:PrincipalArn") is None
    assert service.lookup("kms:CallerAccount") is None


def test_principal_org_id_is_absent_outside_the_organization() -> None:
    assert ctx(caller=f"arn:aws:iam::{B}:role/x").lookup("aws:PrincipalOrgID") is None


def test_public_endpoint_has_source_ip_and_no_vpc_keys() -> None:
    c = ctx(source_ip="203.0.113.7")
    assert c.lookup("aws:SourceIp") == "203.0.113.7"
    for name in ("aws:SourceVpce", "aws:SourceVpc", "aws:VpcSourceIp"):
        assert c.lookup(name) is None


def test_vpc_endpoint_has_vpc_keys_and_no_source_ip() -> None:
    # kms-vpc-endpoint.html; conditions-aws.html#conditions-aws-ip-address
    ep = VpcEndpoint(id="vpce-1a2b3c4d", vpc="vpc-1111aaaa")
    c = ctx(endpoint=ep, source_ip="10.0.0.5")
    assert c.lookup("aws:sourcevpce") == "vpce-1a2b3c4d"
    assert c.lookup("aws:SourceVpc") == "vpc-1111aaaa"
    assert c.lookup("aws:VpcSourceIp") == "10.0.0.5"
    assert c.lookup("aws:SourceIp") is None


def test_a_call_by_an_integrated_service_on_the_callers_behalf() -> None:
    ep = VpcEndpoint(id="vpce-1a2b3c4d", vpc="vpc-1111aaaa")
    c = ctx(via="ec2.us-east-1.amazonaws.com", endpoint=ep)
    assert c.lookup("kms:ViaService") == "ec2.us-east-1.amazonaws.com"
    assert c.lookup("aws:ViaAWSService") == "true"
    assert c.lookup("aws:SourceVpce") is None  # the service's call does not use the caller's endpoint
    assert c.lookup("aws:CalledVia") is None  # EC2 is not a CalledVia service
    dynamo = ctx(via="dynamodb.us-east-1.amazonaws.com")
    assert dynamo.lookup("aws:CalledVia") == ("dynamodb.amazonaws.com",)
    assert dynamo.lookup("aws:CalledViaFirst") == "dynamodb.amazonaws.com"
    direct = ctx()
    assert direct.lookup("aws:ViaAWSService") == "false"
    assert direct.lookup("kms:ViaService") is None


def test_environment_keys_are_always_there() -> None:
    c = ctx()
    assert c.lookup("aws:SecureTransport") == "true"
    assert c.lookup("aws:RequestedRegion") == "us-east-1"
    assert c.lookup("aws:CurrentTime") == "2026-01-01T00:00:00Z"
    assert c.lookup("aws:EpochTime") == "1767225600"


def test_key_property_keys() -> None:
    c = ctx()
    assert c.lookup("kms:KeySpec") == "SYMMETRIC_DEFAULT"
    assert c.lookup("kms:CustomerMasterKeySpec") == "SYMMETRIC_DEFAULT"
    assert c.lookup("kms:KeyUsage") == "ENCRYPT_DECRYPT"
    assert c.lookup("kms:KeyOrigin") == "AWS_KMS"
    assert c.lookup("kms:MultiRegion") == "false"
    assert c.lookup("kms:MultiRegionKeyType") is None  # single-Region keys have none (E43)
    assert c.lookup("kms:ResourceAliases") == ("alias/app", "alias/other")
    assert c.lookup("aws:ResourceTag/env") == "prod"
    assert c.lookup("aws:ResourceAccount") == A
    assert c.lookup("kms:CallerAccount") == A


def test_multi_region_keys() -> None:
    replica = key("mrk-1234abcd12ab34cd56ef1234567890ab", multi_region_type="REPLICA")
    c = ctx(key_=replica)
    assert c.lookup("kms:MultiRegion") == "true"
    assert c.lookup("kms:MultiRegionKeyType") == "REPLICA"


def test_a_key_without_aliases_has_no_resource_aliases() -> None:
    assert ctx(key_=key(K1)).lookup("kms:ResourceAliases") is None


def test_key_policies_do_not_see_resource_tags_or_resource_aliases() -> None:
    # abac.html / tag-authorization.html: IAM policies only (semantics §4.4, U5)
    view = KeyPolicyView(ctx())
    assert view.lookup("aws:ResourceTag/Env") is None
    assert view.lookup("kms:ResourceAliases") is None
    assert view.lookup("kms:KeySpec") == "SYMMETRIC_DEFAULT"


def test_encryption_context_keys_and_their_case() -> None:
    # conditions-kms.html#conditions-kms-encryption-context-case
    c = ctx(ec={"AppName": "ExampleApp", "Project": "alpha"})
    assert c.lookup("kms:EncryptionContext:appname") == "ExampleApp"
    assert c.lookup("KMS:encryptioncontext:PROJECT") == "alpha"
    assert c.lookup("kms:EncryptionContext:missing") is None
    assert c.lookup("kms:EncryptionContextKeys") == ("AppName", "Project")
    assert ctx().lookup("kms:EncryptionContextKeys") is None


def test_kms_keys_are_set_only_for_the_actions_that_set_them() -> None:
    describe = ctx("kms:DescribeKey", ec={"a": "b"})
    assert describe.lookup("kms:EncryptionContext:a") is None  # DescribeKey has no EC (E34)
    assert describe.lookup("kms:EncryptionAlgorithm") is None
    assert ctx("kms:Decrypt").lookup("kms:EncryptionAlgorithm") == "SYMMETRIC_DEFAULT"
    assert ctx("kms:Decrypt", params={"EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}).lookup(
        "kms:EncryptionAlgorithm") == "RSAES_OAEP_SHA_256"
    assert ctx("kms:Sign").lookup("kms:MessageType") == "RAW"
    assert ctx("kms:Decrypt").lookup("kms:MessageType") is None
    assert ctx("kms:GenerateRandom", key_=None).lookup("kms:CallerAccount") is None


def test_request_alias() -> None:
    assert ctx("kms:GenerateDataKey", alias="alias/finance-key").lookup("kms:RequestAlias") == "alias/finance-key"
    assert ctx("kms:GenerateDataKey").lookup("kms:RequestAlias") is None


def test_create_key_takes_its_keys_from_the_request_with_defaults() -> None:
    # conditions-kms.html (intro: a request-parameter key takes the parameter's default; E38)
    c = ctx("kms:CreateKey", key_=None)
    assert c.lookup("kms:KeySpec") == "SYMMETRIC_DEFAULT"
    assert c.lookup("kms:KeyUsage") == "ENCRYPT_DECRYPT"
    assert c.lookup("kms:KeyOrigin") == "AWS_KMS"
    assert c.lookup("kms:MultiRegion") == "false"
    assert c.lookup("kms:MultiRegionKeyType") is None
    assert c.lookup("kms:BypassPolicyLockoutSafetyCheck") is None  # absent when not sent (E39)
    rsa = ctx("kms:CreateKey", key_=None, params={"KeySpec": "RSA_4096", "MultiRegion": True,
                                                  "BypassPolicyLockoutSafetyCheck": True,
                                                  "Tags": [{"TagKey": "Env", "TagValue": "prod"}]})
    assert rsa.lookup("kms:KeySpec") == "RSA_4096"
    assert rsa.lookup("kms:MultiRegion") == "true"
    assert rsa.lookup("kms:MultiRegionKeyType") == "PRIMARY"
    assert rsa.lookup("kms:BypassPolicyLockoutSafetyCheck") == "true"
    assert rsa.lookup("aws:RequestTag/env") == "prod"
    assert rsa.lookup("aws:TagKeys") == ("Env",)


def test_create_grant_keys() -> None:
    c = ctx("kms:CreateGrant", params={
        "Operations": ["Decrypt", "Encrypt"], "GranteePrincipal": APP,
        "Constraints": {"EncryptionContextSubset": {"Dept": "IT"}},
    }, ec={"Dept": "IT"})
    assert c.lookup("kms:GrantOperations") == ("Decrypt", "Encrypt")
    assert c.lookup("kms:GranteePrincipal") == APP
    assert c.lookup("kms:RetiringPrincipal") is None
    assert c.lookup("kms:GrantConstraintType") == "EncryptionContextSubset"
    assert c.lookup("kms:GrantIsForAWSResource") == "false"
    assert c.lookup("kms:GranteeServicePrincipal") is None  # U14
    assert ctx("kms:CreateGrant", via="ebs.us-east-1.amazonaws.com").lookup("kms:GrantIsForAWSResource") == "true"


def test_numeric_and_date_parameters() -> None:
    assert ctx("kms:ImportKeyMaterial", params={"ValidTo": "2018-12-31T11:59:59Z"}).lookup("kms:ValidTo") == "1546257599"
    assert ctx("kms:ImportKeyMaterial").lookup("kms:ExpirationModel") is None
    assert ctx("kms:ScheduleKeyDeletion", params={"PendingWindowInDays": 7}).lookup(
        "kms:ScheduleKeyDeletionPendingWindowInDays") == "7"
    assert ctx("kms:ScheduleKeyDeletion").lookup("kms:ScheduleKeyDeletionPendingWindowInDays") is None  # U13
    assert ctx("kms:EnableKeyRotation", params={"RotationPeriodInDays": 90}).lookup("kms:RotationPeriodInDays") == "90"


def test_reencrypt_on_same_key() -> None:
    assert ctx("kms:ReEncryptFrom", same_key=True).lookup("kms:ReEncryptOnSameKey") == "true"
    assert ctx("kms:ReEncryptTo", same_key=False).lookup("kms:ReEncryptOnSameKey") == "false"


def test_overrides_add_replace_and_remove_keys() -> None:
    c = ctx(overrides={"aws:MultiFactorAuthPresent": False, "aws:SecureTransport": None,
                       "aws:PrincipalArn": "arn:aws:iam::111122223333:user/other", "x:Numbers": [1, 2.0, True]})
    assert c.lookup("aws:multifactorauthpresent") == "false"
    assert c.lookup("aws:SecureTransport") is None
    assert c.lookup("aws:PrincipalArn") == "arn:aws:iam::111122223333:user/other"
    assert c.lookup("x:numbers") == ("1", "2", "true")


@pytest.mark.parametrize(("value", "text"), [
    (True, "true"), (False, "false"), (7, "7"), (1.5, "1.5"), (2.0, "2"), ("x", "x"), (["a", 1], ("a", "1")),
    (datetime(2026, 1, 1, tzinfo=UTC), "2026-01-01T00:00:00Z"), (None, None),
])
def test_values_are_normalised_to_text(value: Any, text: Any) -> None:
    assert normalize_value(value) == text


def test_keys_are_computed_only_when_asked_and_once() -> None:
    calls: list[str] = []
    c = ctx(ec={"a": "b"})
    original = RequestContext._compute

    def counting(self: RequestContext, name: str) -> Any:
        calls.append(name)
        return original(self, name)

    RequestContext._compute = counting  # type: ignore[method-assign]
    try:
        for _ in range(3):
            c.lookup("kms:EncryptionContext:a")
            c.lookup("aws:PrincipalArn")
    finally:
        RequestContext._compute = original  # type: ignore[method-assign]
    assert calls == ["kms:encryptioncontext:a", "aws:principalarn"]
