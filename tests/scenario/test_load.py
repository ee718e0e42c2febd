"""Loading scenario files: every error names the file, the line and the field; the world is built right."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kmsauthz.errors import ScenarioError
from kmsauthz.model.policy import PolicyKind
from kmsauthz.scenario import load_scenario, load_scenario_text, load_world, looks_like_scenario
from kmsauthz.scenario.load import default_grant_id, load_request

DATA = Path(__file__).parent / "data"

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = textwrap.dedent(
    f"""\
    keys:
      - id: {KEY_ID}
        account: "111122223333"
        policy:
          Version: "2012-10-17"
          Statement:
            - Sid: EnableIAMUserPermissions
              Effect: Allow
              Principal: {{AWS: arn:aws:iam::111122223333:root}}
              Action: kms:*
              Resource: "*"
    """
)
PRINCIPALS = textwrap.dedent(
    """\
    principals:
      - arn: arn:aws:iam::111122223333:user/alice
      - arn: arn:aws:iam::111122223333:role/app
    """
)


def problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(textwrap.dedent(text), path="t.yaml")
    for p in info.value.problems:
        assert p.span is not None and p.span.source == "t.yaml"
    return [(p.span.line, p.message) for p in info.value.problems]


def case(**fields: str) -> str:
    body = {"name": "a case", "principal": "arn:aws:iam::111122223333:user/alice", "action": "kms:Decrypt",
            "key": KEY_ID, "expect": "Allow", **fields}
    lines = [f"  - {k}: {v}" if i == 0 else f"    {k}: {v}" for i, (k, v) in enumerate(body.items())]
    return KEY + PRINCIPALS + "cases:\n" + "\n".join(lines) + "\n"


# --- the five kinds of file error of the brief, from files -------------------------------------


def test_unknown_field_names_file_line_and_field() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(DATA / "unknown-field.yaml")
    (p,) = info.value.problems
    assert p.span.source.endswith("unknown-field.yaml")
    assert p.span.line == 20
    assert p.message == "unknown field `expected` in cases[0]"
    assert "did you mean `expect`?" in (p.help or "")


def test_wrong_type_names_the_line_and_says_to_quote() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(DATA / "wrong-type.yaml")
    (p,) = info.value.problems
    assert p.span.line == 4
    assert p.message.startswith("keys[0].account must be a 12-digit AWS account id")
    assert p.message.endswith("got 111122223333")
    assert 'quote it: "111122223333"' in (p.help or "")


def test_bad_inline_policy_points_at_the_yaml_line() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(DATA / "bad-policy.yaml")
    (p,) = info.value.problems
    assert (p.span.line, p.span.column) == (9, 19)
    assert 'Effect must be "Allow" or "Deny"' in p.message


def test_missing_scenario_file() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(DATA / "no-such-file.yaml")
    assert info.value.problems[0].message == "file not found"


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(DATA / "invalid-yaml.yaml")
    (p,) = info.value.problems
    assert p.message.startswith("invalid YAML:")
    assert p.span.line == 6


def test_invalid_json_file_names_the_line() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(DATA / "broken.json")
    (p,) = info.value.problems
    assert p.span.line == 7
    assert p.code == "scenario-invalid"


def test_missing_policy_file_names_the_reference() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(DATA / "missing-policy-file.yaml")
    (p,) = info.value.problems
    assert p.span.line == 5
    assert p.message == "policy file `policies/does-not-exist.json` not found"


def test_invalid_policy_file_points_into_that_file() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(DATA / "broken-policy-file.yaml")
    p = info.value.problems[0]
    assert p.span.source.endswith("no-principal.json")
    assert p.span.line == 4
    assert "broken-policy-file.yaml:5" in (p.help or "")


def test_policy_file_reference_loads() -> None:
    scenario = load_scenario(DATA / "policy-file-ref.yaml")
    policy = scenario.world.keys[0].policy
    assert policy.kind is PolicyKind.KEY
    assert policy.statements[0].sid == "Enable IAM User Permissions"
    assert policy.name == f"key policy of {KEY_ID} (policies/default-key-policy.json)"


# --- schema problems ----------------------------------------------------------------------------


def test_unknown_top_level_field() -> None:
    assert problems(KEY + "kyes: []\n") == [(12, "unknown field `kyes` at the top level")]


def test_every_problem_is_reported_in_line_order() -> None:
    found = problems(case(expect="Allowed", source_ip="1.2.3.4", colour="blue"))
    assert [line for line, _ in found] == sorted(line for line, _ in found)
    assert {m for _, m in found} == {
        "cases[0].expect must be Allow, ExplicitDeny, ImplicitDeny, or a KMS error code such as "
        'NotFoundException, got "Allowed"',
        "unknown field `colour` in cases[0]",
    }


def test_missing_required_field() -> None:
    text = KEY.replace('    account: "111122223333"\n', "")
    assert problems(text) == [(2, "keys[0] is missing the required field `account`")]


def test_encryption_context_values_must_be_strings() -> None:
    (found,) = problems(case(encryption_context="{batch: 42}"))
    assert found == (21, "cases[0].encryption_context.batch must be a string, got 42")


def test_enum_with_a_suggestion() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(KEY.replace("    policy:\n", "    state: enabled\n    policy:\n"), path="t.yaml")
    (p,) = info.value.problems
    assert p.message.startswith("keys[0].state must be one of Creating, Enabled")
    assert p.help == "did you mean `Enabled`?"


def test_duplicate_yaml_key() -> None:
    assert problems(KEY + PRINCIPALS + "principals: []\n") == [(15, "duplicate field `principals`")]


def test_a_policy_document_is_not_a_scenario() -> None:
    (found,) = problems('{"Version": "2012-10-17", "Statement": []}')
    assert found == (1, "this is a policy document, not a scenario file")


def test_top_level_must_be_a_mapping() -> None:
    assert problems("- 1\n- 2\n")[0][1].startswith("a scenario file is a mapping")


# --- semantic checks ------------------------------------------------------------------------------


def test_unknown_principal_is_an_error_of_the_file() -> None:
    (found,) = problems(case(principal="arn:aws:iam::111122223333:user/alise"))
    assert found == (17, "unknown principal `arn:aws:iam::111122223333:user/alise`")


def test_principals_that_need_no_entry() -> None:
    for principal in ("arn:aws:iam::444455556666:root", "logs.us-east-1.amazonaws.com",
                      "arn:aws:sts::111122223333:assumed-role/app/session-1"):
        scenario = load_scenario_text(case(principal=principal))
        assert scenario.cases[0].request.principal == principal


def test_session_of_an_undeclared_role() -> None:
    (found,) = problems(case(principal="arn:aws:sts::111122223333:assumed-role/other/s1"))
    assert found[1].startswith("`arn:aws:sts::111122223333:assumed-role/other/s1` is a session of role `other`")


def test_session_policy_needs_a_role() -> None:
    (found,) = problems(case(session_policy='{Version: "2012-10-17", Statement: []}'))
    assert found[1].startswith("`session_policy` applies only to a role's session")


def test_unknown_action_with_suggestion() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(case(action="kms:Decript"), path="t.yaml")
    (p,) = info.value.problems
    assert p.message == "unknown KMS action `kms:Decript`"
    assert p.help == "did you mean `kms:Decrypt`?"


def test_bad_source_ip() -> None:
    (found,) = problems(case(source_ip="203.0.113.300"))
    assert found == (21, "`source_ip` must be an IPv4 or IPv6 address, got `203.0.113.300`")


def test_duplicate_key_in_one_region() -> None:
    second = KEY.split("\n", 1)[1]
    (found,) = problems(KEY + second)
    assert found == (12, f"key `{KEY_ID}` is declared twice in us-east-1")


def test_same_key_id_in_two_regions_is_a_replica() -> None:
    mrk = "mrk-1234abcd12ab34cd56ef1234567890ab"
    text = KEY.replace(KEY_ID, mrk) + KEY.replace(KEY_ID, mrk).split("\n", 1)[1].replace(
        '    account: "111122223333"\n', '    account: "111122223333"\n    region: us-west-2\n')
    world = load_scenario_text(text).world
    assert [(k.id, k.region) for k in world.keys] == [(mrk, "us-east-1"), (mrk, "us-west-2")]
    assert [k.policy.name for k in world.keys] == [f"key policy of {mrk} in us-east-1",
                                                    f"key policy of {mrk} in us-west-2"]


def test_duplicate_alias_in_one_account_and_region() -> None:
    one = KEY.replace("    policy:\n", "    aliases: [alias/orders]\n    policy:\n")
    two = one.replace(KEY_ID, "0987dcba-09fe-87dc-65ba-ab0987654321").split("\n", 1)[1]
    (found,) = problems(one + two)
    assert found[0] == 15
    assert found[1].startswith("alias `alias/orders` already names key")


def test_multi_region_type_needs_an_mrk_key() -> None:
    (found,) = problems(KEY.replace("    policy:\n", "    multi_region_type: PRIMARY\n    policy:\n"))
    assert found[1].startswith("`multi_region_type` is only for multi-Region keys")


GRANT = """\
    grants:
      - name: app-decrypt
        grantee: arn:aws:iam::111122223333:role/app
        operations: [Decrypt]
"""


def test_grant_constraints_of_both_kinds() -> None:
    text = KEY + GRANT + (
        "        constraints:\n"
        "          encryption_context_equals: {Dept: sales}\n"
        "          encryption_context_subset: {Dept: sales}\n")
    (found,) = problems(text)
    assert found[0] == 17
    assert "not both" in found[1]


def test_grant_operation_must_be_a_grant_operation() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(KEY + GRANT.replace("[Decrypt]", "[Decrypt, PutKeyPolicy, Decrpyt]"), path="t.yaml")
    messages = [(p.span.line, p.message, p.help) for p in info.value.problems]
    assert messages[0][:2] == (15, "`PutKeyPolicy` is not a grant operation")
    assert messages[1] == (15, "`Decrpyt` is not a grant operation", "did you mean `Decrypt`?")
    (found,) = problems(KEY + GRANT.replace("[Decrypt]", "[kms:Decrypt]"))
    assert found == (15, "keys[0].grants[0].operations[0] must be a grant operation name without the kms: prefix, "
                         'such as Decrypt, got "kms:Decrypt"')


def test_grant_defaults() -> None:
    world = load_scenario_text(KEY + GRANT).world
    (grant,) = world.keys[0].grants
    assert grant.grant_id == default_grant_id(world.keys[0].arn, "app-decrypt", 0)
    assert len(grant.grant_id) == 64
    assert grant.issuing_account == "111122223333"
    assert grant.pending is False
    assert grant.span is not None and grant.span.line == 13
    assert load_scenario_text(KEY + GRANT).world.keys[0].grants[0].grant_id == grant.grant_id


def test_now_is_parsed_and_defaults_to_a_fixed_time() -> None:
    assert load_scenario_text(KEY).world.now == datetime(2026, 1, 1, tzinfo=UTC)
    assert load_scenario_text("now: 2026-03-15T12:00:00Z\n" + KEY).world.now == datetime(2026, 3, 15, 12, tzinfo=UTC)
    assert load_scenario_text('now: "2026-03-15T14:00:00+02:00"\n' + KEY).world.now == datetime(
        2026, 3, 15, 12, tzinfo=UTC)
    assert problems("now: tomorrow\n" + KEY)[0][0] == 1


# --- values as YAML writes them -------------------------------------------------------------------


def test_yaml_core_schema_scalars() -> None:
    text = case(context="{aws:SecureTransport: true, flag: on, n: 7, when: 2026-01-01T00:00:00Z}")
    ctx = load_scenario_text(text).cases[0].request.context
    assert ctx == {"aws:SecureTransport": True, "flag": "on", "n": 7, "when": "2026-01-01T00:00:00Z"}


def test_unquoted_null_operator_stays_a_key() -> None:
    text = KEY.replace('          Resource: "*"\n',
                       '          Resource: "*"\n          Condition:\n            Null: {kms:EncryptionContextKeys: false}\n')
    policy = load_scenario_text(text).world.keys[0].policy
    (clause,) = policy.statements[0].condition.clauses
    assert (clause.operator, clause.values) == ("Null", (False,))


def test_inline_policy_spans_are_yaml_positions() -> None:
    st = load_scenario_text(KEY, path="t.yaml").world.keys[0].policy.statements[0]
    assert st.sid_span is not None and (st.sid_span.source, st.sid_span.line) == ("t.yaml", 7)
    assert st.sid_span.pointer == "/Statement/0/Sid"


# --- the world ------------------------------------------------------------------------------------

WORLD = {
    "region": "eu-west-1",
    "organization": {"id": "o-a1b2c3d4e5", "accounts": ["111122223333"]},
    "accounts": {"111122223333": {"scps": [{"Version": "2012-10-17", "Statement": [
        {"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}]}]}},
    "keys": [{"id": KEY_ID, "account": "111122223333", "aliases": ["alias/app"],
              "policy": {"Version": "2012-10-17", "Statement": [
                  {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "111122223333"},
                   "Action": "kms:*", "Resource": "*"}]}}],
    "principals": [{"arn": "arn:aws:iam::111122223333:role/app", "tags": {"team": "blue"},
                    "access_keys": [{"id": "AKIAIOSFODNN7EXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                     "session": "ci-run",
                                     "session_policy": {"Version": "2012-10-17", "Statement": [
                                         {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}}]}],
    "vpc_endpoints": [{"id": "vpce-1a2b3c4d", "vpc": "vpc-1111aaaa"}],
}


def test_load_world_from_a_mapping() -> None:
    world = load_world(WORLD)
    assert world.region == "eu-west-1"
    assert world.keys[0].region == "eu-west-1"
    assert world.keys[0].arn == f"arn:aws:kms:eu-west-1:111122223333:key/{KEY_ID}"
    assert world.organization is not None and world.organization.accounts == ("111122223333",)
    assert world.accounts["111122223333"].scps[0].kind is PolicyKind.SCP
    assert world.accounts["111122223333"].scps[0].name == "SCP 1 of account 111122223333"
    (ak,) = world.principals[0].access_keys
    assert ak.secret.get_secret_value() == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert "wJalr" not in repr(ak)
    assert ak.session == "ci-run" and ak.session_policy is not None
    assert ak.session_policy.kind is PolicyKind.SESSION
    assert world.vpc_endpoints[0].region == "eu-west-1" and world.vpc_endpoints[0].policy is None


def test_load_world_from_a_mapping_reports_pointers() -> None:
    bad = {**WORLD, "keys": [{**WORLD["keys"][0], "account": 111122223333}]}
    with pytest.raises(ScenarioError) as info:
        load_world(bad)
    (p,) = info.value.problems
    assert p.span.pointer == "/keys/0/account"
    assert p.message.startswith("keys[0].account must be")


def test_user_access_key_has_no_session() -> None:
    bad = {**WORLD, "principals": [{"arn": "arn:aws:iam::111122223333:user/alice", "access_keys": [
        {"id": "AKIAIOSFODNN7EXAMPLE", "secret": "x", "session": "s1"}]}]}
    with pytest.raises(ScenarioError, match="`session` is only for a role's access keys"):
        load_world(bad)


def test_load_world_from_a_file_ignores_cases(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(case())
    world = load_world(path)
    assert world.source == str(path)
    assert [p.arn for p in world.principals] == ["arn:aws:iam::111122223333:user/alice",
                                                 "arn:aws:iam::111122223333:role/app"]


def test_load_request_validates_like_a_case(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(KEY + PRINCIPALS)
    world, request = load_request(path, {"principal": "arn:aws:iam::111122223333:role/app",
                                         "action": "kms:Decrypt", "encryption_context": {"a": "b"}})
    assert request.encryption_context == {"a": "b"} and world.keys[0].id == KEY_ID
    with pytest.raises(ScenarioError) as info:
        load_request(path, {"principal": "arn:aws:iam::111122223333:role/app", "action": "kms:Decrypt",
                            "source_ip": "nope"})
    (p,) = info.value.problems
    assert p.message == "`--source-ip` must be an IPv4 or IPv6 address, got `nope`" or p.message.startswith("--source-ip")
    assert p.span.source == "<command line>"


def test_dsl_policy_reports_lines_of_the_scenario_file() -> None:
    pytest.importorskip("kmsauthz.syntax.language")
    text = KEY.split("    policy:\n")[0] + (
        "    policy:\n"
        "      dsl: |\n"
        '        version "2012-10-17"\n'
        '        allow "Root" {\n'
        '          principal aws "arn:aws:iam::111122223333:root"\n'
        "          action kms:*\n"
        "          resource *\n"
        "        }\n")
    assert "dsl: |" in text
    policy = load_scenario_text(text, path="t.yaml").world.keys[0].policy
    assert policy.statements[0].sid == "Root"
    assert policy.statements[0].span is not None and policy.statements[0].span.line == 7
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text.replace("resource *", "resourse *"), path="t.yaml")
    assert info.value.problems[0].span.line in (10, 11)


# --- discovery ------------------------------------------------------------------------------------


def test_discovery_rule(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(KEY)
    (tmp_path / "policy.json").write_text('{"Version": "2012-10-17", "Statement": []}')
    (tmp_path / "template.yaml").write_text("Resources:\n  Key:\n    Type: AWS::KMS::Key\n")
    (tmp_path / "broken.yaml").write_text("cases:\n  - name: [unclosed\n")
    assert looks_like_scenario(tmp_path / "s.yaml")
    assert not looks_like_scenario(tmp_path / "policy.json")
    assert not looks_like_scenario(tmp_path / "template.yaml")
    assert looks_like_scenario(tmp_path / "broken.yaml")
