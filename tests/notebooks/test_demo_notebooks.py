"""The demo notebooks run headless (nbclient, in a temporary folder) and show what they teach.

Each notebook is copied to ``tmp_path`` and executed there, so its store is created in the
temporary folder. A probe cell appended to the copy prints the notebook's key results as JSON,
so the assertions read numbers rather than parse tables.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.executed_notebooks import keep_for_docs

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
DEMOS = ("quickstart.ipynb", "temperature.ipynb", "custom_device.ipynb")
PROBE = "PROBE "


def _execute(name: str, folder: Path, probe: str, *, keep: bool = False) -> nbformat.NotebookNode:
    """Copy notebook ``name`` into ``folder``, append the probe cell and run it there
    (``keep``: a run of the notebook as committed, handed to the docs build)."""
    copy = folder / name
    shutil.copy(NOTEBOOKS / name, copy)
    notebook = nbformat.read(copy, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(probe))
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    nbformat.write(notebook, folder / f"executed-{name}")  # kept in tmp_path to inspect
    if keep:
        keep_for_docs(NOTEBOOKS / name, notebook)
    return notebook


def _outputs(notebook: nbformat.NotebookNode) -> list[dict[str, Any]]:
    return [output for cell in notebook.cells for output in cell.get("outputs", [])]


def _text(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for output in _outputs(notebook):
        text = output.get("text") or output.get("data", {}).get("text/plain", "")
        parts.append(text if isinstance(text, str) else "".join(text))
    return "\n".join(parts)


def _images(notebook: nbformat.NotebookNode) -> int:
    return sum("image/png" in output.get("data", {}) for output in _outputs(notebook))


def _probe(notebook: nbformat.NotebookNode) -> Any:
    lines = [line for line in _text(notebook).splitlines() if line.startswith(PROBE)]
    assert len(lines) == 1, f"expected one probe line, got {lines}"
    return json.loads(lines[0][len(PROBE) :])


def _probe_cell(expression: str) -> str:
    return f"import json\nprint({PROBE!r} + json.dumps({expression}, default=str))"


@pytest.mark.parametrize("name", DEMOS)
def test_notebook_is_committed_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{name} has no code cell"
    for index, cell in enumerate(code):
        assert cell.execution_count is None, f"{name}: code cell {index} has an execution count"
        assert cell.outputs == [], f"{name}: code cell {index} has outputs"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert sum(cell.cell_type == "markdown" for cell in notebook.cells) >= 5, "it should teach"


QUICKSTART_PROBE = _probe_cell(
    '{"stats": stats.to_dicts(), "shots": len(shots), "unit": detuning_unit, '
    '"columns": shots.columns}'
)


def test_quickstart_scans_runs_and_plots(tmp_path: Path) -> None:
    notebook = _execute("quickstart.ipynb", tmp_path, QUICKSTART_PROBE, keep=True)
    text = _text(notebook)
    assert "/tutorial/detuning scan: finished after 39 / 39 shots" in text
    assert "devices: analog, camera, digital" in text
    panel = next(cell for cell in notebook.cells if cell.source.strip() == "experiment")
    assert panel.outputs, "the cell showing the experiment (its panel) shows nothing"
    assert _images(notebook) == 1  # the atom number plot beside a camera picture
    # the simulated lab's shot-to-shot atom number noise (3 %) shows in the mean of 3 shots
    assert re.search(
        r"best detuning -15 MHz: 1\.[5-7][\d]*e\+05 ± [\d.e+]+ atoms \(3 shots\)", text
    )
    assert (tmp_path / "quickstart-data" / "catalog.duckdb").exists()

    probe = _probe(notebook)
    assert probe["shots"] == 39
    assert probe["unit"] == "MHz"
    assert {"mot.detuning", "camera.atoms", "camera.background", "atom_number"} <= set(
        probe["columns"]
    )
    stats = probe["stats"]
    assert [row["mot.detuning"] for row in stats] == pytest.approx(
        [-30 + 2.5 * k for k in range(13)]
    )
    assert all(row["count"] == 3 and row["sem"] > 0 for row in stats)
    best = max(stats, key=lambda row: row["mean"])
    assert best["mot.detuning"] == pytest.approx(-15.0)
    # 200 ms of loading with a 0.5 s time constant, 5e5 atoms at most, at the best detuning
    assert best["mean"] == pytest.approx(5e5 * (1 - math.exp(-0.4)), rel=0.05)
    assert stats[0]["mean"] < 0.1 * best["mean"]  # far from resonance, little loading
    assert stats[-1]["mean"] < 0.1 * best["mean"]


def test_quickstart_runs_again_in_the_same_folder(tmp_path: Path) -> None:
    _execute("quickstart.ipynb", tmp_path, QUICKSTART_PROBE)
    again = _execute("quickstart.ipynb", tmp_path, QUICKSTART_PROBE)
    assert _probe(again)["shots"] == 39  # the tutorial's sequence was replaced, not doubled


def test_temperature_measures_the_simulated_cloud(tmp_path: Path) -> None:
    notebook = _execute(
        "temperature.ipynb",
        tmp_path,
        _probe_cell('{"T": T, "error": T_error, "truth": truth, "shots": len(shots)}'),
        keep=True,
    )
    source = "\n".join(cell.source for cell in notebook.cells)
    assert "assert abs(T - truth) / truth < 0.10" in source  # the notebook checks itself
    text = _text(notebook)
    match = re.search(
        r"measured temperature: ([\d.]+) ± ([\d.]+) µK \(simulated: ([\d.]+) µK\)", text
    )
    assert match, text[-2000:]
    measured, error, simulated = (float(group) for group in match.groups())
    assert simulated == 35.0
    assert abs(measured - simulated) / simulated < 0.10
    assert error > 0
    assert re.search(r"T_x = [\d.]+ ± [\d.]+ µK, σ0 = 1[45]\d\.\d µm", text)
    assert _images(notebook) == 1  # σ² against t²

    probe = _probe(notebook)
    assert probe["shots"] == 24
    assert probe["truth"] == pytest.approx(35e-6, rel=1e-3)  # after 10 ms of molasses
    assert probe["T"] == pytest.approx(35e-6, rel=0.10)
    assert 0 < probe["error"] < 0.1 * probe["T"]


def test_custom_device_and_lane_run_and_store_data(tmp_path: Path) -> None:
    notebook = _execute(
        "custom_device.ipynb",
        tmp_path,
        _probe_cell('{"report": report.to_dicts(), "columns": shots.columns}'),
        keep=True,
    )
    text = _text(notebook)
    # the lab's own device beside the default ones (the simulated lab, the real instruments)
    assert "devices: ['simulated sequencer', 'simulated camera', " in text
    assert "'SCPI instrument (PyVISA)', 'shutter']" in text
    assert "lanes: ['digital', 'analog', 'camera', 'shutter']" in text
    # the new lane type went through the store and came back (equal neighbours merged)
    assert "ShutterTimeLane.from_blocks([('closed', 2), ('open', 4)])" in text
    assert "finished after 3 / 3 shots" in text
    assert "('shutter.edges', Array(Float64, shape=(1, 2)))" in text

    probe = _probe(notebook)
    assert {"shutter.open_time", "shutter.edges"} <= set(probe["columns"])
    report = probe["report"]
    assert [row["time_of_flight"] for row in report] == pytest.approx([1.0, 3.0, 5.0])
    # the TTL rises at 105 ms (100 ms loading + 5 ms molasses); the blade follows 2 ms later
    for row in report:
        assert row["blade opened at (ms)"] == pytest.approx(107.0, abs=0.3)
        # open from TTL rise + 2 ms to TTL fall + 1 ms; the TTL is high from the release to
        # the end of the background picture: tof + 100 µs + 100 ms + 100 µs
        expected = row["time_of_flight"] + 100.2 - 1.0
        assert row["blade open (ms)"] == pytest.approx(expected, abs=0.3)
    assert [row["open for the picture"] for row in report] == [False, True, True]
    # the imaging light passes through the shutter: the shut blade darkens the first picture
    assert [row["cloud seen"] for row in report] == [False, True, True]
    dark, *clouds = (row["cloud counts"] for row in report)
    assert all(counts > 1e5 for counts in clouds)  # ~1e5 atoms × 7 counts each
    # no cloud, no stray light: minus the background picture's stray light (1 count/pixel)
    assert -2 * 512 * 512 < dark < 0
    assert _images(notebook) >= 1  # the three pictures are shown
