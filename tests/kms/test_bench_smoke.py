"""benchmarks/crypto_bench.py keeps running (a tiny round; the figures themselves are not asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "crypto_bench.py"


def test_crypto_bench_runs(capsys) -> None:
    spec = importlib.util.spec_from_file_location("crypto_bench", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = mod.run(n=3, rounds=1)
    names = [r["benchmark"] for r in rows]
    assert "LocalKMS Encrypt 4 KiB (authorized)" in names and "LocalKMS Encrypt 4 KiB (no authz)" in names
    assert all(r["us_per_call"] is None or r["us_per_call"] > 0 for r in rows)
    assert mod.main(["--quick", "--json"]) == 0
    assert '"results"' in capsys.readouterr().out
