"""notebooks/overnight_scan.ipynb runs headless: a report when it works, a clear error when not."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "overnight_scan.ipynb"
BIN = Path(sys.executable).parent


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    copy = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, copy)
    return copy


def _outputs(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    texts = []
    for cell in cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts.append(output.get("data", {}).get("text/plain", ""))
            texts.append(output.get("evalue", ""))
    return "\n".join(t if isinstance(t, str) else "".join(t) for t in texts)


def test_nbconvert_runs_the_scan_and_reports(notebook: Path) -> None:
    out = notebook.with_name("executed.ipynb")
    result = subprocess.run(
        [str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", str(notebook),
         "--output", str(out), "--ExecutePreprocessor.timeout=300"],
        cwd=notebook.parent, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    text = _outputs(out)
    assert "24 shots, fitted temperature" in text
    assert (notebook.parent / "overnight-data" / "catalog.duckdb").exists()


def test_papermill_fails_clearly_when_the_scan_crashes(notebook: Path) -> None:
    out = notebook.with_name("broken.ipynb")
    result = subprocess.run(
        [str(BIN / "papermill"), str(notebook), str(out), "-p", "break_the_scan", "True",
         "-p", "points", "8", "--no-progress-bar", "--cwd", str(notebook.parent)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode != 0
    message = result.stderr + _outputs(out)
    assert "SequenceFailedError" in message
    assert "crashed at shot 9 (9 shots stored)" in message
    assert "step 'wait'" in message
    assert "time_of_flight = 7.14286 ms" in message
