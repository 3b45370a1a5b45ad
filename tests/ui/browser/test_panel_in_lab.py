"""The panel in a real JupyterLab, seen as a person sees it (headless Chromium)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO, JupyterLab, run_first_cell, screenshot

pytestmark = pytest.mark.browser

CANVAS_VARIANCE = """(canvas) => {
  const ctx = canvas.getContext("2d");
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  let sum = 0, squares = 0, n = 0;
  for (let i = 0; i < data.length; i += 16) {
    const v = 0.3 * data[i] + 0.59 * data[i + 1] + 0.11 * data[i + 2];
    sum += v; squares += v * v; n++;
  }
  const mean = sum / n;
  return { width: canvas.width, height: canvas.height, variance: squares / n - mean * mean };
}"""


def panel_code(store: Path) -> str:
    return f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from tests.ui.lab import add_scan, make_manager, make_store
from shotbook.ui import ExperimentPanel
storage, registry, compilers = make_store({str(store)!r}, speed=0.05)
add_scan(storage, "/scans/tof", points=4, repetitions=2)
add_scan(storage, "/scans/long", points=100, repetitions=4)
manager = make_manager(storage, registry, compilers)
panel = ExperimentPanel(storage, manager, poll_interval=0.5)
panel
"""


def click_row(page: Any, path: str) -> None:
    page.locator(f'.shotbook-browser tr[data-path="{path}"] td').first.click()
    page.wait_for_function(
        "(path) => document.querySelector('.shotbook-run-path')?.textContent === path",
        arg=path,
        timeout=15_000,
    )


def test_launch_watch_and_interrupt(jupyter_lab: JupyterLab, browser_context: Any) -> None:
    jupyter_lab.write_notebook("panel.ipynb", [panel_code(jupyter_lab.root / "store")])
    page = browser_context.new_page()
    try:
        page.goto(jupyter_lab.notebook_url("panel.ipynb"))
        run_first_cell(page, ".shotbook-browser tr[data-path='/scans/tof']")
        table = page.locator(".shotbook-browser table")
        assert "tof" in table.inner_text()
        assert "long" in table.inner_text()
        assert "draft" in page.locator(".shotbook-browser tr[data-path='/scans/tof']").inner_text()

        # launch a simulated scan and watch it to the end
        click_row(page, "/scans/tof")
        page.locator(".shotbook-start").click()
        page.wait_for_function(
            "() => document.querySelector('.shotbook-run')?.dataset.state === 'finished'",
            timeout=60_000,
        )
        progress = page.locator(".shotbook-run-progress")
        progress.filter(has_text="8 / 8 shots").wait_for(timeout=15_000)
        page.locator(".shotbook-plot-canvas[data-count='8']").wait_for(timeout=15_000)
        page.locator(
            ".shotbook-browser tr[data-path='/scans/tof'][data-state='finished']"
        ).wait_for(timeout=15_000)
        row = page.locator(".shotbook-browser tr[data-path='/scans/tof']").inner_text()
        assert "finished" in row
        assert "8 / 8" in row
        canvas = page.locator(".shotbook-image-canvas")
        stats = canvas.evaluate(CANVAS_VARIANCE)
        assert (stats["width"], stats["height"]) == (512, 512)
        assert stats["variance"] > 20, stats
        assert "shot 7" in page.locator(".shotbook-image-caption").inner_text()
        assert (
            "analysis.atom_number vs time_of_flight · 8 shots"
            in page.locator(".shotbook-plot-info").inner_text()
        )
        screenshot(page, "panel-finished.png")
        # the plot offers the pictures' sums beside the analyses (issue 18, item 2)
        y_options = page.locator(".shotbook-panel .widget-dropdown select").nth(1)
        assert "sum(camera.cloud)" in y_options.locator("option").all_inner_texts()
        # the snapshot kept for the saved notebook follows the run, hidden under the widget
        page.wait_for_function(
            "() => document.querySelector('.shotbook-snapshot')?.innerHTML"
            ".includes('/scans/tof: finished, 8 / 8 shots')",
            timeout=30_000,
        )
        assert not page.locator(".shotbook-snapshot").is_visible()

        # a second, long scan: interrupt it while it runs
        click_row(page, "/scans/long")
        page.locator(".shotbook-start").click()
        page.wait_for_function(
            "() => Number(document.querySelector('.shotbook-run')?.dataset.shots) >= 2",
            timeout=60_000,
        )
        assert page.locator(".shotbook-run").get_attribute("data-state") == "running"
        page.locator(".shotbook-interrupt").click()
        page.wait_for_function(
            "() => document.querySelector('.shotbook-run')?.dataset.state === 'interrupted'",
            timeout=60_000,
        )
        # the answer to Interrupt is not left behind once the run ended (issue 18, item 9)
        assert "interrupting" not in page.locator(".shotbook-run .shotbook-status").inner_text()
        text = progress.inner_text()
        shots, expected = (int(part) for part in text.replace(" shots", "").split(" / "))
        assert expected == 400, text
        assert 2 <= shots < 400, text
        page.locator(
            ".shotbook-browser tr[data-path='/scans/long'][data-state='interrupted']"
        ).wait_for(timeout=15_000)
        # the audit log of the selected sequence shows under its notes
        click_row(page, "/scans/tof")
        click_row(page, "/scans/long")
        page.locator(".shotbook-history").filter(has_text="interrupt /scans/long by ").wait_for(
            timeout=30_000
        )
        screenshot(page, "panel-interrupted.png")
    finally:
        page.close()
