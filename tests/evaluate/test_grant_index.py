"""The per-key grant index: puts, replacements and removals keep every view consistent."""

from __future__ import annotations

from types import SimpleNamespace

from kmsauthz.evaluate.engine import _GrantIndex


def _grant(grant_id: str, grantee: str, token: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(grant_id=grant_id, grant=SimpleNamespace(grantee=grantee, token=token))


def test_many_grants_of_one_grantee_then_removal_and_replacement() -> None:
    index = _GrantIndex(_grant(str(i), "role/app") for i in range(20_000))
    assert len(index.by_grantee["role/app"]) == 20_000
    index.remove("7")
    assert "7" not in index.by_id and len(index.by_grantee["role/app"]) == 19_999
    index.put(_grant("8", "role/other", token="t8"))  # same id: the old entry moves, not duplicates
    assert len(index.by_grantee["role/app"]) == 19_998
    assert [g.grant_id for g in index.by_grantee["role/other"]] == ["8"]
    assert index.by_token["t8"].grant_id == "8"
    index.remove("8")
    assert "role/other" not in index.by_grantee and "t8" not in index.by_token
    assert len(index.snapshot()) == 19_998
