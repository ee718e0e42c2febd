"""The KMS catalog against the botocore KMS model on this machine and the normative sets of semantics §2.2."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

from kmsauthz import catalog
from kmsauthz.catalog import CONDITION_KEYS, OPERATIONS, by_name, condition_key, expand_actions, operation
from kmsauthz.catalog_doc import render

botocore_session = pytest.importorskip("botocore.session")
MODEL = botocore_session.get_session().get_service_model("kms")
API_NAMES = set(MODEL.operation_names)

# semantics.md §2.2, written out here independently of the catalog.
CROSS_ACCOUNT_OK = {
    "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext", "GenerateMac", "VerifyMac", "ReEncrypt", "ReEncryptFrom", "ReEncryptTo",
    "Sign", "Verify", "DeriveSharedSecret", "DescribeKey", "GetPublicKey", "GetKeyRotationStatus",
    "CreateGrant", "ListGrants", "RetireGrant", "RevokeGrant",
}  # fmt: skip
RESOURCELESS = {
    "CreateKey", "ListKeys", "ListAliases", "GenerateRandom", "ListRetirableGrants", "CreateCustomKeyStore",
    "ConnectCustomKeyStore", "DisconnectCustomKeyStore", "DeleteCustomKeyStore", "DescribeCustomKeyStores",
    "UpdateCustomKeyStore",
}  # fmt: skip
GRANT_OPS = {
    "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo",
    "Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "DeriveSharedSecret",
}  # fmt: skip
PERMISSION_ONLY = {"ReEncryptFrom", "ReEncryptTo", "SynchronizeMultiRegionKey"}
CONDITION_TYPES = {"String", "ARN", "Bool", "Date", "Numeric", "IPAddress", "ArrayOfString"}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _cross_account_doc(name: str) -> str | None:
    """The "Cross-account use" sentence of an operation's botocore documentation."""
    m = re.search(r"Cross-account use\s*:\s*(.*?)(?:Required permissions|Related operations|$)",
                  _text(MODEL.operation_model(name).documentation))  # fmt: skip
    return m.group(1) if m else None


def _members(name: str) -> dict:
    shape = MODEL.operation_model(name).input_shape
    return dict(shape.members) if shape is not None else {}


def _ops() -> list[catalog.Operation]:
    return list(OPERATIONS.values())


# --- completeness against botocore --------------------------------------------------------------------


def test_every_botocore_operation_is_present_and_none_invented():
    assert {op.name for op in _ops() if op.api} == API_NAMES
    assert set(catalog.API_OPERATIONS) == API_NAMES
    assert {op.name for op in _ops() if not op.api} == PERMISSION_ONLY
    assert not (PERMISSION_ONLY & API_NAMES)


def test_keys_are_lower_case_actions_and_names_match():
    for key, op in OPERATIONS.items():
        assert key == op.action.lower()
        assert op.action == f"kms:{op.name}"


def test_cross_account_matches_botocore_documentation():
    documented_yes = {n for n in API_NAMES if (_cross_account_doc(n) or "").startswith("Yes")}
    assert documented_yes == {op.name for op in _ops() if op.api and op.cross_account}
    # every API operation documents its cross-account use
    assert all(_cross_account_doc(n) for n in API_NAMES)


def test_cross_account_matches_semantics_normative_set():
    assert {a.removeprefix("kms:") for a in catalog.CROSS_ACCOUNT_ACTIONS} == CROSS_ACCOUNT_OK


def test_grant_operations_match_the_model_enum_and_semantics():
    enum = set(MODEL.shape_for("GrantOperation").enum)
    assert enum == GRANT_OPS
    assert enum == catalog.GRANT_OPERATIONS
    assert {f"kms:{n}" for n in enum} == catalog.GRANT_ACTIONS
    assert all(by_name(n) is not None and by_name(n).grant_operation for n in enum)


def test_resourceless_set_matches_semantics():
    assert {a.removeprefix("kms:") for a in catalog.RESOURCELESS_ACTIONS} == RESOURCELESS


def test_policy_type_matches_required_permissions_in_botocore():
    """``kms:X (key policy)`` / ``kms:X (IAM policy)`` in the Required permissions section."""
    checked = 0
    for name in API_NAMES:
        doc = _text(MODEL.operation_model(name).documentation)
        m = re.search(rf"Required permissions\s*:\s*kms:{name} \((key|IAM) policy\)", doc)
        if m:
            checked += 1
            assert by_name(name).key_policy == (m.group(1) == "key"), name
    assert checked >= 45


def test_encryption_context_and_grant_tokens_follow_the_request_shapes():
    for name in API_NAMES:
        members = _members(name)
        has_ec = any(s.name == "EncryptionContextType" for s in members.values())
        op = by_name(name)
        assert op.uses_encryption_context == has_ec, name
        assert op.accepts_grant_tokens == ("GrantTokens" in members), name


def test_parameter_sources_name_real_request_members():
    for op in _ops():
        api_name = "ReEncrypt" if op.name in {"ReEncryptFrom", "ReEncryptTo"} else op.name
        if api_name not in API_NAMES:
            assert not op.parameters, op.name
            continue
        members = _members(api_name)
        for param in op.parameters:
            head = param.split(".")[0]
            assert head in members, (op.name, param)
        for auth in op.authorizations:
            for ref in (auth.target, auth.region, auth.when):
                if ref is not None:
                    assert ref.split(":")[0] in members, (op.name, ref)


def test_parameter_defaults_are_valid_enum_values():
    for op in _ops():
        api_name = "ReEncrypt" if op.name in {"ReEncryptFrom", "ReEncryptTo"} else op.name
        members = _members(api_name) if api_name in API_NAMES else {}
        for key, src in op.sources.items():
            if src.origin == "parameter" and src.default is not None and src.field in members:
                enum = getattr(members[src.field], "enum", None)
                if enum:
                    assert src.default in enum, (op.name, key)


SEMANTICS = Path(__file__).resolve().parents[2] / "shared" / "spec" / "semantics.md"


def _semantics() -> str:
    if not SEMANTICS.is_file():
        pytest.skip("../shared/spec/semantics.md is not beside the project")
    return SEMANTICS.read_text(encoding="utf-8")


def _names(paragraph: str) -> set[str]:
    """`A, B, ReEncrypt (From/To), C` -> names; `(From/To)` adds ReEncryptFrom and ReEncryptTo."""
    out: set[str] = set()
    for item in paragraph.split(","):
        word = item.split()[0].strip(".")
        out.add(word)
        if "(From/To)" in item:
            out |= {word + "From", word + "To"}
    return out


def test_normative_sets_parsed_from_semantics_2_2():
    text = _semantics()
    cross = re.search(r"\*\*CROSS_ACCOUNT_OK\*\*.*?\[DOC\]:\s*(.*?)\. Everything else", text, re.S)
    grants = re.search(r"\*\*Grant operations\*\*.*?\[DOC\]:\s*(.*?)\s*\(17 values\)", text, re.S)
    resourceless = re.search(
        r"\*\*Resource-less / IAM-only operations\*\*.*?\[DOC\]:\s*(.*?)\. The alias", text, re.S
    )
    assert cross and grants and resourceless
    assert _names(cross.group(1)) == {a.removeprefix("kms:") for a in catalog.CROSS_ACCOUNT_ACTIONS}
    assert _names(grants.group(1)) == catalog.GRANT_OPERATIONS
    assert _names(resourceless.group(1)) == {a.removeprefix("kms:") for a in catalog.RESOURCELESS_ACTIONS}


def _documented_key(token: str) -> str | None:
    """A condition key as the semantics table writes it (`aws:RequestTag/*`) -> its catalog name."""
    token = token.rstrip("*")
    for probe in (token, token + "x", token + "0"):
        found = condition_key(probe)
        if found is not None:
            return found.name
    return None


def test_operation_rows_agree_with_the_semantics_table():
    """Every row of semantics §2: policy type, cross-account, grant, and the condition keys it lists."""
    text = _semantics()
    table = text[text.index("## 2. Operation catalogue") : text.index("### 2.2")]
    families = {
        "EC": {"kms:EncryptionContext:${EncryptionContextKey}", "kms:EncryptionContextKeys"},
        "RA": {
            "kms:RecipientAttestation:ImageSha384",
            "kms:RecipientAttestation:PCR${PcrIndex}",
            "kms:RecipientAttestation:NitroTPMPCR${PcrIndex}",
        },
    }
    deprecated = {"kms:CustomerMasterKeySpec", "kms:CustomerMasterKeyUsage"}
    # semantics §4.2 adds aws:RequestTag/aws:TagKeys for ReplicateKey's Tags; the §2 row omits them
    documented_elsewhere = {"ReplicateKey": {"aws:RequestTag/${TagKey}", "aws:TagKeys"}}
    rows = 0
    for line in table.splitlines():
        if not re.match(r"\| (\d+|\u2013) \|", line):
            continue
        rows += 1
        cells = [c.strip() for c in line.split("|")[1:-1]]
        name = re.sub(r"[`*]", "", cells[1]).split()[0].removeprefix("kms:")
        op = by_name(name)
        assert op is not None, name
        assert op.key_policy == ("KP" in cells[2]), name
        assert op.cross_account == cells[3].lstrip("*").startswith("Yes"), name
        if name == "ReEncrypt":  # "Yes (From/To separately)"
            assert by_name("ReEncryptFrom").grant_operation and by_name("ReEncryptTo").grant_operation
        else:
            assert op.grant_operation == cells[6].startswith("Yes"), name
        keys_cell = re.sub(r"\(no [^)]*\)", "", cells[7])
        expected: set[str] = set()
        for token in re.findall(r"`((?:kms|aws):[^`]+)`", keys_cell):
            if operation(token) is None:  # actions named in the cell are not condition keys
                expected.add(_documented_key(token) or f"unknown {token}")
        for word, keys in families.items():
            if re.search(rf"\b{word}\b", keys_cell):
                expected |= keys
        if op.resource is not None and name != "SynchronizeMultiRegionKey":
            expected |= catalog.KEY_RESOURCE_KEYS
        if name == "SynchronizeMultiRegionKey":
            expected |= {
                f"kms:{k}" for k in ("KeyOrigin", "KeySpec", "KeyUsage", "MultiRegion", "MultiRegionKeyType")
            }
            expected |= {"kms:ResourceAliases"}
        assert expected <= op.condition_keys, (name, sorted(expected - op.condition_keys))
        extra = op.condition_keys - expected - deprecated - documented_elsewhere.get(name, set())
        assert not extra, (name, sorted(extra))
    assert rows == 55


def test_condition_keys_agree_with_semantics_4_1():
    """Every `kms:` row of semantics §4.1: the key exists, has the type, and is set for the operations named."""
    text = _semantics()
    table = text[text.index("### 4.1 KMS condition keys") : text.index("Examples of condition use")]
    rows, previous = 0, set()
    for line in table.splitlines():
        if not line.startswith("| `kms:"):
            continue
        rows += 1
        cells = [c.strip() for c in line.split("|")[1:-1]]
        name = re.sub(r"<[^>]*>", "0", cells[0].strip("`"))
        key = condition_key(name)
        assert key is not None, name
        assert cells[1].split()[0] == key.type, name
        named = {w for w in re.findall(r"\b[A-Z][A-Za-z]+\b", cells[2]) if by_name(w) is not None}
        named = previous if cells[2] == "same" else named
        previous = named
        assert named <= {a.removeprefix("kms:") for a in key.actions}, name
    assert rows == 41


# --- condition keys --------------------------------------------------------------------------------


def test_every_condition_key_of_an_operation_is_in_the_key_table():
    for op in _ops():
        for key in op.condition_keys:
            assert CONDITION_KEYS.get(key.lower()) is not None, (op.name, key)
            record = condition_key(key)
            assert record is not None and record.name == key


def test_condition_key_records_are_consistent():
    for low, key in CONDITION_KEYS.items():
        assert low == key.name.lower()
        assert key.type in CONDITION_TYPES
        assert key.multivalued == (key.type == "ArrayOfString")
        assert key.global_ == key.name.startswith("aws:")
        assert key.policy_kinds <= catalog.ALL_POLICY_KINDS
        if not key.global_:
            assert key.actions, f"{key.name} is set by no action"
        if key.actions is not None:
            assert all(operation(a) is not None and key.name in operation(a).sources for a in key.actions)
        if key.same_as:
            assert condition_key(key.same_as) is not None


def test_multivalued_keys_are_exactly_the_documented_ones():
    multi = {k.name for k in CONDITION_KEYS.values() if k.multivalued and not k.global_}
    assert multi == {"kms:EncryptionContextKeys", "kms:GrantOperations", "kms:ResourceAliases"}
    assert condition_key("aws:TagKeys").multivalued
    assert condition_key("aws:CalledVia").multivalued
    assert condition_key("aws:PrincipalOrgPaths").multivalued


def test_condition_key_lookup_is_case_insensitive_and_resolves_families():
    assert (
        condition_key("KMS:encryptioncontext:AppName").name == "kms:EncryptionContext:${EncryptionContextKey}"
    )
    assert condition_key("kms:EncryptionContextKeys").name == "kms:EncryptionContextKeys"
    assert condition_key("aws:resourcetag/Project").name == "aws:ResourceTag/${TagKey}"
    assert condition_key("aws:PrincipalTag/team").global_
    assert condition_key("kms:RecipientAttestation:PCR0").suffix_range == (0, 31)
    assert condition_key("kms:RecipientAttestation:NitroTPMPCR23") is not None
    assert condition_key("kms:RecipientAttestation:NitroTPMPCR24") is None
    assert condition_key("kms:RecipientAttestation:PCR32") is None
    assert condition_key("kms:RecipientAttestation:PCRx") is None
    assert condition_key("kms:EncryptionContext:") is None
    assert condition_key("kms:NoSuchKey") is None
    assert condition_key("aws:sourcevpce").name == "aws:SourceVpce"
    assert condition_key("kms:CustomerMasterKeySpec").same_as == "kms:KeySpec"


def test_iam_only_keys_exclude_key_policies():
    for name in ("kms:ResourceAliases", "aws:ResourceTag/x"):
        kinds = condition_key(name).policy_kinds
        assert "key" not in kinds and "identity" in kinds
    assert "key" in condition_key("kms:EncryptionContext:x").policy_kinds


def test_key_spec_comes_from_the_request_for_create_key_and_from_the_key_otherwise():
    create = operation("kms:CreateKey").sources["kms:KeySpec"]
    assert (create.origin, create.field, create.default) == ("parameter", "KeySpec", "SYMMETRIC_DEFAULT")
    assert operation("kms:Decrypt").sources["kms:KeySpec"].origin == "key"
    assert operation("kms:Decrypt").key_properties["kms:KeySpec"] == "KeySpec"
    assert "KeySpec" in operation("kms:CreateKey").parameters
    assert "KeySpec" not in operation("kms:Decrypt").parameters


def test_request_parameters_feed_their_keys():
    assert operation("kms:Encrypt").parameters["EncryptionAlgorithm"] == ("kms:EncryptionAlgorithm",)
    assert set(operation("kms:Decrypt").parameters["EncryptionContext"]) == {
        "kms:EncryptionContext:${EncryptionContextKey}",
        "kms:EncryptionContextKeys",
    }
    assert operation("kms:CreateGrant").parameters["Operations"] == ("kms:GrantOperations",)
    assert operation("kms:GenerateDataKey").sources["kms:EncryptionAlgorithm"].default == "SYMMETRIC_DEFAULT"
    assert operation("kms:Sign").sources["kms:MessageType"].default == "RAW"
    # documented as absent when omitted (semantics §4.1 Null examples)
    assert operation("kms:PutKeyPolicy").sources["kms:BypassPolicyLockoutSafetyCheck"].default is None
    assert operation("kms:ImportKeyMaterial").sources["kms:ExpirationModel"].default is None
    assert operation("kms:ReEncryptFrom").parameters["SourceEncryptionContext"]
    assert operation("kms:ReEncryptTo").parameters["DestinationEncryptionAlgorithm"] == (
        "kms:EncryptionAlgorithm",
    )


def test_encryption_context_keys_only_where_documented():
    ec = condition_key("kms:EncryptionContext:x").actions
    names = {a.removeprefix("kms:") for a in ec}
    assert names >= {"Encrypt", "Decrypt", "ReEncryptFrom", "GenerateDataKey", "CreateGrant"}
    assert "DescribeKey" not in names and "Sign" not in names


# --- lookups ---------------------------------------------------------------------------------------


def test_operation_lookup_is_case_insensitive():
    assert operation("KMS:decrypt") is operation("kms:Decrypt")
    assert operation("kms:Decrypt").name == "Decrypt"
    assert operation("Decrypt") is None
    assert operation("s3:GetObject") is None
    assert by_name("Decrypt") is operation("kms:Decrypt")
    assert by_name("decrypt") is None


def test_expand_actions():
    names = lambda pattern: [op.action for op in expand_actions(pattern)]  # noqa: E731
    assert names("kms:ReEncrypt*") == ["kms:ReEncryptFrom", "kms:ReEncryptTo"]
    assert names("kms:Decrypt") == ["kms:Decrypt"]
    assert names("KMS:DECRYPT") == ["kms:Decrypt"]
    assert names("kms:ReEncrypt") == []  # not an IAM action
    assert len(names("kms:*")) == len(catalog.ACTIONS) == len(names("*"))
    assert set(names("kms:GenerateDataKey*")) == {
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyPair",
        "kms:GenerateDataKeyPairWithoutPlaintext",
        "kms:GenerateDataKeyWithoutPlaintext",
    }
    assert names("kms:?ncrypt") == ["kms:Encrypt"]
    assert names("kms:List*") == sorted(names("kms:List*"), key=str.lower)
    assert names("s3:*") == [] and names("kms:Decrypt*x") == []


# --- spot checks ----------------------------------------------------------------------------------


def test_spot_checks():
    decrypt = operation("kms:Decrypt")
    assert decrypt.grant_operation and decrypt.cross_account and decrypt.key_policy
    assert decrypt.uses_encryption_context and decrypt.cryptographic
    assert "alias-arn" in decrypt.key_id_forms and "kms:RequestAlias" in decrypt.condition_keys

    create_key = operation("kms:CreateKey")
    assert create_key.resource is None and not create_key.key_policy and not create_key.cross_account
    assert create_key.required_actions == ("kms:CreateKey", "kms:TagResource")
    assert create_key.authorizations[1].when == "Tags"

    put = operation("kms:PutKeyPolicy")
    assert not put.cross_account and put.key_policy and put.resource == "key"

    lrg = operation("kms:ListRetirableGrants")
    assert lrg.resource is None and not lrg.cross_account and not lrg.condition_keys

    assert operation("kms:GenerateRandom").resource is None
    assert "kms:CallerAccount" not in operation("kms:GenerateRandom").condition_keys
    assert "kms:CallerAccount" in operation("kms:CreateCustomKeyStore").condition_keys

    reencrypt = operation("kms:ReEncrypt")
    assert reencrypt.api and not reencrypt.permission and not reencrypt.grant_operation
    assert reencrypt.required_actions == ("kms:ReEncryptFrom", "kms:ReEncryptTo")
    assert [a.target for a in reencrypt.authorizations] == ["SourceKeyId", "DestinationKeyId"]
    assert not operation("kms:ReEncryptFrom").api and operation("kms:ReEncryptFrom").grant_operation

    update_alias = operation("kms:UpdateAlias")
    assert update_alias.resource == "alias" and not update_alias.cross_account
    assert [(a.resource, a.target, a.key_policy) for a in update_alias.authorizations] == [
        ("alias", "AliasName", False),
        ("key", "AliasName:target", True),
        ("key", "TargetKeyId", True),
    ]

    replicate = operation("kms:ReplicateKey")
    assert ("kms:CreateKey", "ReplicaRegion") in [(a.action, a.region) for a in replicate.authorizations]
    primary = operation("kms:UpdatePrimaryRegion")
    assert [a.region for a in primary.authorizations] == [None, "PrimaryRegion"]

    retire = operation("kms:RetireGrant")
    assert retire.cross_account and retire.grant_operation and not retire.key_policy and not retire.rcp
    assert not operation("kms:RevokeGrant").accepts_grant_tokens

    assert operation("kms:GetKeyLastUsage").api  # present in botocore 1.43.11
    assert operation("kms:GetKeyRotationStatus").cross_account
    assert not operation("kms:ScheduleKeyDeletion").cross_account
    assert not operation("kms:TagResource").cross_account
    assert "alias-name" not in operation("kms:CreateGrant").key_id_forms
    assert "kms:ResourceAliases" in operation("kms:EnableKey").condition_keys


def test_every_key_operation_has_the_common_key_set():
    for op in _ops():
        if op.resource in ("key", "alias") and op.name != "SynchronizeMultiRegionKey":
            assert op.condition_keys >= catalog.KEY_RESOURCE_KEYS, op.name
        if op.resource is None:
            assert not (op.key_properties), op.name


def test_derived_sets_are_consistent():
    assert catalog.GRANT_ACTIONS <= catalog.ACTIONS
    assert catalog.CROSS_ACCOUNT_ACTIONS.isdisjoint(catalog.RESOURCELESS_ACTIONS)
    assert catalog.KEY_POLICY_ACTIONS.isdisjoint(catalog.RESOURCELESS_ACTIONS)
    assert {op.action for op in _ops()} - {"kms:ReEncrypt"} == catalog.ACTIONS


def test_all_is_exactly_the_public_surface():
    defined = {
        name
        for name, obj in vars(catalog).items()
        if not name.startswith("_")
        and not isinstance(obj, types.ModuleType)
        and getattr(obj, "__module__", catalog.__name__) == catalog.__name__
    }
    assert set(catalog.__all__) == defined


# --- docs ------------------------------------------------------------------------------------------


def test_catalog_doc_is_up_to_date():
    path = Path(__file__).resolve().parents[1] / "docs" / "catalog.md"
    assert path.read_text(encoding="utf-8") == render(), "run: python -m kmsauthz.catalog_doc"
