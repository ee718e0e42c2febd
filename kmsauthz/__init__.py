"""kmsauthz: decide, exactly as AWS KMS would, whether a request on a KMS key is allowed.

The public API, by pipeline stage (each name is imported on first use, so ``import kmsauthz`` —
and every pytest run on a machine where the pytest plugin is installed — stays cheap)::

    text → model        load_policy_text, load_policy_file, load_policy_document, to_json, to_kmsp
    model               Policy, PolicyKind, Request, World, Decision, Effect, Match
    decision            Authorizer (compile a world once, decide many requests)
    scenarios           load_scenario, load_world, run_paths
    local KMS           LocalKMS, KMSError
    audit               audit_paths, audit_policy
    errors              KmsauthzError, InputError, PolicySyntaxError, PolicyValidationError,
                        ScenarioError

Example::

    from kmsauthz import Authorizer, load_world, Request

    world = load_world("world.yaml")
    decision = Authorizer(world).decide(Request(principal="arn:aws:iam::111122223333:role/app",
                                                action="kms:Decrypt", key="alias/orders"))
    print(decision.effect, decision.reason)
"""

import typing as _typing
from importlib import import_module as _import_module

__version__ = "0.1.0"

_WHERE: dict[str, str] = {
    "load_policy_text": "kmsauthz.syntax",
    "load_policy_file": "kmsauthz.syntax",
    "load_policy_document": "kmsauthz.syntax",
    "to_json": "kmsauthz.syntax",
    "to_kmsp": "kmsauthz.syntax",
    "Policy": "kmsauthz.model",
    "PolicyKind": "kmsauthz.model",
    "Request": "kmsauthz.model",
    "World": "kmsauthz.model",
    "Decision": "kmsauthz.model",
    "Effect": "kmsauthz.model",
    "Match": "kmsauthz.model",
    "Authorizer": "kmsauthz.evaluate",
    "load_scenario": "kmsauthz.scenario",
    "load_world": "kmsauthz.scenario",
    "run_paths": "kmsauthz.scenario",
    "LocalKMS": "kmsauthz.kms",
    "KMSError": "kmsauthz.kms",
    "audit_paths": "kmsauthz.audit",
    "audit_policy": "kmsauthz.audit",
    "KmsauthzError": "kmsauthz.errors",
    "InputError": "kmsauthz.errors",
    "PolicySyntaxError": "kmsauthz.errors",
    "PolicyValidationError": "kmsauthz.errors",
    "ScenarioError": "kmsauthz.errors",
}

if _typing.TYPE_CHECKING:
    from kmsauthz.audit import audit_paths, audit_policy
    from kmsauthz.errors import (
        InputError,
        KmsauthzError,
        PolicySyntaxError,
        PolicyValidationError,
        ScenarioError,
    )
    from kmsauthz.evaluate import Authorizer
    from kmsauthz.kms import KMSError, LocalKMS
    from kmsauthz.model import Decision, Effect, Match, Policy, PolicyKind, Request, World
    from kmsauthz.scenario import load_scenario, load_world, run_paths
    from kmsauthz.syntax import load_policy_document, load_policy_file, load_policy_text, to_json, to_kmsp


def __getattr__(name: str) -> _typing.Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'kmsauthz' has no attribute {name!r}")
    value = getattr(_import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "Authorizer",
    "Decision",
    "Effect",
    "InputError",
    "KMSError",
    "KmsauthzError",
    "LocalKMS",
    "Match",
    "Policy",
    "PolicyKind",
    "PolicySyntaxError",
    "PolicyValidationError",
    "Request",
    "ScenarioError",
    "World",
    "__version__",
    "audit_paths",
    "audit_policy",
    "load_policy_document",
    "load_policy_file",
    "load_policy_text",
    "load_scenario",
    "load_world",
    "run_paths",
    "to_json",
    "to_kmsp",
]
