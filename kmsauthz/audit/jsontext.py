"""JSON text with a two-space indent, as `json.dumps(value, indent=2, ensure_ascii=False)` writes it."""

from __future__ import annotations

import json


def dumps_indented(value: object) -> str:
    """Exactly `json.dumps(value, indent=2, ensure_ascii=False)`, without its pure-Python encoder.

    `json.dumps` with an indent runs a generator per node; a report of thousands of findings spent
    more time there than in the rules. Values other than plain JSON ones go to `json.dumps`.
    """
    try:
        return _indented(value, "")
    except _Unsupported:
        return json.dumps(value, indent=2, ensure_ascii=False)


class _Unsupported(Exception):
    """A value `_indented` does not write itself; `json.dumps` then writes the whole report."""


def _indented(o: object, indent: str) -> str:
    """`json.dumps(o, indent=2, ensure_ascii=False)` at nesting ``indent``, for plain JSON values.

    Strings go through the C string encoder; anything but dict/list/str/int/bool/None (a float, a
    str or int subclass, a tuple) raises `_Unsupported`.
    """
    t = type(o)
    if t is str:
        return _string(o)
    if t is dict:
        if not o:
            return "{}"
        inner = indent + "  "
        parts = []
        for k, v in o.items():  # type: ignore[attr-defined]
            if type(k) is not str:
                raise _Unsupported
            # the common scalars inline: a report is mostly flat finding mappings
            tv = type(v)
            if tv is str:
                parts.append(f"{_string(k)}: {_string(v)}")
            elif v is None:
                parts.append(f"{_string(k)}: null")
            elif tv is int:
                parts.append(f"{_string(k)}: {int.__repr__(v)}")
            else:
                parts.append(f"{_string(k)}: {_indented(v, inner)}")
        return "{\n" + inner + (",\n" + inner).join(parts) + "\n" + indent + "}"
    if t is list:
        if not o:
            return "[]"
        inner = indent + "  "
        return "[\n" + inner + (",\n" + inner).join([_indented(v, inner) for v in o]) + "\n" + indent + "]"  # type: ignore[attr-defined]
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if t is int:
        return int.__repr__(o)  # type: ignore[arg-type]
    raise _Unsupported


_string = json.encoder.encode_basestring  # type: ignore[attr-defined]
