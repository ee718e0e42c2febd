"""Policy elements used in ways AWS warns about: Version, variables, NotPrincipal, NotAction, Sids."""

from __future__ import annotations

from collections.abc import Iterator

from kmsauthz.audit.findings import Severity
from kmsauthz.audit.rules._registry import KEY, KEY_AND_IAM, Hit, rule
from kmsauthz.audit.rules._text import actions_text
from kmsauthz.audit.rules.facts import PolicyFacts
from kmsauthz.model.spans import Span


def _variable_places(facts: PolicyFacts) -> Iterator[tuple[int, str, Span | None]]:
    for f in facts.statements:
        st = f.statement
        for vl in (st.resource, st.not_resource):
            if vl is not None:
                for v in vl.values:
                    if "${" in v:
                        yield f.index, v, vl.span
        for c in f.clauses:
            for v in c.values:
                if isinstance(v, str) and "${" in v:
                    yield f.index, v, c.span


@rule("variables-unsupported-version", Severity.ERROR,
      "policy variables in a policy without Version 2012-10-17", kinds=KEY_AND_IAM)
def variables_unsupported_version(facts: PolicyFacts) -> Iterator[Hit]:
    """Only Version 2012-10-17 replaces `${...}`; otherwise it is literal text (IAM
    reference_policies_variables.html; Access Analyzer "Variable unsupported in version")."""
    if facts.policy.supports_variables:
        return
    version = facts.policy.version
    for index, value, span in _variable_places(facts):
        yield Hit(
            f"`{value}` is compared literally: policy variables need `\"Version\": \"2012-10-17\"`"
            + (f" (this policy has `{version}`)" if version else " (this policy has no Version)"),
            statement=index,
            span=span,
        )


@rule("missing-version", Severity.WARNING, "the policy has no Version", kinds=KEY_AND_IAM)
def missing_version(facts: PolicyFacts) -> Iterator[Hit]:
    """Access Analyzer MISSING_VERSION: without it, 2008-10-17 rules apply (no policy variables)."""
    if facts.policy.version is None:
        yield Hit('the policy has no `Version`: add `"Version": "2012-10-17"`', span=facts.policy.span,
                  pointer="")


@rule("notprincipal-with-allow", Severity.SECURITY, "Allow with NotPrincipal", kinds=KEY)
def notprincipal_with_allow(facts: PolicyFacts) -> Iterator[Hit]:
    """IAM: NotPrincipal must be used with Deny; with Allow it grants every principal not listed,
    in every account (IAM reference_policies_elements_notprincipal.html)."""
    for f in facts.statements:
        if f.allow and f.not_principal is not None:
            yield Hit(
                "`NotPrincipal` with `Allow` grants the statement to every principal not listed, in "
                "every AWS account",
                statement=f.index,
                span=f.not_principal.span or f.span,
                help="name the principals in `Principal` instead",
            )


@rule("notaction-with-allow", Severity.WARNING, "Allow with NotAction", kinds=KEY_AND_IAM)
def notaction_with_allow(facts: PolicyFacts) -> Iterator[Hit]:
    """An Allow with NotAction grants every action not listed, including ones added to KMS later."""
    for f in facts.statements:
        if f.allow and f.not_action is not None and f.actions:
            admin = {a for a in f.actions if a in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion",
                                                   "kms:CreateGrant")}
            yield Hit(
                f"`NotAction` with `Allow` grants {len(f.actions)} KMS actions"
                + (f", including {actions_text(admin)}" if admin else "")
                + ", and every action KMS adds later",
                statement=f.index,
                span=f.not_action.span or f.span,
                help="list the allowed actions in `Action`",
            )


@rule("duplicate-sid", Severity.WARNING, "two statements share a Sid", kinds=KEY)
def duplicate_sid(facts: PolicyFacts) -> Iterator[Hit]:
    """Access Analyzer "Unique Sids recommended": explanations and suppressions name statements by Sid."""
    seen: dict[str, int] = {}
    for f in facts.statements:
        if f.sid is None or f.sid == "":
            continue
        if f.sid in seen:
            yield Hit(
                f"Sid `{f.sid}` is also used by Statement[{seen[f.sid]}]",
                statement=f.index,
                span=f.statement.sid_span or f.span,
            )
        else:
            seen[f.sid] = f.index
