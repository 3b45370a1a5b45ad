"""The editors in a real JupyterLab, driven like a person would, in headless Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from shotbook.extension import Experiment
from shotbook.registry import Serializer
from shotbook.session import DuckDBConfig
from shotbook.types import Expression, Ramp
from tests.ui.browser.conftest import REPO, JupyterLab, run_first_cell, screenshot

pytestmark = pytest.mark.browser

SETUP = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from tests.ui.editors.conftest import make_experiment
from shotbook.ui.editors import SequenceEditors
experiment = make_experiment("store")
editors = SequenceEditors.from_experiment(experiment, "/scans/tof")
for widget in (editors.lanes, editors.scan, editors.globals, editors.devices, editors.preview):
    display(widget)
"""


def type_into(page: Any, key: str, text: str, editor: str | None = None) -> None:
    """Type ``text`` in the input ``key`` and press Enter; with ``editor`` (a CSS selector),
    wait until the kernel answered (the editor's version or status changed)."""
    before = page.eval_on_selector(editor, "e => e.dataset.version") if editor else None
    field = page.locator(f'[data-key="{key}"]')
    field.fill(text)
    field.press("Enter")
    if editor:
        page.wait_for_function(
            "([s, v]) => document.querySelector(s).dataset.version !== v", arg=[editor, before]
        )


def green_pixels(page: Any) -> int:
    """How many pixels of the preview canvas are the green of a digital channel that is on."""
    return int(
        page.evaluate(
            """() => {
              const c = document.querySelector('.sb-preview-canvas');
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let n = 0;
              const near = (i, v) => Math.abs(d[i] - v) < 8;
              for (let i = 0; i < d.length; i += 4)
                if (near(i, 0x2f) && near(i + 1, 0x9e) && near(i + 2, 0x44)) n++;
              return n;
            }"""
        )
    )


def stored_lanes(lab: JupyterLab) -> Any:
    experiment = Experiment(DuckDBConfig(lab.root / "store"))
    experiment.setup_default_extensions()
    manager = DuckDBConfig(lab.root / "store").create_storage_manager(
        Serializer(experiment.build_registry())
    )
    try:
        with manager.session() as session:
            return (
                session.sequences.get_time_lanes("/scans/tof"),
                dict(session.default_device_configurations),
                session.get_global_parameters(),
            )
    finally:
        manager.close()


def test_edit_a_sequence_in_the_lab(editors_lab: JupyterLab, browser_context: Any) -> None:
    editors_lab.write_notebook("editors.ipynb", [SETUP])
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1500, "height": 1200})
    page.goto(editors_lab.notebook_url("editors.ipynb"))
    run_first_cell(page, ".sb-lanes-editor table")
    lanes = page.locator(".sb-lanes-editor")
    assert "✓ no problem found" in lanes.inner_text()

    # add a lane and a step
    page.fill(".sb-new-lane-name", "repump")
    page.select_option(".sb-new-lane-kind", "digital")
    page.click(".sb-add-lane")
    page.wait_for_selector('tr[data-lane="repump"]')
    page.click(".sb-add-step")
    page.wait_for_function(
        "document.querySelectorAll('.sb-lanes-editor .sb-step-head').length === 4"
    )

    # toggle two digital cells: they merge into one block
    page.click('tr[data-lane="repump"] td[data-step="1"]')
    page.wait_for_selector('tr[data-lane="repump"] td[data-step="1"].sb-digital-on')
    page.click('tr[data-lane="repump"] td[data-step="2"]')
    page.wait_for_selector('tr[data-lane="repump"] td[data-step="2"].sb-digital-on.sb-merge-left')

    # an analog expression and a ramp
    # typed quickly one after the other: both edits must reach the kernel
    type_into(page, "cell/coil current/2", "5 A")
    type_into(page, "cell/coil current/1", "ramp")
    page.wait_for_selector('tr[data-lane="coil current"] td.sb-ramp')

    # a wrong expression is marked in its cell with the message, and not saved
    type_into(page, "cell/mot detuning/2", "10 MHz +")
    page.wait_for_selector('[data-key="cell/mot detuning/2"].sb-invalid')
    assert "unexpected end of expression" in lanes.inner_text()
    screenshot(page, "editors_lanes.png")

    # a global: the value of its dependant is evaluated again
    type_into(page, "set_expression/mot.detuning", "-10 MHz")
    page.wait_for_selector('.sb-globals tr[data-name="offset"] >> text=-20 MHz')

    # a device's channel, through its output graph text
    graph = 'broaden(lane("mot light", default=False), "1 ms")'
    type_into(page, "digital/channel/0/output", graph, ".sb-devices-editor")

    # the preview draws every channel; a person sees green where digital channels are on
    preview = page.locator(".sb-preview")
    page.click(".sb-preview-refresh")
    page.wait_for_selector(".sb-preview-canvas[data-channels='12']")
    assert "digital: mot light" in preview.inner_text()
    assert "shot 0 of 4" in preview.inner_text()
    assert green_pixels(page) > 500
    preview.scroll_into_view_if_needed()
    screenshot(page, "editors_all.png")

    lanes_stored, devices, globals_ = stored_lanes(editors_lab)
    assert list(lanes_stored.lanes["repump"]) == [False, True, True, False]
    assert lanes_stored.number_steps == 4
    assert lanes_stored.lanes["coil current"].blocks[1:3] == ((Ramp(), 1), (Expression("5 A"), 1))
    assert lanes_stored.lanes["mot detuning"].blocks[2][0] == Expression("0 MHz")
    assert globals_.to_mapping()["mot"]["detuning"] == "-10 MHz"
    assert devices["digital"].channels[0].output.duration == Expression("1 ms")
    page.close()
