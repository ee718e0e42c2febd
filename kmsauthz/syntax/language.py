"""The policy language (`.kmsp`, grammar in `grammar/policy.lark`) → the AWS JSON document + spans.

Parsing produces exactly the document the equivalent JSON file would hold, plus the span of
every node by JSON pointer, so the schema, the structural converter and the kind rules run
unchanged on both forms and every error names a line and column in the `.kmsp` file.
Comments are returned too, for the formatter.
"""

from __future__ import annotations

import json
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from kmsauthz._resources import grammar_file
from kmsauthz.errors import PolicySyntaxError, Problem
from kmsauthz.model.spans import Span, pointer_join
from kmsauthz.syntax.snippet import LineIndex, caret_snippet

PRINCIPAL_TYPES = {"aws": "AWS", "service": "Service", "federated": "Federated", "canonical-user": "CanonicalUser"}
ELEMENTS = {
    "principal": ("Principal", "principal"),
    "not_principal": ("NotPrincipal", "not principal"),
    "action": ("Action", "action"),
    "not_action": ("NotAction", "not action"),
    "resource": ("Resource", "resource"),
    "not_resource": ("NotResource", "not resource"),
    "condition": ("Condition", "when"),
}

_TERMINAL_WORDS = {
    "VERSION": "`version`",
    "ID": "`id`",
    "STATEMENT": "`statement`",
    "OBJECT": "`object`",
    "PRINCIPAL": "`principal`",
    "NOT": "`not`",
    "ACTION": "`action`",
    "RESOURCE": "`resource`",
    "WHEN": "`when`",
    "AND": "`and`",
    "STRING": "a quoted string",
    "BARE": "a value",
    "NUMBER": "a number",
    "OPERATOR": "a condition operator",
    "EFFECT": "a statement (`allow` or `deny`)",
    "PRINCIPAL_TYPE": "a principal type (`aws`, `service`, `federated`, `canonical-user`)",
    "STAR": "`*`",
    "TRUE": "`true`",
    "FALSE": "`false`",
    "$END": "end of file",
}


@dataclass(frozen=True)
class Comment:
    text: str
    line: int
    column: int
    end_line: int
    own_line: bool
    """True when nothing but white space precedes the comment on its line."""


@dataclass
class Parsed:
    document: dict[str, Any]
    spans: dict[str, Span] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)

    def locate(self, pointer: str) -> Span | None:
        return self.spans.get(pointer)


_COMMENT_SINK: ContextVar[list[Token] | None] = ContextVar("kmsp_comments", default=None)


def _collect_comment(tok: Token) -> Token:
    sink = _COMMENT_SINK.get()
    if sink is not None:
        sink.append(tok)
    return tok


@cache
def _parser() -> Lark:
    with open(grammar_file("policy.lark"), encoding="utf-8") as fh:
        grammar = fh.read()
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        lexer_callbacks={"LINE_COMMENT": _collect_comment, "BLOCK_COMMENT": _collect_comment},
    )


def _expected_words(expected: set[str] | frozenset[str] | list[str]) -> str:
    parser = _parser()
    by_name = {t.name: t for t in parser.terminals}
    words: list[str] = []
    for name in sorted(expected):
        if name in _TERMINAL_WORDS:
            words.append(_TERMINAL_WORDS[name])
            continue
        term = by_name.get(name)
        if term is not None and term.pattern.type == "str":
            words.append(f"`{term.pattern.value}`")
        elif name.endswith("COMMENT") or name == "WS":
            continue
        else:
            words.append(name.lower())
    unique = sorted(dict.fromkeys(words))
    if not unique:
        return "something else"
    if len(unique) == 1:
        return unique[0]
    return ", ".join(unique[:-1]) + " or " + unique[-1]


class _Builder:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.index = LineIndex(text)
        self.spans: dict[str, Span] = {}

    def error(self, message: str, line: int, column: int, width: int = 1) -> PolicySyntaxError:
        snippet = caret_snippet(self.index, line, column, width)
        return PolicySyntaxError([Problem(f"{message}\n{snippet}", Span(self.source, line, column), "policy-syntax")])

    def token_error(self, message: str, tok: Token) -> PolicySyntaxError:
        width = max(1, (tok.end_column or tok.column + 1) - tok.column) if tok.end_line == tok.line else 1
        return self.error(message, tok.line or 0, tok.column or 0, width)

    def mark(self, pointer: str, first: Token | Tree, last: Token | Tree | None = None) -> None:
        end = last if last is not None else first
        if isinstance(first, Tree) and not first.meta.empty:
            line, column = first.meta.line, first.meta.column
        else:
            a = _first_token(first)
            line, column = a.line or 0, a.column or 0
        if isinstance(end, Tree) and not end.meta.empty:
            end_line, end_column = end.meta.end_line, end.meta.end_column
        else:
            b = _last_token(end)
            end_line, end_column = b.end_line, b.end_column
        self.spans[pointer] = Span(self.source, line, column, pointer, end_line, end_column)

    # values --------------------------------------------------------------------------------
    def text_value(self, node: Tree) -> tuple[str, Token]:
        tok = node.children[0]
        assert isinstance(tok, Token)
        if tok.type == "STRING":
            return _decode_string(self, tok), tok
        return str(tok), tok

    def values(self, node: Tree, pointer: str) -> str | list[str]:
        items = [c for c in node.children if isinstance(c, Tree)]
        if node.data == "scalar":
            value, tok = self.text_value(items[0])
            self.mark(pointer, tok)
            return value
        out: list[str] = []
        for i, item in enumerate(items):
            value, tok = self.text_value(item)
            self.mark(pointer_join(pointer, i), tok)
            out.append(value)
        self.mark(pointer, node)
        return out

    def cvalue(self, node: Tree) -> tuple[Any, Token]:
        tok = node.children[0]
        assert isinstance(tok, Token)
        if tok.type == "STRING":
            return _decode_string(self, tok), tok
        if tok.type == "TRUE":
            return True, tok
        if tok.type == "FALSE":
            return False, tok
        value = json.loads(str(tok))
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            raise self.token_error("number is out of range", tok)
        return value, tok

    def cvalues(self, node: Tree, pointer: str) -> Any:
        items = [c for c in node.children if isinstance(c, Tree)]
        if node.data == "scalar":
            value, tok = self.cvalue(items[0])
            return value, tok
        out: list[Any] = []
        for i, item in enumerate(items):
            value, tok = self.cvalue(item)
            self.mark(pointer_join(pointer, i), tok)
            out.append(value)
        return out, node

    # structure -----------------------------------------------------------------------------
    def document(self, tree: Tree) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        statements: list[dict[str, Any]] = []
        statement_nodes: list[Tree] = []
        object_form: Tree | None = None
        seen_headers: dict[str, Tree] = {}
        for child in tree.children:
            if not isinstance(child, Tree):
                continue
            if child.data == "statement":
                statement_nodes.append(child)
                continue
            if child.data in seen_headers:
                keyword = {"version": "version", "policy_id": "id", "statement_object": "statement object"}[child.data]
                raise self.error(f"duplicate `{keyword}`", child.meta.line, child.meta.column, len(keyword))
            seen_headers[child.data] = child
            if child.data == "version":
                doc["Version"], tok = self.text_value(child.children[-1])
                self.mark("/Version", tok)
            elif child.data == "policy_id":
                doc["Id"], tok = self.text_value(child.children[-1])
                self.mark("/Id", tok)
            else:
                object_form = child
        if object_form is not None and len(statement_nodes) != 1:
            raise self.error(f"`statement object` needs exactly one statement, found {len(statement_nodes)}",
                             object_form.meta.line, object_form.meta.column, len("statement object"))
        for i, node in enumerate(statement_nodes):
            pointer = "/Statement" if object_form is not None else f"/Statement/{i}"
            statements.append(self.statement(node, pointer))
        if object_form is not None:
            doc["Statement"] = statements[0]
        else:
            doc["Statement"] = statements
            if statement_nodes:
                self.mark("/Statement", statement_nodes[0], statement_nodes[-1])
            else:
                self.spans["/Statement"] = Span(self.source, 1, 1, "/Statement")
        self.spans[""] = Span(self.source, 1, 1, "")
        return doc

    def statement(self, node: Tree, pointer: str) -> dict[str, Any]:
        self.mark(pointer, node)
        out: dict[str, Any] = {}
        effect = node.children[0]
        assert isinstance(effect, Token)
        sid_node = node.children[1]
        if isinstance(sid_node, Tree):
            out["Sid"], tok = self.text_value(sid_node)
            self.mark(pointer_join(pointer, "Sid"), tok)
        out["Effect"] = "Allow" if str(effect) == "allow" else "Deny"
        self.mark(pointer_join(pointer, "Effect"), effect)
        seen: dict[str, Tree] = {}
        for element in node.children[2:]:
            if not isinstance(element, Tree):
                continue
            name, keyword = ELEMENTS[element.data]
            key = pointer_join(pointer, name)
            if element.data in ("principal", "not_principal"):
                self.principal(element, out, name, key, keyword)
                continue
            if element.data in seen:
                raise self.error(f"duplicate `{keyword}` in this statement (first on line "
                                 f"{seen[element.data].meta.line})", element.meta.line, element.meta.column,
                                 len(keyword))
            seen[element.data] = element
            body = element.children[-1]
            assert isinstance(body, Tree)
            if element.data == "condition":
                out[name] = self.condition(body, key)
                self.mark(key, element)
            else:
                out[name] = self.values(body, key)
        return out

    def principal(self, element: Tree, out: dict[str, Any], name: str, pointer: str, keyword: str) -> None:
        body = element.children[-1]
        assert isinstance(body, Tree)
        existing = out.get(name)
        if body.data == "principal_star":
            if existing is not None:
                raise self.error(f"`{keyword} *` cannot be combined with other `{keyword}` lines",
                                 element.meta.line, element.meta.column, len(keyword))
            out[name] = "*"
            self.mark(pointer, element)
            return
        if existing == "*":
            raise self.error(f"`{keyword} *` cannot be combined with other `{keyword}` lines",
                             element.meta.line, element.meta.column, len(keyword))
        type_tok = body.children[0]
        assert isinstance(type_tok, Token)
        json_type = PRINCIPAL_TYPES[str(type_tok)]
        mapping: dict[str, Any] = existing if isinstance(existing, dict) else {}
        if json_type in mapping:
            raise self.token_error(f"duplicate principal type `{type_tok}` in `{keyword}`; put all values in one list",
                                   type_tok)
        if not mapping:
            self.mark(pointer, element)
        else:
            first = self.spans[pointer]
            last = _last_token(element)
            self.spans[pointer] = Span(self.source, first.line, first.column, pointer, last.end_line, last.end_column)
        values_node = body.children[1]
        assert isinstance(values_node, Tree)
        mapping[json_type] = self.values(values_node, pointer_join(pointer, json_type))
        out[name] = mapping

    def condition(self, node: Tree, pointer: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        if node.data == "empty_condition":
            return out
        for clause in node.children:
            if not isinstance(clause, Tree):
                continue  # the `and` tokens
            op_tok, key_node, values_node = clause.children
            assert isinstance(op_tok, Token) and isinstance(key_node, Tree) and isinstance(values_node, Tree)
            operator = str(op_tok)
            op_ptr = pointer_join(pointer, operator)
            if operator not in out:
                out[operator] = {}
                self.mark(op_ptr, op_tok)
            key, key_tok = self.text_value(key_node)
            key_ptr = pointer_join(op_ptr, key)
            if key in out[operator]:
                raise self.token_error(f"duplicate condition `{operator} {key}`; put all values in one list", key_tok)
            value, last = self.cvalues(values_node, key_ptr)
            out[operator][key] = value
            self.mark(key_ptr, key_tok, last)
        return out


def _first_token(node: Token | Tree) -> Token:
    if isinstance(node, Token):
        return node
    for child in node.children:
        if isinstance(child, Token | Tree):
            return _first_token(child)
    raise ValueError("empty node")


def _last_token(node: Token | Tree) -> Token:
    if isinstance(node, Token):
        return node
    for child in reversed(node.children):
        if isinstance(child, Token | Tree):
            return _last_token(child)
    raise ValueError("empty node")


def _decode_string(builder: _Builder, tok: Token) -> str:
    raw = str(tok)
    value = json.loads(raw)
    assert isinstance(value, str)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise builder.token_error("unpaired UTF-16 surrogate in `\\u` escape", tok)
    return value


def parse_kmsp(text: str, source: str = "<string>") -> Parsed:
    """Parse policy-language text into the AWS JSON document, spans and comments."""
    builder = _Builder(text, source)
    if "\x00" in text:
        line, column = builder.index.position(text.index("\x00"))
        raise builder.error("NUL byte in the policy text", line, column)
    tokens: list[Token] = []
    reset = _COMMENT_SINK.set(tokens)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(builder, exc) from None
    finally:
        _COMMENT_SINK.reset(reset)
    document = builder.document(tree)
    comments = []
    for tok in tokens:
        line, column = tok.line or 0, tok.column or 0
        prefix = builder.index.line_text(line)[: column - 1]
        comments.append(Comment(str(tok).rstrip("\r"), line, column, tok.end_line or line, not prefix.strip()))
    comments.sort(key=lambda c: (c.line, c.column))
    return Parsed(document, builder.spans, comments)


def _syntax_error(builder: _Builder, exc: UnexpectedInput) -> PolicySyntaxError:
    line = getattr(exc, "line", 0) or 0
    column = getattr(exc, "column", 0) or 0
    if isinstance(exc, UnexpectedCharacters):
        ch = builder.text[exc.pos_in_stream] if exc.pos_in_stream < len(builder.text) else ""
        if ch == '"':
            return builder.error("unterminated string: a `\"` without its closing quote on the same line",
                                 line, column)
        shown = f"`{ch}`" if ch.isprintable() and ch else f"character U+{ord(ch):04X}" if ch else "end of file"
        expected = _expected_words(exc.allowed or set())
        return builder.error(f"unexpected {shown}: expected {expected}", line, column)
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if exc.interactive_parser is not None:
            with suppress(Exception):  # keep lark's own list when it cannot say more
                exc.expected = set(exc.interactive_parser.accepts())
        if tok.type == "$END":
            last_line = builder.text.count("\n") + 1
            last_col = len(builder.text.rsplit("\n", 1)[-1]) + 1
            return builder.error(f"unexpected end of file: expected {_expected_words(exc.expected)}",
                                 last_line, last_col)
        shown = str(tok) if len(str(tok)) <= 40 else str(tok)[:37] + "…"
        return builder.token_error(f"unexpected `{shown}`: expected {_expected_words(exc.expected)}", tok)
    if isinstance(exc, UnexpectedEOF):
        last_line = builder.text.count("\n") + 1
        last_col = len(builder.text.rsplit("\n", 1)[-1]) + 1
        return builder.error(f"unexpected end of file: expected {_expected_words(exc.expected)}", last_line, last_col)
    return builder.error(f"syntax error: {exc}", line, column)
