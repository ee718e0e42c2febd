"""The one benchmark command: every figure of GitHub issue 7, every decision checked.

    python -m benchmarks.run [--quick] [--json PATH] [--sections workloads,scaling,crypto,audit]

Sections:

- ``workloads``: every workload of ``../shared/bench/workloads`` (the peer benchmark's), loaded as
  a scenario document and compiled once into an :class:`~kmsauthz.evaluate.Authorizer`; per request
  the median over the repeats of ``decide(request)`` (``perf_counter_ns``, GC off in the loop, as the
  peer harness times); per workload the mean of its requests' medians. ``decide`` derives every
  condition key from the caller-level request itself.
- ``scaling``: one Decrypt against key policies of 10 ... 10,000 statements that cannot match it
  (plus the delegation statement that allows it through the caller's IAM policy), and against a
  key with 0 ... 50,000 grants for other principals (plus the caller's grant).
- ``crypto``: Encrypt / Decrypt / GenerateDataKey through the local KMS with and without the
  authorization check, beside bare AES-256-GCM (``benchmarks.crypto_bench``, best of its rounds).
- ``audit``: key policies per second, rules only and end to end from JSON text (read, validate,
  build the model, kind rules, audit rules), CPU time of this process, one core.

Every decision is compared with the expected one before it is timed; a wrong answer (or a crash)
fails the run with exit status 1. Peak memory is the process's peak resident set size
(``ru_maxrss``) after each section, plus ``tracemalloc``'s peak while loading and compiling each
workload. All figures are written as JSON (default ``benchmarks/results/latest.json``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kmsauthz.evaluate import Authorizer
from kmsauthz.model import Request

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BENCH_DIR = ROOT.parent / "shared" / "bench"
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "latest.json"
SECTIONS = ("workloads", "scaling", "crypto", "audit")
STATEMENT_SIZES = (10, 100, 1_000, 10_000)
GRANT_SIZES = (0, 100, 10_000, 50_000)


@dataclass(frozen=True)
class Settings:
    repeats: int
    min_time: float
    crypto_calls: int
    crypto_rounds: int
    audit_policies: int
    audit_passes: int

    @classmethod
    def for_mode(cls, quick: bool) -> Settings:
        if quick:
            return cls(repeats=3, min_time=0.004, crypto_calls=200, crypto_rounds=3, audit_policies=300,
                       audit_passes=1)
        return cls(repeats=11, min_time=0.02, crypto_calls=2000, crypto_rounds=5, audit_policies=2000,
                   audit_passes=3)


@dataclass(frozen=True)
class Item:
    """One request with the decision it must get."""

    id: str
    request: Request
    expect: str


class WrongDecision(Exception):
    """A benchmark request got another decision than expected (the run fails)."""


# timing -------------------------------------------------------------------------------------------

def median_us(fn: Callable[[], Any], *, repeats: int, min_time: float) -> tuple[float, float]:
    """(median µs per call over ``repeats`` rounds, half the interquartile range in %).

    The loop length is calibrated so that a round lasts at least ``min_time``; the cyclic garbage
    collector is off inside a round (as :mod:`timeit` and the peer harness do).
    """
    fn()
    loops = 1
    while True:
        if _round_ns(fn, loops) >= min_time * 1e9:
            break
        loops *= 2
    samples = sorted(_round_ns(fn, loops) / loops / 1e3 for _ in range(repeats))
    med = statistics.median(samples)
    if len(samples) >= 4:
        q1, _, q3 = statistics.quantiles(samples, n=4)
        spread = (q3 - q1) / 2 / med * 100 if med else 0.0
    else:
        spread = (samples[-1] - samples[0]) / 2 / med * 100 if med else 0.0
    return med, spread


def _round_ns(fn: Callable[[], Any], loops: int) -> int:
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        for _ in range(loops):
            fn()
        return time.perf_counter_ns() - t0
    finally:
        if enabled:
            gc.enable()


# decisions ----------------------------------------------------------------------------------------

def wrong_decisions(authorizer: Authorizer, items: Sequence[Item]) -> list[str]:
    """Every item whose decision differs from its expectation (a crash counts as wrong)."""
    wrong = []
    for item in items:
        try:
            got = authorizer.decide(item.request).outcome
        except Exception as exc:  # the run reports it and fails, it does not stop on a traceback
            wrong.append(f"{item.id}: expected {item.expect}, decide raised {type(exc).__name__}")
            continue
        if got != item.expect:
            wrong.append(f"{item.id}: expected {item.expect}, got {got}")
    return wrong


def time_items(name: str, authorizer: Authorizer, items: Sequence[Item], settings: Settings) -> dict[str, Any]:
    """Check every item, then time each; raise :class:`WrongDecision` before timing a wrong one."""
    wrong = wrong_decisions(authorizer, items)
    if wrong:
        raise WrongDecision(f"{name}: " + "; ".join(wrong))
    per_request = {}
    spreads = []
    for item in items:
        us, spread = median_us(lambda r=item.request: authorizer.decide(r),
                               repeats=settings.repeats, min_time=settings.min_time)
        per_request[item.id] = round(us, 3)
        spreads.append(spread)
    mean = statistics.fmean(per_request.values())
    return {"us_per_decision": round(mean, 3), "decisions_per_s": round(1e6 / mean),
            "spread_pct": round(max(spreads), 1), "correct": f"{len(items)}/{len(items)}",
            "per_request_us": per_request}


# sections -----------------------------------------------------------------------------------------

def import_workloads(bench_dir: Path) -> Any:
    if str(bench_dir) not in sys.path:
        sys.path.insert(0, str(bench_dir))
    from workloads import kms_workloads

    return kms_workloads


def prepare_workload(workload: dict[str, Any], to_scenario: Callable[[dict[str, Any]], Any]) -> tuple[Authorizer,
                                                                                                    list[Item]]:
    """What a user does once: load the workload as a scenario document and compile it."""
    from kmsauthz.scenario import load_scenario_text

    scenario = load_scenario_text(json.dumps(to_scenario(workload)), path=f"<workload {workload['id']}>")
    authorizer = Authorizer(scenario.world)
    items = [Item(r["id"], case.request, r["expect"])
             for r, case in zip(workload["requests"], scenario.cases, strict=True)]
    for r, case in zip(workload["requests"], scenario.cases, strict=True):
        if case.expect != r["expect"]:  # the scenario export must carry the workload's expectation
            raise WrongDecision(f"{r['id']}: the scenario expects {case.expect}, the workload {r['expect']}")
    return authorizer, items


def run_workloads(bench_dir: Path, settings: Settings, only: set[str] | None) -> list[dict[str, Any]]:
    module = import_workloads(bench_dir)
    rows = []
    for workload in module.get_workloads():
        if only is not None and workload["id"] not in only:
            continue
        # once untraced: imports and one-time caches (schemas, catalog) are not this workload's memory
        prepare_workload(workload, module.to_scenario)
        tracemalloc.start()
        authorizer, items = prepare_workload(workload, module.to_scenario)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        row = {"workload": workload["id"], "requests": len(items),
               "load_compile_peak_kib": round(peak / 1024)}
        row.update(time_items(workload["id"], authorizer, items, settings))
        rows.append(row)
    return rows


def run_scaling(settings: Settings) -> dict[str, Any]:
    from benchmarks.bench_engine import grants, unrelated

    out: dict[str, Any] = {"statements": [], "grants": []}
    for n in STATEMENT_SIZES:
        t0 = time.perf_counter()
        authorizer, requests = unrelated(n)
        build_s = time.perf_counter() - t0
        items = [Item(f"unrelated-{n}", r, "Allow") for r in requests]
        row = {"statements": n + 1, "unrelated": n, "build_s": round(build_s, 3)}
        row.update(time_items(f"unrelated-{n}", authorizer, items, settings))
        out["statements"].append(row)
    for n in GRANT_SIZES:
        t0 = time.perf_counter()
        authorizer, requests = grants(n)
        build_s = time.perf_counter() - t0
        items = [Item(f"grants-{n}", r, "Allow") for r in requests]
        row = {"other_grants": n, "build_s": round(build_s, 3)}
        row.update(time_items(f"grants-{n}", authorizer, items, settings))
        out["grants"].append(row)
    for series in ("statements", "grants"):
        base = out[series][0]["us_per_decision"]
        for row in out[series]:
            row["x_smallest"] = round(row["us_per_decision"] / base, 2)
    return out


def run_crypto(settings: Settings) -> list[dict[str, Any]]:
    from benchmarks.crypto_bench import run

    rows: list[dict[str, Any]] = run(settings.crypto_calls, settings.crypto_rounds)
    return rows


def run_audit(settings: Settings) -> dict[str, Any]:
    """Key policies per second (CPU time): rules only, load only, and from JSON text to findings.

    The measurements are ``benchmarks/audit_bench.py``'s own (one definition of each figure): end to
    end streams policy by policy as the CLI does; rules only audits freshly loaded models, so the
    source positions the loader defers until a finding reads them are billed to the rules. Each is
    the best of ``audit_passes`` passes (the least disturbed by other load on a shared machine).
    """
    from benchmarks import audit_bench
    from kmsauthz.audit.rules import audit_target
    from kmsauthz.audit.target import AuditTarget
    from kmsauthz.syntax import load_policy_text

    texts = audit_bench.corpus(settings.audit_policies, 7)
    # warm-up (catalog lookups, compiled schema check) outside the timed part, as in a long CI run
    warm = load_policy_text(texts[0], kind="key", source="warm.json")
    audit_target(AuditTarget(warm, warm.name))
    # What earlier sections left alive (the 10,000-statement policy, the 50,000-grant key, imports)
    # is no work of the audit's: out of the cyclic GC's reach, so that its collections bill only the
    # audit's own objects, as in a process that audits and does nothing else (audit_bench.py).
    gc.collect()
    gc.freeze()
    passes = settings.audit_passes
    try:
        end_to_end, streamed = audit_bench._best(passes, lambda: audit_bench.streamed(texts))
        load_only, statements = audit_bench._best(passes, lambda: audit_bench.load_only(texts))
        rules_only, rule_findings = audit_bench.rules_only(texts, passes)
    finally:
        gc.unfreeze()
    if len(rule_findings) != len(streamed):
        raise WrongDecision(f"audit: {len(streamed)} findings end to end but {len(rule_findings)} from the rules alone")
    n = len(texts)
    return {"policies": n, "statements": statements, "findings": len(streamed),
            "rules_only_per_s": round(n / rules_only), "load_only_per_s": round(n / load_only),
            "end_to_end_per_s": round(n / end_to_end), "end_to_end_ms_each": round(end_to_end * 1e3 / n, 3),
            "target_end_to_end_per_s": 2000, "passes": passes,
            "clock": "process_time (CPU, one core), best of the passes"}


def peak_rss_kib() -> int:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak // 1024) if sys.platform == "darwin" else int(peak)


# printing -----------------------------------------------------------------------------------------

def print_report(result: dict[str, Any]) -> None:
    if "workloads" in result:
        print("workloads (decide per request, median of repeats, mean over the workload's requests)")
        print(f"  {'workload':<26} {'decisions/s':>12} {'µs/decision':>12} {'±%':>6}  correct")
        for row in result["workloads"]:
            print(f"  {row['workload']:<26} {row['decisions_per_s']:>12,} {row['us_per_decision']:>12.2f} "
                  f"{row['spread_pct']:>6.1f}  {row['correct']}")
    if "scaling" in result:
        print("scaling (one Decrypt allowed through delegation / through the caller's grant)")
        for row in result["scaling"]["statements"]:
            print(f"  key policy of {row['statements']:>6,} statements {row['us_per_decision']:>9.2f} µs "
                  f"({row['x_smallest']:.2f}x the smallest)")
        for row in result["scaling"]["grants"]:
            print(f"  key with {row['other_grants']:>6,} other grants    {row['us_per_decision']:>9.2f} µs "
                  f"({row['x_smallest']:.2f}x the smallest)")
    if "crypto" in result:
        print("local KMS (best of rounds)")
        for row in result["crypto"]:
            if row.get("us_per_call") is None:
                print(f"  {row['benchmark']:<60} n/a ({row.get('note', '')})")
            else:
                print(f"  {row['benchmark']:<60} {row['calls_per_s']:>9,}/s {row['us_per_call']:>8.2f} µs")
    if "audit" in result:
        a = result["audit"]
        print(f"audit ({a['policies']:,} key policies, {a['statements']:,} statements, CPU time)")
        print(f"  rules only   {a['rules_only_per_s']:>8,} policies/s")
        print(f"  load only    {a['load_only_per_s']:>8,} policies/s")
        verdict = "meets" if a["end_to_end_per_s"] >= a["target_end_to_end_per_s"] else "MISSES"
        print(f"  end to end   {a['end_to_end_per_s']:>8,} policies/s  ({verdict} the target of "
              f"{a['target_end_to_end_per_s']:,})")
    mem = result["memory"]
    print(f"peak RSS {mem['peak_rss_kib']:,} KiB (ru_maxrss); after each section: {mem['peak_rss_after_kib']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats (a smoke run, ~20 s)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the figures")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"subset of {','.join(SECTIONS)}")
    parser.add_argument("--workloads", help="subset of workload ids (default: all)")
    parser.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH_DIR,
                        help="the peer benchmark folder holding workloads/ (default ../shared/bench)")
    args = parser.parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section `{unknown[0]}` (expected some of {', '.join(SECTIONS)})")
    if "workloads" in sections and not (args.bench_dir / "workloads" / "kms_workloads.py").is_file():
        parser.error(f"no workloads under `{args.bench_dir}` (give --bench-dir)")
    settings = Settings.for_mode(args.quick)
    only = set(args.workloads.split(",")) if args.workloads else None

    started = time.perf_counter()
    result: dict[str, Any] = {
        "command": "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "quick": args.quick, "python": sys.version.split()[0], "platform": platform.platform(),
        "cpus": os.cpu_count(), "settings": settings.__dict__,
    }
    after: dict[str, int] = {}
    status = 0
    try:
        for section in sections:
            if section == "workloads":
                result["workloads"] = run_workloads(args.bench_dir, settings, only)
            elif section == "scaling":
                result["scaling"] = run_scaling(settings)
            elif section == "crypto":
                result["crypto"] = run_crypto(settings)
            else:
                result["audit"] = run_audit(settings)
            after[section] = peak_rss_kib()
    except WrongDecision as exc:
        result["wrong"] = str(exc)
        print(f"wrong decision: {exc}", file=sys.stderr)
        status = 1
    result["memory"] = {"peak_rss_kib": peak_rss_kib(), "peak_rss_after_kib": after,
                        "how": "ru_maxrss (peak resident set, whole process); load_compile_peak_kib per "
                               "workload is tracemalloc's peak"}
    result["seconds"] = round(time.perf_counter() - started, 1)
    if status == 0:
        print_report(result)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{'FAILED' if status else 'ok'} in {result['seconds']} s; figures in {args.json}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
