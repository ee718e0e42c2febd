"""The benchmark command runs (quick mode, one workload) and its decision check catches a wrong answer.

Untimed: nothing here asserts a speed, only that the figures exist and the decisions are right.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks import run

BENCH_DIR = run.DEFAULT_BENCH_DIR
pytestmark = pytest.mark.skipif(not (BENCH_DIR / "workloads" / "kms_workloads.py").is_file(),
                                reason="the shared peer-benchmark workloads are not checked out beside the repo")


def test_quick_run_of_one_workload_writes_checked_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "figures.json"
    status = run.main(["--quick", "--sections", "workloads", "--workloads", "a-default-key-policy",
                       "--json", str(out)])
    assert status == 0
    figures = json.loads(out.read_text(encoding="utf-8"))
    [row] = figures["workloads"]
    assert row["workload"] == "a-default-key-policy"
    assert row["correct"] == "7/7"
    assert set(row["per_request_us"]) == {f"a{i}" for i in range(1, 8)}
    assert row["us_per_decision"] > 0 and row["decisions_per_s"] > 0
    assert figures["memory"]["peak_rss_kib"] > 0
    assert "wrong" not in figures
    assert "a-default-key-policy" in capsys.readouterr().out


def test_a_wrong_expectation_fails_the_run() -> None:
    module = run.import_workloads(BENCH_DIR)
    workload = next(w for w in module.get_workloads() if w["id"] == "b-vpce-deny-context")
    authorizer, items = run.prepare_workload(workload, module.to_scenario)
    assert run.wrong_decisions(authorizer, items) == []
    flipped = replace(items[1], expect="Allow")  # b2, another endpoint: AWS denies it explicitly
    assert run.wrong_decisions(authorizer, [items[0], flipped]) == ["b2: expected Allow, got ExplicitDeny"]
    with pytest.raises(run.WrongDecision, match="b2: expected Allow, got ExplicitDeny"):
        run.time_items("b", authorizer, [flipped], run.Settings.for_mode(True))


def test_a_wrong_decision_makes_main_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = run.prepare_workload

    def lying(workload, to_scenario):  # type: ignore[no-untyped-def]
        authorizer, items = real(workload, to_scenario)
        return authorizer, [replace(items[0], expect="ImplicitDeny"), *items[1:]]

    monkeypatch.setattr(run, "prepare_workload", lying)
    out = tmp_path / "figures.json"
    status = run.main(["--quick", "--sections", "workloads", "--workloads", "a-default-key-policy",
                       "--json", str(out)])
    assert status == 1
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["wrong"] == "a-default-key-policy: a1: expected ImplicitDeny, got Allow"


def test_median_is_of_the_rounds() -> None:
    calls = []
    us, spread = run.median_us(lambda: calls.append(1), repeats=3, min_time=0.0)
    assert us > 0 and spread >= 0
    assert len(calls) == 1 + 1 + 3  # warm-up, one calibration round of one loop, three rounds
