"""The runner with a fake authorizer injected: comparison, `matched`, fail-closed cases, file errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kmsauthz.model.decision import Decision, Effect, Match
from kmsauthz.model.request import Request
from kmsauthz.model.world import World
from kmsauthz.scenario import discover, load_scenario_text, run_paths, run_scenario

SCENARIO = textwrap.dedent(
    """\
    keys:
      - id: 1234abcd-12ab-34cd-56ef-1234567890ab
        account: "111122223333"
        policy:
          Version: "2012-10-17"
          Statement:
            - Sid: EnableIAMUserPermissions
              Effect: Allow
              Principal: {AWS: arn:aws:iam::111122223333:root}
              Action: kms:*
              Resource: "*"
    principals:
      - arn: arn:aws:iam::111122223333:user/alice
    cases:
      - name: decrypt is allowed
        principal: arn:aws:iam::111122223333:user/alice
        action: kms:Decrypt
        key: 1234abcd-12ab-34cd-56ef-1234567890ab
        expect: Allow
        matched: [EnableIAMUserPermissions]
      - name: encrypt is denied
        principal: arn:aws:iam::111122223333:user/alice
        action: kms:Encrypt
        key: 1234abcd-12ab-34cd-56ef-1234567890ab
        expect: ImplicitDeny
      - name: sign raises
        principal: arn:aws:iam::111122223333:user/alice
        action: kms:Sign
        key: 1234abcd-12ab-34cd-56ef-1234567890ab
        expect: ImplicitDeny
    """
)


class FakeAuthorizer:
    """Allows Decrypt (matching EnableIAMUserPermissions), denies Encrypt, raises on anything else."""

    worlds: list[World] = []

    def __init__(self, world: World) -> None:
        FakeAuthorizer.worlds.append(world)

    def decide(self, request: Request) -> Decision:
        if request.action == "kms:Decrypt":
            match = Match(layer="key-policy", policy="key policy", effect="Allow", sid="EnableIAMUserPermissions")
            return Decision(effect=Effect.ALLOW, matched=(match,), action=request.action)
        if request.action == "kms:Encrypt":
            return Decision(effect=Effect.IMPLICIT_DENY, layer="identity", reason="no identity-based policy allows it",
                            missing_keys=("kms:EncryptionContext:Dept",), action=request.action)
        raise RuntimeError("engine bug")


def test_results_with_an_injected_authorizer() -> None:
    FakeAuthorizer.worlds.clear()
    scenario = load_scenario_text(SCENARIO, path="s.yaml")
    results = run_scenario(scenario, authorizer=FakeAuthorizer)
    assert len(FakeAuthorizer.worlds) == 1  # one authorizer per file, not per case
    assert [(r.name, r.actual, r.passed) for r in results] == [
        ("decrypt is allowed", "Allow", True),
        ("encrypt is denied", "ImplicitDeny", True),
        ("sign raises", "error", False),
    ]
    assert results[1].reason == ("no identity-based policy allows it; layer: identity; "
                                 "missing condition keys: kms:EncryptionContext:Dept")
    assert results[2].reason == "evaluation raised RuntimeError: engine bug"
    assert [r.line for r in results] == [15, 21, 26]


def test_matched_names_must_be_among_the_decision_labels() -> None:
    text = SCENARIO.replace("matched: [EnableIAMUserPermissions]", "matched: [SomethingElse]")
    (first, *_) = run_scenario(load_scenario_text(text), authorizer=FakeAuthorizer)
    assert first.actual == "Allow" and not first.passed
    assert first.reason.startswith("expected matched SomethingElse but the decision matched EnableIAMUserPermissions")


def test_run_paths_counts_file_errors_and_never_raises(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(SCENARIO)
    (tmp_path / "bad.yaml").write_text(SCENARIO.replace("expect: Allow", "expect: Alow"))
    (tmp_path / "policy.json").write_text('{"Version": "2012-10-17", "Statement": []}')
    report = run_paths([tmp_path], authorizer=FakeAuthorizer)
    assert (report.passed, report.failed, report.errors) == (2, 1, 1)
    (error,) = report.file_errors
    assert error.file.endswith("bad.yaml") and error.line == 19
    assert error.message.startswith("cases[0].expect must be Allow, ExplicitDeny, ImplicitDeny")
    assert report.exit_code == 2
    assert report.summary() == "2 passed, 1 failed, 1 errors"


def test_exit_codes(tmp_path: Path) -> None:
    passing = SCENARIO.split("  - name: sign raises")[0]
    (tmp_path / "ok.yaml").write_text(passing)
    report = run_paths([tmp_path / "ok.yaml"], authorizer=FakeAuthorizer)
    assert (report.exit_code, report.summary()) == (0, "2 passed, 0 failed")
    (tmp_path / "fail.yaml").write_text(SCENARIO)
    assert run_paths([tmp_path / "fail.yaml"], authorizer=FakeAuthorizer).exit_code == 1


def test_a_folder_without_scenarios_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "policy.json").write_text('{"Version": "2012-10-17", "Statement": []}')
    report = run_paths([tmp_path], authorizer=FakeAuthorizer)
    assert report.errors == 1
    assert report.file_errors[0].message == "no scenario files found in this folder"


def test_an_authorizer_that_cannot_be_built_fails_every_case() -> None:
    def broken(world: World) -> FakeAuthorizer:
        raise ValueError("no")

    results = run_scenario(load_scenario_text(SCENARIO), authorizer=broken)
    assert [r.passed for r in results] == [False, False, False]
    assert results[0].reason == "building the authorizer raised ValueError: no"


def test_discover_walks_folders_in_order_and_skips_hidden_ones(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "b" / "2.yml").write_text(SCENARIO)
    (tmp_path / "a.yaml").write_text(SCENARIO)
    (tmp_path / ".hidden" / "c.yaml").write_text(SCENARIO)
    (tmp_path / "notes.txt").write_text("cases:")
    found = [Path(p).relative_to(tmp_path).as_posix() for p in discover([tmp_path])]
    assert found == ["a.yaml", "b/2.yml"]


def test_the_same_file_twice_runs_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(SCENARIO)
    report = run_paths([tmp_path, tmp_path / "a.yaml"], authorizer=FakeAuthorizer)
    assert len(report.cases) == 3


@pytest.mark.parametrize("name", ["bad-policy.yaml", "invalid-yaml.yaml", "broken.json"])
def test_every_broken_data_file_is_a_file_error(name: str) -> None:
    report = run_paths([Path(__file__).parent / "data" / name], authorizer=FakeAuthorizer)
    assert report.errors == 1 and report.file_errors[0].line > 0
