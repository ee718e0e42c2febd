"""The endpoint benchmark still runs (briefly): it starts its servers, prints its figures, stops."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "endpoint_bench.py"


def test_the_benchmark_prints_requests_per_second() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--seconds", "0.2", "--clients", "1", "--ops", "DescribeKey"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "listening after" in out.stdout
    (row,) = [line for line in out.stdout.splitlines() if line.startswith("DescribeKey")]
    served, null = (float(x.replace(",", "")) for x in row.split()[2:4])
    assert served > 0 and null > 0
