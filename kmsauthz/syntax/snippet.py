"""Source positions and the `file:line:column` + source line + caret rendering of syntax errors."""

from __future__ import annotations

from bisect import bisect_right

from kmsauthz.model.spans import Span


class LineIndex:
    """Offset → (line, column), both 1-based, columns counted in characters."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0]
        find, append = text.find, self._starts.append
        i = find("\n")
        while i >= 0:
            append(i + 1)
            i = find("\n", i + 1)

    @property
    def line_starts(self) -> list[int]:
        """Offset of the first character of every line (line 1 first)."""
        return self._starts

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1

    def line_text(self, line: int) -> str:
        if not 1 <= line <= len(self._starts):
            return ""
        start = self._starts[line - 1]
        end = self._starts[line] - 1 if line < len(self._starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    def span(self, source: str, start: int, end: int | None = None, pointer: str = "") -> Span:
        line, column = self.position(start)
        if end is None:
            return Span(source, line, column, pointer)
        end_line, end_column = self.position(end)
        return Span(source, line, column, pointer, end_line, end_column)


def caret_snippet(index: LineIndex, line: int, column: int, width: int = 1) -> str:
    """The offending source line with a caret (or carets) under the columns in question."""
    text = index.line_text(line)
    shown = "".join(ch if ch.isprintable() else "?" for ch in text.replace("\t", " "))
    if len(shown) > 160:  # keep huge one-line documents readable: show a window around the column
        lo = max(0, column - 80)
        shown = ("…" if lo else "") + shown[lo : lo + 160]
        column = column - lo + (1 if lo else 0)
    gutter = f"{line} | "
    pad = " " * (len(gutter) - 2) + "| "
    width = max(1, min(width, max(1, len(shown) - column + 1)))
    return f"{gutter}{shown}\n{pad}{' ' * (column - 1)}{'^' * width}"
