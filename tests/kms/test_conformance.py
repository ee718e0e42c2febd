"""The conformance scenarios, replayed as real calls against a LocalKMS seeded with each world.

Every case whose action the local KMS can make from the case alone (Encrypt, Decrypt,
GenerateDataKey, DescribeKey, GetKeyPolicy, ListGrants, GetPublicKey) must succeed when the scenario
expects Allow, and fail with AccessDeniedException (or the expected error) otherwise — the crypto
core asks the evaluator and never decides by itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kmsauthz.evaluate.resolve import ref_region
from kmsauthz.kms import KMSError, LocalKMS, ManualClock
from kmsauthz.scenario import load_scenario

SHARED = Path(__file__).resolve().parents[3] / "shared" / "scenarios"
FILES = sorted(SHARED.glob("*.yaml")) if SHARED.is_dir() else []
STATE_ERRORS = {"DisabledException", "KMSInvalidStateException"}


def _params(kms: LocalKMS, case: Any) -> tuple[str, dict[str, Any]] | None:
    req = case.request
    if req.context or req.key is None:
        return None
    ec = dict(req.encryption_context) if req.encryption_context else None
    common: dict[str, Any] = {}
    if req.grant_tokens:
        common["GrantTokens"] = list(req.grant_tokens)
    action = req.action.lower()
    extra = {k: v for k, v in req.parameters.items() if k in ("EncryptionAlgorithm",)}
    if req.parameters and not extra:
        return None
    if action == "kms:encrypt":
        return "Encrypt", {"KeyId": req.key, "Plaintext": b"x", **({"EncryptionContext": ec} if ec else {}),
                           **common, **extra}
    if action == "kms:generatedatakey":
        return "GenerateDataKey", {"KeyId": req.key, "KeySpec": "AES_256",
                                   **({"EncryptionContext": ec} if ec else {}), **common}
    if action == "kms:decrypt" and not extra:
        ctx = kms.context(principal=req.principal, region=req.region or ref_region(req.key) or kms.world.region)
        try:  # make the ciphertext without authorization: the case is about Decrypt
            live = kms._resolve(ctx, req.key)
        except KMSError:
            return "Decrypt", {"CiphertextBlob": b"\x01" * 64, "KeyId": req.key, **common}
        if live.rec.key_usage != "ENCRYPT_DECRYPT" or live.spec.kind != "symmetric" or not live.rec.materials:
            return None
        blob, _ = kms._seal(live, b"x", ec)
        return "Decrypt", {"CiphertextBlob": blob, "KeyId": req.key, **({"EncryptionContext": ec} if ec else {}),
                           **common}
    simple = {"kms:describekey": "DescribeKey", "kms:getkeypolicy": "GetKeyPolicy", "kms:listgrants": "ListGrants",
              "kms:getpublickey": "GetPublicKey"}
    if action in simple and not common:
        return simple[action], {"KeyId": req.key}
    return None


def _cases() -> list[Any]:
    out = []
    for f in FILES:
        for case in load_scenario(f).cases:
            out.append(pytest.param(f, case.index, id=f"{f.stem}#{case.index}"))
    return out


@pytest.mark.skipif(not FILES, reason="shared/scenarios is not beside the project")
@pytest.mark.parametrize(("path", "index"), _cases())
def test_scenario_case_through_the_local_kms(path: Path, index: int) -> None:
    scenario = load_scenario(path)
    case = scenario.cases[index]
    with LocalKMS(scenario.world, clock=ManualClock(scenario.world.now)) as kms:
        made = _params(kms, case)
        if made is None:
            pytest.skip("the case needs context the local KMS cannot reproduce from a call")
        op, params = made
        req = case.request
        region = req.region or ref_region(req.key) or scenario.world.region
        try:
            kms.call(op, params, principal=req.principal, region=region, vpc_endpoint=req.vpc_endpoint,
                     source_ip=req.source_ip, via_service=req.via_service, session_policy=req.session_policy)
            outcome = "Allow"
        except KMSError as exc:
            outcome = exc.code
        if case.expect == "Allow":
            assert outcome == "Allow" or outcome in STATE_ERRORS, (case.name, outcome)
        elif case.expect in ("ImplicitDeny", "ExplicitDeny"):
            assert outcome == "AccessDeniedException", (case.name, outcome)
        else:
            assert outcome == case.expect, (case.name, outcome)
