"""Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}`, `${*}`, `${?}`, `${$}`.

Rules (IAM User Guide, reference_policies_variables.html):

- Only policies with ``"Version": "2012-10-17"`` substitute; otherwise `${...}` is literal text.
  Callers decide that (``Policy.supports_variables``) and simply do not compile templates.
- Any single-valued context key may be a variable; key names are case-insensitive (the
  :class:`~kmsauthz.evaluate.protocols.ConditionContext` applies that).
- "You can't use a multivalued condition key as a variable"
  (reference_policies_condition-single-vs-multi-valued-context-keys): we read a multivalued value
  (a tuple, even of one element) as *no value*, exactly like an absent key.
- A variable with no value and no default makes the whole template unresolvable: ``render``
  returns None. In a condition, that value then equals/matches nothing (positive operators do not
  match, negated operators do, #policy-vars-no-value); in `Resource`/`NotResource` the ARN matches
  no resource.
- `${*}`, `${?}`, `${$}` stand for a literal `*`, `?`, `$` (#policy-vars-specialchars).
- Defaults: `${key, 'default'}` (comma, space, single-quoted text; #policy-vars-default-values).

Literal versus wildcard text. When the result is used as a pattern (`StringLike`, `ArnLike`,
`Resource`), :meth:`Template.render_pieces` keeps the origin of every piece: text written in the
policy (and a default value, which the policy author also wrote) keeps its `*`/`?` wildcards;
a substituted context value and the special `${*}`/`${?}`/`${$}` are literal characters, so a
user name containing `*` never becomes a wildcard. That is why AWS defines `${*}` at all.

Malformed variables (no closing brace, an empty `${}`, a space or quote inside the key name, an
unterminated default) are reported in :attr:`Template.error`; such a template never renders (its
``render`` is None) and condition evaluation reports the error, so the engine fails closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kmsauthz.evaluate.patterns import Piece
from kmsauthz.evaluate.protocols import ConditionContext

__all__ = ["SPECIAL_VARIABLES", "Template", "Variable", "compile_template", "has_variables"]

SPECIAL_VARIABLES = {"*": "*", "?": "?", "$": "$"}

# a context key name: no spaces, quotes, braces, commas (aws:PrincipalTag/team,
# cognito-identity.amazonaws.com:sub, kms:EncryptionContext:user, saml:sub ...)
_KEY = re.compile(r"[^\s'\"{},$]+")
_BODY = re.compile(r"(?P<key>[^\s'\"{},]+)(?:,[ ]?'(?P<default>[^']*)')?")


def has_variables(text: str) -> bool:
    """Whether ``text`` contains a `${`, the start of a policy variable."""
    return "${" in text


@dataclass(frozen=True, slots=True)
class Variable:
    """One `${key}` or `${key, 'default'}`."""

    key: str
    default: str | None = None


_Part = str | Variable


@dataclass(frozen=True, slots=True)
class Template:
    """A string with policy variables, parsed once; render it per request."""

    text: str
    parts: tuple[_Part, ...]
    """Policy text (``str``, where `*`/`?` remain wildcards) and variables, in order."""
    error: str | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """The context keys the template reads, as written, without duplicates (case-insensitive)."""
        seen: dict[str, str] = {}
        for p in self.parts:
            if isinstance(p, Variable) and p.key not in SPECIAL_VARIABLES:
                seen.setdefault(p.key.lower(), p.key)
        return tuple(seen.values())

    @property
    def is_constant(self) -> bool:
        """No variable reads the context (only text and `${*}`-style specials)."""
        return self.error is None and not any(
            isinstance(p, Variable) and p.key not in SPECIAL_VARIABLES for p in self.parts
        )

    def render_pieces(self, ctx: ConditionContext) -> tuple[Piece, ...] | None:
        """``(text, is_pattern)`` pieces; None when a variable has no value (or the template is malformed)."""
        if self.error is not None:
            return None
        out: list[Piece] = []
        for p in self.parts:
            if isinstance(p, str):
                out.append((p, True))
                continue
            if p.key in SPECIAL_VARIABLES:
                out.append((SPECIAL_VARIABLES[p.key], False))
                continue
            value = ctx.lookup(p.key)
            if isinstance(value, str):
                out.append((value, False))
            elif p.default is not None:
                out.append((p.default, True))
            else:
                return None
        return tuple(out)

    def unresolved(self, ctx: ConditionContext) -> tuple[str, ...]:
        """The variables' keys that have no (single) value in ``ctx`` and no default."""
        out: list[str] = []
        for p in self.parts:
            if (
                isinstance(p, Variable)
                and p.key not in SPECIAL_VARIABLES
                and p.default is None
                and not isinstance(ctx.lookup(p.key), str)
            ):
                out.append(p.key)
        return tuple(out)

    def render(self, ctx: ConditionContext) -> str | None:
        """The substituted text; None when a variable has no value and no default."""
        pieces = self.render_pieces(ctx)
        if pieces is None:
            return None
        return "".join(text for text, _ in pieces)


def _parse(text: str) -> tuple[tuple[_Part, ...], str | None]:
    parts: list[_Part] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        start = text.find("${", i)
        if start < 0:
            literal.append(text[i:])
            break
        literal.append(text[i:start])
        # find the closing brace, skipping a quoted default value
        j = start + 2
        quoted = False
        while j < n and (quoted or text[j] != "}"):
            if text[j] == "'":
                quoted = not quoted
            j += 1
        if j >= n:
            if quoted:
                return (), f"missing quote in variable `{text[start:]}`"
            return (), f"missing brace in variable `{text[start:]}`"
        body = text[start + 2 : j]
        if body in SPECIAL_VARIABLES:
            var = Variable(body)
        else:
            if not body.strip():
                return (), f"empty variable `{text[start : j + 1]}`"
            m = _BODY.fullmatch(body)
            if m is None or not _KEY.fullmatch(m.group("key")):
                if " " in body.strip() and "," not in body:
                    return (), f"unsupported space in variable `{text[start : j + 1]}`"
                return (), f"malformed variable `{text[start : j + 1]}`"
            var = Variable(m.group("key"), m.group("default"))
        if literal:
            joined = "".join(literal)
            if joined:
                parts.append(joined)
            literal = []
        parts.append(var)
        i = j + 1
    joined = "".join(literal)
    if joined:
        parts.append(joined)
    return tuple(parts), None


@lru_cache(maxsize=4096)
def compile_template(text: str) -> Template:
    """Parse ``text``; never raises (a malformed variable is reported in ``Template.error``)."""
    parts, error = _parse(text)
    return Template(text, parts, error)
