"""A document tree that keeps where each node was written and its YAML tag (`!Ref`, `!Sub`...).

CloudFormation templates come as YAML with short-form intrinsic tags or as JSON; both become the
same small tree so the intrinsic resolver (`cloudformation.py`) works on one shape. YAML is read
through PyYAML's composer (libyaml when available), never its constructor: the constructor loses
positions and rejects unknown tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from kmsauthz.syntax.json_reader import read_json

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader

_STD = "tag:yaml.org,2002:"
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
MAX_DEPTH = 100


@dataclass
class Node:
    kind: str
    """`map`, `seq` or `scalar`."""
    value: Any = None
    """Scalar value; for `map` a dict of key → Node; for `seq` a list of Node."""
    tag: str | None = None
    """A local tag such as `!Ref`, else None."""
    line: int = 0
    column: int = 0
    items: dict[str, Node] = field(default_factory=dict)
    elements: list[Node] = field(default_factory=list)

    def get(self, key: str) -> Node | None:
        return self.items.get(key) if self.kind == "map" else None

    def plain(self) -> Any:
        """The value without positions or tags (tags are kept as `{"!Tag": value}`)."""
        if self.kind == "map":
            out: Any = {k: v.plain() for k, v in self.items.items()}
        elif self.kind == "seq":
            out = [e.plain() for e in self.elements]
        else:
            out = self.value
        return {self.tag: out} if self.tag else out


class DocumentError(Exception):
    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


def _scalar(node: yaml.ScalarNode) -> Any:
    text = node.value
    if node.style is not None:  # quoted or block scalar: always text
        return text
    if node.tag.startswith("!"):
        return text
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


MAX_ALIAS_NODES = 100_000
"""How many nodes YAML aliases may re-expand in one document (bounds a "billion laughs" file)."""


class _Expansion:
    def __init__(self) -> None:
        self.built: set[int] = set()
        self.rebuilt = 0


def _from_yaml(node: yaml.Node, depth: int = 0, expansion: _Expansion | None = None) -> Node:
    if depth > MAX_DEPTH:
        raise DocumentError("the document is nested too deeply", node.start_mark.line + 1)
    if expansion is None:
        expansion = _Expansion()
    if id(node) in expansion.built:
        expansion.rebuilt += 1
        if expansion.rebuilt > MAX_ALIAS_NODES:
            raise DocumentError(f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes",
                                node.start_mark.line + 1, node.start_mark.column + 1)
    else:
        expansion.built.add(id(node))
    tag = node.tag if node.tag.startswith("!") else None
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.MappingNode):
        out = Node("map", tag=tag, line=line, column=column)
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                raise DocumentError("a mapping key must be a scalar", k.start_mark.line + 1, k.start_mark.column + 1)
            if k.value in out.items:
                raise DocumentError(f"duplicate key `{k.value}`", k.start_mark.line + 1, k.start_mark.column + 1)
            out.items[k.value] = _from_yaml(v, depth + 1, expansion)
        return out
    if isinstance(node, yaml.SequenceNode):
        out = Node("seq", tag=tag, line=line, column=column)
        out.elements = [_from_yaml(v, depth + 1, expansion) for v in node.value]
        return out
    assert isinstance(node, yaml.ScalarNode)
    return Node("scalar", value=_scalar(node), tag=tag, line=line, column=column)


def parse_yaml(text: str) -> Node:
    """Compose YAML (or JSON) text into a located tree; raise DocumentError with a line."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise DocumentError(f"not valid YAML: {exc.problem}", (mark.line + 1) if mark else 0,
                            (mark.column + 1) if mark else 0) from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"not valid YAML: {exc}") from None
    if root is None:
        raise DocumentError("the document is empty")
    return _from_yaml(root)


def parse_json(text: str, source: str) -> Node:
    """Read JSON with the syntax layer's strict positional reader into the same tree."""
    located = read_json(text, source)

    def build(value: Any, pointer: str) -> Node:
        span = located.spans.get(pointer)
        line, column = (span.line, span.column) if span is not None else (0, 0)
        if isinstance(value, dict):
            n = Node("map", line=line, column=column)
            for k, v in value.items():
                n.items[k] = build(v, pointer + "/" + k.replace("~", "~0").replace("/", "~1"))
            return n
        if isinstance(value, list):
            n = Node("seq", line=line, column=column)
            n.elements = [build(v, f"{pointer}/{i}") for i, v in enumerate(value)]
            return n
        return Node("scalar", value=value, line=line, column=column)

    return build(located.value, "")
