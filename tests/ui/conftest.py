"""Fixtures of the panel's tests: a simulated lab in a temporary store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .browser.conftest import CHROMIUM, CHROMIUM_FLAGS, JupyterLab, running_lab
from .lab import add_scan, make_manager, make_store


@dataclass
class Lab:
    storage: Any
    registry: Any
    compilers: Any


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    storage, registry, compilers = make_store(tmp_path / "store")
    add_scan(storage, "/scans/tof")
    yield Lab(storage, registry, compilers)
    storage.close()


@pytest.fixture
def manager(lab: Lab) -> Iterator[Any]:
    local = make_manager(lab.storage, lab.registry, lab.compilers)
    yield local
    local.close()


# --- a real JupyterLab and Chromium, shared by every browser test of the session ---


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with running_lab(tmp_path_factory.mktemp("lab")) as lab:
        yield lab


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1100},
        )
        yield context
        context.close()
