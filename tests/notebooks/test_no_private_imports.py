"""No example notebook imports a private shotbook module or name (#23).

A notebook teaches by example: what it imports is what a reader copies, so it must be public
API (a private ``_module`` may change without notice).
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


def private_imports(source: str) -> list[str]:
    """The private shotbook imports in ``source``: ``shotbook.x._y`` modules, ``_name``s."""
    found = []
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            names: list[str] = []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            names = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] != "shotbook":
                continue
            if any(part.startswith("_") for part in parts[1:]):
                found.append(f"line {node.lineno}: {module}")
            found.extend(
                f"line {node.lineno}: {module}.{name}"
                for name in names
                if name.startswith("_") and not name.startswith("__")
            )
    return found


def test_the_check_sees_private_imports() -> None:
    source = (
        "from shotbook.cli._demo import x\nimport shotbook.ui._png\nfrom shotbook import _version"
    )
    assert private_imports(source) == [
        "line 1: shotbook.cli._demo",
        "line 2: shotbook.ui._png",
        "line 3: shotbook._version",
    ]
    assert private_imports("from shotbook.demo import build_demo_experiment\nimport os._x") == []


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_imports_only_public_shotbook(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    found = [
        f"cell {index}, {where}"
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for where in private_imports(cell.source)
    ]
    assert not found, f"{path.name} imports private shotbook modules: {found}"
