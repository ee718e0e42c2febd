"""YAML (and JSON) text → plain Python values, with the position of every node by JSON pointer.

PyYAML's own constructor loses positions and follows YAML 1.1, where `on` is a boolean, `0777` an
octal number and `2026-01-01` a datetime. Scenario files are JSON-shaped documents, so values are
built here from PyYAML's node tree under the YAML 1.2 core schema instead:

- plain scalars become null, booleans (`true`/`false` in any of YAML's three spellings), integers,
  floats, or strings; timestamps stay strings, exactly as written (`now` and Date condition values
  are text in AWS's JSON too);
- mapping keys are always the text written (`Null:` is the `Null` condition operator, not None;
  an unquoted account id key is the string `111122223333`);
- duplicate keys, non-scalar keys and tags other than the standard ones are errors with a line.

:class:`Source` keeps a :class:`Span` for every value and every mapping key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from kmsauthz.errors import Problem
from kmsauthz.model.spans import Span, pointer_join

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

_STD = "tag:yaml.org,2002:"
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_INT_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}

MAX_DEPTH = 100
MAX_ALIAS_NODES = 100_000
"""How many nodes YAML aliases may re-expand in one file."""


@dataclass
class Source:
    """A parsed document: its value and where each part of it was written."""

    path: str
    text: str
    value: Any = None
    spans: dict[str, Span] = field(default_factory=dict)
    """JSON pointer → position of the value at that pointer."""
    key_spans: dict[str, Span] = field(default_factory=dict)
    """JSON pointer of a mapping member → position of its key."""
    root: yaml.Node | None = field(default=None, repr=False)

    def span(self, pointer: str) -> Span:
        """The position of ``pointer``, else of its nearest ancestor that has one."""
        p = pointer
        while True:
            found = self.spans.get(p)
            if found is not None:
                return found if found.pointer == pointer else found.with_pointer(pointer)
            if not p:
                return Span(self.path, 0, 0, pointer)
            p = p.rsplit("/", 1)[0]

    def node(self, pointer: str) -> yaml.Node | None:
        """The YAML node at ``pointer`` (for the few callers that need its style: `dsl` blocks)."""
        node = self.root
        for raw in pointer.split("/")[1:]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
                node = node.value[int(part)]
            else:
                return None
        return node

    def key_span(self, pointer: str) -> Span:
        """Where the key of the member at ``pointer`` was written (for 'unknown field' errors)."""
        return self.key_spans.get(pointer) or self.span(pointer)

    def locator(self, base: str):
        """A `locate(json_pointer) -> Span` for a document embedded at ``base`` (a policy)."""

        def locate(pointer: str) -> Span | None:
            return self.span(base + pointer).with_pointer(pointer)

        return locate


class YamlError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


def _mark_span(path: str, mark: Any, pointer: str) -> Span:
    if mark is None:
        return Span(path, 0, 0, pointer)
    return Span(path, mark.line + 1, mark.column + 1, pointer)


def _scalar(node: yaml.ScalarNode) -> Any:
    """The value of a scalar under the YAML 1.2 core schema (see the module docstring)."""
    text, tag = node.value, node.tag
    if node.style or tag in (_STD + "str", _STD + "timestamp"):
        return text  # quoted and block scalars, explicit !!str, and timestamps: the text as written
    if tag == _STD + "null":
        return None
    if tag == _STD + "bool":
        return _BOOL.get(text, text)  # YAML 1.1's yes/no/on/off are strings here
    if _INT.match(text):
        return int(text)
    if _INT_HEX.match(text):
        return int(text[2:], 16)
    if text.lower() in _SPECIAL_FLOAT:
        return _SPECIAL_FLOAT[text.lower()]
    if _FLOAT.match(text):
        return float(text)
    return text  # YAML 1.1-only numbers (1_000, 12:30) stay text


class _Builder:
    def __init__(self, source: Source) -> None:
        self.src = source
        self.problems: list[Problem] = []
        self._active: set[int] = set()
        self._built: set[int] = set()
        self._rebuilt = 0

    def fail(self, span: Span, message: str, help: str | None = None) -> None:
        self.problems.append(Problem(message, span, "scenario-invalid", help))

    def build(self, node: yaml.Node, pointer: str, depth: int = 0) -> Any:
        span = _mark_span(self.src.path, node.start_mark, pointer)
        self.src.spans[pointer] = span
        if depth > MAX_DEPTH:
            self.fail(span, f"document nested deeper than {MAX_DEPTH} levels")
            return None
        if not node.tag.startswith(_STD):
            self.fail(span, f"unsupported YAML tag `{node.tag}`",
                      "scenario files hold plain data: mappings, lists, strings, numbers, booleans")
            return None
        if id(node) in self._built:
            # A YAML alias re-expands its anchor's whole subtree; bound that work so a small file of
            # nested aliases (a "billion laughs") is an error, not minutes of CPU and gigabytes.
            self._rebuilt += 1
            if self._rebuilt > MAX_ALIAS_NODES:
                if self._rebuilt == MAX_ALIAS_NODES + 1:
                    self.fail(span, f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes",
                              "write the repeated data out, or reuse less of it through aliases")
                return None
        else:
            self._built.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.tag not in {_STD + t for t in ("str", "int", "float", "bool", "null", "timestamp")}:
                self.fail(span, f"unsupported YAML tag `{node.tag}`")
                return None
            return _scalar(node)
        if id(node) in self._active:
            self.fail(span, "recursive YAML alias")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, pointer_join(pointer, i), depth + 1) for i, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, pointer, depth)
        finally:
            self._active.discard(id(node))
        self.fail(span, "unsupported YAML node")  # pragma: no cover
        return None

    def _mapping(self, node: yaml.MappingNode, pointer: str, depth: int) -> dict[str, Any]:
        if node.tag != _STD + "map":
            self.fail(_mark_span(self.src.path, node.start_mark, pointer), f"unsupported YAML tag `{node.tag}`")
            return {}
        pairs = list(node.value)
        if any(k.tag == _STD + "merge" for k, _ in pairs):
            pairs = self._merged(pairs)
        out: dict[str, Any] = {}
        for key_node, value_node in pairs:
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(_mark_span(self.src.path, key_node.start_mark, pointer), "a mapping key must be a plain string")
                continue
            key = key_node.value
            member = pointer_join(pointer, key)
            key_span = _mark_span(self.src.path, key_node.start_mark, member)
            if key in out:
                self.fail(key_span, f"duplicate field `{key}`",
                          "YAML and JSON documents must not repeat a key in one mapping")
                continue
            self.src.key_spans[member] = key_span
            out[key] = self.build(value_node, member, depth + 1)
        return out

    def _merged(self, pairs: list[tuple[yaml.Node, yaml.Node]]) -> list[tuple[yaml.Node, yaml.Node]]:
        """Apply YAML merge keys (`<<: *defaults`): explicit keys win over merged ones."""
        explicit = [(k, v) for k, v in pairs if k.tag != _STD + "merge"]
        names = {k.value for k, _ in explicit if isinstance(k, yaml.ScalarNode)}
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for k, v in pairs:
            if k.tag != _STD + "merge":
                continue
            sources = v.value if isinstance(v, yaml.SequenceNode) else [v]
            for src in sources:
                if not isinstance(src, yaml.MappingNode):
                    self.fail(_mark_span(self.src.path, src.start_mark, ""), "a merge key (`<<`) needs a mapping")
                    continue
                for mk, mv in src.value:
                    if isinstance(mk, yaml.ScalarNode) and mk.value not in names:
                        names.add(mk.value)
                        merged.append((mk, mv))
        return explicit + merged


def parse_yaml(text: str, path: str) -> Source:
    """Parse one YAML/JSON document; raise :class:`YamlError` with located problems."""
    src = Source(path=path, text=text)
    bad = _unencodable(text)
    if bad is not None:
        line = text.count("\n", 0, bad) + 1
        column = bad - (text.rfind("\n", 0, bad) + 1) + 1
        raise YamlError([Problem(f"invalid text: `\\u{ord(text[bad]):04x}` is a lone surrogate, not a character",
                                 Span(path, line, column, ""), "scenario-invalid")])
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or str(exc)
        if exc.context and exc.problem:
            what = (f"{exc.problem} ({exc.context})" if exc.context.startswith("while")
                    else f"{exc.context}, {exc.problem}")
        raise YamlError([Problem(f"invalid YAML: {what}", _mark_span(path, mark, ""), "scenario-invalid")]) from None
    except yaml.YAMLError as exc:
        raise YamlError([Problem(f"invalid YAML: {exc}", Span(path, 0, 0, ""), "scenario-invalid")]) from None
    if root is None:
        raise YamlError([Problem("the file is empty", Span(path, 1, 1, ""), "scenario-invalid")])
    src.root = root
    builder = _Builder(src)
    src.value = builder.build(root, "")
    if builder.problems:
        raise YamlError(builder.problems)
    return src


def _unencodable(text: str) -> int | None:
    """Index of the first lone surrogate (text that came from bytes never has one; PyYAML's C
    parser raises UnicodeEncodeError on it), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def compose_root_keys(text: str) -> set[str] | None:
    """The top-level keys of a YAML/JSON mapping document, or None if it is not one (or not YAML)."""
    if _unencodable(text) is not None:
        return None
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    return {k.value for k, _ in root.value if isinstance(k, yaml.ScalarNode)}
