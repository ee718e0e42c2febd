"""The rules of each policy kind, checked on the model after the schema (so the same for JSON and .kmsp).

Sources (AWS documentation; the digest is `semantics.md` §1.6, §1.8, §6):

* key policies: every statement names a principal; Sid may contain spaces; 32 KB
  (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html,
  https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html#key-policy-limit)
* IAM policies: no Principal; Sid only `[A-Za-z0-9]` and unique within the policy
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html);
  every statement needs Action/NotAction and Resource/NotResource; managed policies 6,144
  characters, not counting white space
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html); session policies
  2,048 characters (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html)
* policy documents hold only TAB, LF, CR and U+0020..U+00FF (IAM quotas page; the KMS
  `Policy` parameter pattern)
* Principal: no partial wildcards, no IAM groups
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html)
* SCPs: no Principal/NotPrincipal; 5,120 characters, all characters counted. Since 2025-09-19 SCPs
  support the full IAM language (conditions and resource ARNs with Allow, NotAction with Allow,
  NotResource, wildcards anywhere in actions:
  https://aws.amazon.com/blogs/security/unlock-new-possibilities-aws-organizations-service-control-policy-now-supports-full-iam-language);
  the older, narrower SCP grammar is reported by :func:`legacy_scp_problems`, not enforced
* RCPs: Principal must be `"*"`; no NotPrincipal, no NotAction; 5,120 characters
  (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html)
* VPC endpoint policies: 20,480 characters
  (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kmsauthz.errors import DocumentTooLargeError, PolicyValidationError, Problem
from kmsauthz.model.policy import Policy, PolicyKind, Principal, Statement, ValueList
from kmsauthz.model.spans import Span, pointer_join
from kmsauthz.syntax.document import where

Locate = Callable[[str], Span | None]

IAM_KINDS = (PolicyKind.IDENTITY, PolicyKind.PERMISSIONS_BOUNDARY, PolicyKind.SESSION)
NO_PRINCIPAL_KINDS = (*IAM_KINDS, PolicyKind.SCP)

_IAM_SID = re.compile(r"[A-Za-z0-9]*")
_ALLOWED_CHAR = re.compile(r"[^\t\n\r\u0020-\u00ff]")
_ACCOUNT = re.compile(r"[0-9]{12}")
_GROUP_ARN = re.compile(r"arn:[^:]+:iam::[0-9]{12}:group/")
_PRINCIPAL_ARN = re.compile(r"arn:[a-z][a-z0-9-]*:(iam|sts)::[0-9]{12}:.+")
_UNIQUE_ID = re.compile(r"A[A-Z0-9]{15,127}")
"""IAM unique ids (`AIDA…`, `AROA…`): what a policy shows after the named principal was deleted."""


@dataclass(frozen=True)
class SizeLimit:
    limit: int
    unit: str  # "bytes" | "characters" | "non-whitespace characters"
    what: str


SIZE_LIMITS: dict[PolicyKind, SizeLimit] = {
    PolicyKind.KEY: SizeLimit(32_768, "bytes", "a key policy"),
    PolicyKind.IDENTITY: SizeLimit(6_144, "non-whitespace characters", "an IAM managed policy"),
    PolicyKind.PERMISSIONS_BOUNDARY: SizeLimit(6_144, "non-whitespace characters", "a permissions boundary"),
    PolicyKind.SESSION: SizeLimit(2_048, "non-whitespace characters", "a session policy"),
    PolicyKind.SCP: SizeLimit(5_120, "characters", "a service control policy"),
    PolicyKind.RCP: SizeLimit(5_120, "characters", "a resource control policy"),
    PolicyKind.VPC_ENDPOINT: SizeLimit(20_480, "characters", "a VPC endpoint policy"),
}


def infer_kind(document: Any) -> PolicyKind:
    """A document with a Principal/NotPrincipal anywhere is a key policy, else an identity policy."""
    raw = document.get("Statement") if isinstance(document, dict) else None
    items = raw if isinstance(raw, list) else [raw]
    for st in items:
        if isinstance(st, dict) and ("Principal" in st or "NotPrincipal" in st):
            return PolicyKind.KEY
    return PolicyKind.IDENTITY


def document_size(limit: SizeLimit, document: Any, raw_text: str | None) -> int:
    """Size as AWS counts it: of the text sent when we have it, else of compact JSON."""
    text = raw_text if raw_text is not None else json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    if limit.unit == "bytes":
        return len(text.encode("utf-8"))
    if limit.unit == "non-whitespace characters":
        return sum(1 for ch in text if not ch.isspace())
    return len(text)


def size_problem(
    kind: PolicyKind, document: Any, *, source: str, locate: Locate | None = None, raw_text: str | None = None
) -> Problem | None:
    """The `policy-too-large` problem when the document is over its kind's limit, else None.

    Cheap (one pass over the text), so the loader asks it before the schema and the model: a
    700 KB key policy was rejected only after six seconds of validating what AWS would refuse
    on size alone. None as well when the document cannot be measured (not JSON-shaped; the
    schema reports that).
    """
    limit = SIZE_LIMITS[kind]
    try:
        size = document_size(limit, document, raw_text)
    except (TypeError, ValueError, RecursionError):
        return None
    if size <= limit.limit:
        return None
    span = locate("") if locate is not None else None
    if span is None:
        span = Span(source, 0, 0, "")
    elif span.pointer != "":
        span = span.with_pointer("")
    return Problem(f"{limit.what} can be at most {limit.limit:,} {limit.unit}; this one is {size:,}", span,
                   "policy-too-large")


class _Checker:
    def __init__(self, policy: Policy, locate: Locate | None, source: str) -> None:
        self.policy = policy
        self.locate = locate
        self.source = source
        self.problems: list[Problem] = []

    def span(self, pointer: str, fallback: Span | None = None) -> Span:
        found = self.locate(pointer) if self.locate is not None else None
        if found is None:
            found = fallback if fallback is not None else Span(self.source, 0, 0, pointer)
        return found if found.pointer == pointer else found.with_pointer(pointer)

    def fail(self, pointer: str, message: str, fallback: Span | None = None, code: str = "policy-invalid") -> None:
        self.problems.append(Problem(message, self.span(pointer, fallback), code))


def _statement_pointer(policy: Policy, index: int) -> str:
    return f"/Statement/{index}" if policy.statement_is_list else "/Statement"


def _label(policy: Policy) -> str:
    return {
        PolicyKind.KEY: "a key policy",
        PolicyKind.IDENTITY: "an identity policy",
        PolicyKind.PERMISSIONS_BOUNDARY: "a permissions boundary",
        PolicyKind.SESSION: "a session policy",
        PolicyKind.SCP: "a service control policy",
        PolicyKind.RCP: "a resource control policy",
        PolicyKind.VPC_ENDPOINT: "a VPC endpoint policy",
    }[policy.kind]


def _values(vl: ValueList | None, pointer: str) -> Iterator[tuple[str, str, Span | None]]:
    if vl is None:
        return
    for i, value in enumerate(vl.values):
        span = vl.value_spans[i] if i < len(vl.value_spans) else vl.span
        yield value, (pointer if vl.scalar else pointer_join(pointer, i)), span


def _plain_principal(type_: str, value: str) -> bool:
    """A value the checks below pass without a word (an IAM/STS ARN, an account, `*`): one test for most."""
    if type_ == "AWS":
        if "*" in value or "?" in value:
            return value == "*"
        if _PRINCIPAL_ARN.fullmatch(value) is not None:
            return _GROUP_ARN.match(value) is None
        return _ACCOUNT.fullmatch(value) is not None or _UNIQUE_ID.fullmatch(value) is not None
    if type_ == "Service":
        return "*" not in value and "?" not in value
    return True


def _check_principal_values(c: _Checker, principal: Principal, pointer: str) -> None:
    for entry in principal.entries:
        type_ = entry.type
        if type_ != "AWS" and type_ != "Service":
            continue
        for value in entry.values.values:
            if not _plain_principal(type_, value):
                break
        else:
            continue  # nothing to report: no pointers built
        entry_ptr = pointer_join(pointer, entry.type)
        for value, ptr, span in _values(entry.values, entry_ptr):
            if entry.type == "AWS":
                if value == "*" or _ACCOUNT.fullmatch(value) or _UNIQUE_ID.fullmatch(value):
                    continue
                if "*" in value or "?" in value:
                    c.fail(ptr, f"{where(ptr)}: `{value}` has a partial wildcard; a principal can only be "
                                "\"*\" or a full ARN", span)
                elif _GROUP_ARN.match(value):
                    c.fail(ptr, f"{where(ptr)}: `{value}` is an IAM group; groups cannot be principals", span)
                elif not _PRINCIPAL_ARN.fullmatch(value):
                    c.fail(ptr, f"{where(ptr)}: `{value}` is not a valid AWS principal (expected \"*\", a "
                                "12-digit account id, or an IAM or STS ARN)", span)
            elif entry.type == "Service" and ("*" in value or "?" in value):
                c.fail(ptr, f"{where(ptr)}: `{value}`: a service principal cannot contain wildcards", span)


def _check_statement(c: _Checker, st: Statement, index: int) -> None:
    policy, kind = c.policy, c.policy.kind
    ptr = _statement_pointer(policy, index)
    if kind == PolicyKind.KEY and (st.principal is not None or st.not_principal is not None):
        # the common case, in short: a key policy's statement names principals; check their values
        if st.principal is not None:
            _check_principal_values(c, st.principal, ptr + "/Principal")
        if st.not_principal is not None:
            _check_principal_values(c, st.not_principal, ptr + "/NotPrincipal")
        return
    here = where(ptr)
    label = _label(policy)
    for attr, name in (("principal", "Principal"), ("not_principal", "NotPrincipal")):
        principal: Principal | None = getattr(st, attr)
        if principal is None:
            continue
        p_ptr = pointer_join(ptr, name)
        if kind in NO_PRINCIPAL_KINDS:
            c.fail(p_ptr, f"{here}: {label} cannot have {name}", principal.span)
            continue
        _check_principal_values(c, principal, p_ptr)
    if kind == PolicyKind.KEY and st.principal is None and st.not_principal is None:
        c.fail(ptr, f"{here}: every statement of a key policy needs Principal or NotPrincipal", st.span)
    if kind == PolicyKind.RCP:
        if st.not_principal is not None:
            c.fail(pointer_join(ptr, "NotPrincipal"), f"{here}: a resource control policy cannot have NotPrincipal",
                   st.not_principal.span)
        if st.principal is None or not st.principal.wildcard:
            target = pointer_join(ptr, "Principal") if st.principal is not None else ptr
            c.fail(target, f'{here}: the Principal of a resource control policy must be "*"',
                   st.principal.span if st.principal is not None else st.span)
        if st.not_action is not None:
            c.fail(pointer_join(ptr, "NotAction"), f"{here}: a resource control policy cannot have NotAction",
                   st.not_action.span)
    if kind in IAM_KINDS:
        if st.sid is not None and not _IAM_SID.fullmatch(st.sid):
            c.fail(pointer_join(ptr, "Sid"), f"{here}.Sid: `{st.sid}`: the Sid of {label} may contain only "
                                             "letters A-Z, a-z and digits 0-9 (no spaces)", st.sid_span)
        if st.action is None and st.not_action is None:
            c.fail(ptr, f"{here}: a statement of {label} needs Action or NotAction", st.span)
        if st.resource is None and st.not_resource is None:
            c.fail(ptr, f"{here}: a statement of {label} needs Resource or NotResource", st.span)


_ALLOWED_BYTES = b"\t\n\r" + bytes(range(0x20, 0x100))


def _clean_text(text: str) -> bool:
    """``_ALLOWED_CHAR.search(text) is None``, at C speed (the regex walks a 2 KB text in ~10 us)."""
    try:
        data = text.encode("latin-1")  # fails on a character above U+00FF
    except UnicodeEncodeError:
        return False
    return not data.translate(None, _ALLOWED_BYTES)  # what is left once every allowed byte is deleted


def _surely_clean(document: Any, raw_text: str | None = None) -> bool:
    """True when no string or key of the document can hold a character outside the allowed set.

    One C-speed pass (the JSON text, searched once) instead of a walk over every node: the text the
    document was read from when given (without a backslash, every string and key of the document
    is written verbatim in it), else its compact JSON. JSON escapes characters below U+0020
    (`\\b`, `\\u0001`), so any backslash in the text sends the document to the walk, which finds
    and locates the culprit.
    """
    if raw_text is not None and "\\" not in raw_text and _clean_text(raw_text):
        return True
    try:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):  # not JSON-shaped (e.g. from YAML): walk it
        return False
    return "\\" not in text and _clean_text(text)


def _check_characters(c: _Checker, document: Any, pointer: str = "", raw_text: str | None = None) -> None:
    if not pointer and _surely_clean(document, raw_text):
        return
    if isinstance(document, str):
        bad = _ALLOWED_CHAR.search(document)
        if bad:
            ch = bad.group()
            c.fail(pointer, f"{where(pointer)}: character U+{ord(ch):04X} is not allowed in a policy document "
                            "(only tab, line feed, carriage return and U+0020 to U+00FF)")
    elif isinstance(document, dict):
        for key, value in document.items():
            member = pointer_join(pointer, key)
            if _ALLOWED_CHAR.search(key):
                ch = _ALLOWED_CHAR.search(key).group()  # type: ignore[union-attr]
                c.fail(member, f"{where(pointer)}: key `{key}` has character U+{ord(ch):04X}, which is not "
                               "allowed in a policy document")
            _check_characters(c, value, member)
    elif isinstance(document, list):
        for i, value in enumerate(document):
            _check_characters(c, value, pointer_join(pointer, i))


def kind_problems(
    policy: Policy, document: Any, *, locate: Locate | None = None, raw_text: str | None = None
) -> list[Problem]:
    """Every rule of the policy's kind that the document breaks, with locations."""
    source = policy.span.source if policy.span is not None else "<string>"
    c = _Checker(policy, locate, source)
    _check_characters(c, document, raw_text=raw_text)
    for i, st in enumerate(policy.statements):
        _check_statement(c, st, i)
    if policy.kind in IAM_KINDS:
        seen: dict[str, int] = {}
        for i, st in enumerate(policy.statements):
            if st.sid is None:
                continue
            if st.sid in seen:
                ptr = pointer_join(_statement_pointer(policy, i), "Sid")
                c.fail(ptr, f"{where(ptr)}: duplicate Sid `{st.sid}` (also Statement[{seen[st.sid]}]); "
                            f"Sids must be unique in {_label(policy)}", st.sid_span)
            else:
                seen[st.sid] = i
    too_large = size_problem(policy.kind, document, source=source, locate=locate, raw_text=raw_text)
    if too_large is not None:
        c.problems.append(too_large)
    c.problems.sort(key=lambda p: (p.span.line, p.span.column) if p.span else (0, 0))
    return c.problems


def check_kind(policy: Policy, document: Any, *, locate: Locate | None = None, raw_text: str | None = None) -> None:
    """Raise with every kind-rule problem; :class:`DocumentTooLargeError` when a size limit is one of them."""
    problems = kind_problems(policy, document, locate=locate, raw_text=raw_text)
    if not problems:
        return
    if any(p.code == "policy-too-large" for p in problems):
        raise DocumentTooLargeError(problems)
    raise PolicyValidationError(problems)


def legacy_scp_problems(policy: Policy, *, locate: Locate | None = None) -> list[Problem]:
    """The SCP grammar before 2025-09-19 (IAM Access Analyzer's `SCP syntax error …` checks).

    AWS now accepts all of these; a tool may still report them, for organizations whose tooling
    expects the old grammar. Not enforced at load time.
    """
    source = policy.span.source if policy.span is not None else "<string>"
    c = _Checker(policy, locate, source)
    for i, st in enumerate(policy.statements):
        ptr = _statement_pointer(policy, i)
        here = where(ptr)
        if st.not_resource is not None:
            c.fail(pointer_join(ptr, "NotResource"), f"{here}: SCP syntax: NotResource is not supported",
                   st.not_resource.span)
        if st.effect == "Allow":
            if st.condition is not None:
                c.fail(pointer_join(ptr, "Condition"), f"{here}: SCP syntax: Condition only with Deny",
                       st.condition.span)
            if st.not_action is not None:
                c.fail(pointer_join(ptr, "NotAction"), f"{here}: SCP syntax: NotAction only with Deny",
                       st.not_action.span)
            if st.resource is not None and st.resource.values != ("*",):
                c.fail(pointer_join(ptr, "Resource"), f'{here}: SCP syntax: an Allow can only have Resource "*"',
                       st.resource.span)
        for name, vl in (("Action", st.action), ("NotAction", st.not_action)):
            for value, vptr, span in _values(vl, pointer_join(ptr, name)):
                if "*" in value.rstrip("*") or "?" in value:
                    c.fail(vptr, f"{where(vptr)}: SCP syntax: `{value}`: wildcards only at the end of an action",
                           span)
    return c.problems
