"""notebooks/real_instruments.ipynb: committed without outputs, and it runs headless on the
emulated camera (its store in a temporary folder)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.executed_notebooks import keep_for_docs

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "real_instruments.ipynb"


def test_notebook_is_committed_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is None
            assert cell.outputs == []


def test_notebook_runs_a_scan_on_the_emulated_camera(tmp_path: Path) -> None:
    copy = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, copy)
    notebook = nbformat.read(copy, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    keep_for_docs(NOTEBOOK, notebook)
    text = "\n".join(
        "".join(output.get("text") or output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
    assert "'basler camera', 'pulse streamer 8/2'" in text
    assert "drivers imported: []" in text
    assert "finished after 3 / 3 shots" in text
    assert "shots: 3 picture: (240, 320) uint16" in text
    assert "134000000 ns," in text
