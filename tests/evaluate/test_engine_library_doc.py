"""docs/library.md runs: every ```python block, top to bottom, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "library.md"


def test_library_doc_examples_run(capsys) -> None:  # type: ignore[no-untyped-def]
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)
    assert len(blocks) >= 5
    namespace: dict[str, object] = {"__name__": "library_doc"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{DOC.name}[block {i}]", "exec"), namespace)
    assert "is allowed to perform: kms:Decrypt" in capsys.readouterr().out
