"""docs/local-kms.md: its Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "local-kms.md"


def test_quick_start_example_runs(capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert blocks, "the quick start example is missing"
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), {})
    assert "no identity-based policy allows the kms:Decrypt action" in capsys.readouterr().out
