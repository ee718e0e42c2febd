"""`benchmarks/audit_bench.py` runs and agrees with itself (no timing is asserted)."""

from __future__ import annotations

import sys

import pytest

from benchmarks import audit_bench


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_bench_runs_every_figure(fmt: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["audit_bench", "--policies", "12", "--passes", "1", "--cli",
                                      "--cli-format", fmt])
    audit_bench.main()
    out = capsys.readouterr().out
    for label in ("rules only:", "load only:", "end to end:", "CLI:", "findings:"):
        assert label in out


def test_streamed_and_cli_report_the_same_findings() -> None:
    texts = audit_bench.corpus(15, 3)
    _, cli_findings = audit_bench.cli(texts, 1)
    assert cli_findings == len(audit_bench.streamed(texts))
