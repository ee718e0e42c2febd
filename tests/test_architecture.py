"""The layout shows the pipeline, and nothing imports back up it (design.md, 'Style')."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kmsauthz"

# layer -> packages it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "model": ("syntax", "evaluate", "catalog", "kms", "audit", "scenario", "cli", "server"),
    "syntax": ("evaluate", "kms", "audit", "scenario", "cli", "server"),
    "catalog": ("syntax", "evaluate", "kms", "audit", "scenario", "cli", "server"),
    "evaluate": ("syntax", "kms", "audit", "scenario", "cli", "server"),
    "scenario": ("kms", "audit", "cli", "server"),
    "kms": ("audit", "cli", "server"),
    "audit": ("kms", "cli", "server"),
}


def _modules(layer: str) -> list[Path]:
    folder = PACKAGE / layer
    if folder.is_dir():
        return sorted(folder.rglob("*.py"))
    single = PACKAGE / f"{layer}.py"
    return [single] if single.is_file() else []


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n.startswith("kmsauthz.")}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_up_the_pipeline(layer: str) -> None:
    modules = _modules(layer)
    assert modules, f"layer `{layer}` has no modules"
    offences = []
    for path in modules:
        for name in _imported(path):
            top = name.split(".")[1]
            if top in FORBIDDEN[layer]:
                offences.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert not offences, "\n".join(offences)


def test_the_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").is_file()
