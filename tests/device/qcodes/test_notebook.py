"""notebooks/qcodes_instruments.ipynb runs headless against the simulated instruments."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.executed_notebooks import keep_for_docs

NOTEBOOK = Path(__file__).parents[3] / "notebooks" / "qcodes_instruments.ipynb"
PROBE = (
    "import json\n"
    "print('PROBE ' + json.dumps({'readback': shots['rf.frequency_readback'].to_list(), "
    "'volt': shots['dmm.volt'].to_list(), 'temperature': shots['synth.temperature'].to_list()}))"
)


def test_the_qcodes_notebook_is_stripped_and_runs_against_the_simulations(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is None
            assert cell.outputs == []
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    notebook.cells.insert(-1, nbformat.v4.new_code_cell(PROBE))
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    keep_for_docs(NOTEBOOK, notebook)
    text = "\n".join(
        "".join(output.get("text", ""))
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
    probe = json.loads(next(line for line in text.splitlines() if line.startswith("PROBE "))[6:])
    assert probe["readback"] == [72.0, 77.0, 82.0, 87.0, 92.0]  # MHz: aom.frequency + 2 MHz
    assert probe["volt"] == [10.0] * 5
    assert probe["temperature"] == [294.65] * 5
    assert "DRAFT: " in text
    assert "'20 dBm' = 20 dBm is outside the bounds [-40, 10] dBm" in text
    assert "CRASHED: " in text
    assert "the upper bound 30000.0 MHz is refused by the instrument's validator" in text
