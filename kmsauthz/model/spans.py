"""Source locations carried by every model node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class SpanResolver(Protocol):
    """Where a deferred span finds its position: the eager span at a pointer, or None."""

    def resolve(self, pointer: str) -> Span | None: ...


_DEFERRED = frozenset({"line", "column", "end_line", "end_column"})
_new = object.__new__
_set = object.__setattr__


class _Deferrable:
    # A slot outside the dataclass fields: set only on a deferred span (see `deferred_span`).
    __slots__ = ("_at",)


@dataclass(frozen=True, slots=True)
class Span(_Deferrable):
    """Where a node came from: file (or `<string>`), 1-based line and column, JSON pointer.

    ``end_line``/``end_column`` are optional (the policy-language parser knows them, the JSON
    loader knows them for scalars). ``pointer`` is an RFC 6901 pointer into the AWS JSON form of
    the document, also for nodes parsed from the policy language, so every finding can name the
    node in both forms.

    A span made by :func:`deferred_span` knows its source and pointer and finds its line and
    columns when first read (loading a valid policy needs no positions, so the JSON loader does
    not compute them until something asks); it is then an ordinary span, equal to the eager one.
    """

    source: str = "<string>"
    line: int = 0
    column: int = 0
    pointer: str = ""
    end_line: int | None = None
    end_column: int | None = None

    def __getattr__(self, name: str) -> Any:
        # Only reached when a slot is unset, that is for a deferred span not yet resolved.
        if name not in _DEFERRED:
            raise AttributeError(f"'Span' object has no attribute '{name}'")
        try:
            at: SpanResolver | None = object.__getattribute__(self, "_at")
        except AttributeError:
            at = None
        if at is None:  # resolved meanwhile (by another thread): the fields are set now
            return object.__getattribute__(self, name)
        found = at.resolve(self.pointer)
        if found is None:
            values: tuple[int, int, int | None, int | None] = (0, 0, None, None)
        else:
            values = (found.line, found.column, found.end_line, found.end_column)
        _set(self, "line", values[0])
        _set(self, "column", values[1])
        _set(self, "end_line", values[2])
        _set(self, "end_column", values[3])
        _set(self, "_at", None)  # set last: let the document's text and positions go
        return values[("line", "column", "end_line", "end_column").index(name)]

    def describe(self) -> str:
        if self.line:
            return f"{self.source}:{self.line}:{self.column}"
        return self.source

    def with_pointer(self, pointer: str) -> Span:
        return Span(self.source, self.line, self.column, pointer, self.end_line, self.end_column)


def deferred_span(source: str, at: SpanResolver, pointer: str) -> Span:
    """A span whose line and columns are ``at.resolve(pointer)``'s, looked up when first read.

    (``pointer`` last, so that ``functools.partial(deferred_span, source, at)`` makes a document's
    spans with one Python call each.)

    Equal (``==``, ``hash``, ``repr``) to the span ``at`` gives, or to ``Span(source, 0, 0,
    pointer)`` when it gives None. ``source`` must be the one ``at``'s spans carry.
    """
    span = _new(Span)
    _set(span, "source", source)
    _set(span, "pointer", pointer)
    _set(span, "_at", at)
    return span


def pointer_join(base: str, *parts: str | int) -> str:
    """Extend an RFC 6901 JSON pointer, escaping `~` and `/`."""
    out = base
    for part in parts:
        text = str(part).replace("~", "~0").replace("/", "~1")
        out += "/" + text
    return out
