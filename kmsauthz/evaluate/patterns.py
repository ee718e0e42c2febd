"""Linear-time `*`/`?` wildcard matching and segment-wise ARN matching, compiled once.

IAM wildcards: `*` matches any run of characters (including none, `/` and `:`), `?` exactly one
character (IAM User Guide, reference_policies_elements_condition_operators.html#Conditions_String,
reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards).

The matcher never backtracks. The pattern is split at `*` into segments (which may contain `?`);
the first segment must match at the start of the text, the last at its end, and every middle
segment is placed at its leftmost match after the previous one. Leftmost placement is always
safe for globs: any later placement leaves a shorter remainder of the text for the rest of the
pattern, and `*` can absorb whatever the leftmost placement leaves over. So the text cursor only
moves forward — never exponential, whatever the pattern (`*a*a*a*a*a*b` on `aaaa…` costs one
pass). A segment without `?` is found with `str.find`; a segment with `?` between literal chunks
(`a?a?a?…b`) is found with the bit-parallel Shift-And scan, one word-parallel step per text
character, so its cost does not grow with the number of chunks (checking every chunk at every
candidate position made `*` + `a?`x1000 + `b*` on 8,000 characters take seconds).

ARNs (`ArnLike`, `ArnEquals`, IAM `Resource`): "each of the six colon-delimited components of the
ARN is checked separately" (reference_policies_elements_condition_operators.html#Conditions_ARN);
the sixth (resource) component keeps any further colons.

Patterns may also be built from *pieces* (see :func:`compile_wildcard_parts`): text written in
the policy, where `*` and `?` are wildcards, and text substituted from a policy variable, where
they are plain characters (policy variables, reference_policies_variables.html#policy-vars-specialchars).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = [
    "ARN_FIELDS",
    "ArnMatcher",
    "Piece",
    "WildcardMatcher",
    "compile_arn_parts",
    "compile_arn_pattern",
    "compile_wildcard",
    "compile_wildcard_parts",
    "has_wildcards",
    "split_arn",
]

ARN_FIELDS = 6

Piece = tuple[str, bool]
"""``(text, is_pattern)``: with ``is_pattern`` False, `*` and `?` in ``text`` are literal characters."""

_STAR = object()
_ANY = object()
_Token = object | str


def fold(text: str) -> str:
    """Lower-case without changing the length (so `?` still stands for one character)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def has_wildcards(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


@dataclass(frozen=True, slots=True)
class _Segment:
    """Pattern text between two stars: literal chunks at fixed offsets, `?` in the gaps."""

    length: int
    chunks: tuple[tuple[int, str], ...]
    anchor: int
    """Index in ``chunks`` of the longest chunk, used to jump to candidates with str.find; -1 if none."""
    masks: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    """Shift-And tables (several chunks only): bit j set where position j accepts the character."""
    any_mask: int = 0
    """Positions that accept any character (the `?` gaps)."""
    words: int = 1
    """Machine words in one Shift-And step (a step costs this many word operations)."""

    @classmethod
    def of(cls, tokens: Sequence[_Token]) -> _Segment:
        chunks: list[tuple[int, str]] = []
        pos = 0
        run: list[str] = []
        run_at = 0
        for tok in tokens:
            if tok is _ANY:
                if run:
                    chunks.append((run_at, "".join(run)))
                    run = []
                pos += 1
                run_at = pos
            else:
                assert isinstance(tok, str)
                if not run:
                    run_at = pos
                run.append(tok)
                pos += len(tok)
        if run:
            chunks.append((run_at, "".join(run)))
        anchor = max(range(len(chunks)), key=lambda i: len(chunks[i][1])) if chunks else -1
        if len(chunks) < 2:
            return cls(pos, tuple(chunks), anchor)
        fixed = 0
        masks: dict[str, int] = {}
        for off, chunk in chunks:
            for j, ch in enumerate(chunk, off):
                masks[ch] = masks.get(ch, 0) | (1 << j)
                fixed |= 1 << j
        any_mask = ((1 << pos) - 1) & ~fixed
        masks = {ch: m | any_mask for ch, m in masks.items()}
        return cls(pos, tuple(chunks), anchor, masks, any_mask, -(-pos // 64))

    def matches_at(self, text: str, pos: int, steps: list[int] | None) -> bool:
        if pos < 0 or pos + self.length > len(text):
            return False
        for off, chunk in self.chunks:
            if steps is not None:
                steps[0] += len(chunk)
            if not text.startswith(chunk, pos + off):
                return False
        return True

    def find(self, text: str, start: int, end: int, steps: list[int] | None) -> int:
        """Leftmost ``p >= start`` where the segment matches inside ``text[:end]``, or -1."""
        last = end - self.length
        if self.anchor < 0:
            return start if start <= last else -1
        off, chunk = self.chunks[self.anchor]
        if start > last:
            return -1
        hit = text.find(chunk, start + off, last + off + len(chunk))
        if steps is not None:
            steps[0] += (hit if hit >= 0 else last + off + len(chunk)) - (start + off) + 1
        if hit < 0 or len(self.chunks) == 1:
            return hit - off if hit >= 0 else -1
        return self._shift_and(text, hit - off, end, steps)

    def _shift_and(self, text: str, start: int, end: int, steps: list[int] | None) -> int:
        """Leftmost match in ``text[start:end]`` by Shift-And: bit j of ``state`` says the last
        j + 1 characters read match the segment's first j + 1 positions."""
        masks, any_mask = self.masks, self.any_mask
        high = 1 << (self.length - 1)
        state = 0
        for i in range(start, end):
            state = ((state << 1) | 1) & masks.get(text[i], any_mask)
            if state & high:
                if steps is not None:
                    steps[0] += (i - start + 1) * self.words
                return i - self.length + 1
        if steps is not None:
            steps[0] += (end - start) * self.words
        return -1


@dataclass(frozen=True, slots=True)
class WildcardMatcher:
    """A compiled `*`/`?` pattern; :meth:`match` takes time linear-ish in the text length."""

    pattern: str
    case_sensitive: bool = True
    _exact: str | None = field(default=None, repr=False)
    _head: _Segment | None = field(default=None, repr=False)
    _middle: tuple[_Segment, ...] = field(default=(), repr=False)
    _tail: _Segment | None = field(default=None, repr=False)
    _min_len: int = field(default=0, repr=False)
    _fixed_len: bool = field(default=False, repr=False)
    """No `*`: the text must have exactly the pattern's length."""
    _starts: str | None = field(default=None, repr=False)
    """`literal*` (one trailing star, no `?`): matching is ``text.startswith(literal)``."""

    @property
    def is_literal(self) -> bool:
        """The pattern has no wildcard, so matching is an equality check."""
        return self._exact is not None

    @property
    def literal(self) -> str | None:
        """The text a wildcard-free pattern equals (folded when case-insensitive)."""
        return self._exact

    @property
    def matches_everything(self) -> bool:
        return self._exact is None and self._min_len == 0 and not self._fixed_len

    def match(self, text: str) -> bool:
        return self._run(text, None)

    def match_counting(self, text: str) -> tuple[bool, int]:
        """Match, and count the character steps taken (for complexity tests, not timing)."""
        steps = [0]
        return self._run(text, steps), steps[0]

    def _run(self, text: str, steps: list[int] | None) -> bool:
        if not self.case_sensitive:
            text = fold(text)
        if self._exact is not None:
            if steps is not None:
                steps[0] += min(len(text), len(self._exact)) + 1
            return text == self._exact
        if self._starts is not None and steps is None:
            return text.startswith(self._starts)
        n = len(text)
        if n < self._min_len or (self._fixed_len and n != self._min_len):
            return False
        start, end = 0, n
        head, tail = self._head, self._tail
        if head is not None:
            if not head.matches_at(text, 0, steps):
                return False
            start = head.length
        if tail is not None:
            tail_at = end - tail.length
            if tail_at < start or not tail.matches_at(text, tail_at, steps):
                return False
            end = tail_at
        for seg in self._middle:
            found = seg.find(text, start, end, steps)
            if found < 0:
                return False
            start = found + seg.length
        return True


def _tokens(pieces: Iterable[Piece], case_sensitive: bool) -> list[_Token]:
    out: list[_Token] = []
    for text, is_pattern in pieces:
        if not case_sensitive:
            text = fold(text)
        if not is_pattern:
            if text:
                out.append(text)
            continue
        for ch in text:
            if ch == "*":
                if not out or out[-1] is not _STAR:
                    out.append(_STAR)
            elif ch == "?":
                out.append(_ANY)
            else:
                out.append(ch)
    return out


def _build(label: str, tokens: list[_Token], case_sensitive: bool) -> WildcardMatcher:
    if all(isinstance(t, str) for t in tokens):
        return WildcardMatcher(label, case_sensitive, _exact="".join(t for t in tokens if isinstance(t, str)))
    groups: list[list[_Token]] = [[]]
    for tok in tokens:
        if tok is _STAR:
            groups.append([])
        else:
            groups[-1].append(tok)
    segments = [_Segment.of(g) for g in groups]
    min_len = sum(s.length for s in segments)
    if len(segments) == 1:
        return WildcardMatcher(label, case_sensitive, _head=segments[0], _min_len=min_len, _fixed_len=True)
    head = segments[0] if segments[0].length else None
    tail = segments[-1] if segments[-1].length else None
    middle = tuple(s for s in segments[1:-1] if s.length)
    starts = None
    if head is not None and not middle and tail is None and len(head.chunks) == 1 \
            and head.chunks[0] == (0, "".join(t for t in groups[0] if isinstance(t, str))) \
            and len(head.chunks[0][1]) == head.length:
        starts = head.chunks[0][1]
    return WildcardMatcher(label, case_sensitive, _head=head, _middle=middle, _tail=tail, _min_len=min_len,
                           _starts=starts)


@lru_cache(maxsize=8192)
def compile_wildcard(pattern: str, *, case_sensitive: bool = True) -> WildcardMatcher:
    """Compile an IAM wildcard pattern; a pattern without `*`/`?` compiles to an equality check.

    Action matching (`kms:Decrypt`, `kms:*`, `kms:Gen*`) uses ``case_sensitive=False``.
    """
    return _build(pattern, _tokens(((pattern, True),), case_sensitive), case_sensitive)


@lru_cache(maxsize=4096)
def compile_wildcard_parts(pieces: tuple[Piece, ...], *, case_sensitive: bool = True) -> WildcardMatcher:
    """Compile a pattern assembled from pieces; only ``is_pattern`` pieces contribute wildcards."""
    label = "".join(text for text, _ in pieces)
    return _build(label, _tokens(pieces, case_sensitive), case_sensitive)


def split_arn(text: str, fields: int = ARN_FIELDS) -> list[str]:
    """Split at the first ``fields - 1`` colons; the last part keeps any further colons."""
    return text.split(":", fields - 1)


@dataclass(frozen=True, slots=True)
class ArnMatcher:
    """A compiled ARN pattern, matched component by component (case-sensitive).

    A six-component pattern (the normal case) matches only texts of six components, each
    matched separately, so a `*` never crosses one of the first five colons while the resource
    component may hold colons and `/`. A pattern without any colon (typically `*`) is matched
    against the whole text. A pattern with one to four colons, which IAM does not describe, is
    matched over that many components, its last component taking the rest of the text
    (docs/conditions.md, "ARN patterns").
    """

    pattern: str
    parts: tuple[WildcardMatcher, ...]
    _prefix: str | None = field(default=None, init=False, repr=False, compare=False)
    """When every component but the last is literal (`arn:aws:kms:us-east-1:111122223333:key/*`):
    those components joined with their colons. A text starting with it has exactly those
    components (literals hold no colon), so only the last component needs matching."""
    _checks: tuple[tuple[int, WildcardMatcher], ...] = field(default=(), init=False, repr=False, compare=False)
    """The components that can fail (not a bare `*`), with their positions."""

    def __post_init__(self) -> None:
        parts = self.parts
        if len(parts) > 1 and all(m.literal is not None for m in parts[:-1]):
            object.__setattr__(self, "_prefix", "".join(f"{m.literal}:" for m in parts[:-1]))
        object.__setattr__(self, "_checks", tuple(
            (i, m) for i, m in enumerate(parts) if not m.matches_everything
        ))

    @property
    def matches_everything(self) -> bool:
        return len(self.parts) == 1 and self.parts[0].matches_everything

    def match(self, text: str) -> bool:
        parts = self.parts
        n = len(parts)
        if n == 1:
            return parts[0].match(text)
        prefix = self._prefix
        if prefix is not None:
            return text.startswith(prefix) and parts[-1].match(text[len(prefix):])
        pieces = split_arn(text, n)
        if len(pieces) != n:
            return False
        return all(m.match(pieces[i]) for i, m in self._checks)


@lru_cache(maxsize=8192)
def compile_arn_pattern(pattern: str) -> ArnMatcher:
    """Compile an ARN pattern for ArnLike/ArnEquals and IAM Resource matching."""
    return ArnMatcher(pattern, tuple(compile_wildcard(p) for p in split_arn(pattern)))


@lru_cache(maxsize=4096)
def compile_arn_parts(pieces: tuple[Piece, ...]) -> ArnMatcher:
    """Compile an ARN pattern assembled from pieces (policy text and substituted values).

    Components are split at the first five colons wherever they come from; wildcards come only
    from ``is_pattern`` pieces.
    """
    fields: list[list[Piece]] = [[]]
    for text, is_pattern in pieces:
        rest = text
        while len(fields) < ARN_FIELDS and ":" in rest:
            before, rest = rest.split(":", 1)
            fields[-1].append((before, is_pattern))
            fields.append([])
        fields[-1].append((rest, is_pattern))
    label = "".join(text for text, _ in pieces)
    return ArnMatcher(label, tuple(compile_wildcard_parts(tuple(f)) for f in fields))
