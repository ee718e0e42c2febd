"""Instructions per decision on the shared workloads, counted by valgrind's callgrind.

    python -m benchmarks.instructions [--workloads a-default-key-policy,...] [--rounds 200]

Wall-clock figures on a shared 2-core machine move by ±20 % with whatever else runs; an
instruction count does not: callgrind counts the instructions the interpreter executes, the
same for the same code, inputs and Python, whatever the other core is doing. So this is the
figure to compare two versions of the evaluator with (a change that saves 5 % shows as 5 %).
It is not a time: the peer comparison (the ``x cedar`` column) stays ``shared/bench/peers_bench.py``'s.

Method: the same script runs twice under callgrind, once with 0 rounds and once with
``--rounds`` rounds over every request of the workload (each request decided once per round,
after one untimed warm-up call each, GC off); the difference of the two totals divided by the
number of decisions is the cost of one decision, with start-up, imports and compilation
cancelled out. Every decision is checked against the workload's expectation first.
Needs ``valgrind`` on PATH (Debian's package); a run takes about a minute per workload.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import run as bench_run  # noqa: E402

_COLLECTED = re.compile(r"Collected : (\d+)")


def _decide_rounds(workload_id: str, rounds: int, bench_dir: Path) -> None:
    """The measured body: prepare one workload, check it, then decide every request ``rounds`` times."""
    module = bench_run.import_workloads(bench_dir)
    workload = next(w for w in module.get_workloads() if w["id"] == workload_id)
    authorizer, items = bench_run.prepare_workload(workload, module.to_scenario)
    for item in items:
        got = authorizer.decide(item.request).outcome
        if got != item.expect:
            raise SystemExit(f"{workload_id} {item.id}: expected {item.expect}, got {got}")
    requests = [item.request for item in items]
    decide = authorizer.decide
    gc.disable()
    for _ in range(rounds):
        for request in requests:
            decide(request).outcome  # noqa: B018 - what the peer adapter returns


def _count(workload_id: str, rounds: int, bench_dir: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               os.path.realpath(sys.executable), "-m", "benchmarks.instructions", "--inner", workload_id,
               "--rounds", str(rounds), "--bench-dir", str(bench_dir)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        found = _COLLECTED.search(proc.stderr)
        if proc.returncode != 0 or found is None:
            raise SystemExit(f"callgrind run failed for {workload_id}:\n{proc.stderr[-2000:]}")
        return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="", help="comma-separated workload ids (default: all)")
    parser.add_argument("--rounds", type=int, default=200, help="rounds over the workload's requests")
    parser.add_argument("--bench-dir", type=Path, default=bench_run.DEFAULT_BENCH_DIR)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        _decide_rounds(args.inner, args.rounds, args.bench_dir)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    module = bench_run.import_workloads(args.bench_dir)
    wanted = [w for w in args.workloads.split(",") if w]
    rows = []
    for workload in module.get_workloads():
        if wanted and workload["id"] not in wanted:
            continue
        n = len(workload["requests"])
        base = _count(workload["id"], 0, args.bench_dir)
        full = _count(workload["id"], args.rounds, args.bench_dir)
        per = (full - base) / (args.rounds * n)
        rows.append({"workload": workload["id"], "requests": n, "rounds": args.rounds,
                     "instructions_per_decision": round(per)})
        print(f"{workload['id']:<28} {per:>10,.0f} instructions per decision ({n} requests x {args.rounds})")
    if args.json:
        args.json.write_text(json.dumps({"python": sys.version.split()[0], "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
