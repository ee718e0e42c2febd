"""Request validation against the botocore KMS API model shipped on this machine.

Each operation's input shape is compiled once into small checker closures (types, required
members, length and value limits, enums, patterns), so a call costs a few dictionary look-ups.
A violation is a ``ValidationException`` that names the parameter (botocore raises
``ParamValidationError`` client-side for the same mistakes). Blob parameters are normalised to
``bytes`` (``str`` is UTF-8 encoded, as botocore does); timestamps to aware ``datetime``.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from kmsauthz.kms.errors import ValidationException
from kmsauthz.kms.secrets import SecretBytes

Checker = Callable[[Any, str], Any]


def _fail(path: str, what: str) -> ValidationException:
    return ValidationException(f"1 validation error detected: value at `{path}` failed to satisfy constraint: {what}")


@cache
def service_model() -> dict[str, Any]:
    """The raw botocore KMS service model (``data/kms/2014-11-01/service-2.json[.gz]``).

    Read straight from botocore's package data: importing ``botocore.loaders`` (and the
    ``Loader`` machinery behind it) costs 0.15-0.2 s of start-up, the file itself a few ms.
    """
    path = _model_path()
    if path is None:  # pragma: no cover - an unusual botocore layout: let botocore find it
        try:
            from botocore.loaders import Loader
        except ImportError as exc:  # pragma: no cover - botocore is a dependency of the local KMS
            raise RuntimeError("the local kms needs botocore (`pip install botocore`) for its api model") from exc
        return Loader().load_service_model("kms", "service-2")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return json.loads(raw)


def _model_path() -> Path | None:
    """botocore's KMS model file, newest API version first, without importing botocore."""
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the local kms needs botocore (`pip install botocore`) for its api model")
    for base in spec.submodule_search_locations:
        service = Path(base) / "data" / "kms"
        if not service.is_dir():
            continue
        for version in sorted((d for d in service.iterdir() if d.is_dir()), reverse=True):
            for name in ("service-2.json", "service-2.json.gz"):
                if (version / name).is_file():
                    return version / name
    return None


def _length(path: str, n: int, lo: int | None, hi: int | None) -> ValidationException:
    if lo is not None and n < lo:
        return _fail(path, f"member must have length greater than or equal to {lo}")
    return _fail(path, f"member must have length less than or equal to {hi}")


def _limits(shape: Mapping[str, Any]) -> tuple[int | None, int | None]:
    return shape.get("min"), shape.get("max")


class _Compiler:
    def __init__(self, model: Mapping[str, Any]) -> None:
        self.shapes: Mapping[str, Any] = model["shapes"]
        self.done: dict[str, Checker] = {}

    def checker(self, name: str) -> Checker:
        if name in self.done:
            return self.done[name]
        # placeholder for recursive shapes
        self.done[name] = lambda v, p: self.done[name](v, p)
        made = self._make(self.shapes[name])
        self.done[name] = made
        return made

    def _make(self, shape: Mapping[str, Any]) -> Checker:
        kind = shape["type"]
        lo, hi = _limits(shape)
        lo_ok = lo if lo is not None else 0
        hi_ok = hi if hi is not None else sys.maxsize
        if kind == "string":
            enum = frozenset(shape["enum"]) if "enum" in shape else None
            pattern = re.compile(shape["pattern"]) if "pattern" in shape else None
            enum_text = ", ".join(sorted(enum)) if enum else ""

            def check_string(v: Any, p: str) -> str:
                if type(v) is not str:
                    raise _fail(p, f"member must be a string, not {type(v).__name__}")
                if not lo_ok <= len(v) <= hi_ok:
                    raise _length(p, len(v), lo, hi)
                if enum is not None and v not in enum:
                    raise _fail(p, f"member must satisfy enum value set: [{enum_text}]")
                if pattern is not None and pattern.fullmatch(v) is None:
                    raise _fail(p, f"member must satisfy regular expression pattern: {pattern.pattern}")
                return v
            return check_string
        if kind == "blob":
            def check_blob(v: Any, p: str) -> bytes:
                t = type(v)
                if t is not bytes:
                    if t is str:
                        v = v.encode("utf-8")
                    elif isinstance(v, bytearray | memoryview | SecretBytes):
                        v = bytes(v)
                    else:
                        raise _fail(p, f"member must be bytes, not {t.__name__}")
                if not lo_ok <= len(v) <= hi_ok:
                    raise _length(p, len(v), lo, hi)
                return v
            return check_blob
        if kind in ("integer", "long"):
            def check_int(v: Any, p: str) -> int:
                if type(v) is not int:
                    raise _fail(p, f"member must be an integer, not {type(v).__name__}")
                if lo is not None and v < lo:
                    raise _fail(p, f"member must have value greater than or equal to {lo}")
                if hi is not None and v > hi:
                    raise _fail(p, f"member must have value less than or equal to {hi}")
                return v
            return check_int
        if kind == "boolean":
            def check_bool(v: Any, p: str) -> bool:
                if type(v) is not bool:
                    raise _fail(p, f"member must be a boolean, not {type(v).__name__}")
                return v
            return check_bool
        if kind == "timestamp":
            return _check_timestamp
        if kind == "list":
            member = self.checker(shape["member"]["shape"])

            def check_list(v: Any, p: str) -> list[Any]:
                if not isinstance(v, list | tuple):
                    raise _fail(p, f"member must be a list, not {type(v).__name__}")
                if not lo_ok <= len(v) <= hi_ok:
                    raise _length(p, len(v), lo, hi)
                return [member(x, f"{p}[{i}]") for i, x in enumerate(v)]
            return check_list
        if kind == "map":
            key = self.checker(shape["key"]["shape"])
            value = self.checker(shape["value"]["shape"])

            def check_map(v: Any, p: str) -> dict[Any, Any]:
                if not isinstance(v, Mapping):
                    raise _fail(p, f"member must be a map, not {type(v).__name__}")
                if not lo_ok <= len(v) <= hi_ok:
                    raise _length(p, len(v), lo, hi)
                return {key(k, f"{p}.key"): value(x, f"{p}[{k!r}]") for k, x in v.items()}
            return check_map
        if kind == "structure":
            return self.structure(shape)
        raise ValueError(f"unsupported shape type {kind}")

    def structure(self, shape: Mapping[str, Any], top: bool = False) -> Checker:
        members = {n: self.checker(m["shape"]) for n, m in shape.get("members", {}).items()}
        required = tuple(shape.get("required", ()))
        known = ", ".join(members)
        fast = self._accepts(shape)

        def check_struct(v: Any, p: str) -> dict[str, Any]:
            if type(v) is not dict and not isinstance(v, Mapping):
                raise _fail(p or "input", f"member must be a structure, not {type(v).__name__}")
            for r in required:
                if r not in v:
                    where = f"{p}.{r}" if p else r
                    raise ValidationException(f"1 validation error detected: missing required parameter `{where}`")
            out: dict[str, Any] = {}
            for k, x in v.items():
                c = members.get(k)
                where = f"{p}.{k}" if p else k  # top level: the name itself, no formatting
                if c is None:
                    raise ValidationException(
                        f"1 validation error detected: unknown parameter `{where}`, must be one of: {known}")
                out[k] = c(x, where)
            return out

        return _compile_fast(required, fast, check_struct) if fast else check_struct

    def _accepts(self, shape: Mapping[str, Any]) -> dict[str, tuple[type, int, int, frozenset[str] | None]]:
        """Members whose valid values a type, a length range and an enum recognise: (type, min, max, enum).

        A value that passes is returned unchanged by its full checker too; any other value goes
        to the full checker, which raises the exact error (or normalises, e.g. str -> bytes).
        """
        out: dict[str, tuple[type, int, int, frozenset[str] | None]] = {}
        for n, m in shape.get("members", {}).items():
            member = self.shapes[m["shape"]]
            kind = member["type"]
            if kind not in ("string", "blob") or (kind == "string" and "pattern" in member):
                continue
            lo, hi = _limits(member)
            enum = frozenset(member["enum"]) if kind == "string" and "enum" in member else None
            out[n] = (str if kind == "string" else bytes, lo if lo is not None else 0,
                      hi if hi is not None else sys.maxsize, enum)
        return out


def _compile_fast(required: tuple[str, ...], fast: Mapping[str, tuple[type, int, int, frozenset[str] | None]],
                  full: Checker) -> Checker:
    """A structure checker specialised to one shape: Python source generated once, then compiled.

    It accepts only the common case, a ``dict`` holding the required members whose every member
    is a str/bytes of allowed length (and enum value), which ``full`` would return as an
    unchanged copy; for any other input it returns ``full(v, p)``, so errors and normalisation
    are exactly the full checker's. Names and bounds enter the source only through ``repr``.
    """
    env: dict[str, Any] = {"full": full, "str": str, "bytes": bytes, "dict": dict, "len": len, "type": type}
    need = " and ".join(f"{r!r} in v" for r in required)
    lines = ["def check(v, p):", f"    if type(v) is dict{' and ' + need if need else ''}:",
             "        for k, x in v.items():"]
    for i, (name, (tp, lo, hi, enum)) in enumerate(fast.items()):
        test = [f"type(x) is {tp.__name__}", f"{lo} <= len(x) <= {hi}"]
        if enum is not None:
            env[f"enum{i}"] = enum
            test.append(f"x in enum{i}")
        lines += [f"            {'if' if i == 0 else 'elif'} k == {name!r}:",
                  f"                if {' and '.join(test)}:", "                    continue"]
    lines += ["            return full(v, p)", "        return v.copy()", "    return full(v, p)"]
    exec(compile("\n".join(lines), "<kms validation>", "exec"), env)
    check: Checker = env["check"]
    check.__wrapped__ = full  # type: ignore[attr-defined]  # the reference, for tests
    return check


def _check_timestamp(v: Any, p: str) -> datetime:
    if isinstance(v, datetime):
        return v if v.tzinfo is not None else v.replace(tzinfo=UTC)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return datetime.fromtimestamp(v, tz=UTC)
    if isinstance(v, str):
        try:
            d = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise _fail(p, "member must be a timestamp (ISO 8601 or epoch seconds)") from None
        return d if d.tzinfo is not None else d.replace(tzinfo=UTC)
    raise _fail(p, f"member must be a timestamp, not {type(v).__name__}")


@cache
def validators() -> dict[str, Checker]:
    """Operation name → compiled checker of its input parameters."""
    model = service_model()
    comp = _Compiler(model)
    out: dict[str, Checker] = {}
    for name, op in model["operations"].items():
        shape_name = op.get("input", {}).get("shape")
        if shape_name is None:
            out[name] = comp.structure({"members": {}})
        else:
            out[name] = comp.structure(comp.shapes[shape_name], top=True)
    return out


def operation_names() -> tuple[str, ...]:
    return tuple(service_model()["operations"])


def validate(operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``params`` against ``operation``'s input shape and return them normalised."""
    return validators()[operation](params, "")


__all__ = ["operation_names", "service_model", "validate", "validators"]
