"""Hostile scenario text ends in a located ScenarioError, within bounded work."""

from __future__ import annotations

import pytest

from kmsauthz.errors import ScenarioError
from kmsauthz.scenario import load_scenario_text
from kmsauthz.scenario.yaml_source import MAX_ALIAS_NODES


def _alias_bomb(levels: int) -> str:
    lines = ["x0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_nested_aliases_stop_at_the_expansion_budget() -> None:
    # 8 levels would expand to 10^8 nodes; the loader stops after MAX_ALIAS_NODES re-expanded ones
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(_alias_bomb(8))
    assert f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes" in str(err.value)
    assert err.value.span is not None and err.value.span.line >= 1


def test_modest_alias_reuse_is_still_fine() -> None:
    text = """
keys:
  - id: 1234abcd-12ab-34cd-56ef-1234567890ab
    account: "111122223333"
    policy: &p
      Version: "2012-10-17"
      Statement:
        - Sid: EnableIAMUserPermissions
          Effect: Allow
          Principal: {AWS: arn:aws:iam::111122223333:root}
          Action: kms:*
          Resource: "*"
  - {id: 2234abcd-12ab-34cd-56ef-1234567890ab, account: "111122223333", policy: *p}
principals: []
cases: []
"""
    world = load_scenario_text(text).world
    assert len(world.keys) == 2
    assert world.keys[0].policy.statements == world.keys[1].policy.statements
    assert world.keys[1].policy.statements[0].sid == "EnableIAMUserPermissions"


def test_a_lone_surrogate_is_a_located_error_not_a_unicode_crash() -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario_text("description: ok\nregion: us-east-\ud800\n")
    assert "lone surrogate" in str(err.value)
    assert err.value.span is not None and (err.value.span.line, err.value.span.column) == (2, 17)
