"""Two notebooks, each with a panel on one experiment server in another process (real
JupyterLab, headless Chromium, a real server on 127.0.0.1).

The panels' manager is a ``RemoteExperimentManager``: a sequence launched from notebook A
runs on the server; A shows its progress to N / N, its image, and interrupts it; notebook B
(a second kernel) follows the same runs through the server's events and gets the clear
"already running" refusal for a second launch while one runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..lab import add_scan, make_store
from ..procs import ServerProcess, experiment_server
from .conftest import REPO, JupyterLab, run_cell, screenshot
from .test_panel_in_lab import CANVAS_VARIANCE, click_row

pytestmark = pytest.mark.browser

# Every state the run control of the page showed, in order (from the mutation records' old
# values, so that two changes handled in one task are both kept).
RECORD_RUN_STATES = """() => {
  const el = document.querySelector('.shotbook-run');
  globalThis.seenStates = [];
  new MutationObserver((records) => {
    for (const record of records) globalThis.seenStates.push(record.oldValue);
  }).observe(el, { attributeFilter: ['data-state'], attributeOldValue: true });
}"""
SEEN_STATES = """() => [...globalThis.seenStates,
  document.querySelector('.shotbook-run').dataset.state]"""


def remote_panel_code(store: Path, port: int) -> str:
    return f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from tests.ui.lab import open_store
from shotbook.control import RemoteExperimentManager, RemoteExperimentManagerConfiguration
from shotbook.ui import ExperimentPanel
storage, _, _ = open_store({str(store)!r})
manager = RemoteExperimentManager(RemoteExperimentManagerConfiguration("127.0.0.1", {port}))
panel = ExperimentPanel(storage, manager, poll_interval=0.5)
panel
"""


def notebook_url(lab: JupyterLab, workspace: str, name: str) -> str:
    """A notebook in its own workspace (two JupyterLab pages must not share one)."""
    return f"{lab.url}/lab/workspaces/{workspace}/tree/{name}?token={lab.token}&reset"


def shoot(page: Any, name: str) -> None:
    page.locator(".shotbook-panel").first.scroll_into_view_if_needed()
    screenshot(page, name)


def run_state(page: Any, state: str, timeout: float = 60_000) -> None:
    page.wait_for_function(
        "(state) => document.querySelector('.shotbook-run')?.dataset.state === state",
        arg=state,
        timeout=timeout,
    )


@pytest.fixture
def server(jupyter_lab: JupyterLab) -> Iterator[tuple[Path, ServerProcess]]:
    store = jupyter_lab.root / "remote-store"
    storage, _, _ = make_store(store, speed=0.05)
    add_scan(storage, "/scans/tof", points=4, repetitions=2)
    add_scan(storage, "/scans/long", points=100, repetitions=4)
    add_scan(storage, "/scans/spare", points=2, repetitions=1)
    storage.close()
    with experiment_server(store, jupyter_lab.root / "server-logs", speed=0.05) as process:
        yield store, process


def test_two_notebooks_on_one_experiment_server(
    jupyter_lab: JupyterLab, browser_context: Any, server: tuple[Path, ServerProcess]
) -> None:
    store, process = server
    code = remote_panel_code(store, process.port)
    jupyter_lab.write_notebook("remote-a.ipynb", [code])
    jupyter_lab.write_notebook("remote-b.ipynb", [code, 'panel.start("/scans/spare")'])
    first = browser_context.new_page()
    second = browser_context.new_page()
    try:
        first.goto(notebook_url(jupyter_lab, "remote-a", "remote-a.ipynb"))
        second.goto(notebook_url(jupyter_lab, "remote-b", "remote-b.ipynb"))
        ready = ".shotbook-browser tr[data-path='/scans/tof']"
        run_cell(first, 0, ready)
        run_cell(second, 0, ready)
        second.evaluate(RECORD_RUN_STATES)

        # A launches a scan on the server and watches it to N / N with its image
        click_row(first, "/scans/tof")
        first.locator(".shotbook-start").click()
        run_state(first, "finished")
        first.locator(".shotbook-run-progress").filter(has_text="8 / 8 shots").wait_for(
            timeout=15_000
        )
        first.locator(".shotbook-plot-canvas[data-count='8']").wait_for(timeout=15_000)
        stats = first.locator(".shotbook-image-canvas").evaluate(CANVAS_VARIANCE)
        assert (stats["width"], stats["height"]) == (512, 512)
        assert stats["variance"] > 20, stats
        assert "shot 7" in first.locator(".shotbook-image-caption").inner_text()
        first.locator(
            ".shotbook-browser tr[data-path='/scans/tof'][data-state='finished']"
        ).wait_for(timeout=15_000)
        shoot(first, "panel-remote-finished.png")

        # B, another kernel, followed that run: running, then progress, then finished
        run_state(second, "finished")
        second.locator(".shotbook-run-progress").filter(has_text="8 / 8 shots").wait_for(
            timeout=15_000
        )
        assert second.locator(".shotbook-run-path").inner_text() == "/scans/tof"
        seen = second.evaluate(SEEN_STATES)
        assert "running" in seen, seen
        assert seen[-1] == "finished", seen

        # A launches a long scan; B sees it run and cannot start another one
        click_row(first, "/scans/long")
        first.locator(".shotbook-start").click()
        for page in (first, second):
            page.wait_for_function(
                "() => { const run = document.querySelector('.shotbook-run');"
                " return run?.dataset.state === 'running' && Number(run.dataset.shots) >= 2; }",
                timeout=60_000,
            )
        assert second.locator(".shotbook-run-path").inner_text() == "/scans/long"
        assert second.locator(".shotbook-start").is_disabled()
        run_cell(second, 1, ".shotbook-run .shotbook-status.shotbook-error")
        refusal = second.locator(".shotbook-run .shotbook-status").inner_text()
        assert "/scans/long is already running" in refusal, refusal
        assert "/scans/spare was not started" in refusal, refusal
        shoot(second, "panel-remote-second-notebook-busy.png")

        # A interrupts it on the server; both notebooks show where it stopped
        first.locator(".shotbook-interrupt").click()
        for page in (first, second):
            run_state(page, "interrupted")
            page.locator(
                ".shotbook-browser tr[data-path='/scans/long'][data-state='interrupted']"
            ).wait_for(timeout=15_000)
        text = first.locator(".shotbook-run-progress").inner_text()
        shots, expected = (int(part) for part in text.replace(" shots", "").split(" / "))
        assert expected == 400, text
        assert 2 <= shots < 400, text
        shoot(second, "panel-remote-second-notebook-interrupted.png")
        assert "started /scans/tof" in process.log()
        assert "/scans/spare" not in second.locator(".shotbook-run-path").inner_text()
    finally:
        first.close()
        second.close()
