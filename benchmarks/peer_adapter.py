"""kmsauthz as one more peer of ``shared/bench/peers_bench.py``.

    cd ../shared/bench
    /tmp/peersenv/bin/python peers_bench.py \
        --adapter ../../main/benchmarks/peer_adapter.py:KmsauthzAdapter --require-correct kmsauthz

(install kmsauthz into that venv first: ``/tmp/peersenv/bin/pip install -e ../../main``).

``prepare`` does what a user does once: load the workload as a scenario document (schema
validation, policy loading) and compile it into an :class:`~kmsauthz.evaluate.Authorizer`.
The timed callable is ``authorizer.decide(request)`` on a request built from the caller-level
facts only (principal, action, key, endpoint, encryption context, parameters): kmsauthz derives
every condition key itself inside ``decide``, so each figure includes the context derivation
the other peers are handed ready-made.
"""

from __future__ import annotations

import json
from typing import Any

try:  # imported by the harness, which puts its own folder on sys.path
    from adapters.base import Prepared
    from workloads.kms_workloads import to_scenario
except ImportError:  # pragma: no cover - only when used outside the harness
    Prepared = None  # type: ignore[assignment,misc]
    to_scenario = None  # type: ignore[assignment]


class KmsauthzAdapter:
    name = "kmsauthz"
    entry = "kmsauthz: scenario compiled once into an Authorizer, decide(request) per call (derives the context)"
    package = "kmsauthz"

    def prepare(self, workload: dict[str, Any]) -> Any:
        from kmsauthz.evaluate import Authorizer
        from kmsauthz.scenario import load_scenario_text

        assert Prepared is not None and to_scenario is not None, "run inside shared/bench/peers_bench.py"
        scenario = load_scenario_text(json.dumps(to_scenario(workload)), path=f"<workload {workload['id']}>")
        authorizer = Authorizer(scenario.world)
        deciders = {}
        for r, case in zip(workload["requests"], scenario.cases, strict=True):
            deciders[r["id"]] = lambda request=case.request: authorizer.decide(request).outcome
        return Prepared(deciders, limitations=[])
