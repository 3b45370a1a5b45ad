"""Item 4 of issue 18: the saved notebook's snapshot follows the runs made after the panel's
cell (through its display id), headless as in a live front end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CELLS = [
    f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from tests.ui.lab import add_scan, make_manager, make_store
from shotbook.ui import ExperimentPanel
storage, registry, compilers = make_store("store")
add_scan(storage, "/scans/tof")
manager = make_manager(storage, registry, compilers)
""",
    "panel = ExperimentPanel(storage, manager)\npanel",
    'manager.run_sequence("/scans/tof", progress=False)',
]


def _notebook(cells: list[str]) -> dict[str, object]:
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell{i}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_a_run_in_a_later_cell_shows_in_the_exported_snapshot(tmp_path: Path) -> None:
    (tmp_path / "panel.ipynb").write_text(json.dumps(_notebook(CELLS)))
    jupyter = [sys.executable, "-m", "jupyter", "nbconvert"]
    env = {k: v for k, v in os.environ.items() if k != "SHOTBOOK_PANEL_STATIC"}
    for arguments in (["--to", "notebook", "--execute", "--inplace"], ["--to", "html"]):
        subprocess.run(
            [*jupyter, *arguments, "panel.ipynb"], cwd=tmp_path, env=env, check=True,
            capture_output=True, timeout=180,
        )  # fmt: skip
    saved = json.loads((tmp_path / "panel.ipynb").read_text())
    panel_outputs = saved["cells"][1]["outputs"]
    assert len(panel_outputs) == 1, panel_outputs  # headless: the snapshot only, replaced
    html = (tmp_path / "panel.html").read_text()
    assert "/scans/tof: finished, 8 / 8 shots" in html  # the run line of the last run
    assert '<img alt="camera.cloud' in html  # its last picture
    assert 'class="shotbook-static-plot"' in html  # and its plot
    assert "analysis.atom_number" in html
