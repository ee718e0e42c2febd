"""A strict JSON reader that records where every value starts, by JSON pointer.

Python's :mod:`json` gives no positions and accepts things AWS rejects (duplicate keys, `NaN`),
so this is a small recursive-descent scanner over RFC 8259 JSON. It rejects duplicate object
keys, invalid UTF-8, NUL bytes outside strings, nesting deeper than :data:`MAX_DEPTH`, and every
non-JSON extension (`NaN`, `Infinity`, trailing commas, comments, single quotes, leading zeros).
Errors are :class:`~kmsauthz.errors.PolicySyntaxError` with `file:line:column`, the source line
and a caret.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
import threading
from bisect import bisect_right
from collections.abc import Callable
from functools import partial
from typing import Any

from kmsauthz.errors import DocumentTooLargeError, PolicySyntaxError, Problem
from kmsauthz.model.spans import Span, deferred_span, pointer_join
from kmsauthz.syntax.snippet import LineIndex, caret_snippet

MAX_DEPTH = 64
"""Deepest nesting accepted; a policy document needs 6 levels, 64 is far beyond any real one."""

MAX_INPUT_BYTES = 1_048_576
"""Largest input read at all (AWS's largest policy kind, a key policy, is 32 KB)."""

_WS = " \t\n\r"
_DIGITS = frozenset("0123456789")
"""ASCII digits only: `str.isdigit` is also true for `²` and `٣`, which are not JSON."""
_WS_RUN = re.compile(r"[ \t\n\r]*")
_PLAIN_STRING = re.compile(r'"([^"\\\x00-\x1f]*)"')
"""A string without escapes or control characters (nearly all): read in one regex step."""
_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,3999})(?![0-9.eE+\-])")
"""An integer the slow path would accept as is (no leading zero, no fraction, at most 4,000 digits)."""
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


_POSITIONS_LOCK = threading.RLock()
"""Held while a deferred position is looked up (rare, a few microseconds): lookups of one document
share their walk's state."""


class _Members:
    """What is known of one object or array of the text: its members found so far, and where to go on.

    Members are found in order and only as far as a lookup needs; the value last found is stepped
    over (by the C scanner) only when a later member is asked for.
    """

    __slots__ = ("done", "found", "pending", "resume")

    def __init__(self, resume: int, done: bool) -> None:
        self.found: dict[str, int] | list[int] = {}
        self.resume = resume  # the offset the scan goes on from (after `pending`'s value)
        self.pending: int | None = None  # start of the last value found, not yet stepped over
        self.done = done


class _TextPositions:
    """The positions of a document the fast reader decoded, worked out from its text when asked.

    What deferred spans refer to (:class:`~kmsauthz.model.spans.SpanResolver`): only the text and
    the source, so a loaded model does not keep the decoded document alive. A pointer is located
    by a path walk whose steps are remembered per object/array (:class:`_Members`), so the lookups
    of one document together read each member once; a sibling's value is stepped over by json's C
    scanner. ``compute`` gives every position at once (:func:`_fast_positions`).
    """

    __slots__ = ("_ends", "_members", "_root", "key_offsets", "source", "spans", "text")

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.spans: dict[str, Span] | None = None
        self.key_offsets: dict[str, int] | None = None
        self._members: dict[int, _Members] = {}
        self._ends: dict[int, int] = {}  # offset past a value, by its start, once stepped over
        self._root = -1

    def compute(self) -> tuple[dict[str, Span], dict[str, int]]:
        with _POSITIONS_LOCK:
            if self.spans is None or self.key_offsets is None:
                self.spans, self.key_offsets = _fast_positions(self.text, self.source)
            return self.spans, self.key_offsets

    def resolve(self, pointer: str) -> Span | None:
        with _POSITIONS_LOCK:  # the walk's state is shared by every span of the document (and threads)
            if self.spans is not None:
                return self.spans.get(pointer)
            try:
                return self._locate(pointer)
            except (IndexError, ValueError):  # cannot happen on text json accepted; be exact anyway
                return self.compute()[0].get(pointer)

    def _locate(self, pointer: str) -> Span | None:
        """The span at ``pointer``: the node's first character to past its last; None if no such node
        (or a pointer not written the way the reader writes them)."""
        if pointer and pointer[0] != "/":
            return None
        text = self.text
        if self._root < 0:
            self._root = _WS_RUN.match(text, 0).end()  # type: ignore[union-attr]
        at: int | None = self._root
        for raw in pointer.split("/")[1:] if pointer else ():
            assert at is not None
            ch = text[at]
            if ch == "{":
                part = raw
                if "~" in raw:
                    part = raw.replace("~1", "/").replace("~0", "~")
                    if part.replace("~", "~0").replace("/", "~1") != raw:
                        return None  # not the reader's spelling of this key
                at = self._member(at, part)
            elif ch == "[":
                if not (raw.isascii() and raw.isdigit() and (raw == "0" or raw[0] != "0")):
                    return None
                at = self._element(at, int(raw))
            else:
                return None  # a scalar has no members
            if at is None:
                return None
        assert at is not None
        end = self._ends.get(at)
        if end is None:
            end = self._ends[at] = _SKIP(text, at)[1]
        line, end_line = text.count("\n", 0, at) + 1, text.count("\n", 0, end) + 1
        return Span(self.source, line, at - text.rfind("\n", 0, at), pointer, end_line,
                    end - text.rfind("\n", 0, end))

    def _state(self, at: int, close: str) -> _Members:
        state = self._members.get(at)
        if state is None:
            first = _skip_ws(self.text, at + 1)
            state = self._members[at] = _Members(first, self.text[first] == close)
            if close == "]":
                state.found = []
        return state

    def _step(self, state: _Members, close: str) -> None:
        """Past the pending value, to the next member (or to the end of the container)."""
        text = self.text
        if state.pending is not None:
            end = self._ends.get(state.pending)
            if end is None:
                end = self._ends[state.pending] = _SKIP(text, state.pending)[1]
            i = _skip_ws(text, end)
            state.pending = None
            if text[i] == close:
                state.done = True
            else:
                state.resume = _skip_ws(text, i + 1)  # past `,`

    def _member(self, at: int, key: str) -> int | None:
        state = self._state(at, "}")
        found = state.found
        assert isinstance(found, dict)
        if key in found:
            return found[key]
        text = self.text
        while True:
            self._step(state, "}")
            if state.done:
                return None
            name, i = _scanstring(text, state.resume + 1)
            i = _skip_ws(text, _skip_ws(text, i) + 1)  # past `:`
            found[name] = state.pending = i
            if name == key:
                return i

    def _element(self, at: int, index: int) -> int | None:
        state = self._state(at, "]")
        found = state.found
        assert isinstance(found, list)
        while len(found) <= index:
            if found:
                self._step(state, "]")
            if state.done:
                return None
            found.append(state.resume)
            state.pending = state.resume
        return found[index]


class Located:
    """A parsed JSON value and the span of every node, by RFC 6901 pointer.

    The fast reader defers the positions (``deferred``): ``spans`` and ``key_offsets`` are worked
    out from the text on first use, so a valid document nobody asks a location of costs only the
    decode. The scanner fills them as it reads.
    """

    def __init__(self, value: Any = None, spans: dict[str, Span] | None = None, text: str = "",
                 source: str = "<string>", key_offsets: dict[str, int] | None = None,
                 *, deferred: bool = False) -> None:
        self.value = value
        self.text = text
        self.source = source
        self._deferred = _TextPositions(text, source) if deferred else None
        self._spans = {} if spans is None else spans
        self._key_offsets = {} if key_offsets is None else key_offsets
        self._key_spans: dict[str, Span] | None = None

    @property
    def spans(self) -> dict[str, Span]:
        """The span of every node, by pointer."""
        if self._deferred is not None:
            return self._deferred.compute()[0]
        return self._spans

    @property
    def key_offsets(self) -> dict[str, int]:
        """Where the *key* of an object member starts (offset into ``text``), by the member's pointer."""
        if self._deferred is not None:
            return self._deferred.compute()[1]
        return self._key_offsets

    def locate(self, pointer: str) -> Span | None:
        """The span at ``pointer``, None when there is no such node."""
        if self._deferred is not None:
            return self._deferred.resolve(pointer)
        return self._spans.get(pointer)

    resolve = locate
    """A :class:`~kmsauthz.model.spans.SpanResolver` as well."""

    def span_at(self, pointer: str) -> Span:
        """The span at ``pointer`` (a node of the value), resolved only when read; see ``deferred_span``."""
        if self._deferred is not None:
            return deferred_span(self.source, self._deferred, pointer)
        found = self._spans.get(pointer)
        return found if found is not None else Span(self.source, 0, 0, pointer)

    def span_factory(self) -> Callable[[str], Span]:
        """``span_at`` as one callable for many spans (deferred ones made in a single Python call)."""
        if self._deferred is not None:
            return partial(deferred_span, self.source, self._deferred)
        return self.span_at

    @property
    def key_spans(self) -> dict[str, Span]:
        """Where the *key* of an object member starts (pointer of the member); built when first asked."""
        if self._key_spans is None:
            index = LineIndex(self.text)
            self._key_spans = {p: index.span(self.source, at, pointer=p) for p, at in self.key_offsets.items()}
        return self._key_spans

    def __eq__(self, other: object) -> bool:
        if type(other) is not Located:
            return NotImplemented
        return (self.value, self.spans, self.text, self.source, self.key_offsets) == (
            other.value, other.spans, other.text, other.source, other.key_offsets)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Located(value={self.value!r}, source={self.source!r})"


def decode_text(data: bytes | str, source: str) -> str:
    """Bytes → text, strictly UTF-8; an error names the byte offset's line and column."""
    if isinstance(data, str):
        text = data
    else:
        if len(data) > MAX_INPUT_BYTES:
            raise DocumentTooLargeError(
                f"input is {len(data):,} bytes, more than the {MAX_INPUT_BYTES:,} bytes kmsauthz reads",
                Span(source),
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            good = data[: exc.start].decode("utf-8")
            index = LineIndex(good + " ")
            line, column = index.position(len(good))
            message = f"invalid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} cannot be decoded"
            raise PolicySyntaxError([Problem(message, Span(source, line, column), "policy-syntax")]) from None
    if len(text) > MAX_INPUT_BYTES:
        raise DocumentTooLargeError(
            f"input is {len(text):,} characters, more than the {MAX_INPUT_BYTES:,} kmsauthz reads", Span(source)
        )
    return text


class _Scanner:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.pos = 0
        self.index = LineIndex(text)
        self.result = Located(None, text=text, source=source)

    # errors ---------------------------------------------------------------------------------
    def fail(self, message: str, at: int | None = None, width: int = 1) -> PolicySyntaxError:
        offset = self.pos if at is None else at
        line, column = self.index.position(offset)
        snippet = caret_snippet(self.index, line, column, width)
        problem = Problem(f"{message}\n{snippet}", Span(self.source, line, column), "policy-syntax")
        return PolicySyntaxError([problem])

    def _describe_here(self) -> str:
        if self.pos >= len(self.text):
            return "end of input"
        ch = self.text[self.pos]
        if ch == "\x00":
            return "NUL byte"
        if not ch.isprintable():
            return f"character U+{ord(ch):04X}"
        return f"`{ch}`"

    # scanning -------------------------------------------------------------------------------
    def skip_ws(self) -> None:
        text = self.text
        self.pos = pos = _WS_RUN.match(text, self.pos).end()  # type: ignore[union-attr]
        if pos < len(text) and text[pos] in "/#":
            raise self.fail("comments are not allowed in JSON (use the policy language, .kmsp, for comments)")

    def parse(self) -> Located:
        if self.text.startswith("\ufeff"):
            raise self.fail("the document starts with a byte order mark (U+FEFF); save it as UTF-8 without BOM")
        self.skip_ws()
        if self.pos >= len(self.text):
            raise self.fail("empty document: expected a JSON object")
        self.result.value = self.value("", 0)
        self.skip_ws()
        if self.pos < len(self.text):
            raise self.fail(f"unexpected {self._describe_here()} after the end of the JSON document")
        return self.result

    def value(self, pointer: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(f"nesting is deeper than {MAX_DEPTH} levels")
        start = self.pos
        if start >= len(self.text):
            raise self.fail("unexpected end of input: expected a value")
        ch = self.text[start]
        if ch == "{":
            out: Any = self.obj(pointer, depth)
        elif ch == "[":
            out = self.array(pointer, depth)
        elif ch == '"':
            out = self.string()
        elif ch == "-" or ch in _DIGITS:
            out = self.number()
        elif self.text.startswith("true", start):
            self.pos += 4
            out = True
        elif self.text.startswith("false", start):
            self.pos += 5
            out = False
        elif self.text.startswith("null", start):
            self.pos += 4
            out = None
        else:
            word = self._word()
            if word in ("NaN", "Infinity", "-Infinity", "undefined"):
                raise self.fail(f"`{word}` is not JSON", width=len(word))
            if ch == "'":
                raise self.fail("strings must use double quotes")
            if ch in "]}":
                raise self.fail(f"unexpected `{ch}`: expected a value (trailing commas are not allowed)")
            raise self.fail(f"unexpected {self._describe_here()}: expected a value "
                            "(object, array, string, number, true, false or null)", width=max(1, len(word)))
        self.result.spans[pointer] = self.index.span(self.source, start, self.pos, pointer)
        return out

    def _word(self) -> str:
        end = self.pos
        while end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "-_"):
            end += 1
        return self.text[self.pos : end]

    def obj(self, pointer: str, depth: int) -> dict[str, Any]:
        self.pos += 1
        out: dict[str, Any] = {}
        self.skip_ws()
        if self.peek() == "}":
            self.pos += 1
            return out
        while True:
            self.skip_ws()
            if self.peek() != '"':
                if self.peek() == "}":
                    raise self.fail("trailing comma before `}`: expected a member name")
                raise self.fail(f"unexpected {self._describe_here()}: expected a member name in double quotes")
            key_start = self.pos
            key = self.string()
            member = pointer_join(pointer, key)
            if key in out:
                first = self.index.span(self.source, self.result.key_offsets[member])
                raise self.fail(f"duplicate key `{key}` (first at line {first.line}, column {first.column})",
                                at=key_start, width=self.pos - key_start)
            self.result.key_offsets[member] = key_start
            self.skip_ws()
            if self.peek() != ":":
                raise self.fail(f"unexpected {self._describe_here()}: expected `:` after member name")
            self.pos += 1
            self.skip_ws()
            out[key] = self.value(member, depth + 1)
            self.skip_ws()
            ch = self.peek()
            if ch == ",":
                self.pos += 1
                continue
            if ch == "}":
                self.pos += 1
                return out
            raise self.fail(f"unexpected {self._describe_here()}: expected `,` or `}}`")

    def array(self, pointer: str, depth: int) -> list[Any]:
        self.pos += 1
        out: list[Any] = []
        self.skip_ws()
        if self.peek() == "]":
            self.pos += 1
            return out
        while True:
            self.skip_ws()
            if self.peek() == "]":
                raise self.fail("trailing comma before `]`: expected a value")
            out.append(self.value(pointer_join(pointer, len(out)), depth + 1))
            self.skip_ws()
            ch = self.peek()
            if ch == ",":
                self.pos += 1
                continue
            if ch == "]":
                self.pos += 1
                return out
            raise self.fail(f"unexpected {self._describe_here()}: expected `,` or `]`")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def string(self) -> str:
        start = self.pos
        plain = _PLAIN_STRING.match(self.text, start)
        if plain is not None:
            self.pos = plain.end()
            return plain.group(1)
        self.pos += 1
        text, n = self.text, len(self.text)
        parts: list[str] = []
        run = self.pos
        while True:
            if self.pos >= n:
                raise self.fail("unterminated string", at=start)
            ch = text[self.pos]
            if ch == '"':
                parts.append(text[run : self.pos])
                self.pos += 1
                return "".join(parts)
            if ch == "\\":
                parts.append(text[run : self.pos])
                parts.append(self._escape())
                run = self.pos
                continue
            if ch < " ":
                what = "a NUL byte" if ch == "\x00" else f"control character U+{ord(ch):04X}"
                raise self.fail(f"{what} inside a string must be escaped")
            self.pos += 1

    def _escape(self) -> str:
        esc_start = self.pos
        nxt = self.text[self.pos + 1 : self.pos + 2]
        if nxt in _ESCAPES:
            self.pos += 2
            return _ESCAPES[nxt]
        if nxt != "u":
            raise self.fail(f"invalid escape `\\{nxt}` in string", width=2)
        code = self._hex4(self.pos + 2)
        self.pos += 6
        if 0xD800 <= code <= 0xDBFF:
            if self.text[self.pos : self.pos + 2] == "\\u":
                low = self._hex4(self.pos + 2)
                if 0xDC00 <= low <= 0xDFFF:
                    self.pos += 6
                    return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))
            raise self.fail("unpaired UTF-16 surrogate in `\\u` escape", at=esc_start, width=6)
        if 0xDC00 <= code <= 0xDFFF:
            raise self.fail("unpaired UTF-16 surrogate in `\\u` escape", at=esc_start, width=6)
        return chr(code)

    def _hex4(self, at: int) -> int:
        digits = self.text[at : at + 4]
        if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise self.fail("`\\u` must be followed by 4 hex digits", at=at - 2, width=2)
        return int(digits, 16)

    def number(self) -> int | float:
        text, start = self.text, self.pos
        plain = _PLAIN_INT.match(text, start)
        if plain is not None and plain.end() - start <= 4000:
            self.pos = plain.end()
            return int(plain.group())
        i = start
        if text[i] == "-":
            i += 1
        if i < len(text) and text[i] == "0":
            i += 1
            if i < len(text) and text[i] in _DIGITS:
                raise self.fail("numbers must not have leading zeros", at=start)
        elif i < len(text) and text[i] in _DIGITS:
            while i < len(text) and text[i] in _DIGITS:
                i += 1
        else:
            self.pos = i
            word = self._word()
            if word == "Infinity":
                raise self.fail("`-Infinity` is not JSON", at=start)
            raise self.fail("expected a digit", at=i)
        is_float = False
        if i < len(text) and text[i] == ".":
            is_float = True
            i += 1
            if not (i < len(text) and text[i] in _DIGITS):
                raise self.fail("expected a digit after the decimal point", at=i)
            while i < len(text) and text[i] in _DIGITS:
                i += 1
        if i < len(text) and text[i] in "eE":
            is_float = True
            i += 1
            if i < len(text) and text[i] in "+-":
                i += 1
            if not (i < len(text) and text[i] in _DIGITS):
                raise self.fail("expected a digit in the exponent", at=i)
            while i < len(text) and text[i] in _DIGITS:
                i += 1
        self.pos = i
        lexeme = text[start:i]
        if not is_float:
            if len(lexeme) > 4000:
                raise self.fail("number is too long", at=start)
            return int(lexeme)
        value = float(lexeme)
        if value in (float("inf"), float("-inf")):
            raise self.fail("number is out of range", at=start, width=i - start)
        return value


class _NotPlain(Exception):
    """The fast path declines a document: the scanner reads it (and words any error)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _NotPlain
    return out


def _refuse_constant(name: str) -> Any:
    raise _NotPlain


def _finite_float(lexeme: str) -> float:
    value = float(lexeme)
    if value in (float("inf"), float("-inf")):
        raise _NotPlain
    return value


def _short_int(lexeme: str) -> int:
    if len(lexeme) > 4000:
        raise _NotPlain
    return int(lexeme)


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant,
                            parse_float=_finite_float, parse_int=_short_int, strict=True)
_TOKEN = re.compile(r'[ \t\n\r]*("[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:,]|[^ \t\n\r{}\[\]:,"]+)')
"""One JSON token after optional white space (only ever run over text json has accepted)."""


def _fast_read(text: str, source: str) -> Located | None:
    """The C decoder for the value, spans deferred to first use; None to use the scanner.

    Everything the scanner would reject is declined here (json's own errors, duplicate keys, NaN
    and Infinity, out-of-range numbers, a BOM, `\\u` escapes, whose surrogate rules differ, and
    nesting deeper than :data:`MAX_DEPTH`), so a document read here is one the scanner reads to the
    same value, and the spans (:func:`_fast_positions`, when first asked) are the same: a value from
    its first to past its last character, a key from its opening quote.
    """
    if "\\u" in text or text.startswith("\ufeff"):
        return None
    try:
        value = _DECODER.decode(text)
    except (_NotPlain, ValueError, RecursionError):
        return None
    # A node deeper than MAX_DEPTH needs more than MAX_DEPTH opening brackets: count them first
    # (C speed), walk the value only when there are that many.
    if text.count("{") + text.count("[") > MAX_DEPTH and _too_deep(value, 0):
        return None
    return Located(value, text=text, source=source, deferred=True)


def _too_deep(node: Any, depth: int) -> bool:
    """Whether a node of ``node`` (itself at ``depth``) is deeper than :data:`MAX_DEPTH`."""
    t = type(node)
    if t is dict:
        children: Any = node.values()
    elif t is list:
        children = node
    else:
        return False
    if not node:
        return False
    if depth + 1 > MAX_DEPTH:
        return True
    for child in children:
        c = type(child)
        if (c is dict or c is list) and _too_deep(child, depth + 1):
            return True
    return False


def _fast_positions(text: str, source: str) -> tuple[dict[str, Span], dict[str, int]]:
    """Spans and key offsets of a document the fast reader decoded: one token pass over its text.

    The text is one json accepted (and the scanner accepts), so the walk cannot fail; if it ever
    did, the scanner's own positions are used (or its error raised), never a guess.
    """
    value = _DECODER.decode(text)  # again (C speed): the model does not keep the decoded document
    line_starts = LineIndex(text).line_starts
    spans: dict[str, Span] = {}
    key_offsets: dict[str, int] = {}
    # (start, end) of every token, white space excluded, in one pass
    toks = [m.span(1) for m in _TOKEN.finditer(text)]

    def leaf(pointer: str, i: int) -> None:
        start, end = toks[i]
        line = bisect_right(line_starts, start)
        end_line = bisect_right(line_starts, end, line - 1)
        spans[pointer] = Span(source, line, start - line_starts[line - 1] + 1, pointer,
                              end_line, end - line_starts[end_line - 1] + 1)

    def walk(node: Any, pointer: str, i: int) -> int:
        """Record ``node`` (whose first token is ``toks[i]``); the index of the token after it."""
        start = toks[i][0]
        t = type(node)
        if t is dict:
            i += 1  # past `{`
            for key, child in node.items():
                member = _join(pointer, key)
                key_offsets[member] = toks[i][0]
                c = type(child)
                if c is dict or c is list:
                    i = walk(child, member, i + 2) + 1  # past key and `:`; then past `,` or `}`
                else:
                    leaf(member, i + 2)
                    i += 4  # key, `:`, the value, `,` or `}`
            if not node:
                i += 1  # `}`
        elif t is list:
            i += 1  # past `[`
            for n, child in enumerate(node):
                c = type(child)
                if c is dict or c is list:
                    i = walk(child, f"{pointer}/{n}", i) + 1  # then past `,` or `]`
                else:
                    leaf(f"{pointer}/{n}", i)
                    i += 2  # the value, `,` or `]`
            if not node:
                i += 1  # `]`
        else:
            leaf(pointer, i)
            return i + 1
        end = toks[i - 1][1]
        line = bisect_right(line_starts, start)
        end_line = bisect_right(line_starts, end, line - 1)
        spans[pointer] = Span(source, line, start - line_starts[line - 1] + 1, pointer,
                              end_line, end - line_starts[end_line - 1] + 1)
        return i

    try:
        if walk(value, "", 0) == len(toks):
            return spans, key_offsets
    except IndexError:
        pass
    slow = _Scanner(text, source).parse()
    return slow.spans, slow.key_offsets


def _skip_ws(text: str, i: int) -> int:
    """The offset of the first non-white-space character from ``i`` (the regex only when there is some)."""
    return _WS_RUN.match(text, i).end() if text[i] in _WS else i  # type: ignore[union-attr]


_SKIP = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]
"""json's C scanner: ``_SKIP(text, at)`` is (value, offset past it), used to step over a sibling."""
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


def _join(pointer: str, key: str) -> str:
    if "~" in key or "/" in key:
        return pointer_join(pointer, key)
    return pointer + "/" + key


def read_json(data: bytes | str, source: str = "<string>") -> Located:
    """Parse one JSON document strictly, recording the span of every node."""
    text = decode_text(data, source)
    fast = _fast_read(text, source)
    if fast is not None:
        return fast
    return _Scanner(text, source).parse()
