"""Model → text: the policy language in its one canonical layout, and AWS JSON (2-space indent).

The language printer emits (line, anchor) pairs, the anchor being the JSON pointer of the node a
line came from; the formatter uses the anchors' source lines to put each comment of the original
file back beside the node it was written next to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kmsauthz.model.policy import Condition, Policy, Principal, Scalar, Statement, ValueList
from kmsauthz.model.spans import Span, pointer_join
from kmsauthz.syntax.document import policy_to_document

WIDTH = 100
INDENT = "  "
_BARE = re.compile(r"[A-Za-z0-9_.:*?@+=~%-][A-Za-z0-9_.:/*?@+=~%-]*")
_TYPE_WORDS = {"AWS": "aws", "Service": "service", "Federated": "federated", "CanonicalUser": "canonical-user"}


def to_json(policy: Policy) -> str:
    """The AWS JSON form, 2-space indented, with a final newline."""
    return json.dumps(policy_to_document(policy), indent=2, ensure_ascii=False) + "\n"


def text_token(value: str) -> str:
    """A string as the language writes it: bare when it is a plain word, else JSON-quoted."""
    return value if _BARE.fullmatch(value) else quoted(value)


def arn_token(value: str) -> str:
    """Resources and principals are quoted (ARNs read better so); only a lone `*` stays bare."""
    return "*" if value == "*" else quoted(value)


_LINE_BREAKING = re.compile("[\u007f-\u009f\u2028\u2029]")
"""Characters JSON leaves raw but that `str.splitlines`, editors and terminals treat as line breaks
or controls (U+0085 NEL, U+2028, U+2029, the C1 controls): printed as `\\u` escapes."""


def quoted(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return _LINE_BREAKING.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def scalar_token(value: Scalar) -> str:
    """A condition value keeps its JSON type: strings are always quoted, numbers and booleans bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quoted(value)
    return json.dumps(value)


@dataclass(frozen=True)
class Line:
    text: str
    anchor: str | None = None
    """JSON pointer of the node this line prints; `end:<pointer>` for a statement's closing brace."""


class _Printer:
    def __init__(self) -> None:
        self.lines: list[Line] = []

    def emit(self, text: str, anchor: str | None = None) -> None:
        self.lines.append(Line(text, anchor))

    def value_list(self, prefix: str, tokens: Sequence[str], scalar: bool, pointer: str, indent: str) -> None:
        """`prefix value`, `prefix [a, b]`, or one item per line when the list is too wide."""
        if scalar and len(tokens) == 1:
            self.emit(f"{prefix} {tokens[0]}", pointer)
            return
        inline = f"{prefix} [{', '.join(tokens)}]"
        if len(inline) <= WIDTH or not tokens:
            self.emit(inline, pointer)
            return
        self.emit(f"{prefix} [", pointer)
        for i, tok in enumerate(tokens):
            self.emit(f"{indent}{INDENT}{tok},", pointer_join(pointer, i))
        self.emit(f"{indent}]", None)

    def principal(self, keyword: str, principal: Principal, pointer: str) -> None:
        if principal.wildcard:
            self.emit(f"{INDENT}{keyword} *", pointer)
            return
        for entry in principal.entries:
            vl = entry.values
            self.value_list(f"{INDENT}{keyword} {_TYPE_WORDS[entry.type]}", [arn_token(v) for v in vl.values],
                            vl.scalar, pointer_join(pointer, entry.type), INDENT)

    def values(self, keyword: str, vl: ValueList, pointer: str) -> None:
        token = text_token if keyword.endswith("action") else arn_token
        self.value_list(f"{INDENT}{keyword}", [token(v) for v in vl.values], vl.scalar, pointer, INDENT)

    def condition(self, condition: Condition, pointer: str) -> None:
        if not condition.clauses:
            self.emit(f"{INDENT}when {{}}", pointer)
            return
        # grouped by operator in first-appearance order, as the JSON object holds them
        order = {op: i for i, op in enumerate(condition.operators())}
        clauses = sorted(enumerate(condition.clauses), key=lambda ic: (order[ic[1].operator], ic[0]))
        for n, (_, clause) in enumerate(clauses):
            lead = f"{INDENT}when" if n == 0 else f"{INDENT} and"
            key_ptr = pointer_join(pointer, clause.operator, clause.key)
            tokens = [scalar_token(v) for v in clause.values]
            self.value_list(f"{lead} {clause.operator} {text_token(clause.key)}", tokens, clause.scalar,
                            key_ptr, INDENT)

    def statement(self, st: Statement, pointer: str) -> None:
        head = st.effect.lower()
        if st.sid is not None:
            head += f" {quoted(st.sid)}"
        self.emit(f"{head} {{", pointer)
        if st.principal is not None:
            self.principal("principal", st.principal, pointer_join(pointer, "Principal"))
        if st.not_principal is not None:
            self.principal("not principal", st.not_principal, pointer_join(pointer, "NotPrincipal"))
        for keyword, vl, name in (
            ("action", st.action, "Action"),
            ("not action", st.not_action, "NotAction"),
            ("resource", st.resource, "Resource"),
            ("not resource", st.not_resource, "NotResource"),
        ):
            if vl is not None:
                self.values(keyword, vl, pointer_join(pointer, name))
        if st.condition is not None:
            self.condition(st.condition, pointer_join(pointer, "Condition"))
        self.emit("}", f"end:{pointer}")

    def policy(self, policy: Policy) -> None:
        if policy.version is not None:
            self.emit(f"version {quoted(policy.version)}", "/Version")
        if policy.id is not None:
            self.emit(f"id {quoted(policy.id)}", "/Id")
        if not policy.statement_is_list and len(policy.statements) == 1:
            self.emit("statement object", None)
            pointers = ["/Statement"]
        else:
            pointers = [f"/Statement/{i}" for i in range(len(policy.statements))]
        for st, pointer in zip(policy.statements, pointers, strict=True):
            if self.lines:
                self.emit("", None)
            self.statement(st, pointer)


def kmsp_lines(policy: Policy) -> list[Line]:
    printer = _Printer()
    printer.policy(policy)
    return printer.lines


def to_kmsp(policy: Policy) -> str:
    """The policy language text of a policy, in the canonical layout."""
    return render(kmsp_lines(policy))


def render(lines: Sequence[Line]) -> str:
    return "".join(line.text.rstrip() + "\n" for line in lines)


def with_comments(
    lines: list[Line], comments: Sequence[Any], locate: Callable[[str], Span | None]
) -> list[Line]:
    """Put each comment back: own-line comments before the first node written after them,
    end-of-line comments after the node on their line (else on a line of their own)."""
    def source_line(anchor: str | None) -> int | None:
        if anchor is None:
            return None
        if anchor.startswith("end:"):
            span = locate(anchor[4:])
            return span.end_line if span is not None and span.end_line else None
        span = locate(anchor)
        return span.line if span is not None and span.line else None

    anchors = [source_line(line.anchor) for line in lines]
    before: dict[int, list[str]] = {}
    after: dict[int, list[str]] = {}
    trailing: list[str] = []
    for comment in comments:
        if not comment.own_line:
            same = [i for i, a in enumerate(anchors) if a == comment.line]
            if same:
                after.setdefault(same[-1], []).append(comment.text)
                continue
        target = next((i for i, a in enumerate(anchors) if a is not None and a >= comment.line), None)
        if target is None:
            trailing.append(comment.text)
        else:
            before.setdefault(target, []).append(comment.text)
    out: list[Line] = []
    for i, line in enumerate(lines):
        indent = line.text[: len(line.text) - len(line.text.lstrip())]
        if line.text.startswith(("}", "]")) or line.text.strip().startswith("]"):
            indent += INDENT
        for text in before.get(i, []):
            out.append(Line(indent + text, None))
        text = line.text
        for extra in after.get(i, []):
            text += "  " + extra
        out.append(Line(text, line.anchor))
    if trailing and out:
        out.append(Line("", None))
    out.extend(Line(text, None) for text in trailing)
    return out
