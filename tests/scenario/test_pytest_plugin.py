"""The pytest plugin, run in a throw-away project by pytester."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ("pytester",)

SCENARIO = textwrap.dedent(
    """\
    keys:
      - id: 1234abcd-12ab-34cd-56ef-1234567890ab
        account: "111122223333"
        policy:
          Version: "2012-10-17"
          Statement:
            - Sid: AliceUsesTheKey
              Effect: Allow
              Principal: {AWS: arn:aws:iam::111122223333:user/alice}
              Action: kms:Decrypt
              Resource: "*"
    principals:
      - arn: arn:aws:iam::111122223333:user/alice
      - arn: arn:aws:iam::111122223333:user/bob
    cases:
      - name: alice decrypts
        principal: arn:aws:iam::111122223333:user/alice
        action: kms:Decrypt
        key: 1234abcd-12ab-34cd-56ef-1234567890ab
        expect: Allow
        matched: [AliceUsesTheKey]
      - name: bob is not named
        principal: arn:aws:iam::111122223333:user/bob
        action: kms:Decrypt
        key: 1234abcd-12ab-34cd-56ef-1234567890ab
        expect: ImplicitDeny
    """
)

WRONG = SCENARIO.replace("expect: ImplicitDeny", "expect: Allow")


def test_named_files_run_one_item_per_case(pytester: pytest.Pytester) -> None:
    pytester.makefile(".kmsauthz.yaml", keys=SCENARIO)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*keys.kmsauthz.yaml::alice decrypts PASSED*",
                                 "*keys.kmsauthz.yaml::bob is not named PASSED*"])


def test_a_failed_case_shows_expected_actual_and_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makefile(".kmsauthz.yaml", keys=WRONG)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*scenario case `bob is not named` (keys.kmsauthz.yaml:22)*",
        "*expected: Allow*",
        "*actual:   ImplicitDeny*",
        "*reason:*",
    ])
    assert "Traceback" not in result.stdout.str()


def test_plain_yaml_files_are_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", scenario=SCENARIO)
    pytester.makepyfile(test_ordinary="def test_one():\n    assert True\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_ini_folder_is_collected_even_outside_testpaths(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntestpaths = tests\nkmsauthz_scenarios = policies\n")
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_ordinary.py").write_text("def test_one():\n    assert True\n")
    folder = pytester.mkdir("policies")
    (folder / "app.yaml").write_text(SCENARIO)
    (folder / "key-policy.json").write_text('{"Version": "2012-10-17", "Statement": []}')
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*policies/app.yaml::alice decrypts PASSED*"])


def test_explicit_paths_do_not_add_the_ini_folders(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nkmsauthz_scenarios = policies\n")
    (pytester.mkdir("policies") / "app.yaml").write_text(SCENARIO)
    test = pytester.makepyfile(test_ordinary="def test_one():\n    assert True\n")
    result = pytester.runpytest(str(test))
    result.assert_outcomes(passed=1)


def test_a_broken_file_is_a_readable_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".kmsauthz.yaml", broken=SCENARIO.replace("    expect: Allow\n", "    expect: Allow\n    expcet: Allow\n", 1))
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*kmsauthz scenario file could not be loaded*",
        "*broken.kmsauthz.yaml:21:5: unknown field `expcet` in cases[[]0]*",
    ])
    assert "Traceback" not in result.stdout.str()
