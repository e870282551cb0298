"""Layering contract: app → (rendering | io) → core; only app imports Qt.

An AST check (equivalent to an import-linter layers contract) that also sees imports
inside functions. Runs without importing any project module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "shiboken6", "PyQt5", "PyQt6")
VTK = ("vtk", "vtkmodules")
FORMATS = ("pydicom", "gdcm")

#: folder -> module prefixes it must not import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "core": ("cbctviewer.app", "cbctviewer.io", "cbctviewer.rendering", *QT, *VTK, *FORMATS),
    "io": ("cbctviewer.app", "cbctviewer.rendering", *QT, *VTK),
    "rendering": ("cbctviewer.app", "cbctviewer.io", *QT),
    "app": (),
}


def _imports(path: Path, package: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _violations(folder: str) -> list[str]:
    bad: list[str] = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = path.relative_to(ROOT / folder).with_suffix("")
        package = ".".join(["cbctviewer", folder, *rel.parts[:-1]])
        for line, module in _imports(path, package):
            for prefix in FORBIDDEN[folder]:
                if module == prefix or module.startswith(prefix + "."):
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_layer_imports(folder: str) -> None:
    assert _violations(folder) == []


def test_no_bare_root_imports() -> None:
    """Root folders are only ever imported through the cbctviewer namespace."""
    bare = {"app", "core", "rendering", "resources"}
    bad = []
    for folder in FORBIDDEN:
        for path in (ROOT / folder).rglob("*.py"):
            for line, module in _imports(path, "cbctviewer." + folder):
                if module.split(".")[0] in bare:
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert bad == []


def test_contract_detects_a_violation(tmp_path: Path) -> None:
    """The checker itself finds a forbidden import (so the contract cannot pass vacuously)."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from PySide6 import QtCore\n    from ..app import cli\n")
    modules = [m for _, m in _imports(probe, "cbctviewer.core")]
    assert "PySide6" in modules and "cbctviewer.app.cli" in modules
