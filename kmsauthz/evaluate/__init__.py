"""The evaluator: compile policies once, decide requests as AWS KMS would.

``Authorizer(world).decide(request) -> Decision`` is the entry point (``engine.py``); the stages
it runs are ``resolve`` (key references), ``context`` (condition keys), ``compile`` (indexed
matchers over ``patterns``, ``variables`` and ``conditions``) and ``explain`` (reason sentences).
``reference`` is a second, plainly written evaluator of the same rules for differential tests.
"""

from kmsauthz.evaluate.engine import Authorizer

__all__ = ["Authorizer"]
