"""`kmsauthz fmt`: policy-language text → the same policy in the canonical layout, comments kept."""

from __future__ import annotations

from kmsauthz.syntax.json_reader import decode_text
from kmsauthz.syntax.language import parse_kmsp
from kmsauthz.syntax.loader import build_policy
from kmsauthz.syntax.printer import kmsp_lines, render, with_comments


def format_kmsp(text: str | bytes, source: str = "<string>") -> str:
    """Canonical layout of a `.kmsp` text; raises on syntax or schema errors (not on kind rules,
    so a policy of any kind formats)."""
    decoded = decode_text(text, source)
    parsed = parse_kmsp(decoded, source)
    policy = build_policy(parsed.document, kind=None, source=source, name=source, locate=parsed.locate,
                          check_rules=False)
    return render(with_comments(kmsp_lines(policy), parsed.comments, parsed.locate))
