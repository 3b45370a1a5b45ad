"""notebooks/overnight_scan.ipynb runs headless and always leaves a report (#23).

On success and on failure: the executed notebook (papermill writes it on failure too) with the
outcome at its top, and the HTML report of ``shotbook run --report``. The shots that ran are
analysed; a failed per-shot fit is counted, never fatal. Faults are injected by a cell the
test adds after the parameters (the notebook itself has no test hooks but ``break_the_scan``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "overnight_scan.ipynb"
BIN = Path(sys.executable).parent

# The 5th cloud fit (shot 4 when analyses run in order) finds no cloud.
SPOIL_ONE_FIT = textwrap.dedent(
    """
    import shotbook.analysis as _analysis

    _fit, _calls = _analysis.fit_gaussian_2d, []

    def _fit_or_fail(*args, **kwargs):
        _calls.append(1)
        if len(_calls) == 5:
            raise _analysis.FitError("no cloud in this picture")
        return _fit(*args, **kwargs)

    _analysis.fit_gaussian_2d = _fit_or_fail
    """
)

# The simulated camera fails at its 6th acquisition: shot 5.
CRASH_THE_CAMERA = textwrap.dedent(
    """
    from shotbook.device.sim import SimulatedCamera

    _acquire, _acquisitions = SimulatedCamera.acquire, []

    def _acquire_or_crash(self, names):
        _acquisitions.append(1)
        if len(_acquisitions) == 6:
            raise RuntimeError("sensor overheated")
        return _acquire(self, names)

    SimulatedCamera.acquire = _acquire_or_crash
    """
)


def copy_with(folder: Path, fault: str | None = None) -> Path:
    """The notebook copied into ``folder``, with ``fault`` as a cell after the parameters."""
    copy = folder / NOTEBOOK.name
    if fault is None:
        shutil.copy(NOTEBOOK, copy)
        return copy
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    index = next(
        i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", [])
    )
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(fault))
    nbformat.write(notebook, copy)
    return copy


def _text(output: dict) -> str:
    parts = [output.get("text", ""), output.get("evalue", "")]
    data = output.get("data", {})
    parts += [data.get("text/plain", ""), data.get("text/html", "")]
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def cell_texts(path: Path) -> list[str]:
    """The saved outputs of each cell, as text."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["\n".join(_text(output) for output in cell.get("outputs", [])) for cell in cells]


def test_nbconvert_runs_the_scan_and_reports_with_a_failed_fit(tmp_path: Path) -> None:
    notebook = copy_with(tmp_path, SPOIL_ONE_FIT)
    out = tmp_path / "executed.ipynb"
    result = subprocess.run(
        [str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", str(notebook),
         "--output", str(out), "--ExecutePreprocessor.timeout=300"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    texts = cell_texts(out)
    text = "\n".join(texts)
    # the failed fit is counted and left out; the 23 others give the temperature
    assert "24 shots stored; the cloud fit failed on 1 (shots " in text
    assert "23 shots, fitted temperature" in text
    assert "(1 shots without a cloud fit left out)" in text
    # the progress bar's saved text is its last state, not its first
    run_cell = next(t for t in texts if "100%" in t or "0/24" in t)
    assert "24/24" in run_cell
    assert " 0/24" not in run_cell
    # the outcome replaced "Running…" at the top
    top = next(t for t in texts if "sequence /demo/" in t)
    assert "finished after 24 / 24 shots" in top
    assert "Running…" not in text
    html = (tmp_path / "overnight-report.html").read_text(encoding="utf-8")
    assert "The sequence ran to its end." in html
    assert "analysis <b>cloud</b> failed on 1 of 24 shots" in html
    assert (tmp_path / "overnight-data" / "catalog.duckdb").exists()


def test_a_camera_crashing_at_shot_k_still_gives_the_reports(tmp_path: Path) -> None:
    notebook = copy_with(tmp_path, CRASH_THE_CAMERA)
    out = tmp_path / "crashed.ipynb"
    result = subprocess.run(
        [str(BIN / "papermill"), str(notebook), str(out), "--no-progress-bar",
         "--cwd", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode != 0  # for cron: the failure is raised after the reports
    assert "sensor overheated" in result.stderr
    texts = cell_texts(out)
    # the failure is at the top of the executed notebook: the shot, the device, the error
    top = next(t for t in texts if "sequence /demo/" in t)
    assert "crashed" in top
    assert "shot 5" in top
    assert "sensor overheated" in top
    # the five shots that ran are analysed
    text = "\n".join(texts)
    assert "5 shots stored; the cloud fit failed on 0" in text
    assert "5 shots, fitted temperature" in text
    html = (tmp_path / "overnight-report.html").read_text(encoding="utf-8")
    failure = html.index('class="failure"')
    assert failure < html.index("<h2>")
    block = html[failure : html.index("</div>", failure)]
    assert "The sequence crashed" in block
    assert "<th>shot</th><td>5</td>" in block
    assert "sensor overheated" in block


def test_papermill_fails_clearly_when_the_scan_crashes(tmp_path: Path) -> None:
    notebook = copy_with(tmp_path)
    out = tmp_path / "broken.ipynb"
    result = subprocess.run(
        [str(BIN / "papermill"), str(notebook), str(out), "-p", "break_the_scan", "True",
         "-p", "points", "8", "--no-progress-bar", "--cwd", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode != 0
    message = result.stderr + "\n".join(cell_texts(out))
    assert "SequenceFailedError" in message
    assert "crashed at shot 9 (9 shots stored)" in message
    assert "step 'wait'" in message
    assert "time_of_flight = 7.14286 ms" in message
    assert "The sequence crashed" in (tmp_path / "overnight-report.html").read_text("utf-8")


@pytest.mark.parametrize("name", ["quickstart.ipynb", "overnight_scan.ipynb"])
def test_committed_notebooks_have_no_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOK.parent / name, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs
            assert cell.execution_count is None
