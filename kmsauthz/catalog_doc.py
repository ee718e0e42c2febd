"""Render ``docs/catalog.md`` from the KMS catalog (:mod:`kmsauthz.catalog`).

``python -m kmsauthz.catalog_doc [PATH]`` writes the page (default ``docs/catalog.md``);
``--check`` exits 1 when the file differs. A test keeps the committed page up to date.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from kmsauthz import catalog
from kmsauthz.catalog import Authorization, ConditionKey, Operation, Source

_K_SOURCES = catalog.KEY_RESOURCE_SOURCES


def _yes(flag: bool) -> str:
    return "yes" if flag else "-"


def _source(src: Source) -> str:
    if src.origin == "parameter":
        text = f"`{src.field}`"
        return text + (f" (default `{src.default}`)" if src.default is not None else "")
    if src.origin == "fixed":
        return f"always `{src.default}`"
    if src.origin == "alias-used":
        return f"alias used in `{src.field}`"
    if src.origin == "none":
        return "absent (no API field)"
    return f"{src.origin}: {src.field}"


def _check(a: Authorization) -> str:
    where = {"key": "key", "alias": "alias", None: "`*`"}[a.resource]
    text = f"`{a.action}` on {where}"
    if a.target:
        text += f" `{a.target}`"
    text += " (KP)" if a.key_policy else " (IAM)"
    if a.region:
        text += f" in `{a.region}`"
    if a.when:
        text += f" if `{a.when}`"
    return text


def _policy(op: Operation) -> str:
    if op.resource is None:
        return "IAM"
    if op.resource == "alias":
        return "IAM (alias) + KP (key)"
    if op.key_policy:
        return "KP"
    return "the grant; IAM delegates or denies" if op.grant_operation else "IAM"


def _kind(op: Operation) -> str:
    if not op.api:
        return "permission only"
    return "API" if op.permission else "API, no IAM action"


def _op_keys(op: Operation) -> str:
    """``K`` plus the other keys when the operation has all of K as usual, else every key."""
    has_k = all(op.sources.get(k) == src for k, src in _K_SOURCES.items())
    keys = sorted(k for k in op.condition_keys if not (has_k and k in _K_SOURCES))
    listed = "<br>".join(f"`{k}` ← {_source(op.sources[k])}" for k in keys)
    if has_k:
        return "K" + (" + " + listed if listed else "")
    return listed or "-"


def _key_row(key: ConditionKey) -> str:
    if key.actions is None:
        actions = "all"
    else:
        names = sorted(a.removeprefix("kms:") for a in key.actions)
        actions = ", ".join(names) if len(names) <= 12 else f"{len(names)} actions (see above)"
    kinds = "all" if key.policy_kinds == catalog.ALL_POLICY_KINDS else "all but key policies"
    types = " / ".join([key.type, *sorted(key.alt_types)])
    extra = f" Same as `{key.same_as}`." if key.same_as else ""
    return (
        f"| `{key.name}` | {types} | {_yes(key.multivalued)} | {kinds} | {actions} | "
        f"{key.availability}.{extra} |"
    )


def render() -> str:
    """The whole page, as markdown."""
    ops = sorted(catalog.OPERATIONS.values(), key=lambda o: o.name)
    lines = [
        "# The KMS catalog",
        "",
        "Generated from `kmsauthz/catalog.py` by `python -m kmsauthz.catalog_doc`; do not edit by hand.",
        "Sources: `shared/spec/semantics.md` §2-§4 and the botocore 1.43.11 KMS model.",
        "",
        "## Operations and actions",
        "",
        "Policy: `KP` = a key policy can allow it (and delegate it to IAM); `IAM` = only IAM policies can.",
        "X-acct: can succeed on another account's key. Grant: may be listed in a grant's `Operations`.",
        "EC: takes an encryption context (grant constraints apply). Ids: `id` key ID, `arn` key ARN, `an`",
        "alias name, `aa` alias ARN. **K** = the condition keys of every KMS-key operation: "
        + ", ".join(f"`{k}`" for k in sorted(catalog.KEY_RESOURCE_KEYS))
        + ".",
        "",
        "| action | kind | resource | policy | X-acct | grant | EC | ids | checks | condition keys |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    short = {"id": "id", "arn": "arn", "alias-name": "an", "alias-arn": "aa"}
    for op in ops:
        ids = ", ".join(short[i] for i in ("id", "arn", "alias-name", "alias-arn") if i in op.key_id_forms)
        checks = "<br>".join(_check(a) for a in op.authorizations)
        lines.append(
            f"| `{op.action}` | {_kind(op)} | {op.resource or '`*`'} | {_policy(op)} | "
            f"{_yes(op.cross_account)} | {_yes(op.grant_operation)} | {_yes(op.uses_encryption_context)} | "
            f"{ids or '-'} | {checks} | {_op_keys(op)} |"
        )
    lines += ["", "Notes:", ""]
    lines += [f"- `{op.action}`: {op.notes}." for op in ops if op.notes]
    lines += [
        "",
        "## Derived sets",
        "",
    ]
    for name in (
        "GRANT_OPERATIONS",
        "GRANT_ACTIONS",
        "CROSS_ACCOUNT_ACTIONS",
        "RESOURCELESS_ACTIONS",
        "KEY_POLICY_ACTIONS",
        "CRYPTOGRAPHIC_ACTIONS",
        "ENCRYPTION_CONTEXT_ACTIONS",
    ):
        members: frozenset[str] = getattr(catalog, name)
        lines.append(f"- `{name}` ({len(members)}): " + ", ".join(sorted(members)))
    lines += [
        "",
        "## Condition keys",
        "",
        "A `${...}` placeholder names a family: every key with that prefix (case-insensitive).",
        "",
        "| key | type | multivalued | policy kinds | set for | present |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    keys = sorted(catalog.CONDITION_KEYS.values(), key=lambda k: (k.global_, k.name.lower()))
    lines += [_key_row(k) for k in keys]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    path = Path(paths[0] if paths else "docs/catalog.md")
    text = render()
    if check:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            print(f"{path} is out of date: run python -m kmsauthz.catalog_doc", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
