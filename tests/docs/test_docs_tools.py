"""The documentation's own tools: the offline check of the built site, the generated CLI
reference, and the list of notebooks shown as tutorials. (The build itself is a step of
``.ci/check``: ``sphinx-build -W --keep-going -b html docs docs/_build/html``.)"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

from tests.executed_notebooks import ENVIRONMENT_VARIABLE, SOURCE_HASH_KEY, keep_for_docs

DOCS = Path(__file__).parents[2] / "docs"


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def check_offline() -> ModuleType:
    return load(DOCS / "check_offline.py")


def site(tmp_path: Path, page: str, css: str = "") -> Path:
    (tmp_path / "index.html").write_text(page, encoding="utf-8")
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "theme.css").write_text(css, encoding="utf-8")
    return tmp_path


def test_a_site_that_loads_only_its_own_files_passes(
    tmp_path: Path, check_offline: ModuleType
) -> None:
    page = (
        '<link rel="stylesheet" href="_static/theme.css"><script src="_static/a.js"></script>'
        '<a href="https://mybinder.org/">a link is not a download</a><img src="panel.png">'
    )
    folder = site(tmp_path, page, css='@font-face{src:url("../fonts/a.woff2")}')
    assert check_offline.remote_references(folder) == []
    assert check_offline.main(["check_offline", str(folder)]) == 0


@pytest.mark.parametrize(
    ("page", "css", "found"),
    [
        ('<script src="https://cdn.example.org/require.js"></script>', "", "index.html"),
        ('<link rel="stylesheet" href="//fonts.example.org/css">', "", "index.html"),
        ('<img alt="" src="http://example.org/a.png">', "", "index.html"),
        ("", '@import url("https://fonts.example.org/x.css");', "theme.css"),
        ("", "body{background:url(https://example.org/bg.png)}", "theme.css"),
    ],
)
def test_a_remote_resource_fails_naming_the_file(
    tmp_path: Path, check_offline: ModuleType, page: str, css: str, found: str
) -> None:
    folder = site(tmp_path, page, css)
    references = check_offline.remote_references(folder)
    assert references
    assert all(reference.startswith(found) or f"/{found}" in reference for reference in references)
    assert check_offline.main(["check_offline", str(folder)]) == 1


def test_cli_reference_has_every_command_and_option() -> None:
    pytest.importorskip("sphinx")
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        reference = load(DOCS / "_ext" / "shotbook_cli_reference.py")
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    from shotbook.cli import build_parser

    text = "\n".join(reference._rst(build_parser()))
    for command in ("demo", "device-server", "experiment-server", "keygen", "upgrade", "copy",
                    "run", "import-caqtus"):  # fmt: skip
        assert f"\nshotbook {command}\n" in f"\n{text}"
    assert "``--report FILE``" in text
    assert "``--seed SEED``\n     - ``0``" in text  # a default of 0 is shown


def test_every_notebook_is_a_tutorial() -> None:
    tree = ast.parse((DOCS / "conf.py").read_text(encoding="utf-8"))
    listed = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "TUTORIALS" for t in node.targets)
    )
    notebooks = {path.name for path in (DOCS.parent / "notebooks").glob("*.ipynb")}
    assert listed == notebooks
    toctree = (DOCS / "tutorials" / "index.md").read_text(encoding="utf-8")
    for name in notebooks:
        assert f"\n{Path(name).stem}\n" in toctree


def test_an_executed_notebook_is_kept_for_the_docs_without_the_tests_cells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "lesson.ipynb"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# A lesson"), nbformat.v4.new_code_cell("1")]
    nbformat.write(notebook, source)
    executed = nbformat.read(source, as_version=4)
    executed.cells[1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    executed.cells.append(nbformat.v4.new_code_cell("print('PROBE {}')"))  # the test's probe

    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    assert keep_for_docs(source, executed) is None  # nothing kept outside CI's docs build
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path / "executed"))
    kept_path = keep_for_docs(source, executed)
    assert kept_path == tmp_path / "executed" / "lesson.ipynb"
    kept = nbformat.read(kept_path, as_version=4)
    assert [cell.source for cell in kept.cells] == ["# A lesson", "1"]  # no probe
    assert kept.cells[1].outputs[0].text == "1\n"
    assert kept.metadata[SOURCE_HASH_KEY] == hashlib.sha256(source.read_bytes()).hexdigest()
    # docs/conf.py reads the same key to tell a copy of the notebook as it is now
    assert f'"{SOURCE_HASH_KEY}"' in (DOCS / "conf.py").read_text(encoding="utf-8")
