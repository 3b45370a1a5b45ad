"""binder/ installs shotbook the way mybinder (repo2docker) does, and the quickstart runs there.

repo2docker copies the repository, creates the notebook environment (JupyterLab, ipykernel)
and runs ``pip install -r binder/requirements.txt`` from the repository root. This test does
the same in a fresh virtual environment (no system site-packages): it copies what the install
needs (pyproject.toml, README.md, src/, binder/, notebooks/) to a temporary folder, installs
from there with pip (through the configured wheel mirror), installs a kernelspec into the
environment's own prefix, and executes notebooks/quickstart.ipynb with nbclient inside that
environment, so the kernel is the fresh environment's Python.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
BINDER = ROOT / "binder"
KERNEL = "shotbook-binder-test"

RUN_NOTEBOOK = f"""
import json, sys
import nbformat
from nbclient import NotebookClient

path = sys.argv[1]
notebook = nbformat.read(path, as_version=4)
notebook.cells.append(nbformat.v4.new_code_cell(
    "import json, sys, shotbook\\n"
    "print('PROBE ' + json.dumps({{'prefix': sys.prefix, 'shotbook': shotbook.__file__, "
    "'shots': len(shots)}}))"
))
NotebookClient(notebook, timeout=300, kernel_name={KERNEL!r},
               resources={{"metadata": {{"path": sys.argv[2]}}}}).execute()
nbformat.write(notebook, path)
"""


def _run(command: list[str], cwd: Path, timeout: float) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    environment["PIP_NO_INPUT"] = "1"
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=environment
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
        f"{result.stderr[-3000:]}"
    )
    return result.stdout


def test_binder_files_say_what_repo2docker_needs() -> None:
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime in ("python-3.11", "python-3.12")
    requirements = [
        line.strip()
        for line in (BINDER / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert requirements == ["-e .[lab]"]  # this checkout, with JupyterLab and matplotlib
    assert not (BINDER / "postBuild").exists() or os.access(BINDER / "postBuild", os.X_OK)


@pytest.mark.slow
def test_quickstart_runs_in_a_fresh_binder_environment(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, repo / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*-data", ".ipynb_checkpoints")
    for folder in ("src", "binder", "notebooks"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=ignore)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, 120)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # the notebook environment repo2docker provides (ipykernel, nbclient via JupyterLab's
    # dependencies), then the repository's own requirements, from the repository root
    _run(
        [str(python), "-m", "pip", "install", "-q", "-r", "binder/requirements.txt",
         "ipykernel", "nbclient"],
        repo, 600,
    )  # fmt: skip
    _run(
        [str(python), "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL],
        repo, 120,
    )  # fmt: skip

    notebook = repo / "notebooks" / "quickstart.ipynb"
    script = tmp_path / "run_notebook.py"
    script.write_text(RUN_NOTEBOOK)
    _run([str(python), str(script), str(notebook), str(notebook.parent)], repo, 600)

    executed = json.loads(notebook.read_text())
    texts = []
    for cell in executed["cells"]:
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            texts.append(text if isinstance(text, str) else "".join(text))
    probes = [line for text in texts for line in text.splitlines() if line.startswith("PROBE ")]
    assert len(probes) == 1, texts[-5:]
    probe = json.loads(probes[0][len("PROBE ") :])
    assert Path(probe["prefix"]).resolve() == venv.resolve()  # the kernel is the fresh venv
    assert Path(probe["shotbook"]).resolve().is_relative_to(repo.resolve())  # editable install
    assert probe["shots"] == 39
    assert any("best detuning -15 MHz" in text for text in texts)
    assert (notebook.parent / "quickstart-data" / "catalog.duckdb").exists()
