"""Editors browser tests: their own JupyterLab, the session Chromium (tests/ui/conftest.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.ui.browser.conftest import CHROMIUM, JupyterLab, start_lab


@pytest.fixture(scope="module")
def editors_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (apt-get install chromium)")
    lab = start_lab(tmp_path_factory.mktemp("editors-lab"))
    yield lab
    lab.process.terminate()
    try:
        lab.process.wait(15)
    except subprocess.TimeoutExpired:
        lab.process.kill()
