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


_EXACT_TYPES: dict[str, frozenset[type]] = {
    "string": frozenset({str}), "object": frozenset({dict}), "array": frozenset({list}),
    "boolean": frozenset({bool}), "number": frozenset({int, float}), "null": frozenset({type(None)}),
}
"""What each JSON Schema type is, for values of exact JSON types (bool is not a number here)."""

_GUARDS: dict[str, frozenset[type]] = {**_EXACT_TYPES, "integer": frozenset({int, float})}
"""The Python types a value of each JSON Schema type can have (an integer may be written 1.0)."""

_OBJECT_KEYWORDS = frozenset({"type", "required", "properties", "additionalProperties", "minProperties",
                              "propertyNames"})
_ARRAY_KEYWORDS = frozenset({"type", "items", "minItems"})


class _Compiler:
    """Schema → nested closures. The document holds exact JSON types only (checked first), so
    type tests are ``type(v) is ...`` and a `oneOf` whose branches take disjoint types is a
    dispatch on ``type(v)`` to the one branch that can match."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}
        self.pending: set[str] = set()

    def _target(self, target: str) -> Any:
        if not target.startswith("#/$defs/") or "/" in target[len("#/$defs/"):]:
            raise _Unsupported(f"$ref {target}")
        return self.root["$defs"][target[len("#/$defs/"):]]

    def ref(self, target: str) -> Check:
        schema = self._target(target)
        if target in self.refs:
            return self.refs[target]
        if target in self.pending:  # a recursive definition: look it up when called
            refs = self.refs
            return lambda v: refs[target](v)
        self.pending.add(target)
        self.refs[target] = compiled = self.compile(schema)
        self.pending.discard(target)
        return compiled

    def guard(self, schema: Any, seen: frozenset[str] = frozenset()) -> frozenset[type] | None:
        """The types a value ``schema`` accepts can have (a superset), or None for any type."""
        if schema is False:
            return frozenset()
        if not isinstance(schema, dict):
            return None
        out: frozenset[type] | None = None
        for keyword, arg in schema.items():
            here: frozenset[type] | None = None
            if keyword == "type":
                names = [arg] if isinstance(arg, str) else list(arg)
                if not all(n in _GUARDS for n in names):
                    continue
                here = frozenset().union(*(_GUARDS[n] for n in names))
            elif keyword in ("enum", "const"):
                options = [arg] if keyword == "const" else list(arg)
                if not all(isinstance(o, str) for o in options):
                    continue
                here = frozenset({str})
            elif keyword == "$ref" and isinstance(arg, str) and arg not in seen:
                here = self.guard(self._target(arg), seen | {arg})
            elif keyword == "allOf":
                for sub in arg:
                    g = self.guard(sub, seen)
                    if g is not None:
                        here = g if here is None else here & g
            elif keyword in ("oneOf", "anyOf"):
                branches = [self.guard(sub, seen) for sub in arg]
                if any(g is None for g in branches):
                    continue
                here = frozenset().union(*branches)  # type: ignore[arg-type]
            if here is not None:
                out = here if out is None else out & here
        return out

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise _Unsupported("schema is not an object")
        checks: list[Check] = []
        fused: frozenset[str] = frozenset()
        if schema.get("type") == "object":
            checks.append(self.object_check(schema))
            fused = _OBJECT_KEYWORDS
        elif schema.get("type") == "array":
            checks.append(self.array_check(schema))
            fused = _ARRAY_KEYWORDS
        for keyword, arg in schema.items():
            if keyword in _ANNOTATIONS or keyword.startswith("x-") or keyword in fused:
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

    def object_check(self, schema: dict[str, Any]) -> Check:
        """`type: object` with its member keywords, in one pass over the members."""
        if "patternProperties" in schema:
            raise _Unsupported("patternProperties")
        required = tuple(schema.get("required", ()))
        props = {name: self.compile(sub) for name, sub in schema.get("properties", {}).items()}
        extra_arg = schema.get("additionalProperties", True)
        closed = extra_arg is False
        extra = None if extra_arg is True or closed else self.compile(extra_arg)
        min_props = int(schema.get("minProperties", 0))
        names = self.compile(schema["propertyNames"]) if "propertyNames" in schema else None

        def obj(v: Any) -> bool:
            if type(v) is not dict or len(v) < min_props:
                return False
            for n in required:
                if n not in v:
                    return False
            for k, x in v.items():
                if names is not None and (type(k) is not str or not names(k)):
                    return False  # a non-string key (only from YAML) is left to jsonschema
                c = props.get(k)
                if c is not None:
                    if not c(x):
                        return False
                elif closed or (extra is not None and not extra(x)):
                    return False
            return True

        return obj

    def array_check(self, schema: dict[str, Any]) -> Check:
        """`type: array` with `items` and `minItems`, in one pass."""
        arg = schema.get("items", True)
        if isinstance(arg, list) or "prefixItems" in schema:
            raise _Unsupported("tuple items")
        item = None if arg is True else self.compile(arg)
        min_items = int(schema.get("minItems", 0))

        def arr(v: Any) -> bool:
            if type(v) is not list or len(v) < min_items:
                return False
            if item is not None:
                for x in v:
                    if not item(x):
                        return False
            return True

        return arr

    def keyword(self, keyword: str, arg: Any, schema: dict[str, Any]) -> Check:
        if keyword == "type":
            names = [arg] if isinstance(arg, str) else list(arg)
            for n in names:
                _is_type(None, n)  # refuse unknown type names now
            if all(n in _EXACT_TYPES for n in names):  # the document holds JSON types only: exact types
                allowed_types = frozenset().union(*(_EXACT_TYPES[n] for n in names))
                if len(allowed_types) == 1:
                    (exact,) = allowed_types
                    return lambda v: type(v) is exact
                return lambda v: type(v) in allowed_types
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
            guards = [self.guard(s) for s in arg]
            if all(g is not None for g in guards) and sum(map(len, guards)) == len(frozenset().union(*guards)):  # type: ignore[arg-type]
                # Disjoint types: at most one branch can match, the one for type(v).
                by_type = {t: alt for g, alt in zip(guards, alternatives, strict=True) for t in g}  # type: ignore[union-attr]

                def dispatch(v: Any) -> bool:
                    alt = by_type.get(type(v))
                    return alt is not None and alt(v)

                return dispatch

            def one_of(v: Any) -> bool:
                hits = 0
                for b in alternatives:
                    if b(v):
                        hits += 1
                return hits == 1

            return one_of
        if keyword == "anyOf":
            any_of = tuple(self.compile(s) for s in arg)

            def some(v: Any) -> bool:
                for b in any_of:  # noqa: SIM110 - a loop is faster than any() over a generator
                    if b(v):
                        return True
                return False

            return some
        if keyword == "allOf":
            all_of = tuple(self.compile(s) for s in arg)

            def each(v: Any) -> bool:
                for b in all_of:  # noqa: SIM110 - a loop is faster than all() over a generator
                    if not b(v):
                        return False
                return True

            return each
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
