"""Long-mode fuzzing of every parser that takes outside input.

    python -m benchmarks.fuzz list
    python -m benchmarks.fuzz TARGET --minutes N [--engine atheris|hypothesis] [--keep DIR]
    python -m benchmarks.fuzz all --minutes N       # each target in turn, N minutes each

Targets and their oracles are ``tests/fuzz/targets.py`` (the same functions the bounded
hypothesis tests in ``tests/fuzz`` run): the only acceptable outcomes are a result or the
project's documented error. The engine is atheris (coverage-guided libFuzzer, seeded with the
repository's valid policies, scenarios, templates, ciphertexts and requests) when it is
installed, else hypothesis with a time budget. Each target runs in a child process, so a crash
or a hang (libFuzzer ``-timeout``) ends that target only; the summary prints the inputs
executed per target and any crash with the input that caused it (also saved under ``--keep``).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_NAMES = ("policy-json", "policy-kmsp", "scenario", "audit-yaml", "audit-json", "kms-decrypt",
                "kms-reencrypt", "endpoint-body", "endpoint-headers")
HANG_SECONDS = 10
"""One input taking longer than this is reported as a hang (a crash for our purposes)."""


def _have_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


# -- seeds -------------------------------------------------------------------------------------------


def seeds(target: str) -> list[bytes]:
    """Valid inputs for a target: mutation starts from them, so the fuzzer gets past the lexer."""
    from tests.fuzz import strategies as s
    from tests.fuzz import targets as t

    if target == "policy-json":
        return list(s.policy_seeds(".json"))
    if target == "policy-kmsp":
        return list(s.policy_seeds(".kmsp"))
    if target == "scenario":
        return list(s.scenario_seeds())
    if target == "audit-yaml":
        return list(s.template_seeds(".yaml"))
    if target == "audit-json":
        return list(s.template_seeds(".json"))
    if target in ("kms-decrypt", "kms-reencrypt"):
        return [b[:-1] for b in t.kms_rig().blobs] + [bytes([b[0] ^ 1]) + b[1:] for b in t.kms_rig().blobs]
    if target == "endpoint-body":
        blob = base64.b64encode(t.kms_rig().blobs[0]).decode()
        return [b"Encrypt\n" + json.dumps({"KeyId": "alias/fuzz", "Plaintext": "aGk="}).encode(),
                b"Decrypt\n" + json.dumps({"CiphertextBlob": blob}).encode(),
                b"CreateGrant\n" + json.dumps({"KeyId": "alias/fuzz", "GranteePrincipal": t.CALLER,
                                               "Operations": ["Decrypt"]}).encode(),
                b"ListAliases\n{}"]
    if target == "endpoint-headers":
        return [b"\n".join(v.encode("latin-1") for _, v in t.sign(b"{}"))]
    raise SystemExit(f"unknown target `{target}` (see `python -m benchmarks.fuzz list`)")


# -- child: one target, one engine ---------------------------------------------------------------------


def _child_atheris(target: str, seconds: int, corpus: Path, artifacts: Path) -> None:
    import atheris

    with atheris.instrument_imports(include=["kmsauthz"]):
        import kmsauthz.audit.engine
        import kmsauthz.audit.inputs
        import kmsauthz.evaluate
        import kmsauthz.kms
        import kmsauthz.scenario.load
        import kmsauthz.server
        import kmsauthz.syntax  # noqa: F401
    from tests.fuzz.targets import TARGETS

    run = TARGETS[target]
    run(seeds(target)[0])  # warm the caches (KMS rig, endpoint) outside the measured loop
    argv = [sys.argv[0], str(corpus), f"-max_total_time={seconds}", f"-timeout={HANG_SECONDS}",
            f"-artifact_prefix={artifacts}/", "-print_final_stats=1", "-rss_limit_mb=4096", "-max_len=8192"]
    atheris.Setup(argv, run)
    atheris.Fuzz()


def _child_hypothesis(target: str, seconds: int, artifacts: Path) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.fuzz.strategies import mutated
    from tests.fuzz.targets import TARGETS

    run = TARGETS[target]
    corpus = tuple(seeds(target))
    count = [0]
    deadline = time.monotonic() + seconds
    strategy = mutated(corpus, max_mutations=8) | st.binary(max_size=512)
    last: list[bytes] = [b""]

    @settings(max_examples=500, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def batch(data: bytes) -> None:
        count[0] += 1
        last[0] = data
        run(data)

    try:
        while time.monotonic() < deadline:
            batch()
    except BaseException:
        (artifacts / "crash-hypothesis").write_bytes(last[0])
        print(f"Done {count[0]} runs (crash)", file=sys.stderr)
        raise
    print(f"Done {count[0]} runs in {seconds} second(s)", file=sys.stderr)


# -- parent: run targets, summarize ---------------------------------------------------------------------


def run_target(target: str, minutes: float, engine: str, keep: Path | None) -> dict[str, Any]:
    seconds = max(1, int(minutes * 60))
    work = Path(tempfile.mkdtemp(prefix=f"kmsauthz-fuzz-{target}-"))
    corpus, artifacts = work / "corpus", (keep / target if keep else work / "artifacts")
    corpus.mkdir()
    artifacts.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds(target)):
        (corpus / f"seed-{i}").write_bytes(seed)
    cmd = [sys.executable, "-m", "benchmarks.fuzz", target, "--child", engine, "--seconds", str(seconds),
           "--corpus", str(corpus), "--artifacts", str(artifacts)]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, errors="replace",
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=seconds + 300)
    elapsed = time.monotonic() - started
    log = proc.stderr
    runs = [int(n) for n in re.findall(r"Done (\d+) runs", log)] or [int(n) for n in re.findall(r"#(\d+)\s", log)]
    crashes = sorted(p for p in artifacts.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    result = {"target": target, "engine": engine, "inputs": max(runs) if runs else 0, "seconds": round(elapsed, 1),
              "crash": None, "corpus_files": len(list(corpus.iterdir()))}
    if crashes:
        data = crashes[0].read_bytes()
        tb = re.findall(r"(=== Uncaught Python exception: ===.*?)(?:\n==\d+==|\Z)", log, re.S)
        result["crash"] = {"file": str(crashes[0]), "input": data[:400].decode("latin-1"),
                           "kind": crashes[0].name.split("-")[0],
                           "traceback": (tb[0] if tb else log[-3000:]).strip()[-3000:]}
    elif proc.returncode != 0:
        result["crash"] = {"kind": "exit", "traceback": log[-3000:]}
    return result


def _print(result: dict[str, Any]) -> None:
    status = "no crash" if result["crash"] is None else f"{result['crash']['kind'].upper()} FOUND"
    print(f"{result['target']:17} {result['engine']:10} {result['inputs']:>10,} inputs in {result['seconds']:>6}s"
          f"  corpus {result['corpus_files']:>5}  {status}", flush=True)
    if result["crash"] is not None:
        crash = result["crash"]
        if "input" in crash:
            print(f"  input ({crash['file']}): {crash['input']!r}")
        print("  " + crash["traceback"].replace("\n", "\n  "))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="a target name, `all` or `list`")
    parser.add_argument("--minutes", type=float, default=1.0, help="time per target (default 1)")
    parser.add_argument("--engine", choices=["atheris", "hypothesis"], default=None,
                        help="default: atheris when installed, else hypothesis")
    parser.add_argument("--keep", type=Path, default=None, help="folder for crash inputs (default: a temp folder)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--child", choices=["atheris", "hypothesis"], help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--artifacts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        if args.child == "atheris":
            _child_atheris(args.target, args.seconds, args.corpus, args.artifacts)
        else:
            _child_hypothesis(args.target, args.seconds, args.artifacts)
        return 0
    if args.target == "list":
        print("\n".join(TARGET_NAMES))
        return 0
    engine = args.engine or ("atheris" if _have_atheris() else "hypothesis")
    names = TARGET_NAMES if args.target == "all" else (args.target,)
    for name in names:
        if name not in TARGET_NAMES:
            parser.error(f"unknown target `{name}` (one of: {', '.join(TARGET_NAMES)}, all, list)")
    results = []
    for name in names:
        result = run_target(name, args.minutes, engine, args.keep)
        _print(result)
        results.append(result)
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if any(r["crash"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
