"""Small helpers that word the messages the same way in every rule."""

from __future__ import annotations

from collections.abc import Iterable


def actions_text(actions: Iterable[str], limit: int = 5) -> str:
    """`kms:Decrypt, kms:Encrypt and 3 more` (sorted, AWS spelling)."""
    items = sorted(set(actions))
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"


def quoted(values: Iterable[str], limit: int = 5) -> str:
    items = [f"`{v}`" for v in values]
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"


def label(facts: object) -> str:
    """How messages name a statement: statement `Sid`, else `Statement[i]` (0-based, as pointers)."""
    sid = getattr(facts, "sid", None)
    return f"statement `{sid}`" if sid else f"Statement[{getattr(facts, 'index', '?')}]"
