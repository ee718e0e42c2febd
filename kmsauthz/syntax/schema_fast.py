"""A compiled yes/no check of the policy schema: the fast path in front of :mod:`jsonschema`.

`jsonschema` walks the schema per document (validator objects per node, `$ref` lookups through
a registry): ~2.5 ms for a small key policy, ten times the rest of the load. Nearly every document
is valid, and a valid one needs no messages, so the schema is compiled once into nested Python
closures that only answer "valid?". A document this check passes is valid; one it fails (or may
fail) goes to `jsonschema`, which produces every message exactly as before. The check is therefore
allowed to be stricter than the schema, never looser: any keyword it does not know, a non-string
object key, or a value of a type JSON does not have makes it answer "invalid" (the slow path).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

Check = Callable[[Any], bool]


class DocumentCheck(Protocol):
    def __call__(self, document: Any, *, json_typed: bool = False) -> bool: ...

_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "$defs", "$comment"})
"""Keywords that never affect validity (plus every `x-` extension keyword)."""


def _is_type(value: Any, name: str) -> bool:
    # jsonschema's draft 2020-12 types: bool is neither integer nor number.
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "null":
        return value is None
    raise _Unsupported(f"type {name}")


class _Unsupported(Exception):
    """The schema uses something this compiler does not model: use jsonschema alone."""


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, target: str) -> Check:
        if not target.startswith("#/$defs/") or "/" in target[len("#/$defs/"):]:
            raise _Unsupported(f"$ref {target}")
        if target not in self.refs:
            cell: list[Check] = []
            self.refs[target] = lambda v: cell[0](v)  # allows recursive definitions
            cell.append(self.compile(self.root["$defs"][target[len("#/$defs/"):]]))
        return self.refs[target]

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise _Unsupported("schema is not an object")
        checks: list[Check] = []
        for keyword, arg in schema.items():
            if keyword in _ANNOTATIONS or keyword.startswith("x-"):
                continue
            checks.append(self.keyword(keyword, arg, schema))
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        chain = tuple(checks)

        def every(v: Any) -> bool:
            for c in chain:  # noqa: SIM110 - a loop is faster than all() over a generator
                if not c(v):
                    return False
            return True

        return every

    def keyword(self, keyword: str, arg: Any, schema: dict[str, Any]) -> Check:
        if keyword == "type":
            names = [arg] if isinstance(arg, str) else list(arg)
            for n in names:
                _is_type(None, n)  # refuse unknown type names now
            if len(names) == 1:
                exact = {"string": str, "object": dict, "array": list, "boolean": bool}.get(names[0])
                if exact is not None:  # the document holds JSON types only (checked first): exact types
                    return lambda v: type(v) is exact
                only = names[0]
                return lambda v: _is_type(v, only)
            return lambda v: any(_is_type(v, n) for n in names)
        if keyword in ("enum", "const"):
            options = [arg] if keyword == "const" else list(arg)
            if not all(isinstance(o, str) for o in options):
                raise _Unsupported("non-string enum")
            allowed = frozenset(options)
            return lambda v: isinstance(v, str) and v in allowed
        if keyword == "$ref":
            return self.ref(arg)
        if keyword == "required":
            names = tuple(arg)
            return lambda v: not isinstance(v, dict) or all(n in v for n in names)
        if keyword == "properties":
            props = {name: self.compile(sub) for name, sub in arg.items()}

            def properties(v: Any) -> bool:
                if type(v) is dict:
                    for k, x in v.items():
                        c = props.get(k)
                        if c is not None and not c(x):
                            return False
                return True

            return properties
        if keyword == "additionalProperties":
            if "patternProperties" in schema:
                raise _Unsupported("patternProperties")
            known = frozenset(schema.get("properties", {}))
            if arg is False:
                return lambda v: not isinstance(v, dict) or all(k in known for k in v)
            extra = self.compile(arg)

            def additional(v: Any) -> bool:
                if type(v) is dict:
                    for k, x in v.items():
                        if k not in known and not extra(x):
                            return False
                return True

            return additional
        if keyword == "propertyNames":
            names_check = self.compile(arg)
            # A non-string key (only from YAML) is left to jsonschema.
            return lambda v: not isinstance(v, dict) or all(isinstance(k, str) and names_check(k) for k in v)
        if keyword == "items":
            if isinstance(arg, list) or "prefixItems" in schema:
                raise _Unsupported("tuple items")
            item = self.compile(arg)

            def items(v: Any) -> bool:
                if type(v) is list:
                    for x in v:
                        if not item(x):
                            return False
                return True

            return items
        if keyword == "minItems":
            n = int(arg)
            return lambda v: not isinstance(v, list) or len(v) >= n
        if keyword == "minProperties":
            n = int(arg)
            return lambda v: not isinstance(v, dict) or len(v) >= n
        if keyword == "minLength":
            n = int(arg)
            # JSON Schema counts code points; Python's len of a str does too.
            return lambda v: not isinstance(v, str) or len(v) >= n
        if keyword == "pattern":
            regex = re.compile(arg)
            return lambda v: not isinstance(v, str) or regex.search(v) is not None
        if keyword == "oneOf":
            alternatives = tuple(self.compile(s) for s in arg)

            def one_of(v: Any) -> bool:
                hits = 0
                for b in alternatives:
                    if b(v):
                        hits += 1
                return hits == 1

            return one_of
        if keyword == "anyOf":
            branches = [self.compile(s) for s in arg]
            return lambda v: any(b(v) for b in branches)
        if keyword == "allOf":
            branches = [self.compile(s) for s in arg]
            return lambda v: all(b(v) for b in branches)
        if keyword == "not":
            inner = self.compile(arg)
            return lambda v: not inner(v)
        raise _Unsupported(f"keyword {keyword}")


def _json_values_only(value: Any, depth: int = 0) -> bool:
    """Only the types a JSON document can hold (YAML can give dates, sets, non-string keys)."""
    if depth > 100:
        return False
    t = type(value)
    if t is str or t is bool or t is int or t is float or value is None:
        return True
    if t is list:
        return all(_json_values_only(x, depth + 1) for x in value)
    if t is dict:
        return all(type(k) is str and _json_values_only(x, depth + 1) for k, x in value.items())
    return False


def compile_schema(schema: dict[str, Any]) -> DocumentCheck | None:
    """A yes/no validity check of ``schema``, or None when the schema uses a keyword not modelled."""
    try:
        inner = _Compiler(schema).compile(schema)
    except (_Unsupported, KeyError, TypeError, ValueError, re.error):
        return None

    def check(document: Any, *, json_typed: bool = False) -> bool:
        """``json_typed``: the caller knows the document holds only JSON types (from the JSON reader)."""
        try:
            return (json_typed or _json_values_only(document)) and inner(document)
        except Exception:  # any surprise means: let jsonschema decide
            return False

    return check
