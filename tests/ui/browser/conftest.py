"""A real JupyterLab (isolated, 127.0.0.1, token) and headless Chromium driven by Playwright."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class JupyterLab:
    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"

    def write_notebook(self, name: str, cells: list[str]) -> None:
        notebook = {
            "cells": [
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "id": f"c{i}",
                    "metadata": {},
                    "outputs": [],
                    "source": code,
                }
                for i, code in enumerate(cells)
            ],
            "metadata": {
                "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        (self.root / name).write_text(json.dumps(notebook), "utf-8")


def start_lab(root: Path) -> JupyterLab:
    """Start an isolated JupyterLab serving ``root``; wait until it listens."""
    config = root / ".jupyter-config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    port, token = _free_port(), secrets.token_hex(12)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "PYTHONPATH": str(REPO / "src")}
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root}", f"--LabApp.workspaces_dir={root / '.workspaces'}",
        f"--LabApp.user_settings_dir={root / '.settings'}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    log = (root / "lab.log").open("wb")
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((root / "lab.log").read_text())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return JupyterLab(f"http://127.0.0.1:{port}", token, root, process)
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("JupyterLab did not start in 60 s:\n" + (root / "lab.log").read_text())


@contextmanager
def running_lab(root: Path) -> Iterator[JupyterLab]:
    """A JupyterLab serving ``root`` for the block (skipped without Chromium), then stopped."""
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (apt-get install chromium)")
    lab = start_lab(root)
    try:
        yield lab
    finally:
        lab.process.terminate()
        try:
            lab.process.wait(15)
        except subprocess.TimeoutExpired:
            lab.process.kill()


def run_cell(page: Any, index: int, wait_for: str, attempts: int = 3) -> None:
    """Wait for the kernel to be idle, run cell ``index``, wait for ``wait_for`` to show.

    A Shift+Enter sent before the kernel is ready is lost: retry when nothing shows.
    """
    for attempt in range(attempts):
        page.wait_for_selector("text=| Idle", timeout=60_000)
        page.locator(".jp-Cell").nth(index).locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_selector(wait_for, timeout=20_000)
            return
        except Exception:
            if attempt == attempts - 1:
                raise


def run_first_cell(page: Any, wait_for: str, attempts: int = 3) -> None:
    """:func:`run_cell` of the first cell."""
    run_cell(page, 0, wait_for, attempts)


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
