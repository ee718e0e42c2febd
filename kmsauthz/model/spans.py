"""Source locations carried by every model node."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node came from: file (or `<string>`), 1-based line and column, JSON pointer.

    ``end_line``/``end_column`` are optional (the policy-language parser knows them, the JSON
    loader knows them for scalars). ``pointer`` is an RFC 6901 pointer into the AWS JSON form of
    the document, also for nodes parsed from the policy language, so every finding can name the
    node in both forms.
    """

    source: str = "<string>"
    line: int = 0
    column: int = 0
    pointer: str = ""
    end_line: int | None = None
    end_column: int | None = None

    def describe(self) -> str:
        if self.line:
            return f"{self.source}:{self.line}:{self.column}"
        return self.source

    def with_pointer(self, pointer: str) -> Span:
        return Span(self.source, self.line, self.column, pointer, self.end_line, self.end_column)


def pointer_join(base: str, *parts: str | int) -> str:
    """Extend an RFC 6901 JSON pointer, escaping `~` and `/`."""
    out = base
    for part in parts:
        text = str(part).replace("~", "~0").replace("/", "~1")
        out += "/" + text
    return out
