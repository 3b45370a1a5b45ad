"""Editors browser tests: their own JupyterLab, the session Chromium (tests/ui/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.browser.conftest import JupyterLab, running_lab


@pytest.fixture(scope="module")
def editors_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with running_lab(tmp_path_factory.mktemp("editors-lab")) as lab:
        yield lab
